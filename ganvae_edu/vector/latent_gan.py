r"""A GAN in a continuous code space (ARAE / LaTextGAN style): learn to produce codes like the data's.

Given codes c_1 … c_N of real sentences from an autoencoder's encoder, train a generator
G: noise → code against a discriminator on codes, with notebook 01's non-saturating loss and
(lazy) R1 penalty. Decoding G(ε) with the autoencoder's decoder then gives sentences, and the
GAN never has to pass a gradient through a discrete token. If the encoder is a VAE's, G learns
its *aggregate posterior* q(z) = (1/N) Σ q(z|x_n) — the codes the decoder was trained on —
rather than the prior N(0, I), whose holes the decoder never saw.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor, nn

from ganvae_edu.formulas import gan
from ganvae_edu.runtime import progress
from ganvae_edu.training import check_finite

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


def _update(opt: torch.optim.Optimizer, loss: Tensor, who: str, step: int, lr: float) -> None:
    """One optimiser step on `loss`, refused (weights untouched) when the loss is NaN/inf."""
    check_finite(loss, f"latent GAN {who} loss", step, f"Lower lr={lr}")
    opt.zero_grad(set_to_none=True)
    loss.backward()
    opt.step()


def train_latent_gan(codes: Tensor, cfg: LatentGANConfig, show_progress: bool = True):
    """(generator, history): a GAN fitted to the rows of `codes` (N, d)."""
    device = codes.device
    torch.manual_seed(cfg.seed)
    rng = torch.Generator().manual_seed(cfg.seed)
    g = CodeGenerator(cfg.noise_dim, codes.shape[1], cfg.hidden, cfg.layers).to(device)
    d = mlp(codes.shape[1], cfg.hidden, cfg.layers, 1, lambda: nn.LeakyReLU(0.2)).to(device)
    opt_g = torch.optim.Adam(g.parameters(), lr=cfg.lr, betas=(0.5, 0.9))
    opt_d = torch.optim.Adam(d.parameters(), lr=cfg.lr, betas=(0.5, 0.9))
    history = []
    for step in progress(range(1, cfg.steps + 1), desc="latent GAN", disable=not show_progress):
        if cfg.lr_decay:
            for opt in (opt_g, opt_d):
                for group in opt.param_groups:
                    group["lr"] = cfg.lr * (1 - (step - 1) / cfg.steps)
        real = codes[torch.randint(len(codes), (cfg.batch_size,), generator=rng).to(device)]
        fake = g(torch.randn(cfg.batch_size, cfg.noise_dim, generator=rng).to(device))
        lazy_r1 = cfg.r1 > 0 and step % cfg.r1_every == 0
        real.requires_grad_(lazy_r1)
        real_logits = d(real).squeeze(-1)
        d_loss = gan.discriminator_loss(real_logits, d(fake.detach()).squeeze(-1))
        if lazy_r1:
            d_loss = d_loss + 0.5 * cfg.r1 * cfg.r1_every * gan.r1_penalty(real_logits, real)
        _update(opt_d, d_loss, "discriminator", step, cfg.lr)
        d.requires_grad_(False)
        g_loss = gan.generator_loss_nonsaturating(d(fake).squeeze(-1))
        d.requires_grad_(True)
        _update(opt_g, g_loss, "generator", step, cfg.lr)
        if step % max(1, cfg.steps // 50) == 0 or step == cfg.steps:
            history.append({"step": step, "d_loss": d_loss.item(), "g_loss": g_loss.item()})
    return g, history
