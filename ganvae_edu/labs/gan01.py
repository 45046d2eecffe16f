"""Checkers for notebook 01's exercises: D*, the JSD, the non-saturating loss, the Dirac-GAN."""

from __future__ import annotations

import math
from collections.abc import Callable

import torch

from ganvae_edu.formulas import dirac, gan

from .feedback import ExerciseError, answer, assert_close, call, exercise, passed

# What computes an answer itself: a student function calling one of these is refused.
FORBID_GAN = (gan.optimal_discriminator, gan.jensen_shannon, gan.kl_divergence, gan.optimal_value,
              gan.nonsaturating_divergence, gan.value_function, gan.discriminator_loss,
              gan.generator_loss_nonsaturating, gan.generator_loss_saturating)
FORBID_DIRAC = (dirac.eigenvalues, dirac.jacobian, dirac.vector_field, dirac.step_factor, dirac.trajectory)


@exercise
def optimal_discriminator(fn: Callable) -> None:
    """fn(p_data, p_g) must return D*(x) = p_data / (p_data + p_g) elementwise."""
    ex = "Exercise 1 (D*)"
    rng = torch.Generator().manual_seed(1)
    p_data = torch.rand(200, generator=rng, dtype=torch.float64) + 1e-3
    p_g = torch.rand(200, generator=rng, dtype=torch.float64) + 1e-3
    got = call(fn, p_data, p_g, exercise=ex, forbid=FORBID_GAN)
    assert_close(
        got,
        gan.optimal_discriminator(p_data, p_g),
        exercise=ex,
        where=lambda i: f"p_data={p_data[i].item():.3f}, p_g={p_g[i].item():.3f}",
    )
    passed(ex, "D* matches p_data/(p_data + p_g) at 200 points")


@exercise
def jensen_shannon(fn: Callable) -> None:
    """fn(p, q) must return JSD(p ‖ q) in nats for probability vectors, 0·log 0 taken as 0."""
    ex = "Exercise 2 (JSD)"
    rng = torch.Generator().manual_seed(2)
    cases = [torch.rand(2, 10, generator=rng, dtype=torch.float64) for _ in range(20)]
    cases = [c / c.sum(-1, keepdim=True) for c in cases]
    disjoint = torch.tensor([[0.5, 0.5, 0.0, 0.0], [0.0, 0.0, 0.5, 0.5]], dtype=torch.float64)
    same = torch.full((2, 4), 0.25, dtype=torch.float64)
    labels = [f"random pair #{i}" for i in range(20)] + ["disjoint supports", "p = q"]
    got = [call(fn, c[0], c[1], exercise=ex, forbid=FORBID_GAN) for c in [*cases, disjoint, same]]
    if not all(isinstance(g, torch.Tensor) and g.numel() == 1 for g in got):
        raise ExerciseError(f"{ex}: return one number per pair, as a 0-d torch.Tensor")
    expected = torch.stack([gan.jensen_shannon(c[0], c[1]) for c in [*cases, disjoint, same]])
    assert_close(
        torch.stack([g.reshape(()) for g in got]),
        expected,
        exercise=ex,
        where=lambda i: labels[i],
    )
    passed(ex, f"JSD correct on 22 pairs, incl. disjoint supports (= log 2 = {math.log(2):.4f})")


@exercise
def nonsaturating_loss(fn: Callable) -> None:
    """fn(fake_logits) must return -mean(log sigmoid(l)), finite even for logits of ±200.

    float32, as in training: there sigmoid(-200) rounds to 0 and a naive log gives inf.
    """
    ex = "Exercise 3 (non-saturating loss)"
    logits = torch.tensor([[-200.0, -20.0, -3.0, 0.0, 2.0, 30.0, 200.0]])
    singles = [logits[:, i] for i in range(logits.shape[1])]
    got = [call(fn, s, exercise=ex, forbid=FORBID_GAN) for s in singles]
    if not all(isinstance(g, torch.Tensor) and g.numel() == 1 for g in got):
        raise ExerciseError(f"{ex}: return one number (the mean over the batch), as a 0-d torch.Tensor")
    got = torch.stack([g.reshape(()) for g in got])
    expected = torch.stack([gan.generator_loss_nonsaturating(s) for s in singles])
    assert_close(
        got,
        expected,
        exercise=ex,
        where=lambda i: f"logit {logits[0, i].item():g}",
    )
    batch = torch.linspace(-5, 5, 11)
    loss = call(fn, batch, exercise=ex, forbid=FORBID_GAN)
    if not isinstance(loss, torch.Tensor) or loss.numel() != 1:
        raise ExerciseError(f"{ex}: for a batch of 11 logits return one number (the mean over the batch), "
                            "as a 0-d torch.Tensor")
    assert_close(
        loss.reshape(()),
        gan.generator_loss_nonsaturating(batch),
        exercise=ex,
        where=lambda i: "a batch of 11 logits (is it the mean over the batch?)",
    )
    passed(ex, "-E[log D(G(z))] correct and finite for logits from -200 to 200")


