"""BLEU-2..5 speed: ganvae_edu.text.metrics against NLTK's sentence_bleu, on COCO captions.

    python benchmarks/bleu_speed.py [--data ../shared/data/coco_captions] [--nltk-sample 40]

Ours scores all 10,000 training captions against the 10,000 test captions. NLTK (Texygen's way:
sentence_bleu per hypothesis against all references) is timed on a random sample of hypotheses
and extrapolated linearly to 10,000; both give the same numbers on that sample. The measuring
code is `ganvae_edu.tooling.bench.bleu_speed`; `ganvae-edu bench` runs it with the other benchmarks.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from ganvae_edu.tooling import bench


def load(path: Path) -> list[list[str]]:
    """One caption a line, lowercased, the full stop split off, split on spaces."""
    return [line.lower().replace(".", " .").split() for line in path.read_text().splitlines() if line.strip()]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", type=Path, default=Path(bench.DEFAULT_DATA))
    ap.add_argument("--nltk-sample", type=int, default=40)
    args = ap.parse_args()
    train, test = load(args.data / "train.txt"), load(args.data / "test.txt")
    r = bench.bleu_speed(train, test, bench.ORDERS, args.nltk_sample)
    nltk = r["nltk"]
    if nltk is None:
        raise SystemExit(r["nltk_missing"])
    assert nltk["equal"], f"BLEU differs from NLTK's by {nltk['max_abs_difference']}"
    orders = r["orders"]
    print(f"{len(train):,} hypotheses x {len(test):,} references, BLEU-2..5")
    print(f"  ganvae_edu: {r['package_seconds']:.1f} s   BLEU = "
          + ", ".join(f"{r['scores'][str(n)]:.3f}" for n in orders))
    print(f"  NLTK (extrapolated from {len(nltk['sample_indices'])} hypotheses): "
          f"{nltk['seconds_extrapolated']:.0f} s  -> {nltk['slower_by']:.0f}x slower")
    print(f"  Self-BLEU-2..5 of the {len(train):,} training captions: {r['self_bleu_seconds']:.1f} s   "
          + ", ".join(f"{r['self_bleu'][str(n)]:.3f}" for n in orders))


if __name__ == "__main__":
    main()
