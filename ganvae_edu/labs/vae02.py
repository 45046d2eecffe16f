"""Checkers for notebook 02's exercises (Gaussian KL, the reparameterized sample, the IWAE bound,
the KL term's gradient, and predictions about the bound and its gaps)."""

from __future__ import annotations

import math
from collections.abc import Callable

import torch

from ganvae_edu.formulas import amortization, vae
from ganvae_edu.formulas.linear_gaussian import LinearGaussian

from .feedback import ExerciseError, answer, assert_close, call, exercise, passed

# package functions that compute an answer themselves: calling one is refused
_KL = (vae.kl_standard_normal, vae.kl_diag_gaussians)
_AUTOGRAD = (torch.autograd.grad, torch.autograd.backward, torch.Tensor.backward)


@exercise
def kl_standard_normal(fn: Callable) -> None:
    """fn(mu, logvar) must return KL(N(μ, diag σ²) ‖ N(0, I)) per row, summed over the last dim."""
    ex = "Exercise 1 (Gaussian KL)"
    g = torch.Generator().manual_seed(3)
    mu = torch.randn(50, 3, generator=g, dtype=torch.float64)
    logvar = torch.randn(50, 3, generator=g, dtype=torch.float64)
    assert_close(
        call(fn, mu, logvar, exercise=ex, forbid=_KL),
        vae.kl_standard_normal(mu, logvar),
        exercise=ex,
        where=lambda i: f"row {i}: mu={mu[i].tolist()}, logvar={[round(v, 3) for v in logvar[i].tolist()]}",
    )
    passed(ex, "KL(q ‖ N(0, I)) correct on 50 random diagonal Gaussians")


@exercise
def reparameterize(fn: Callable) -> None:
    """fn(mu, logvar, eps) must return mu + exp(logvar / 2) * eps."""
    ex = "Exercise 2 (reparameterized sample)"
    g = torch.Generator().manual_seed(4)
    mu = torch.randn(40, 2, generator=g, dtype=torch.float64)
    logvar = torch.randn(40, 2, generator=g, dtype=torch.float64)
    eps = torch.randn(40, 2, generator=g, dtype=torch.float64)
    got = call(fn, mu, logvar, eps, exercise=ex, forbid=(vae.reparameterize,))
    assert_close(
        got,
        mu + torch.exp(0.5 * logvar) * eps,
        exercise=ex,
        where=lambda i: f"element {i}: mu={mu.flatten()[i]:.3f}, logvar={logvar.flatten()[i]:.3f} "
        "(is σ = exp(logvar / 2)?)",
    )
    passed(ex, "z = μ + σ·ε with σ = exp(½ log σ²)")


@exercise
def iwae_bound(fn: Callable) -> None:
    """fn(log_weights) must return log (1/K) Σ_k exp(log_weights[k]) over dim 0, stably."""
    ex = "Exercise 3 (IWAE bound)"
    g = torch.Generator().manual_seed(5)
    cases = [
        torch.randn(10, 4, generator=g),
        torch.randn(1000, 3, generator=g) * 5,
        torch.full((7, 2), -1000.0),  # log weights of a poor q: exp underflows to 0
        torch.tensor([[-1000.0], [-1000.0 + math.log(3.0)]]),
    ]
    labels = ["10 small log weights", "1,000 spread log weights", "log weights of -1000",
              "log weights -1000 and -1000 + log 3"]
    for case, label in zip(cases, labels):
        assert_close(
            call(fn, case, exercise=ex, forbid=(vae.iwae_bound, vae.log_mean_exp)),
            vae.iwae_bound(case, dim=0),
            exercise=ex,
            where=lambda i, label=label: f"{label}, column {i}",
            rtol=1e-5,
            atol=1e-4,
        )
    passed(ex, "L_K = log mean exp(log w) correct, and finite for log weights of -1000")


