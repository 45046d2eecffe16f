"""The one training loop (`run`): a model supplies its step, the loop owns everything else.

Steps, learning-rate schedule, gradient clipping, the NaN/inf guard (`TrainingDiverged`), history,
evaluation cadence, progress bar, atomic weights-only checkpoints and exact resume; a checkpoint
that does not belong to the run (its data, `data_digest`, model shapes or settings) or cannot be
read or written is refused with `CheckpointError`.
"""

from .loop import (
    Checkpoint,
    CheckpointError,
    Step,
    TrainingDiverged,
    TrainResult,
    data_digest,
    load_checkpoint,
    run,
    save_checkpoint,
)

__all__ = [
    "Checkpoint", "CheckpointError", "Step", "TrainResult", "TrainingDiverged", "data_digest",
    "load_checkpoint", "run", "save_checkpoint",
]
