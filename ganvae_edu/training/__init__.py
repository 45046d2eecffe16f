"""The one training loop (`run`): a model supplies its step, the loop owns everything else.

Steps, learning-rate schedule, gradient clipping, the NaN/inf guard (`TrainingDiverged`), history,
evaluation cadence, progress bar, atomic weights-only checkpoints and exact resume.
"""

from .loop import Checkpoint, Step, TrainingDiverged, TrainResult, load_checkpoint, run, save_checkpoint

__all__ = [
    "Checkpoint", "Step", "TrainResult", "TrainingDiverged", "load_checkpoint", "run", "save_checkpoint",
]
