"""Training loops and what makes them safe: atomic checkpoints, resume, a guard against NaN/inf.

* `save_checkpoint` writes to a temporary file and renames it, so a killed run leaves the
  previous checkpoint whole; `load_checkpoint` reads with ``weights_only=True`` (no pickled code).
* `train_lm` draws each step's batch from a seeded generator whose state is checkpointed, so a
  run resumed from its last checkpoint continues exactly as if it had never stopped.
* A non-finite loss or gradient stops training with `TrainingDiverged` *before* the optimiser
  step, so the model keeps its last good weights (and the last checkpoint on disk is untouched).
"""

from __future__ import annotations

import math
import os
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path

import torch
from torch import nn

from .runtime import progress
from .text.batches import length_batches, pad


class TrainingDiverged(FloatingPointError):
    """The loss or gradient became NaN/inf; the model holds the last good weights."""


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


@dataclass
class LMTrainConfig:
    steps: int = 1000
    batch_size: int = 64
    lr: float = 3e-3
    lr_decay: bool = False  # learning rate falls linearly from lr to 0 over the steps
    clip: float = 1.0
    seed: int = 0
    checkpoint_every: int = 200
    eval_every: int = 200


@dataclass
class LMTrainResult:
    history: list[dict[str, float]] = field(default_factory=list)
    seconds: float = 0.0
    tokens_per_second: float = 0.0
    resumed_from: int = 0


@torch.no_grad()
def evaluate_nll(model: nn.Module, sequences: Sequence[Sequence[int]], batch_size: int = 256) -> float:
    """NLL in nats per token (counting <eos>) of `sequences` (<bos> … <eos> id lists)."""
    device = next(model.parameters()).device
    was_training = model.training
    model.eval()
    total, count = 0.0, 0
    for idx in length_batches(sequences, batch_size):
        batch, lengths = pad([sequences[i] for i in idx], model.pad_id)
        loss, n = model.nll(batch.to(device), lengths.to(device))
        total, count = total + loss.item(), count + n
    model.train(was_training)
    return total / count


def train_lm(
    model: nn.Module,
    train: Sequence[Sequence[int]],
    valid: Sequence[Sequence[int]] | None,
    cfg: LMTrainConfig,
    checkpoint: str | os.PathLike | None = None,
    show_progress: bool = True,
) -> LMTrainResult:
    """Adam on the mean NLL per token; resumes from `checkpoint` if it exists.

    A checkpoint holds the model, optimiser, batch-generator state, step and history.
    """
    device = next(model.parameters()).device
    opt = torch.optim.Adam(model.parameters(), lr=cfg.lr)
    rng = torch.Generator().manual_seed(cfg.seed)
    batches = length_batches(train, cfg.batch_size)
    result, start = LMTrainResult(), 0
    if checkpoint is not None and Path(checkpoint).exists():
        state = load_checkpoint(checkpoint, map_location=device)
        if state["config"] != asdict(cfg):
            raise ValueError(
                f"checkpoint {checkpoint} was written with {state['config']}, not {asdict(cfg)}; "
                "delete it to start afresh or use the same settings to resume"
            )
        model.load_state_dict(state["model"])
        opt.load_state_dict(state["optimizer"])
        rng.set_state(state["rng"])
        start = result.resumed_from = int(state["step"])
        result.history = list(state["history"])

    model.train()
    t0, tokens = time.perf_counter(), 0
    for step in progress(range(start + 1, cfg.steps + 1), desc="LM", disable=not show_progress):
        if cfg.lr_decay:  # a function of the step alone, so a resumed run gets the same rates
            for group in opt.param_groups:
                group["lr"] = cfg.lr * (1 - (step - 1) / cfg.steps)
        idx = batches[int(torch.randint(len(batches), (1,), generator=rng))]
        batch, lengths = pad([train[i] for i in idx], model.pad_id)
        loss_sum, n = model.nll(batch.to(device), lengths.to(device))
        loss = loss_sum / n
        if not torch.isfinite(loss):
            raise TrainingDiverged(
                f"loss became {loss.item()} at step {step}; the model keeps the weights of step "
                f"{step - 1}. Lower lr={cfg.lr} or clip={cfg.clip} and resume"
            )
        opt.zero_grad(set_to_none=True)
        loss.backward()
        grad_norm = nn.utils.clip_grad_norm_(model.parameters(), cfg.clip)
        if not math.isfinite(grad_norm.item()):
            opt.zero_grad(set_to_none=True)
            raise TrainingDiverged(
                f"gradient norm became {grad_norm.item()} at step {step}; the model keeps the "
                f"weights of step {step - 1}. Lower lr={cfg.lr} and resume"
            )
        opt.step()
        tokens += n
        record = {"step": step, "train_nll": loss.item()}
        if valid is not None and (step % cfg.eval_every == 0 or step == cfg.steps):
            record["valid_nll"] = evaluate_nll(model, valid)
            model.train()
        result.history.append(record)
        if checkpoint is not None and (step % cfg.checkpoint_every == 0 or step == cfg.steps):
            save_checkpoint(checkpoint, model=model.state_dict(), optimizer=opt.state_dict(),
                            rng=rng.get_state(), step=step, history=result.history, config=asdict(cfg))
    result.seconds = time.perf_counter() - t0
    result.tokens_per_second = tokens / result.seconds if result.seconds > 0 else 0.0
    return result
