r"""GANs for text across the discrete gap: REINFORCE (SeqGAN-style) and Gumbel-softmax (RelGAN-style).

Both start from an MLE-pretrained `GRULanguageModel` as generator and train it against a
`CNNDiscriminator` with the losses of notebook 01 (`gan.discriminator_loss`, the
non-saturating generator loss).

* REINFORCE: sample whole sentences, score them with D, and follow the score-function gradient
  (`discrete.reinforce_surrogate`) with reward r = D(x) and a moving-average baseline; with a
  frozen reference model and `kl_beta` (`kl_reinforce_step`), the same step on the KL-shaped
  reward, the objective of RLHF (notebook 08).
* Gumbel-softmax: generate *relaxed* one-hot tokens y_t = softmax((logits + g)/τ), feed yᵀE back
  as the next input, and let D's gradient flow through the whole sequence. τ falls
  geometrically from `tau_start` to `tau_end` (RelGAN anneals it); `straight_through` uses hard
  one-hots forward.

Each variant's step is a factory (`reinforce_step`, `gumbel_step`: ``factory(lm, disc, train,
cfg)`` returns the loop's ``step(s)``); `train_text_gan(..., step=...)` runs another one with the
same signature (notebook 05 writes its own), and `steps_agree` checks that one against the
package's on a fixed batch and seed.

A NaN/inf loss stops training with `training.TrainingDiverged` (the loop's guard), so the models
keep the weights of their last good step.
"""

from __future__ import annotations

import copy
import os
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, replace

import torch
from torch import Tensor

from ganvae_edu.formulas import discrete, gan, kl_reward
from ganvae_edu.training import Step, TrainResult, data_digest, run

from .batches import pad
from .discriminator import CNNDiscriminator
from .lm import GRULanguageModel

StepFactory = Callable[[GRULanguageModel, CNNDiscriminator, Sequence[Sequence[int]], "TextGANConfig"],
                       Callable[[Step], dict]]


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
    kl_beta: float = 0.0  # REINFORCE with a reference model: β of the KL anchor (formulas.kl_reward)
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


def draw_real(train: Sequence[Sequence[int]], cfg: TextGANConfig, rng: torch.Generator,
              lm: GRULanguageModel) -> tuple[Tensor, list[Sequence[int]]]:
    """A batch of real sentences drawn with `rng`: as D sees them (B, T) (`real_targets`), and
    the drawn <bos> … <eos> id lists themselves (for `mle_term`)."""
    idx = torch.randint(len(train), (cfg.batch_size,), generator=rng).tolist()
    sentences = [train[i] for i in idx]
    return real_targets(sentences, cfg.max_len, lm.pad_id).to(lm.out.weight.device), sentences


def mle_term(lm: GRULanguageModel, sentences: Sequence[Sequence[int]], cfg: TextGANConfig) -> Tensor:
    """cfg.mle_weight × the teacher-forced NLL per token of `sentences` (a real batch)."""
    batch, lengths = pad(list(sentences), lm.pad_id)
    total, n = lm.nll(batch.to(lm.out.weight.device), lengths.to(lm.out.weight.device))
    return cfg.mle_weight * total / n


