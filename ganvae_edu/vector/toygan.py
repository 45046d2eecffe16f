"""A small GAN on the 2D mixtures of `toy`: networks, one training loop, its options.

The options are the remedies notebook 01 compares against a plain GAN:

* ``loss="saturating"`` (the minimax loss) or ``"nonsaturating"`` (-log D(G(z)));
* ``pack=k``: PacGAN, the discriminator judges k samples at once;
* ``r1=γ``: the zero-centred gradient penalty (γ/2)·E‖∇D(x)‖² on real data;
  ``r1_every=k`` applies it only every k-th step, k times stronger (the "lazy
  regularisation" of StyleGAN2), since its double backward pass is the costliest part;
* ``lr_decay``: learning rates fall linearly to 0, meant to let the generator settle its
  samples onto the modes instead of jittering around them.

A plain GAN needs many steps before its networks are sharp enough to resolve modes of
width σ = 0.01-0.05; a higher learning rate (3e-3) gets there sooner, R1 is meant to keep
that stable and the decay to freeze the samples on the modes. What each does alone, and the
plain GAN at its own best rate, is measured by ``benchmarks/toy_gan_ablation.py``; notebook 01
prints it. ``step=`` of `train_toy_gan` runs another step factory (notebook 01's own), and
`same_step` tells whether it does what `gan_step` does.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import asdict, dataclass, field

import torch
from torch import Tensor, nn

from ganvae_edu.formulas import gan
from ganvae_edu.runtime import resolve_device, warn
from ganvae_edu.training import Step, TrainResult, run

from . import toy
from .nets import mlp

LOSSES = ("saturating", "nonsaturating")


@dataclass
class ToyGANConfig:
    """Defaults: the fast remedy (R1 + linear lr decay, about 10 s on 2 CPU cores).

    See `PLAIN` for the unremedied GAN and `FULL` for the long run (about 1 minute).
    """

    mixture: str = "ring8"
    steps: int = 2000
    batch_size: int = 256
    z_dim: int = 2
    hidden: int = 64
    layers: int = 3
    leak: float = 0.2  # negative slope of the discriminator's LeakyReLU
    lr: float = 3e-3
    betas: tuple[float, float] = (0.5, 0.999)
    loss: str = "nonsaturating"
    pack: int = 1
    r1: float = 0.1
    r1_every: int = 4  # lazy regularisation: apply R1 (scaled up) only every k-th D step
    lr_decay: bool = True
    seed: int = 0
    device: str = "cpu"
    snapshots: int = 10  # how many sample snapshots to keep for plots / the explorer
    eval_samples: int = 2500

    def __post_init__(self) -> None:
        if self.loss not in LOSSES:
            raise ValueError(f"loss={self.loss!r} is not known; use one of {LOSSES}")
        if self.batch_size % self.pack:
            raise ValueError(f"batch_size={self.batch_size} must be a multiple of pack={self.pack}")
        if self.r1_every < 1:
            raise ValueError(f"r1_every={self.r1_every} must be at least 1")


# The same GAN without the remedies (no R1, constant learning rate): it drops modes.
PLAIN: dict = dict(r1=0.0, lr_decay=False)
# The full-size run of the remedy (about 50 s on 2 CPU cores): nearly every sample on a mode.
FULL: dict = dict(steps=10000)


@dataclass(kw_only=True)
class ToyGANResult(TrainResult):
    config: ToyGANConfig
    generator: nn.Module
    discriminator: nn.Module
    snapshots: list[tuple[int, Tensor]] = field(default_factory=list)
    metrics: dict[str, float] = field(default_factory=dict)
    samples: Tensor | None = None

    def sample(self, n: int, generator: torch.Generator | None = None) -> Tensor:
        """n fresh samples from the trained generator, on the CPU."""
        return sample_generator(self.generator, n, self.config.z_dim, generator)


def sample_generator(g: nn.Module, n: int, z_dim: int, generator: torch.Generator | None = None) -> Tensor:
    device = next(g.parameters()).device
    z = torch.randn(n, z_dim, generator=generator).to(device)
    with torch.no_grad():
        return g(z).cpu()


def gan_step(g: nn.Module, d: nn.Module, mix: toy.Mixture, cfg: ToyGANConfig, device: torch.device):
    """The step of one batch: a D update (plus the lazy R1 penalty), then a G update on the same fakes."""
    g_loss_fn = (
        gan.generator_loss_nonsaturating if cfg.loss == "nonsaturating" else gan.generator_loss_saturating
    )
    n_real = cfg.batch_size // cfg.pack  # packed real inputs; as many fake ones follow

    def step(s: Step) -> dict[str, Tensor]:
        real = mix.sample(cfg.batch_size, s.rng).to(device)
        z = torch.randn(cfg.batch_size, cfg.z_dim, generator=s.rng).to(device)
        fake = g(z)

        # Discriminator step: maximise V (minimise -V), plus the optional (lazy) R1 penalty.
        # Real and fake go through D as one batch (fewer, larger matrix products).
        lazy_r1 = cfg.r1 > 0 and s.number % cfg.r1_every == 0
        real.requires_grad_(lazy_r1)
        logits = d(gan.pack(torch.cat([real, fake.detach()]), cfg.pack))
        real_logits, fake_logits = logits[:n_real], logits[n_real:]
        d_loss = gan.discriminator_loss(real_logits, fake_logits)
        if lazy_r1:
            d_loss = d_loss + 0.5 * cfg.r1 * cfg.r1_every * gan.r1_penalty(real_logits, real)
        s.update("discriminator", d_loss)

        # Generator step on the same fakes, judged by the updated D. D's weights are
        # frozen meanwhile, so the backward pass computes no gradients for them.
        d.requires_grad_(False)
        g_loss = g_loss_fn(d(gan.pack(fake, cfg.pack)))
        s.update("generator", g_loss)
        d.requires_grad_(True)
        return {"d_loss": d_loss, "g_loss": g_loss}

    return step


# A step factory: (g, d, mix, cfg, device) -> the function of one `Step`, as `gan_step`.
StepFactory = Callable[[nn.Module, nn.Module, toy.Mixture, ToyGANConfig, torch.device],
                       Callable[[Step], dict]]


def train_toy_gan(cfg: ToyGANConfig, show_progress: bool = True,
                  checkpoint: str | os.PathLike | None = None,
                  step: StepFactory | None = None) -> ToyGANResult:
    """Train G and D with `gan_step` on the one loop (`training.run`); evaluate coverage.

    `step`: a step factory with `gan_step`'s signature, ``step(g, d, mix, cfg, device)`` returning
    the function of one `Step` (None: `gan_step`). Notebook 01 passes the step it shows.

    Everything random draws from one `torch.Generator` seeded with ``cfg.seed`` (data,
    noise) plus the global seed for weight initialisation, so a CPU run is repeatable, and a
    run resumed from `checkpoint` continues exactly.
    """
    device = resolve_device(cfg.device)
    torch.manual_seed(cfg.seed)
    rng = torch.Generator().manual_seed(cfg.seed)
    mix = toy.mixture(cfg.mixture)
    g = mlp(cfg.z_dim, cfg.hidden, cfg.layers, 2, nn.ReLU).to(device)
    d = mlp(2 * cfg.pack, cfg.hidden, cfg.layers, 1, lambda: nn.LeakyReLU(cfg.leak)).to(device)
    # foreach: one vectorised update for all tensors rather than a Python loop over them.
    opt_g = torch.optim.Adam(g.parameters(), lr=cfg.lr, betas=cfg.betas, foreach=True)
    opt_d = torch.optim.Adam(d.parameters(), lr=cfg.lr, betas=cfg.betas, foreach=True)
    snap_every = max(1, cfg.steps // max(1, cfg.snapshots))
    fixed_z = torch.randn(512, cfg.z_dim, generator=rng).to(device)
    state: dict = {"snapshots": []}

    def snapshot(k: int) -> dict:
        with torch.no_grad():
            state["snapshots"].append((k, g(fixed_z).cpu()))
        return {}

    run_ = run((step or gan_step)(g, d, mix, cfg, device), steps=cfg.steps,
               optimizers={"discriminator": opt_d, "generator": opt_g},
               modules={"generator": g, "discriminator": d}, rng=rng, lr_decay=cfg.lr_decay,
               record_every=snap_every, evaluate=snapshot, eval_every=snap_every, checkpoint=checkpoint,
               config=asdict(cfg), state=state, name=f"{cfg.mixture} GAN", hint=f"Lower lr={cfg.lr}",
               show_progress=show_progress)
    result = ToyGANResult(**vars(run_), config=cfg, generator=g, discriminator=d,
                          snapshots=state["snapshots"])
    result.samples = result.sample(cfg.eval_samples, rng)
    result.metrics = toy.coverage(result.samples, mix)
    return result


def same_step(cfg: ToyGANConfig, step: StepFactory, reference: StepFactory | None = None,
              tol: float = 1e-6) -> dict[str, bool]:
    """Does `step` do what `reference` (None: `gan_step`) does? Both train `cfg.steps` steps from
    the same seed (same initial weights, optimisers and batches); compared to `tol`: every
    recorded d_loss, every g_loss, and the final weights of both networks."""
    a = train_toy_gan(cfg, show_progress=False, step=step)
    b = train_toy_gan(cfg, show_progress=False, step=reference or gan_step)

    def close(key: str) -> bool:
        ha, hb = [h[key] for h in a.history], [h[key] for h in b.history]
        return len(ha) == len(hb) > 0 and all(abs(x - y) <= tol for x, y in zip(ha, hb))

    weights = all(
        torch.allclose(p, q, atol=tol, rtol=0)
        for m, n in ((a.generator, b.generator), (a.discriminator, b.discriminator))
        for p, q in zip(m.state_dict().values(), n.state_dict().values())
    )
    return {"d_loss": close("d_loss"), "g_loss": close("g_loss"), "weights": weights}


class LearnedNothing(RuntimeError):
    """Every GAN of a comparison ended with no high-quality sample: a setting to change, not a result."""


def verdict(runs: dict[str, ToyGANResult]) -> list[str]:
    """Warn for each run whose samples reach no mode; raise `LearnedNothing` when none reaches one.

    A GAN that covers 0 modes has no sample within 3σ of any mode: it learned nothing (a learning
    rate too high for these networks, too few steps), and its reverse KL is undefined (null in
    metrics.json). Returns the warnings, one line each; an empty list means every run learned.
    """
    lines = []
    for label, r in runs.items():
        if r.metrics.get("modes", 0) == 0:
            c = r.config
            lines.append(f"the {label} covers no mode (HQ {r.metrics.get('hq_fraction', 0):.0%}) "
                         f"after {c.steps} steps at lr={c.lr:g}: it learned nothing")
    for line in lines:
        warn(line)
    if runs and len(lines) == len(runs):
        lrs = sorted({r.config.lr for r in runs.values()})
        raise LearnedNothing(
            f"all {len(runs)} GANs cover no mode: nothing was learned, so no figure here means anything; "
            f"lower lr (now {', '.join(f'{x:g}' for x in lrs)}; the default is {ToyGANConfig.lr:g}) "
            "or give more steps"
        )
    return lines
