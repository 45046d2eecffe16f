r"""The approximation gap and the amortization gap, exactly, on the linear-Gaussian model.

For an encoder q_φ(z|x) in a family Q (here: diagonal Gaussians) the ELBO's gap splits in two
(Cremer, Li & Duvenaud 2018):

    log p(x) - ELBO(q_φ(·|x)) = [log p(x) - ELBO(q*_x)]  +  [ELBO(q*_x) - ELBO(q_φ(·|x))],
                                 approximation gap            amortization gap

q*_x = argmax_{q ∈ Q} ELBO(q) is the best member of the family *for this one x* (what per-example
optimisation reaches); the encoder must serve every x with one set of weights φ. Both gaps are
≥ 0. On a `LinearGaussian` model every term is closed-form.
"""

from __future__ import annotations

import torch
from torch import Tensor

from .linear_gaussian import LinearGaussian


def best_diagonal_q(model: LinearGaussian, x: Tensor) -> tuple[Tensor, Tensor]:
    r"""argmax over diagonal Gaussians q of ELBO(q) at x: mean m(x), variances 1 / Λ_jj.

    ELBO(q) = log p(x) - KL(q ‖ N(m, Λ⁻¹)); for q = N(μ, diag v) the KL is
    ½ [Σ_j Λ_jj v_j + (μ - m)ᵀ Λ (μ - m) - k - log det Λ - Σ_j log v_j], minimised by μ = m
    and ∂/∂v_j = ½ (Λ_jj - 1/v_j) = 0, v_j = 1/Λ_jj: the *precision's* diagonal, not the
    posterior's marginal variances S_jj ≥ 1/Λ_jj (a mean-field q is too narrow).
    Returns (μ (n, k), log v (n, k)).
    """
    m, _ = model.posterior(x)
    logvar = -torch.diagonal(model.posterior_precision).log()
    return m, logvar.expand_as(m)


def approximation_gap(model: LinearGaussian) -> Tensor:
    r"""log p(x) - max_{q diagonal} ELBO(q) = ½ (Σ_j log Λ_jj - log det Λ), Λ = I + Wᵀ D⁻¹ W.

    The same for every x. It is 0 iff Λ is diagonal (the posterior factorises: W's columns are
    orthogonal in D⁻¹'s metric) and grows with the posterior's correlations (Hadamard's inequality
    det Λ ≤ Π_j Λ_jj).
    """
    precision = model.posterior_precision
    return 0.5 * (torch.diagonal(precision).log().sum() - torch.logdet(precision))


def best_affine_encoder(model: LinearGaussian) -> tuple[Tensor, Tensor, Tensor]:
    r"""The best amortized diagonal encoder among affine ones: μ(x) = A x + c, log v constant.

    m(x) = S Wᵀ D⁻¹ (x - b) is affine in x and the best variances 1/Λ_jj do not depend on x,
    so A = S Wᵀ D⁻¹, c = -A b, log v_j = -log Λ_jj reach q*_x at every x: an affine encoder has
    no amortization gap on this model. Returns (A (k, d), c (k,), log v (k,)).
    """
    S = torch.linalg.inv(model.posterior_precision)
    A = S @ (model.W / model.noise_var[:, None]).T
    return A, -A @ model.b, -torch.diagonal(model.posterior_precision).log()


def regression_encoder(x: Tensor, z: Tensor) -> tuple[Tensor, Tensor, Tensor]:
    r"""An affine encoder fit by least squares to pairs (x_n, z_n) drawn from the model.

    This is the "sleep phase" of wake-sleep (Hinton et al. 1995): it matches q to p(z|x) in the
    *other* direction, minimising E_x KL(p(z|x) ‖ q(z|x)). Mean: the regression of z on x,
    μ(x) = A x + c; variances: the residuals' per dimension, which estimate S_jj, not 1/Λ_jj.
    Returns (A (k, d), c (k,), log v (k,)).
    """
    ones = torch.ones(len(x), 1, dtype=x.dtype)
    coef = torch.linalg.lstsq(torch.cat([x, ones], 1), z).solution  # (d + 1, k)
    resid = z - torch.cat([x, ones], 1) @ coef
    return coef[:-1].T, coef[-1], resid.pow(2).mean(0).log()


def gap_decomposition(model: LinearGaussian, x: Tensor, mu: Tensor, logvar: Tensor) -> dict[str, float]:
    r"""Mean over x of log p(x), ELBO(q*_x), ELBO(encoder) and the two gaps, in nats per example.

    `mu`, `logvar` (n, k): the encoder's q at each x. approximation_gap + amortization_gap =
    log_px - elbo_encoder exactly.
    """
    log_px = model.log_marginal(x).mean()
    elbo_best = model.exact_elbo(x, *best_diagonal_q(model, x)).mean()
    elbo_enc = model.exact_elbo(x, mu, logvar).mean()
    return {"log_px": float(log_px), "elbo_best": float(elbo_best), "elbo_encoder": float(elbo_enc),
            "approximation_gap": float(log_px - elbo_best), "amortization_gap": float(elbo_best - elbo_enc)}
