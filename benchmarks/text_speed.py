"""Training speed of the language model and the sentence VAE on COCO captions, in tokens/s.

    python benchmarks/text_speed.py [--data ../shared/data/coco_captions] [--steps 200] [--device auto]

Each model is trained for --steps steps of 64 sentences twice, at the sizes of the documented
full-size runs (params/03_coco.yaml, params/04_coco.yaml):

* "length-sorted, packed" — what the package does: batches of similar lengths, and recurrent
  layers that run only over real tokens (packed sequences);
* "random, padded" — the straightforward implementation of the same model: random sentences per
  batch, padded to the longest, every position of the rectangle computed and the loss masked.

Tokens are real target tokens (words and <eos>); the same loss, the same optimiser; a few untimed
warm-up steps come first. Results are printed and written to benchmarks/results/text_speed.json
(atomically). The measuring code is `ganvae_edu.tooling.bench`; `ganvae-edu bench` runs it with the other
benchmarks, on the CPU and on a GPU when there is one.
"""

from __future__ import annotations

import argparse
import os
import platform
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("HF_DATASETS_OFFLINE", "1")

import torch  # noqa: E402

from ganvae_edu import bench  # noqa: E402
from ganvae_edu.runtime import resolve_device, write_json_atomic  # noqa: E402
from ganvae_edu.text.data import prepare  # noqa: E402

RESULTS = Path(__file__).resolve().parent / "results" / "text_speed.json"


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", default=bench.DEFAULT_DATA)
    ap.add_argument("--steps", type=int, default=bench.FULL.steps)
    ap.add_argument("--device", default="auto")
    ap.add_argument("--output", type=Path, default=RESULTS)
    args = ap.parse_args()
    device = resolve_device(args.device)
    corpus = prepare(args.data, min_freq=2, max_len=37)
    results = {"device": str(device), "torch": torch.__version__, "threads": torch.get_num_threads(),
               "machine": platform.machine(), "cpus": os.cpu_count(), "data": args.data,
               "steps": args.steps, "batch_size": bench.BATCH_SIZE}
    header = f"{'model':<14}{'length-sorted, packed':>24}{'random, padded':>18}{'speed-up':>10}"
    print(f"{header}   tokens/s on {device}")
    speeds = bench.training_speeds(corpus.ids["train"], len(corpus.vocab), args.steps, device,
                                   warmup=bench.FULL.warmup)
    for name, r in speeds.items():
        fast, slow = r["packed_tokens_per_second"], r["padded_tokens_per_second"]
        results[f"{name}.tokens_per_second"] = fast
        results[f"{name}.padded_tokens_per_second"] = slow
        print(f"{name:<14}{fast:>24,.0f}{slow:>18,.0f}{fast / slow:>9.2f}x", flush=True)
    write_json_atomic(results, args.output)
    print(f"wrote {args.output}")


if __name__ == "__main__":
    main()
