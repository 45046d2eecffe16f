"""Checkers for notebook 02's exercises (Gaussian KL, the reparameterized sample, the IWAE bound)."""

from __future__ import annotations

import math
from collections.abc import Callable

import torch

from ganvae_edu.formulas import vae

from .feedback import assert_close, call, exercise, passed


@exercise
def kl_standard_normal(fn: Callable) -> None:
    """fn(mu, logvar) must return KL(N(μ, diag σ²) ‖ N(0, I)) per row, summed over the last dim."""
    ex = "Exercise 1 (Gaussian KL)"
    g = torch.Generator().manual_seed(3)
    mu = torch.randn(50, 3, generator=g, dtype=torch.float64)
    logvar = torch.randn(50, 3, generator=g, dtype=torch.float64)
    assert_close(
        call(fn, mu, logvar, exercise=ex),
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
    got = call(fn, mu, logvar, eps, exercise=ex)
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
            call(fn, case, exercise=ex),
            vae.iwae_bound(case, dim=0),
            exercise=ex,
            where=lambda i, label=label: f"{label}, column {i}",
            rtol=1e-5,
            atol=1e-4,
        )
    passed(ex, "L_K = log mean exp(log w) correct, and finite for log weights of -1000")
