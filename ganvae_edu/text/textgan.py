r"""GANs for text across the discrete gap: REINFORCE (SeqGAN-style) and Gumbel-softmax (RelGAN-style).

Both start from an MLE-pretrained `GRULanguageModel` as generator and train it against a
`CNNDiscriminator` with the losses of notebook 01 (`gan.discriminator_loss`, the
non-saturating generator loss).

* REINFORCE: sample whole sentences, score them with D, and follow the score-function gradient
  (`discrete.reinforce_surrogate`) with reward r = D(x) and a moving-average baseline.
* Gumbel-softmax: generate *relaxed* one-hot tokens y_t = softmax((logits + g)/τ), feed yᵀE back
  as the next input, and let D's gradient flow through the whole sequence. τ falls
  geometrically from `tau_start` to `tau_end` (RelGAN anneals it); `straight_through` uses hard
  one-hots forward.

A NaN/inf loss stops training with `training.TrainingDiverged` (the loop's guard), so the models
keep the weights of their last good step.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass

import torch
from torch import Tensor

from ganvae_edu.formulas import discrete, gan
from ganvae_edu.training import Step, TrainResult, data_digest, run

from .batches import pad
from .discriminator import CNNDiscriminator
from .lm import GRULanguageModel


@dataclass
class TextGANConfig:
    steps: int = 200
    batch_size: int = 64
    g_lr: float = 1e-4
    d_lr: float = 1e-4
    max_len: int = 20  # generated sentences are cut to this many tokens
    tau_start: float = 1.0  # Gumbel-softmax temperature at the start …
    tau_end: float = 0.1  # … and at the end (geometric decay)
    straight_through: bool = False
    baseline_decay: float = 0.9  # REINFORCE: moving average of the mean reward
    mle_weight: float = 0.0  # add this × the teacher-forced NLL of a real batch to G's loss
    seed: int = 0


def real_targets(sequences: Sequence[Sequence[int]], max_len: int, pad_id: int = 0) -> Tensor:
    """Real sentences as D sees them: w_1 … w_n <eos> (no <bos>), cut to max_len + 1, padded."""
    batch, _ = pad([list(s[1:])[: max_len + 1] for s in sequences], pad_id)
    return batch


def tau_at(step: int, cfg: TextGANConfig) -> float:
    """τ decaying geometrically from tau_start (step 1) to tau_end (the last step)."""
    frac = (step - 1) / max(1, cfg.steps - 1)
    return cfg.tau_start * (cfg.tau_end / cfg.tau_start) ** frac


def soft_generate(lm: GRULanguageModel, n: int, bos_id: int, eos_id: int, max_len: int, tau: float,
                  hard: bool = False, generator: torch.Generator | None = None) -> Tensor:
    """n relaxed sentences (n, max_len + 1, V): Gumbel-softmax tokens fed back as yᵀE.

    Positions after the first (argmax) <eos> are set to the <pad> one-hot, as real sentences are
    padded; they carry no gradient.
    """
    E = lm.embed.weight
    vec = E[bos_id].expand(n, -1)
    state, ys = None, []
    for _ in range(max_len + 1):
        logits, state = lm.step_vectors(vec, state)
        y = discrete.gumbel_softmax(logits, tau, hard, generator)
        ys.append(y)
        vec = y @ E
    y = torch.stack(ys, 1)
    is_eos = y.argmax(-1) == eos_id
    after = (is_eos.long().cumsum(1) - is_eos.long()) > 0
    pad_one_hot = torch.zeros_like(y[0, 0])
    pad_one_hot[lm.pad_id] = 1.0
    return torch.where(after[..., None], pad_one_hot, y)


def text_gan_step(variant: str, lm: GRULanguageModel, disc: CNNDiscriminator, train: Sequence[Sequence[int]],
                  cfg: TextGANConfig):
    """The step of one batch: D on real against generated sentences, then the generator's update.

    "reinforce": sample whole sentences, reward r = D(x) against a moving-average baseline, and
    follow the score-function gradient. "gumbel": relaxed sentences whose D score is
    differentiated through the whole sequence (non-saturating loss). The baseline is carried
    across steps in ``s.state`` (so it is checkpointed with the rest).
    """
    if variant not in ("reinforce", "gumbel"):
        raise ValueError(f"variant={variant!r}: use 'reinforce' or 'gumbel'")
    device = lm.out.weight.device
    bos_id, eos_id = lm.bos_id, lm.eos_id

    def step(s: Step) -> dict[str, float | Tensor]:
        idx = torch.randint(len(train), (cfg.batch_size,), generator=s.rng).tolist()
        real = real_targets([train[i] for i in idx], cfg.max_len, lm.pad_id).to(device)
        record: dict[str, float | Tensor] = {}
        lm.train()
        if variant == "reinforce":
            with torch.no_grad():
                ids = lm.sample(cfg.batch_size, max_len=cfg.max_len, generator=s.rng)
            batch, lengths = pad([[bos_id, *x, eos_id] for x in ids], lm.pad_id)
            fake = batch[:, 1:].to(device)
        else:
            tau = tau_at(s.number, cfg)
            fake = soft_generate(lm, cfg.batch_size, bos_id, eos_id, cfg.max_len, tau,
                                 cfg.straight_through, s.rng)
            record["tau"] = tau

        # discriminator: real against (detached) fake
        d_loss = gan.discriminator_loss(disc(real), disc(fake if variant == "reinforce" else fake.detach()))
        s.update("discriminator", d_loss)

        # generator
        disc.requires_grad_(False)
        if variant == "reinforce":
            with torch.no_grad():
                reward = torch.sigmoid(disc(fake))
            mean_r = reward.mean().item()
            baseline = s.state.get("baseline")
            decay = cfg.baseline_decay
            baseline = mean_r if baseline is None else decay * baseline + (1 - decay) * mean_r
            s.state["baseline"] = baseline
            log_p = lm.sentence_log_prob(batch.to(device), lengths.to(device))
            g_loss = discrete.reinforce_surrogate(log_p, reward, baseline)
            record["reward"] = mean_r
        else:
            g_loss = gan.generator_loss_nonsaturating(disc(fake))
        if cfg.mle_weight > 0:
            mle_batch, mle_len = pad([train[i] for i in idx], lm.pad_id)
            total, n = lm.nll(mle_batch.to(device), mle_len.to(device))
            g_loss = g_loss + cfg.mle_weight * total / n
        disc.requires_grad_(True)
        s.update("generator", g_loss)
        record.update(d_loss=d_loss, g_loss=g_loss)
        return record

    return step


def train_text_gan(variant: str, lm: GRULanguageModel, disc: CNNDiscriminator,
                   train: Sequence[Sequence[int]], cfg: TextGANConfig, bos_id: int = 1, eos_id: int = 2,
                   show_progress: bool = True, on_eval: Callable[[int], dict[str, float]] | None = None,
                   eval_every: int | None = None, checkpoint: str | os.PathLike | None = None) -> TrainResult:
    """Adversarial training of `lm` against `disc` ("reinforce" or "gumbel") with `text_gan_step`.

    `on_eval(step)` (optional) is called every `eval_every` steps and at the end, with the
    generator in eval mode; what it returns is merged into that step's record (e.g. BLEU and
    Self-BLEU over time). Gradient norms are clipped to 5.
    """
    if (bos_id, eos_id) != (lm.bos_id, lm.eos_id):
        raise ValueError(f"bos_id={bos_id}, eos_id={eos_id} differ from the language model's "
                         f"({lm.bos_id}, {lm.eos_id}); build the model with the vocabulary's ids")
    step = text_gan_step(variant, lm, disc, train, cfg)

    def evaluate(k: int) -> dict[str, float]:
        lm.eval()
        return on_eval(k)

    result = run(
        step, steps=cfg.steps,
        optimizers={"discriminator": torch.optim.Adam(disc.parameters(), lr=cfg.d_lr),
                    "generator": torch.optim.Adam(lm.parameters(), lr=cfg.g_lr)},
        modules={"generator": lm, "discriminator": disc}, rng=torch.Generator().manual_seed(cfg.seed),
        clip=5.0, evaluate=evaluate if on_eval is not None and eval_every else None,
        eval_every=eval_every or None, checkpoint=checkpoint, config={"variant": variant, **asdict(cfg)},
        fingerprint={"data": data_digest(train)} if checkpoint is not None else None,
        name=f"{variant} GAN", hint=f"Lower g_lr={cfg.g_lr} / d_lr={cfg.d_lr} and rerun",
        show_progress=show_progress,
    )
    lm.eval()
    return result
