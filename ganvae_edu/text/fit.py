"""Training a text model on batches of sentences: `fit` runs the one loop of `ganvae_edu.training`.

The model supplies its loss on one padded batch (`StepLoss`); `fit` draws each step's batch from a
seeded generator (checkpointed with the rest by the loop, so a resumed run continues exactly). A
checkpoint carries a digest of the token ids (training and validation), so a resume on another
corpus, tokenizer level or vocabulary is refused.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass

import torch
from torch import nn

from ganvae_edu.training.loop import Checkpoint, Step, TrainResult, data_digest, run

from .batches import length_batches, pad


@dataclass
class TrainConfig:
    steps: int = 1000
    batch_size: int = 64
    lr: float = 3e-3
    lr_decay: bool = False  # learning rate falls linearly from lr to 0 over the steps
    clip: float = 1.0
    seed: int = 0
    checkpoint_every: int | None = 200  # None: only at the end
    eval_every: int | None = 200  # None: only at the end
    length_sorted: bool = True  # batches of similar lengths (False: random sentences, more padding)


# One step's loss: (model, padded batch, lengths, step) → (loss to minimise, tokens in the batch,
# figures to record in the history).
StepLoss = Callable[[nn.Module, torch.Tensor, torch.Tensor, int], tuple[torch.Tensor, int, dict[str, float]]]


def fit(
    model: nn.Module,
    train: Sequence[Sequence[int]],
    step_loss: StepLoss,
    cfg: TrainConfig,
    evaluate: Callable[[nn.Module], dict[str, float]] | None = None,
    checkpoint: str | os.PathLike | Checkpoint | None = None,
    show_progress: bool = True,
    desc: str = "train",
    settings: dict | None = None,
    valid: Sequence[Sequence[int]] | None = None,
) -> TrainResult:
    """Adam on `step_loss` over batches of `train` (length-sorted by default); resumes from `checkpoint`.

    A checkpoint holds the settings (`cfg` plus `settings`, e.g. a VAE's KL schedule), the
    model's parameter shapes and a digest of `train` and `valid` (the sentences `evaluate`
    scores, if any); resuming with other settings, another model size or other data is refused.
    `evaluate(model)` runs every `cfg.eval_every` steps and at the end, in eval mode.
    """
    device = next(model.parameters()).device
    batches = length_batches(train, cfg.batch_size)

    def evaluate_now(k: int) -> dict[str, float]:
        model.eval()
        figures = evaluate(model)
        model.train()
        return figures

    def step(s: Step) -> dict[str, float]:
        if cfg.length_sorted:
            idx = batches[int(torch.randint(len(batches), (1,), generator=s.rng))]
        else:
            idx = torch.randint(len(train), (cfg.batch_size,), generator=s.rng).tolist()
        batch, lengths = pad([train[i] for i in idx], model.pad_id)
        loss, n, record = step_loss(model, batch.to(device), lengths.to(device), s.number)
        s.update("model", loss)
        s.count(n)
        return record

    model.train()
    return run(
        step, steps=cfg.steps, optimizers={"model": torch.optim.Adam(model.parameters(), lr=cfg.lr)},
        modules={"model": model}, rng=torch.Generator().manual_seed(cfg.seed), lr_decay=cfg.lr_decay,
        clip=cfg.clip, evaluate=evaluate_now if evaluate is not None else None,
        eval_every=cfg.eval_every,
        checkpoint=checkpoint if checkpoint is None or isinstance(checkpoint, Checkpoint)
        else Checkpoint(checkpoint, cfg.checkpoint_every or cfg.steps),
        config={**asdict(cfg), **(settings or {})},
        fingerprint={"data": data_digest(train, valid)} if checkpoint is not None else None, name=desc,
        hint=f"Lower lr={cfg.lr} or clip={cfg.clip} and start afresh", show_progress=show_progress,
    )