def reinforce_step(lm: GRULanguageModel, disc: CNNDiscriminator, train: Sequence[Sequence[int]],
                   cfg: TextGANConfig, reference: GRULanguageModel | None = None):
    r"""The REINFORCE (SeqGAN-style) step of one batch: D on real against sampled sentences, then

        b ← decay · b + (1 − decay) · mean r,   r = D(x) = σ(logit),   x ~ p_θ
        L_G = −mean_n (r_n − b) · log p_θ(x_n)          (`discrete.reinforce_surrogate`)

    With a frozen `reference` model π_ref the reward is KL-shaped (`formulas.kl_reward`, the
    objective of RLHF with D as the reward model), and b averages the shaped reward:

        r̃_n = r_n − β (log p_θ(x_n) − log π_ref(x_n)),   L_G = −mean_n (r̃_n − b) · log p_θ(x_n)

    The baseline b is carried across steps in ``s.state`` (so it is checkpointed with the rest).
    Records d_loss, g_loss, the mean reward and D's mean on the real batch (d_real); with a
    reference also the mean log-ratio (kl, an estimate of KL(p_θ ‖ π_ref) per sentence). With a
    reference the generator runs without dropout, as RLHF runs its policy: the sentences are then
    drawn from the very p_θ that scores them, so the log-ratio is exactly 0 before the first update
    (with dropout, sampling and scoring would use two different random networks, and the estimate
    could go below 0).
    """
    device = lm.out.weight.device
    if reference is not None:
        reference.requires_grad_(False)

    def step(s: Step) -> dict[str, float | Tensor]:
        real, sentences = draw_real(train, cfg, s.rng, lm)  # (B, T)
        lm.train(reference is None)  # anchored: no dropout, one p_θ samples and scores
        with torch.no_grad():
            ids = lm.sample(cfg.batch_size, max_len=cfg.max_len, generator=s.rng)
        batch, lengths = pad([[lm.bos_id, *x, lm.eos_id] for x in ids], lm.pad_id)
        batch, lengths = batch.to(device), lengths.to(device)
        fake = batch[:, 1:]  # (B, T'): w_1 … <eos>, as D sees real ones
        real_logits = disc(real)
        d_loss = gan.discriminator_loss(real_logits, disc(fake))
        s.update("discriminator", d_loss)

        with torch.no_grad():
            reward = torch.sigmoid(disc(fake))  # (B,)
        mean_r = reward.mean().item()
        log_p = lm.sentence_log_prob(batch, lengths)  # (B,)
        extra = {}
        if reference is not None:
            with torch.no_grad():
                ref_log_p = reference.sentence_log_prob(batch, lengths)
            shaped = kl_reward.kl_shaped_reward(reward, log_p, ref_log_p, cfg.kl_beta)
            extra["kl"] = (log_p.detach() - ref_log_p).mean().item()
        target = mean_r if reference is None else shaped.mean().item()
        baseline, decay = s.state.get("baseline"), cfg.baseline_decay
        baseline = target if baseline is None else decay * baseline + (1 - decay) * target
        s.state["baseline"] = baseline
        if reference is None:
            g_loss = discrete.reinforce_surrogate(log_p, reward, baseline)
        else:
            g_loss = kl_reward.kl_reinforce_loss(reward, log_p, ref_log_p, cfg.kl_beta, baseline)
        if cfg.mle_weight > 0:
            g_loss = g_loss + mle_term(lm, sentences, cfg)
        s.update("generator", g_loss)
        return {"reward": mean_r, "d_real": torch.sigmoid(real_logits).mean().item(),
                "d_loss": d_loss, "g_loss": g_loss, **extra}

    return step


def gumbel_step(lm: GRULanguageModel, disc: CNNDiscriminator, train: Sequence[Sequence[int]],
                cfg: TextGANConfig):
    r"""The Gumbel-softmax (RelGAN-style) step of one batch: relaxed sentences y (`soft_generate`,
    temperature τ = `tau_at(step)`), D on real against y (detached), then the non-saturating

        L_G = −mean log D(y),   differentiated through every yᵀE back into the generator.

    Records d_loss, g_loss, τ, and D's mean on the real (d_real) and relaxed (d_fake) batch.
    """

    def step(s: Step) -> dict[str, float | Tensor]:
        real, sentences = draw_real(train, cfg, s.rng, lm)  # (B, T)
        lm.train()
        tau = tau_at(s.number, cfg)
        fake = soft_generate(lm, cfg.batch_size, lm.bos_id, lm.eos_id, cfg.max_len, tau,
                             cfg.straight_through, s.rng)  # (B, T', V)
        real_logits = disc(real)
        d_loss = gan.discriminator_loss(real_logits, disc(fake.detach()))
        s.update("discriminator", d_loss)

        disc.requires_grad_(False)  # G's loss moves G only
        fake_logits = disc(fake)
        g_loss = gan.generator_loss_nonsaturating(fake_logits)
        if cfg.mle_weight > 0:
            g_loss = g_loss + mle_term(lm, sentences, cfg)
        disc.requires_grad_(True)
        s.update("generator", g_loss)
        return {"tau": tau, "d_real": torch.sigmoid(real_logits).mean().item(),
                "d_fake": torch.sigmoid(fake_logits).mean().item(), "d_loss": d_loss, "g_loss": g_loss}

    return step