def _numeric_eigenvalues(gamma: float) -> torch.Tensor:
    """Eigenvalues of the finite-difference Jacobian of the Dirac-GAN's field at (0, 0)."""
    h = 1e-6
    zero = torch.zeros((), dtype=torch.float64)
    cols = []
    for e in ((h, 0.0), (0.0, h)):
        plus = dirac.vector_field(zero + e[0], zero + e[1], gamma)
        minus = dirac.vector_field(zero - e[0], zero - e[1], gamma)
        cols.append(torch.stack([(a - b) / (2 * h) for a, b in zip(plus, minus)]))
    return torch.linalg.eigvals(torch.stack(cols, dim=1))


def _sorted(lam: torch.Tensor) -> torch.Tensor:
    lam = lam.to(torch.complex128).reshape(-1)
    return lam[torch.argsort(-(lam.imag * 1e6 + lam.real))]


@exercise
def dirac_eigenvalues(fn: Callable) -> None:
    """fn(gamma) must return the 2 eigenvalues of the Dirac-GAN's Jacobian at (0, 0), with R1 weight γ."""
    ex = "Exercise 4 (Dirac-GAN eigenvalues)"
    gammas = [0.0, 0.4, 1.0, 3.0]
    got = [call(fn, g, exercise=ex, forbid=FORBID_DIRAC) for g in gammas]
    for g, lam in zip(gammas, got):
        if not isinstance(lam, torch.Tensor) or lam.numel() != 2:
            raise ExerciseError(f"{ex}: for γ={g:g} return the 2 eigenvalues as a torch.Tensor "
                                "(complex, e.g. from torch.linalg.eigvals)")
    for g, lam in zip(gammas, got):
        want = _sorted(_numeric_eigenvalues(g))
        have = _sorted(lam.detach())
        if (have - want).abs().max() > 1e-5:
            hint = ("at γ = 0: is the dynamics a pure rotation? check f'(0) = σ(0)" if g == 0 else
                    "R1 enters only D's equation: v_ψ = θ·f'(ψθ) - γψ; differentiate that")
            raise ExerciseError(f"{ex}: your eigenvalues for γ={g:g} are {have.tolist()}, which is not "
                                f"what the Jacobian of the field gives ({hint})")
    passed(ex, "the eigenvalues of J at (0, 0) are right for γ = 0, 0.4, 1 and 3")


@exercise
def dirac_growth(prediction) -> None:
    """The predicted factor by which 100 simultaneous steps (h = 0.1, no R1) from (0.01, 0) grow
    the distance to the equilibrium, against the simulated trajectory, within 1 %."""
    ex = "Exercise 5 (predict the spiral)"
    value = answer(prediction, exercise=ex)
    try:
        value = float(value)
    except (TypeError, ValueError):
        raise ExerciseError(f"{ex}: give one number, the ratio of the final to the starting distance"
                            ) from None
    path = dirac.trajectory(0.01, 0.0, lr=0.1, steps=100, mode="simultaneous")
    measured = (path[-1].norm() / path[0].norm()).item()
    if abs(value - measured) > 0.01 * measured:
        if value <= 1:
            why = "the distance does not shrink without R1: each step multiplies it by |1 + hλ|"
        elif abs(value - (1 + 0.1 * 0.5) ** 100) < 0.01 * value:
            why = "|1 + hλ| for an imaginary λ = ±i/2 is √(1 + h²/4), not 1 + h/2"
        else:
            why = "near (0, 0) each step multiplies the distance by |1 + hλ|, λ the eigenvalues at γ = 0"
        raise ExerciseError(f"{ex}: {value:.4g} is not what the trajectory shows ({why})")
    passed(ex, f"your prediction {value:.4g} matches the simulated trajectory within 1 %")
