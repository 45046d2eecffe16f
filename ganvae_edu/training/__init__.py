"""The one training loop: steps, learning-rate schedule, clipping, the NaN/inf guard, checkpoints, resume."""

from .loop import (
    StepLoss,
    TrainConfig,
    TrainingDiverged,
    TrainResult,
    check_finite,
    clipped_step,
    fit,
    load_checkpoint,
    save_checkpoint,
)

__all__ = [
    "StepLoss",
    "TrainConfig",
    "TrainResult",
    "TrainingDiverged",
    "check_finite",
    "clipped_step",
    "fit",
    "load_checkpoint",
    "save_checkpoint",
]
