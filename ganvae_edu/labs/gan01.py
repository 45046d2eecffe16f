"""Checkers for notebook 01's exercises (the optimal discriminator, JSD, non-saturating loss)."""

from __future__ import annotations

import math
from collections.abc import Callable

import torch

from ganvae_edu.formulas import gan

from .feedback import ExerciseError, assert_close, call, exercise, passed


@exercise
def optimal_discriminator(fn: Callable) -> None:
    """fn(p_data, p_g) must return D*(x) = p_data / (p_data + p_g) elementwise."""
    ex = "Exercise 1 (D*)"
    rng = torch.Generator().manual_seed(1)
    p_data = torch.rand(200, generator=rng, dtype=torch.float64) + 1e-3
    p_g = torch.rand(200, generator=rng, dtype=torch.float64) + 1e-3
    got = call(fn, p_data, p_g, exercise=ex)
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
    got = [call(fn, c[0], c[1], exercise=ex) for c in [*cases, disjoint, same]]
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
    got = torch.stack([call(fn, s, exercise=ex).reshape(()) for s in singles])
    expected = torch.stack([gan.generator_loss_nonsaturating(s) for s in singles])
    assert_close(
        got,
        expected,
        exercise=ex,
        where=lambda i: f"logit {logits[0, i].item():g}",
    )
    batch = torch.linspace(-5, 5, 11)
    assert_close(
        call(fn, batch, exercise=ex).reshape(()),
        gan.generator_loss_nonsaturating(batch),
        exercise=ex,
        where=lambda i: "a batch of 11 logits (is it the mean over the batch?)",
    )
    passed(ex, "-E[log D(G(z))] correct and finite for logits from -200 to 200")
