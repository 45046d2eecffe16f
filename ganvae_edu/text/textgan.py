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

A NaN/inf loss stops training with `train.TrainingDiverged` before any weight changes, so the
models keep their last good weights.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import torch
from torch import Tensor

from ganvae_edu.formulas import discrete, gan
from ganvae_edu.runtime import progress
from ganvae_edu.training import check_finite, clipped_step

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


def _hint(cfg: TextGANConfig) -> str:
    return f"Lower g_lr={cfg.g_lr} / d_lr={cfg.d_lr} and rerun"


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


def train_text_gan(variant: str, lm: GRULanguageModel, disc: CNNDiscriminator,
                   train: Sequence[Sequence[int]], cfg: TextGANConfig, bos_id: int = 1, eos_id: int = 2,
                   show_progress: bool = True, on_eval=None, eval_every: int = 0) -> list[dict[str, float]]:
    """Adversarial training of `lm` against `disc` ("reinforce" or "gumbel"); returns the history.

    `on_eval(step)` (optional) is called every `eval_every` steps and at the end; what it
    returns is merged into that step's record (e.g. BLEU and Self-BLEU over time).
    """
    if variant not in ("reinforce", "gumbel"):
        raise ValueError(f"variant={variant!r}: use 'reinforce' or 'gumbel'")
    device = lm.out.weight.device
    rng = torch.Generator().manual_seed(cfg.seed)
    opt_g = torch.optim.Adam(lm.parameters(), lr=cfg.g_lr)
    opt_d = torch.optim.Adam(disc.parameters(), lr=cfg.d_lr)
    baseline, history = None, []
    for step in progress(range(1, cfg.steps + 1), desc=f"{variant} GAN", disable=not show_progress):
        idx = torch.randint(len(train), (cfg.batch_size,), generator=rng).tolist()
        real = real_targets([train[i] for i in idx], cfg.max_len, lm.pad_id).to(device)
        record: dict[str, float] = {"step": step}
        lm.train()
        if variant == "reinforce":
            with torch.no_grad():
                ids = lm.sample(cfg.batch_size, bos_id, eos_id, max_len=cfg.max_len, generator=rng)
            seqs = [[bos_id, *s, eos_id] for s in ids]
            batch, lengths = pad(seqs, lm.pad_id)
            fake = batch[:, 1:].to(device)
        else:
            tau = tau_at(step, cfg)
            fake = soft_generate(lm, cfg.batch_size, bos_id, eos_id, cfg.max_len, tau,
                                 cfg.straight_through, rng)
            record["tau"] = tau

        # discriminator: real against (detached) fake
        d_fake_in = fake if variant == "reinforce" else fake.detach()
        d_loss = gan.discriminator_loss(disc(real), disc(d_fake_in))
        check_finite(d_loss, "discriminator loss", step, _hint(cfg))
        clipped_step(opt_d, d_loss, disc.parameters())

        # generator
        disc.requires_grad_(False)
        if variant == "reinforce":
            with torch.no_grad():
                reward = torch.sigmoid(disc(fake))
            mean_r = reward.mean().item()
            decay = cfg.baseline_decay
            baseline = mean_r if baseline is None else decay * baseline + (1 - decay) * mean_r
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
        check_finite(g_loss, "generator loss", step, _hint(cfg))
        clipped_step(opt_g, g_loss, lm.parameters())
        record.update(d_loss=d_loss.item(), g_loss=g_loss.item())
        if on_eval is not None and eval_every and (step % eval_every == 0 or step == cfg.steps):
            lm.eval()
            record.update(on_eval(step))
        history.append(record)
    lm.eval()
    return history

