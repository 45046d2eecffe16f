r"""A GAN in a continuous code space (ARAE / LaTextGAN style): learn to produce codes like the data's.

Given codes c_1 … c_N of real sentences from an autoencoder's encoder, train a generator
G: noise → code against a discriminator on codes, with notebook 01's non-saturating loss and
(lazy) R1 penalty. Decoding G(ε) with the autoencoder's decoder then gives sentences, and the
GAN never has to pass a gradient through a discrete token. If the encoder is a VAE's, G learns
its *aggregate posterior* q(z) = (1/N) Σ q(z|x_n) — the codes the decoder was trained on —
rather than the prior N(0, I), whose holes the decoder never saw.
"""

from __future__ import annotations

import os
from dataclasses import asdict, dataclass

import torch
from torch import Tensor, nn

from ganvae_edu.formulas import gan
from ganvae_edu.training import Step, TrainResult, data_digest, run

from .nets import mlp


@dataclass
class LatentGANConfig:
    steps: int = 2000
    batch_size: int = 256
    lr: float = 1e-3
    hidden: int = 128
    layers: int = 2
    noise_dim: int = 16
    r1: float = 1.0
    r1_every: int = 4
    lr_decay: bool = True
    seed: int = 0


class CodeGenerator(nn.Module):
    def __init__(self, noise_dim: int, code_dim: int, hidden: int, layers: int) -> None:
        super().__init__()
        self.noise_dim = noise_dim
        self.net = mlp(noise_dim, hidden, layers, code_dim, nn.ReLU)

    def forward(self, noise: Tensor) -> Tensor:
        return self.net(noise)

    @torch.no_grad()
    def sample(self, n: int, generator: torch.Generator | None = None) -> Tensor:
        device = next(self.parameters()).device
        return self(torch.randn(n, self.noise_dim, generator=generator).to(device))


@dataclass(kw_only=True)
class LatentGANResult(TrainResult):
    generator: CodeGenerator


def code_gan_step(g: CodeGenerator, d: nn.Module, codes: Tensor, cfg: LatentGANConfig):
    """The step of one batch of codes: a D update (plus lazy R1), then a non-saturating G update."""
    device = codes.device

    def step(s: Step) -> dict[str, Tensor]:
        real = codes[torch.randint(len(codes), (cfg.batch_size,), generator=s.rng).to(device)]
        fake = g(torch.randn(cfg.batch_size, cfg.noise_dim, generator=s.rng).to(device))
        lazy_r1 = cfg.r1 > 0 and s.number % cfg.r1_every == 0
        real.requires_grad_(lazy_r1)
        real_logits = d(real).squeeze(-1)
        d_loss = gan.discriminator_loss(real_logits, d(fake.detach()).squeeze(-1))
        if lazy_r1:
            d_loss = d_loss + 0.5 * cfg.r1 * cfg.r1_every * gan.r1_penalty(real_logits, real)
        s.update("discriminator", d_loss)
        d.requires_grad_(False)
        g_loss = gan.generator_loss_nonsaturating(d(fake).squeeze(-1))
        d.requires_grad_(True)
        s.update("generator", g_loss)
        return {"d_loss": d_loss, "g_loss": g_loss}

    return step


def train_latent_gan(codes: Tensor, cfg: LatentGANConfig, show_progress: bool = True,
                     checkpoint: str | os.PathLike | None = None) -> LatentGANResult:
    """A GAN fitted to the rows of `codes` (N, d) with `code_gan_step` on the one loop."""
    device = codes.device
    torch.manual_seed(cfg.seed)
    rng = torch.Generator().manual_seed(cfg.seed)
    g = CodeGenerator(cfg.noise_dim, codes.shape[1], cfg.hidden, cfg.layers).to(device)
    d = mlp(codes.shape[1], cfg.hidden, cfg.layers, 1, lambda: nn.LeakyReLU(0.2)).to(device)
    opt_g = torch.optim.Adam(g.parameters(), lr=cfg.lr, betas=(0.5, 0.9))
    opt_d = torch.optim.Adam(d.parameters(), lr=cfg.lr, betas=(0.5, 0.9))
    run_ = run(code_gan_step(g, d, codes, cfg), steps=cfg.steps,
               optimizers={"discriminator": opt_d, "generator": opt_g},
               modules={"generator": g, "discriminator": d}, rng=rng, lr_decay=cfg.lr_decay,
               record_every=max(1, cfg.steps // 50), checkpoint=checkpoint, config=asdict(cfg),
               fingerprint={"data": data_digest(codes)} if checkpoint is not None else None,
               name="latent GAN", hint=f"Lower lr={cfg.lr}", show_progress=show_progress)
    return LatentGANResult(**vars(run_), generator=g)
