r"""The linear-Gaussian latent model: a VAE's world in which every quantity is exact."""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor

from .vae import LOG_2PI, elbo, gaussian_log_prob, kl_standard_normal


@dataclass
class LinearGaussian:
    r"""z ~ N(0, I_k), x | z ~ N(W z + b, D), D = diag(σ²): a latent model whose every quantity is exact.

    `sigma` is one noise scale for every dimension (a float, D = σ² I) or one per dimension (a
    (d,) tensor, as a linear VAE with a learned σ_x per dimension has).

    Marginal:  x ~ N(b, W Wᵀ + D).
    Posterior: z | x ~ N(m, S), S = (I + Wᵀ D⁻¹ W)⁻¹, m = S Wᵀ D⁻¹ (x - b).
    """

    W: Tensor  # (d, k)
    b: Tensor  # (d,)
    sigma: float | Tensor  # scalar, or (d,)

    @property
    def latent_dim(self) -> int:
        return self.W.shape[1]

    @property
    def noise_var(self) -> Tensor:
        r"""The diagonal of D, σ_i² per data dimension, shape (d,)."""
        s = torch.as_tensor(self.sigma, dtype=self.W.dtype)
        return (s**2).expand(self.W.shape[0])

    @property
    def posterior_precision(self) -> Tensor:
        r"""Λ = S⁻¹ = I + Wᵀ D⁻¹ W, the same for every x, shape (k, k)."""
        k = self.latent_dim
        return torch.eye(k, dtype=self.W.dtype) + self.W.T @ (self.W / self.noise_var[:, None])

    def sample(self, n: int, generator: torch.Generator | None = None) -> Tensor:
        d, k = self.W.shape
        z = torch.randn(n, k, generator=generator, dtype=self.W.dtype)
        noise = torch.randn(n, d, generator=generator, dtype=self.W.dtype)
        return z @ self.W.T + self.b + self.noise_var.sqrt() * noise

    def log_likelihood(self, x: Tensor, z: Tensor) -> Tensor:
        r"""log p(x|z) = log N(x; W z + b, D)."""
        logvar = self.noise_var.log().to(x.dtype).expand_as(x)
        return gaussian_log_prob(x, z @ self.W.T + self.b, logvar)

    def log_marginal(self, x: Tensor) -> Tensor:
        r"""log p(x) = log N(x; b, C), C = W Wᵀ + D, via a Cholesky factor of C."""
        cov = self.W @ self.W.T + torch.diag(self.noise_var)
        dist = torch.distributions.MultivariateNormal(self.b, covariance_matrix=cov)
        return dist.log_prob(x)

    def posterior(self, x: Tensor) -> tuple[Tensor, Tensor]:
        r"""Mean (n, k) and covariance (k, k) of the exact posterior p(z|x)."""
        cov = torch.linalg.inv(self.posterior_precision)
        mean = ((x - self.b) / self.noise_var) @ self.W @ cov  # cov is symmetric
        return mean, cov

    def expected_log_likelihood(self, x: Tensor, mu: Tensor, logvar: Tensor) -> Tensor:
        r"""E_{q}[log p(x|z)] for q = N(μ, diag σ_q²), in closed form:

        -½ Σ_i log(2π D_i) - ½ Σ_i (x - Wμ - b)_i² / D_i - ½ Σ_j σ_qj² Σ_i W_ij² / D_i.
        """
        nv = self.noise_var
        resid = ((x - mu @ self.W.T - self.b).pow(2) / nv).sum(-1)
        spread = (logvar.exp() * (self.W.pow(2) / nv[:, None]).sum(0)).sum(-1)
        return -0.5 * (LOG_2PI + nv.log()).sum() - 0.5 * (resid + spread)

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
