"""Training loops and what makes them safe: atomic checkpoints, resume, a guard against NaN/inf.

* `save_checkpoint` writes to a temporary file and renames it, so a killed run leaves the
  previous checkpoint whole; `load_checkpoint` reads with ``weights_only=True`` (no pickled code).
* `fit` (the loop under `train_lm` and the sentence VAE's) draws each step's batch from a
  seeded generator whose state is checkpointed, so a run resumed from its last checkpoint
  continues exactly as if it had never stopped.
* A non-finite loss or gradient stops training with `TrainingDiverged` *before* the optimiser
  step, so the model keeps its last good weights (and the last checkpoint on disk is untouched).
"""

from __future__ import annotations

import os
from pathlib import Path

import torch


class TrainingDiverged(FloatingPointError):
    """The loss or gradient became NaN/inf; the model holds the last good weights."""


def check_finite(loss: torch.Tensor, what: str, step: int, hint: str) -> None:
    """Raise `TrainingDiverged` if `loss` is NaN/inf — call it before the step that would use it."""
    if not torch.isfinite(loss):
        raise TrainingDiverged(f"{what} became {loss.item()} at step {step}; the models keep the "
                               f"weights of step {step - 1}. {hint}")


def clipped_step(opt: torch.optim.Optimizer, loss: torch.Tensor, params, clip: float = 5.0) -> None:
    """One optimiser step on `loss` with the gradient norm of `params` clipped to `clip`."""
    opt.zero_grad(set_to_none=True)
    loss.backward()
    torch.nn.utils.clip_grad_norm_(params, clip)
    opt.step()


def save_checkpoint(path: str | os.PathLike, **state) -> Path:
    """torch.save(state) to `path` atomically (temporary file, fsync, rename)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    with open(tmp, "wb") as f:
        torch.save(state, f)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)
    return path


def load_checkpoint(path: str | os.PathLike, map_location: str | torch.device = "cpu") -> dict:
    """The state saved by `save_checkpoint`, loaded with weights_only=True."""
    return torch.load(Path(path), map_location=map_location, weights_only=True)
