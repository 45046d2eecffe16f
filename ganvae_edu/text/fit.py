"""Training a text model on batches of sentences: `fit` runs the one loop of `ganvae_edu.training`.

The model supplies its loss on one padded batch (`StepLoss`); `fit` draws each step's batch from a
seeded generator (checkpointed with the rest by the loop, so a resumed run continues exactly).
The step the loop runs is `loss_step(step_loss)` unless a caller passes its own *step factory*
(``step=``, e.g. a notebook's ELBO step): ``factory(model, draw)`` returns ``step(s)``, where
``draw(s.rng)`` gives that step's padded batch and lengths on the model's device. A
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
# A step's batch: draw(rng) → (padded batch (B, T), lengths (B,)), both on the model's device.
Draw = Callable[[torch.Generator], tuple[torch.Tensor, torch.Tensor]]
# What `fit`'s loop runs: factory(model, draw) → step(s: Step) → figures to record.
StepFactory = Callable[[nn.Module, Draw], Callable[[Step], dict[str, float]]]


def batch_drawer(train: Sequence[Sequence[int]], cfg: TrainConfig, pad_id: int,
                 device: torch.device | str = "cpu") -> Draw:
    """draw(rng): one batch of `train` — a random length-sorted batch, or `cfg.batch_size` random
    sentences when not `cfg.length_sorted` — padded with `pad_id`, as `fit` draws them."""
    batches = length_batches(train, cfg.batch_size)

    def draw(rng: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
        if cfg.length_sorted:
            idx = batches[int(torch.randint(len(batches), (1,), generator=rng))]
        else:
            idx = torch.randint(len(train), (cfg.batch_size,), generator=rng).tolist()
        batch, lengths = pad([train[i] for i in idx], pad_id)
        return batch.to(device), lengths.to(device)

    return draw


def loss_step(step_loss: StepLoss) -> StepFactory:
    """The package's step: draw a batch, compute `step_loss` on it, one Adam update of the model."""

    def factory(model: nn.Module, draw: Draw) -> Callable[[Step], dict[str, float]]:
        def step(s: Step) -> dict[str, float]:
            batch, lengths = draw(s.rng)
            loss, n, record = step_loss(model, batch, lengths, s.number)
            s.update("model", loss)
            s.count(n)
            return record

        return step

    return factory


def fit(
    model: nn.Module,
    train: Sequence[Sequence[int]],
    step_loss: StepLoss | None,
    cfg: TrainConfig,
    evaluate: Callable[[nn.Module], dict[str, float]] | None = None,
    checkpoint: str | os.PathLike | Checkpoint | None = None,
    show_progress: bool = True,
    desc: str = "train",
    settings: dict | None = None,
    valid: Sequence[Sequence[int]] | None = None,
    step: StepFactory | None = None,
) -> TrainResult:
    """Adam on `step_loss` over batches of `train` (length-sorted by default); resumes from `checkpoint`.

    A checkpoint holds the settings (`cfg` plus `settings`, e.g. a VAE's KL schedule), the
    model's parameter shapes and a digest of `train` and `valid` (the sentences `evaluate`
    scores, if any); resuming with other settings, another model size or other data is refused.
    `evaluate(model)` runs every `cfg.eval_every` steps and at the end, in eval mode.
    `step`: a step factory to run instead of the package's `loss_step(step_loss)` (then
    `step_loss` is None): ``step(model, draw)`` → ``step_fn(s)``, which draws its batch with
    ``draw(s.rng)``, calls ``s.update("model", loss)`` and ``s.count(tokens)``, and returns the
    figures to record.
    """
    if (step is None) == (step_loss is None):
        raise ValueError("fit needs either step_loss (the package's step) or step= (your own step "
                         "factory), not both and not neither")
    device = next(model.parameters()).device
    draw = batch_drawer(train, cfg, model.pad_id, device)
    step_fn = (step or loss_step(step_loss))(model, draw)

    def evaluate_now(k: int) -> dict[str, float]:
        model.eval()
        figures = evaluate(model)
        model.train()
        return figures

    model.train()
    return run(
        step_fn, steps=cfg.steps, optimizers={"model": torch.optim.Adam(model.parameters(), lr=cfg.lr)},
        modules={"model": model}, rng=torch.Generator().manual_seed(cfg.seed), lr_decay=cfg.lr_decay,
        clip=cfg.clip, evaluate=evaluate_now if evaluate is not None else None,
        eval_every=cfg.eval_every,
        checkpoint=checkpoint if checkpoint is None or isinstance(checkpoint, Checkpoint)
        else Checkpoint(checkpoint, cfg.checkpoint_every or cfg.steps),
        config={**asdict(cfg), **(settings or {})},
        fingerprint={"data": data_digest(train, valid)} if checkpoint is not None else None, name=desc,
        hint=f"Lower lr={cfg.lr} or clip={cfg.clip} and start afresh", show_progress=show_progress,
    )
