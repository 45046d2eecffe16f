"""Which remedy does what, and at which learning rate: notebook 01's GAN at its default budget.

    python benchmarks/toy_gan_ablation.py                     # 6 settings × 2 mixtures × 2 seeds
    python benchmarks/toy_gan_ablation.py --seeds 1 --steps 500  # a quick look

Each setting differs from the next in one thing only, at the notebook's default budget (2,500
steps, batch 256, the same networks and batches):

* ``plain`` at lr 3e-4, 1e-3 and 3e-3: the unremedied GAN at its own best rate, not only at the
  rate tuned for R1 (3e-3);
* ``decay`` (lr decay alone), ``r1`` (R1 alone) and ``r1+decay`` (the notebook's remedy), all at
  lr 3e-3: an ablation at equal learning rate.

The results (per run and the mean over seeds) go to JSON; notebook 01 prints its claims about
the learning rate and the separate remedies from that file.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import time
from pathlib import Path

import torch

from ganvae_edu.runtime import write_json_atomic
from ganvae_edu.vector.toygan import ToyGANConfig, train_toy_gan

SETTINGS = {  # name: the options that differ from ToyGANConfig's defaults
    "plain lr 3e-4": dict(r1=0.0, lr_decay=False, lr=3e-4),
    "plain lr 1e-3": dict(r1=0.0, lr_decay=False, lr=1e-3),
    "plain lr 3e-3": dict(r1=0.0, lr_decay=False, lr=3e-3),
    "decay lr 3e-3": dict(r1=0.0, lr_decay=True, lr=3e-3),
    "r1 lr 3e-3": dict(lr_decay=False, lr=3e-3),
    "r1+decay lr 3e-3": dict(lr=3e-3),
}
KEYS = ("modes", "hq_fraction", "reverse_kl")


def summarise(runs: list[dict]) -> dict:
    summary: dict = {}
    for r in runs:
        summary.setdefault(r["mixture"], {}).setdefault(r["setting"], []).append(r)
    def mean(rs: list[dict], k: str) -> float | None:  # a run that reached no mode has no reverse KL
        values = [r[k] for r in rs if r[k] is not None]
        return statistics.mean(values) if values else None

    return {mix: {name: {"seeds": len(rs), **{k: mean(rs, k) for k in KEYS}}
                  for name, rs in by_setting.items()} for mix, by_setting in summary.items()}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--seeds", type=int, default=2)
    ap.add_argument("--steps", type=int, default=2500)
    ap.add_argument("--mixtures", default="ring8,grid25")
    ap.add_argument("--settings", default=",".join(SETTINGS))
    ap.add_argument("--out", type=Path, default=Path("runs/benchmarks/toy_gan_ablation.json"))
    args = ap.parse_args()

    machine = {"cpu_count": os.cpu_count(), "torch_threads": torch.get_num_threads(),
               "platform": platform.platform(), "torch": torch.__version__, "device": "cpu"}
    runs = []
    for seed in range(args.seeds):
        for mixture in args.mixtures.split(","):
            for name in args.settings.split(","):
                cfg = ToyGANConfig(mixture=mixture, steps=args.steps, seed=seed, **SETTINGS[name])
                t0 = time.perf_counter()
                m = train_toy_gan(cfg, show_progress=False).metrics
                seconds = time.perf_counter() - t0
                reverse_kl = m["reverse_kl"] if m["modes"] else None  # inf: no mode reached
                runs.append({"setting": name, "mixture": mixture, "seed": seed, "seconds": seconds,
                             "modes": m["modes"], "hq_fraction": m["hq_fraction"], "reverse_kl": reverse_kl})
                print(f"{mixture:<7} seed {seed} {name:<18} {m['modes']:>2} modes  "
                      f"HQ {m['hq_fraction']:.1%}  "
                      f"reverse KL {m['reverse_kl']:.3f}  {seconds:.1f} s", flush=True)
                write_json_atomic({"steps": args.steps, "seeds_run": seed + 1, "machine": machine,
                                   "settings": {k: SETTINGS[k] for k in args.settings.split(",")},
                                   "summary": summarise(runs), "runs": runs}, args.out)
    print(f"\nsaved {args.out}")


if __name__ == "__main__":
    main()
