"""The one training loop: steps, learning-rate schedule, clipping, the NaN/inf guard, checkpoints, resume."""

from .loop import (
    TrainingDiverged,
    check_finite,
    clipped_step,
    load_checkpoint,
    save_checkpoint,
)

__all__ = [
    "TrainingDiverged",
    "check_finite",
    "clipped_step",
    "load_checkpoint",
    "save_checkpoint",
]