@exercise
def kl_gradient(fn: Callable) -> None:
    """fn(mu, logvar) must return (∂KL/∂μ, ∂KL/∂log σ²) of KL(N(μ, diag σ²) ‖ N(0, I)), derived by hand."""
    ex = "Exercise 4 (the KL term's gradient)"
    g = torch.Generator().manual_seed(6)
    mu = torch.randn(30, 3, generator=g, dtype=torch.float64)
    logvar = torch.randn(30, 3, generator=g, dtype=torch.float64)
    got = call(fn, mu.clone(), logvar.clone(), exercise=ex, forbid=_KL + _AUTOGRAD)
    if not isinstance(got, tuple | list) or len(got) != 2:
        raise ExerciseError(f"{ex}: return a pair (d_mu, d_logvar), got {type(got).__name__}")
    m, lv = mu.clone().requires_grad_(), logvar.clone().requires_grad_()
    d_mu, d_logvar = torch.autograd.grad(vae.kl_standard_normal(m, lv).sum(), (m, lv))
    assert_close(got[0], d_mu, exercise=f"{ex}, d_mu", where=lambda i: f"element {i} of d_mu")
    if isinstance(got[1], torch.Tensor) and got[1].shape == d_logvar.shape and torch.allclose(
            got[1].double(), 2 * d_logvar):
        raise ExerciseError(f"{ex}: d_logvar is twice the gradient — KL carries a ½ in front of every term")
    assert_close(got[1], d_logvar, exercise=f"{ex}, d_logvar",
                 where=lambda i: f"element {i} of d_logvar (logvar={logvar.flatten()[i]:.3f}; "
                 "∂σ²/∂log σ² = σ²)")
    passed(ex, "∂KL/∂μ and ∂KL/∂log σ² derived by hand agree with autograd on 30 random q's")


def _correlated_model() -> LinearGaussian:
    g = torch.Generator().manual_seed(7)
    W = torch.randn(4, 2, generator=g, dtype=torch.float64)
    W[:, 1] += W[:, 0]
    return LinearGaussian(W, torch.randn(4, generator=g, dtype=torch.float64), 0.5)


@exercise
def predictions(exact_elbo_can_exceed: object, estimate_can_exceed: object, affine_gap: object) -> None:
    """Three predictions about the bound: answered before reading the notebook's figures."""
    ex = "Exercise 5 (predict the bound's behaviour)"
    exact_elbo_can_exceed = answer(exact_elbo_can_exceed, exercise=ex)
    estimate_can_exceed = answer(estimate_can_exceed, exercise=ex)
    affine_gap = answer(affine_gap, exercise=ex)
    if not isinstance(exact_elbo_can_exceed, bool) or not isinstance(estimate_can_exceed, bool):
        raise ExerciseError(f"{ex}: the first two answers are True or False")
    if exact_elbo_can_exceed:
        raise ExerciseError(f"{ex}: (a) is off — log p(x) - ELBO(q) = KL(q ‖ p(z|x)) ≥ 0 for every q "
                            "(section 2): can the exact ELBO ever pass log p(x)?")
    if not estimate_can_exceed:
        raise ExerciseError(f"{ex}: (b) is off — a Monte-Carlo average of a bound scatters around it "
                            "with its standard error: compare section 6's ELBO estimate with its s.e.")
    try:
        affine_gap = float(affine_gap)
    except (TypeError, ValueError):
        raise ExerciseError(f"{ex}: (c) is a number of nats, got {type(affine_gap).__name__}") from None
    model = _correlated_model()
    x = model.sample(200, torch.Generator().manual_seed(8))
    A, c, lv = amortization.best_affine_encoder(model)
    gap = amortization.gap_decomposition(model, x, x @ A.T + c, lv.expand(len(x), -1))["amortization_gap"]
    if abs(affine_gap - gap) > 1e-3:
        raise ExerciseError(f"{ex}: (c) is off — is the exact posterior mean m(x) affine in x, and do the "
                            "best variances 1/Λ_jj depend on x? Then what is left for an affine encoder "
                            "to lose?")
    passed(ex, "the exact ELBO never passes log p(x), its estimate can, and an affine encoder loses "
               "nothing to amortization on the linear-Gaussian model")
