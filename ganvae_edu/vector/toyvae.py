"""A small Gaussian VAE for vector data (the linear-Gaussian model, the 2D mixtures) and its loop.

Encoder: x → (μ, log σ²) of q(z|x) = N(μ, diag σ²). Decoder: z → mean of p(x|z) =
N(mean, diag σ_x²), with σ_x a learned parameter per data dimension. With ``layers=0`` both
are linear, so the VAE can represent the linear-Gaussian model exactly.
The loss is -(E_q[log p(x|z)] - β·KL(q ‖ N(0, I))), one reparameterized sample per example,
with the KL weight warmed up from 0 over the first ``kl_warmup`` fraction of the steps.
"""

from __future__ import annotations

import os
from dataclasses import asdict, dataclass

import torch
from torch import Tensor, nn

from ganvae_edu.formulas import vae
from ganvae_edu.formulas.linear_gaussian import LinearGaussian
from ganvae_edu.runtime import resolve_device
from ganvae_edu.training import Step, TrainResult, data_digest, run

from .nets import mlp


class GaussianVAE(nn.Module):
    def __init__(self, data_dim: int, latent_dim: int, hidden: int = 64, layers: int = 2) -> None:
        super().__init__()
        self.latent_dim = latent_dim
        self.encoder = mlp(data_dim, hidden, layers, 2 * latent_dim, nn.SiLU)
        self.decoder = mlp(latent_dim, hidden, layers, data_dim, nn.SiLU)
        self.log_sigma_x = nn.Parameter(torch.zeros(data_dim))

    def encode(self, x: Tensor) -> tuple[Tensor, Tensor]:
        mu, logvar = self.encoder(x).chunk(2, dim=-1)
        return mu, logvar

    def log_likelihood(self, x: Tensor, z: Tensor) -> Tensor:
        """log p(x|z), Gaussian with the decoder's mean and the learned σ_x."""
        logvar_x = (2 * self.log_sigma_x).expand_as(x)
        return vae.gaussian_log_prob(x, self.decoder(z), logvar_x)

    def elbo_terms(
        self, x: Tensor, generator: torch.Generator | None = None
    ) -> tuple[Tensor, Tensor]:
        """(one-sample estimate of E_q[log p(x|z)], exact KL(q ‖ N(0, I))), per example."""
        mu, logvar = self.encode(x)
        z = vae.reparameterize(mu, logvar, generator)
        return self.log_likelihood(x, z), vae.kl_standard_normal(mu, logvar)

    @torch.no_grad()
    def iwae(self, x: Tensor, k: int, generator: torch.Generator | None = None, chunk: int = 256) -> Tensor:
        r"""L_k = log (1/k) Σ_i p(x, z_i) / q(z_i|x), z_i ~ q(z|x), per example (Burda et al. 2016)."""
        out = []
        for xb in x.split(chunk):
            mu, logvar = self.encode(xb)
            z = vae.reparameterize(mu.expand(k, *mu.shape), logvar.expand(k, *logvar.shape), generator)
            log_prior = vae.gaussian_log_prob(z, torch.zeros_like(z), torch.zeros_like(z))
            log_q = vae.gaussian_log_prob(z, mu, logvar)
            log_w = self.log_likelihood(xb.expand(k, *xb.shape), z) + log_prior - log_q
            out.append(vae.iwae_bound(log_w, dim=0))
        return torch.cat(out)

    @torch.no_grad()
    def as_linear_gaussian(self) -> LinearGaussian:
        r"""The model this VAE defines, as an exact `LinearGaussian` (only when ``layers=0``).

        A linear decoder z ↦ W z + b with σ_x per dimension is x | z ~ N(W z + b, diag σ_x²),
        so its log p(x), posterior and any q's ELBO are closed-form (float64 copies).
        """
        if len(self.decoder) != 1 or not isinstance(self.decoder[0], nn.Linear):
            raise ValueError("as_linear_gaussian needs a linear decoder: train with layers=0")
        lin = self.decoder[0]
        return LinearGaussian(W=lin.weight.detach().double().cpu(), b=lin.bias.detach().double().cpu(),
                              sigma=self.log_sigma_x.detach().double().cpu().exp())

    @torch.no_grad()
    def sample(self, n: int, generator: torch.Generator | None = None, noise: bool = True) -> Tensor:
        """x ~ p(x) by ancestral sampling; with ``noise=False`` only the decoder means."""
        device = self.log_sigma_x.device
        z = torch.randn(n, self.latent_dim, generator=generator).to(device)
        mean = self.decoder(z)
        if not noise:
            return mean
        eps = torch.randn(mean.shape, generator=generator).to(device)
        return mean + self.log_sigma_x.exp() * eps


@dataclass
class ToyVAEConfig:
    latent_dim: int = 2
    hidden: int = 64
    layers: int = 2  # 0: linear encoder and decoder
    steps: int = 2000
    batch_size: int = 256
    lr: float = 3e-3
    beta: float = 1.0  # weight of the KL term (β-VAE; 1 is the ELBO)
    kl_warmup: float = 0.3  # fraction of steps over which the KL weight rises linearly 0 → β
    lr_decay: bool = True
    seed: int = 0
    device: str = "cpu"


@dataclass(kw_only=True)
class ToyVAEResult(TrainResult):
    config: ToyVAEConfig
    model: GaussianVAE


def elbo_step(model: GaussianVAE, data: Tensor, cfg: ToyVAEConfig):
    """The step of one random minibatch: minimise -(E_q[log p(x|z)] - warm·β·KL), one sample of z."""

    def step(s: Step) -> dict[str, Tensor]:
        idx = torch.randint(len(data), (cfg.batch_size,), generator=s.rng).to(data.device)
        rec, kl = model.elbo_terms(data[idx], s.rng)
        # KL warm-up (Bowman et al. 2016): with the full KL weight from step 1 the decoder can
        # settle on ignoring z (KL → 0, "posterior collapse") before z carries anything.
        warm = min(1.0, s.number / (cfg.kl_warmup * cfg.steps)) if cfg.kl_warmup > 0 else 1.0
        loss = -(rec - warm * cfg.beta * kl).mean()
        s.update("vae", loss)
        return {"elbo": (rec - kl).mean(), "rec": rec.mean(), "kl": kl.mean()}

    return step


def train_toy_vae(data: Tensor, cfg: ToyVAEConfig, show_progress: bool = True,
                  checkpoint: str | os.PathLike | None = None) -> ToyVAEResult:
    """Maximise the (β-weighted) ELBO on `data` (n, d) with `elbo_step` on the one loop."""
    device = resolve_device(cfg.device)
    torch.manual_seed(cfg.seed)
    rng = torch.Generator().manual_seed(cfg.seed)
    model = GaussianVAE(data.shape[1], cfg.latent_dim, cfg.hidden, cfg.layers).to(device)
    fingerprint = {"data": data_digest(data)} if checkpoint is not None else None
    data = data.float().to(device)
    opt = torch.optim.Adam(model.parameters(), lr=cfg.lr, foreach=True)
    run_ = run(elbo_step(model, data, cfg), steps=cfg.steps, optimizers={"vae": opt},
               modules={"vae": model},
               rng=rng, lr_decay=cfg.lr_decay, record_every=max(1, cfg.steps // 50), checkpoint=checkpoint,
               config=asdict(cfg), fingerprint=fingerprint, name="VAE", hint=f"Lower lr={cfg.lr} and retry",
               show_progress=show_progress)
    return ToyVAEResult(**vars(run_), config=cfg, model=model)
