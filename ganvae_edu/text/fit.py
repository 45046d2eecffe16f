"""Training a text model on batches of sentences: `fit` runs the one loop of `ganvae_edu.training`.

The model supplies its loss on one padded batch (`StepLoss`); `fit` draws each step's batch from a
seeded generator whose state is checkpointed, so a run resumed from its last checkpoint continues
exactly as if it had never stopped.
"""

from __future__ import annotations

import math
import os
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path

import torch
from torch import nn

from ganvae_edu.runtime import progress
from ganvae_edu.training import TrainingDiverged, load_checkpoint, save_checkpoint

from .batches import length_batches, pad


@dataclass
class TrainConfig:
    steps: int = 1000
    batch_size: int = 64
    lr: float = 3e-3
    lr_decay: bool = False  # learning rate falls linearly from lr to 0 over the steps
    clip: float = 1.0
    seed: int = 0
    checkpoint_every: int = 200
    eval_every: int = 200
    length_sorted: bool = True  # batches of similar lengths (False: random sentences, more padding)



@dataclass
class TrainResult:
    history: list[dict[str, float]] = field(default_factory=list)
    seconds: float = 0.0
    tokens_per_second: float = 0.0
    resumed_from: int = 0


# One step's loss: (model, padded batch, lengths, step) → (loss to minimise, tokens in the batch,
# figures to record in the history).
StepLoss = Callable[[nn.Module, torch.Tensor, torch.Tensor, int], tuple[torch.Tensor, int, dict[str, float]]]


def fit(
    model: nn.Module,
    train: Sequence[Sequence[int]],
    step_loss: StepLoss,
    cfg: TrainConfig,
    evaluate: Callable[[nn.Module], dict[str, float]] | None = None,
    checkpoint: str | os.PathLike | None = None,
    show_progress: bool = True,
    desc: str = "train",
    settings: dict | None = None,
) -> TrainResult:
    """Adam on `step_loss` over length-sorted batches of `train`; resumes from `checkpoint`.

    A checkpoint holds the model, optimiser, batch-generator state, step, history and the
    settings (`cfg` plus `settings`, e.g. a VAE's KL schedule); resuming with other settings is
    refused. `evaluate(model)` runs every `cfg.eval_every` steps and at the end, in eval mode.
    """
    device = next(model.parameters()).device
    opt = torch.optim.Adam(model.parameters(), lr=cfg.lr)
    rng = torch.Generator().manual_seed(cfg.seed)
    batches = length_batches(train, cfg.batch_size)
    config = {**asdict(cfg), **(settings or {})}
    result, start = TrainResult(), 0
    if checkpoint is not None and Path(checkpoint).exists():
        state = load_checkpoint(checkpoint, map_location=device)
        if state["config"] != config:
            raise ValueError(
                f"checkpoint {checkpoint} was written with {state['config']}, not {config}; "
                "delete it to start afresh or use the same settings to resume"
            )
        model.load_state_dict(state["model"])
        opt.load_state_dict(state["optimizer"])
        rng.set_state(state["rng"])
        start = result.resumed_from = int(state["step"])
        result.history = list(state["history"])

    model.train()
    t0, tokens = time.perf_counter(), 0
    for step in progress(range(start + 1, cfg.steps + 1), desc=desc, disable=not show_progress):
        if cfg.lr_decay:  # a function of the step alone, so a resumed run gets the same rates
            for group in opt.param_groups:
                group["lr"] = cfg.lr * (1 - (step - 1) / cfg.steps)
        if cfg.length_sorted:
            idx = batches[int(torch.randint(len(batches), (1,), generator=rng))]
        else:
            idx = torch.randint(len(train), (cfg.batch_size,), generator=rng).tolist()
        batch, lengths = pad([train[i] for i in idx], model.pad_id)
        loss, n, record = step_loss(model, batch.to(device), lengths.to(device), step)
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
        record = {"step": step, **record}
        if evaluate is not None and (step % cfg.eval_every == 0 or step == cfg.steps):
            model.eval()
            record.update(evaluate(model))
            model.train()
        result.history.append(record)
        if checkpoint is not None and (step % cfg.checkpoint_every == 0 or step == cfg.steps):
            save_checkpoint(checkpoint, model=model.state_dict(), optimizer=opt.state_dict(),
                            rng=rng.get_state(), step=step, history=result.history, config=config)
    result.seconds = time.perf_counter() - t0
    result.tokens_per_second = tokens / result.seconds if result.seconds > 0 else 0.0
    return result
