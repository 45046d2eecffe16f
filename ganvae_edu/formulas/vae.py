r"""The VAE's evidence lower bound and its pieces, as formulas.

For a latent-variable model p(x) = ∫ p(x|z) p(z) dz and any q(z|x),

    log p(x) = ELBO(q) + KL(q(z|x) ‖ p(z|x)),
    ELBO(q)  = E_q[log p(x|z)] - KL(q(z|x) ‖ p(z))  ≤ log p(x).

Gaussians here are diagonal and given by mean and log-variance (the encoder's outputs), last
dimension = the latent dimension. `LinearGaussian` is a model where every quantity is exact,
so each bound can be checked against the truth. No plotting, no text.
"""

from __future__ import annotations

import math

import torch
from torch import Tensor

LOG_2PI = math.log(2 * math.pi)


def reparameterize(mu: Tensor, logvar: Tensor, generator: torch.Generator | None = None) -> Tensor:
    r"""z = μ + σ ⊙ ε with ε ~ N(0, I), σ = exp(½ log σ²): a sample of N(μ, diag σ²).

    The randomness sits in ε, outside the parameters, so ∂z/∂μ = 1 and ∂z/∂σ = ε: gradients
    flow through the sample (Kingma & Welling 2014).
    """
    eps = torch.randn(mu.shape, generator=generator, dtype=mu.dtype).to(mu.device)
    return mu + torch.exp(0.5 * logvar) * eps


def gaussian_log_prob(x: Tensor, mu: Tensor, logvar: Tensor) -> Tensor:
    r"""log N(x; μ, diag σ²) = -½ Σ_j [log 2π + log σ_j² + (x_j - μ_j)² / σ_j²]."""
    return -0.5 * (LOG_2PI + logvar + (x - mu).pow(2) * torch.exp(-logvar)).sum(-1)


def kl_standard_normal_per_dim(mu: Tensor, logvar: Tensor) -> Tensor:
    r"""KL_j = ½ (μ_j² + σ_j² - log σ_j² - 1), the KL of each dimension j (what free bits bound)."""
    return 0.5 * (mu.pow(2) + logvar.exp() - logvar - 1)


def kl_standard_normal(mu: Tensor, logvar: Tensor) -> Tensor:
    r"""KL(N(μ, diag σ²) ‖ N(0, I)) = ½ Σ_j (μ_j² + σ_j² - log σ_j² - 1)."""
    return kl_standard_normal_per_dim(mu, logvar).sum(-1)


def kl_diag_gaussians(mu_q: Tensor, logvar_q: Tensor, mu_p: Tensor, logvar_p: Tensor) -> Tensor:
    r"""KL(N(μ_q, σ_q²) ‖ N(μ_p, σ_p²)) = ½ Σ_j [log σ_p²/σ_q² + (σ_q² + (μ_q - μ_p)²)/σ_p² - 1]."""
    return 0.5 * (
        logvar_p - logvar_q + (logvar_q.exp() + (mu_q - mu_p).pow(2)) * torch.exp(-logvar_p) - 1
    ).sum(-1)


def elbo(log_likelihood: Tensor, kl: Tensor) -> Tensor:
    r"""ELBO = E_q[log p(x|z)] - KL(q(z|x) ‖ p(z)), from its two terms (per example)."""
    return log_likelihood - kl


def log_mean_exp(x: Tensor, dim: int = -1) -> Tensor:
    r"""log (1/K) Σ_k exp(x_k) = logsumexp(x) - log K, without overflow or underflow."""
    return torch.logsumexp(x, dim=dim) - math.log(x.shape[dim])


def iwae_bound(log_weights: Tensor, dim: int = -1) -> Tensor:
    r"""L_K = log (1/K) Σ_k p(x, z_k) / q(z_k|x),  z_k ~ q(z|x)  (Burda et al. 2016).

    `log_weights` holds log p(x, z_k) - log q(z_k|x) along `dim`. L_1 is the ELBO; L_K
    increases with K and tends to log p(x).
    """
    return log_mean_exp(log_weights, dim=dim)


def kl_weight(step: int, schedule: str, warmup: int) -> float:
    r"""β(step) for KL annealing (Bowman et al. 2016): the ELBO's KL term is weighted by β ≤ 1.

    "none": β = 1.  "linear": β = min(1, step / warmup).
    "logistic": β = 1 / (1 + exp(-10 (step / warmup - ½))), about 0.007 at step 0, ½ at
    warmup / 2 and 0.993 at warmup; 1 after it.
    "cyclical" (Fu et al. 2019): cycles of `warmup` steps, β = min(1, 2 (step mod warmup) / warmup):
    a linear rise over each cycle's first half, 1 for its second, again and again — each restart
    lets a decoder that learned to ignore z meet a cheap latent once more.
    """
    if schedule == "none" or warmup <= 0:
        return 1.0
    if schedule == "cyclical":
        return min(1.0, 2.0 * (step % warmup) / warmup)
    if step >= warmup:
        return 1.0
    if schedule == "linear":
        return step / warmup
    if schedule == "logistic":
        return 1.0 / (1.0 + math.exp(-10.0 * (step / warmup - 0.5)))
    raise ValueError(f"schedule={schedule!r}: use 'none', 'linear', 'logistic' or 'cyclical'")


def free_bits_kl(kl_per_dim: Tensor, free_bits: float) -> Tensor:
    r"""Σ_j max(λ, mean_batch KL_j): the KL term with "free bits" (Kingma et al. 2016).

    `kl_per_dim` is (B, d). A dimension whose batch-mean KL is below λ nats costs λ and gets no
    gradient, so the optimiser has no reason to push it to 0 (posterior collapse). λ = 0 gives
    the plain batch-mean KL.
    """
    per_dim = kl_per_dim.mean(0)
    return torch.clamp(per_dim, min=free_bits).sum() if free_bits > 0 else per_dim.sum()


def mutual_information(mu: Tensor, logvar: Tensor, generator: torch.Generator | None = None) -> Tensor:
    r"""I_q(x; z) under the encoder, estimated as in He et al. (2019) from N data points:

        I = E_x E_{q(z|x)}[log q(z|x)] - E_{q(z)}[log q(z)],  q(z) = (1/N) Σ_n q(z|x_n).

    The first term is minus the Gaussian entropy, exact: -½ Σ_j (log 2π + 1 + log σ_j²). The
    second uses one z_n ~ q(z|x_n) per point and the aggregate posterior over the same N points,
    log q(z_n) ≈ log (1/N) Σ_m q(z_n | x_m). The estimate is at most log N: use large N.
    """
    n, d = mu.shape
    neg_entropy = (-0.5 * (d * (LOG_2PI + 1) + logvar.sum(-1))).mean()
    z = reparameterize(mu, logvar, generator)  # (N, d)
    log_qz = torch.cat([  # rows of z in chunks: the (chunk, N, d) block stays small
        torch.logsumexp(gaussian_log_prob(zc[:, None, :], mu[None], logvar[None]), dim=1)
        for zc in z.split(256)
    ]) - math.log(n)
    return neg_entropy - log_qz.mean()


def active_units(mu: Tensor, threshold: float = 0.01) -> int:
    r"""How many latent dimensions the encoder uses: Cov_x(E_q[z_j | x]) > threshold (Burda et al.)."""
    return int((mu.var(dim=0) > threshold).sum())
