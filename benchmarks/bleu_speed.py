"""BLEU-2..5 speed: ganvae_edu.text.metrics against NLTK's sentence_bleu, on COCO captions.

    python benchmarks/bleu_speed.py [--data ../shared/data/coco_captions] [--nltk-sample 40]

Ours scores all 10,000 training captions against the 10,000 test captions. NLTK (Texygen's way:
sentence_bleu per hypothesis against all references) is timed on a random sample of hypotheses
and extrapolated linearly to 10,000; both give the same numbers on that sample.
"""

from __future__ import annotations

import argparse
import random
import time
from pathlib import Path

from nltk.translate.bleu_score import SmoothingFunction, sentence_bleu

from ganvae_edu.text.metrics import bleu, self_bleu


def load(path: Path) -> list[list[str]]:
    return [line.lower().replace(".", " .").split() for line in path.read_text().splitlines() if line.strip()]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", type=Path, default=Path("../shared/data/coco_captions"))
    ap.add_argument("--nltk-sample", type=int, default=40)
    args = ap.parse_args()
    train, test = load(args.data / "train.txt"), load(args.data / "test.txt")
    orders = (2, 3, 4, 5)

    t0 = time.perf_counter()
    ours = bleu(train, test, orders)
    t_ours = time.perf_counter() - t0
    t0 = time.perf_counter()
    ours_self = self_bleu(train, orders)
    t_self = time.perf_counter() - t0

    sample = random.Random(0).sample(train, args.nltk_sample)
    smooth = SmoothingFunction().method1
    t0 = time.perf_counter()
    for n in orders:
        weights = tuple(1.0 / n for _ in range(n))
        ref = [sentence_bleu(test, h, weights, smoothing_function=smooth) for h in sample]
    t_nltk = (time.perf_counter() - t0) * len(train) / len(sample)
    mine = bleu(sample, test, (5,))[5]
    assert abs(mine - sum(ref) / len(ref)) < 1e-9

    print(f"{len(train):,} hypotheses x {len(test):,} references, BLEU-2..5")
    print(f"  ganvae_edu: {t_ours:.1f} s   BLEU = " + ", ".join(f"{ours[n]:.3f}" for n in orders))
    print(f"  NLTK (extrapolated from {len(sample)} hypotheses): {t_nltk:.0f} s"
          f"  -> {t_nltk / t_ours:.0f}x slower")
    print(f"  Self-BLEU-2..5 of the {len(train):,} training captions: {t_self:.1f} s   "
          + ", ".join(f"{ours_self[n]:.3f}" for n in orders))


if __name__ == "__main__":
    main()