def kl_reinforce_step(reference: GRULanguageModel) -> StepFactory:
    """The step factory of REINFORCE anchored to the frozen `reference` with β = cfg.kl_beta
    (`reinforce_step` with a reference; β = 0 is plain REINFORCE)."""
    def factory(lm: GRULanguageModel, disc: CNNDiscriminator, train: Sequence[Sequence[int]],
                cfg: TextGANConfig):
        return reinforce_step(lm, disc, train, cfg, reference)

    return factory

STEPS = {"reinforce": reinforce_step, "gumbel": gumbel_step}  # the package's step factory per variant


def text_gan_step(variant: str, lm: GRULanguageModel, disc: CNNDiscriminator, train: Sequence[Sequence[int]],
                  cfg: TextGANConfig):
    """The package's step of `variant` ("reinforce" → `reinforce_step`, "gumbel" → `gumbel_step`)."""
    if variant not in STEPS:
        raise ValueError(f"variant={variant!r}: use 'reinforce' or 'gumbel'")
    return STEPS[variant](lm, disc, train, cfg)


def train_text_gan(variant: str, lm: GRULanguageModel, disc: CNNDiscriminator,
                   train: Sequence[Sequence[int]], cfg: TextGANConfig, bos_id: int = 1, eos_id: int = 2,
                   show_progress: bool = True, on_eval: Callable[[int], dict[str, float]] | None = None,
                   eval_every: int | None = None, checkpoint: str | os.PathLike | None = None,
                   *, step: StepFactory | None = None) -> TrainResult:
    """Adversarial training of `lm` against `disc` ("reinforce" or "gumbel") on the one loop.

    `step`: a step factory ``step(lm, disc, train, cfg) → (Step → record)``, the signature of
    `reinforce_step` and `gumbel_step`; None runs the package's own for `variant` (`STEPS`).

    `on_eval(step)` (optional) is called every `eval_every` steps and at the end, with the
    generator in eval mode; what it returns is merged into that step's record (e.g. BLEU and
    Self-BLEU over time). Gradient norms are clipped to 5.
    """
    if (bos_id, eos_id) != (lm.bos_id, lm.eos_id):
        raise ValueError(f"bos_id={bos_id}, eos_id={eos_id} differ from the language model's "
                         f"({lm.bos_id}, {lm.eos_id}); build the model with the vocabulary's ids")
    if variant not in STEPS:
        raise ValueError(f"variant={variant!r}: use 'reinforce' or 'gumbel'")
    step_fn = (step or STEPS[variant])(lm, disc, train, cfg)

    def evaluate(k: int) -> dict[str, float]:
        lm.eval()
        return on_eval(k)

    result = run(
        step_fn, steps=cfg.steps,
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


def steps_agree(variant: str, step: StepFactory, lm: GRULanguageModel, disc: CNNDiscriminator,
                train: Sequence[Sequence[int]], cfg: TextGANConfig, steps: int = 2,
                atol: float = 1e-6, against: StepFactory | None = None) -> dict[str, bool]:
    """Does the step factory `step` train as the package's own step of `variant` (or `against`) does?

    Both run `steps` steps of `train_text_gan` from copies of the same `lm` and `disc`, with the
    same batches (the run's generator, seeded by cfg.seed) and the same dropout masks (torch's
    global generator seeded by cfg.seed before each run). Returns, each to `atol`: the recorded
    d_loss and g_loss of every step, and the weights of both players at the end.
    """
    cfg = replace(cfg, steps=steps)
    runs = []
    for factory in (step, against or STEPS[variant]):
        g, d = copy.deepcopy(lm), copy.deepcopy(disc)
        torch.manual_seed(cfg.seed)
        history = train_text_gan(variant, g, d, train, cfg, lm.bos_id, lm.eos_id, show_progress=False,
                                 step=factory).history
        weights = [p.detach() for p in [*g.parameters(), *d.parameters()]]
        runs.append((history, weights))
    (h1, w1), (h2, w2) = runs

    def close(key: str) -> bool:
        return len(h1) == len(h2) and all(key in a and key in b and abs(float(a[key]) - float(b[key])) <= atol
                                          for a, b in zip(h1, h2))

    return {"d_loss": close("d_loss"), "g_loss": close("g_loss"),
            "weights": all(torch.allclose(a, b, atol=atol, rtol=0) for a, b in zip(w1, w2))}
