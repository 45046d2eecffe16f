r"""The linear-Gaussian latent model: a VAE's world in which every quantity is exact."""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch import Tensor

from .vae import LOG_2PI, elbo, gaussian_log_prob, kl_standard_normal


@dataclass
class LinearGaussian:
    r"""z ~ N(0, I_k), x | z ~ N(W z + b, σ² I_d): a latent model whose every quantity is exact.

    Marginal:  x ~ N(b, W Wᵀ + σ² I).
    Posterior: z | x ~ N(m, S), S = (I + WᵀW / σ²)⁻¹, m = S Wᵀ (x - b) / σ².
    """

    W: Tensor  # (d, k)
    b: Tensor  # (d,)
    sigma: float

    @property
    def latent_dim(self) -> int:
        return self.W.shape[1]

    def sample(self, n: int, generator: torch.Generator | None = None) -> Tensor:
        d, k = self.W.shape
        z = torch.randn(n, k, generator=generator, dtype=self.W.dtype)
        noise = torch.randn(n, d, generator=generator, dtype=self.W.dtype)
        return z @ self.W.T + self.b + self.sigma * noise

    def log_likelihood(self, x: Tensor, z: Tensor) -> Tensor:
        r"""log p(x|z) = log N(x; W z + b, σ² I)."""
        logvar = torch.full_like(x, 2 * math.log(self.sigma))
        return gaussian_log_prob(x, z @ self.W.T + self.b, logvar)

    def log_marginal(self, x: Tensor) -> Tensor:
        r"""log p(x) = log N(x; b, C), C = W Wᵀ + σ² I, via a Cholesky factor of C."""
        d = self.W.shape[0]
        cov = self.W @ self.W.T + self.sigma**2 * torch.eye(d, dtype=self.W.dtype)
        dist = torch.distributions.MultivariateNormal(self.b, covariance_matrix=cov)
        return dist.log_prob(x)

    def posterior(self, x: Tensor) -> tuple[Tensor, Tensor]:
        r"""Mean (n, k) and covariance (k, k) of the exact posterior p(z|x)."""
        k = self.latent_dim
        precision = torch.eye(k, dtype=self.W.dtype) + self.W.T @ self.W / self.sigma**2
        cov = torch.linalg.inv(precision)
        mean = (x - self.b) @ self.W @ cov / self.sigma**2  # cov is symmetric
        return mean, cov

    def expected_log_likelihood(self, x: Tensor, mu: Tensor, logvar: Tensor) -> Tensor:
        r"""E_{q}[log p(x|z)] for q = N(μ, diag σ_q²), in closed form:

        -d/2 log(2πσ²) - (‖x - Wμ - b‖² + Σ_j σ_qj² ‖W_{:,j}‖²) / (2σ²).
        """
        d = self.W.shape[0]
        resid = (x - mu @ self.W.T - self.b).pow(2).sum(-1)
        spread = (logvar.exp() * self.W.pow(2).sum(0)).sum(-1)
        return -0.5 * d * (LOG_2PI + 2 * math.log(self.sigma)) - (resid + spread) / (
            2 * self.sigma**2
        )

    def exact_elbo(self, x: Tensor, mu: Tensor, logvar: Tensor) -> Tensor:
        r"""ELBO of q = N(μ, diag σ_q²) at x, with no sampling: E_q[log p(x|z)] - KL(q ‖ N(0, I))."""
        return elbo(self.expected_log_likelihood(x, mu, logvar), kl_standard_normal(mu, logvar))

    def kl_to_posterior(self, x: Tensor, mu: Tensor, logvar: Tensor) -> Tensor:
        r"""KL(q ‖ p(z|x)) for q = N(μ, diag σ_q²) and the exact posterior N(m, S):

        ½ [tr(S⁻¹ Σ_q) + (m - μ)ᵀ S⁻¹ (m - μ) - k + log det S - log det Σ_q].
        It is exactly the gap log p(x) - ELBO(q).
        """
        m, S = self.posterior(x)
        S_inv = torch.linalg.inv(S)
        diff = m - mu
        trace = (torch.diagonal(S_inv) * logvar.exp()).sum(-1)
        maha = ((diff @ S_inv) * diff).sum(-1)
        return 0.5 * (trace + maha - self.latent_dim + torch.logdet(S) - logvar.sum(-1))
