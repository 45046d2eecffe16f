"""Checkers for notebook 05's exercises (Gumbel-softmax, the REINFORCE loss, straight-through)."""

from __future__ import annotations

from collections.abc import Callable

import torch

from ganvae_edu.formulas import discrete

from .feedback import ExerciseError, assert_close, call, exercise, passed


@exercise
def gumbel_softmax(fn: Callable) -> None:
    """fn(logits, u, tau) → softmax((logits − log(−log u)) / τ)."""
    ex = "Exercise 1 (Gumbel-softmax)"
    g = torch.Generator().manual_seed(10)
    logits = torch.randn(30, 7, generator=g, dtype=torch.float64)
    u = torch.rand(30, 7, generator=g, dtype=torch.float64).clamp(1e-6, 1 - 1e-6)
    for tau in (1.0, 0.3):
        want = ((logits - torch.log(-torch.log(u))) / tau).softmax(-1)
        assert_close(call(fn, logits, u, tau, exercise=ex), want, exercise=ex,
                     where=lambda i, tau=tau: f"τ={tau}, row {i // 7}, entry {i % 7} (g = −log(−log u))")
    passed(ex, "relaxed samples correct at τ = 1 and 0.3")


@exercise
def reinforce_loss(fn: Callable) -> None:
    """fn(log_probs, rewards, baseline) → −mean((r − b) · log p), no gradient into r or b."""
    ex = "Exercise 2 (REINFORCE loss)"
    g = torch.Generator().manual_seed(11)
    theta = torch.randn(40, generator=g, dtype=torch.float64, requires_grad=True)
    rewards = torch.rand(40, generator=g, dtype=torch.float64, requires_grad=True)
    log_probs = torch.nn.functional.logsigmoid(theta)
    got = call(fn, log_probs, rewards, 0.4, exercise=ex)
    if not isinstance(got, torch.Tensor) or got.dim() != 0:
        raise ExerciseError(f"{ex}: return one number (a 0-d tensor), the loss")
    grad_theta, grad_r = torch.autograd.grad(got, (theta, rewards), allow_unused=True)
    fresh = torch.nn.functional.logsigmoid(theta)  # the student's call used up log_probs' graph
    want = torch.autograd.grad(discrete.reinforce_surrogate(fresh, rewards, 0.4), theta)[0]
    if grad_r is not None and grad_r.abs().sum() > 0:
        raise ExerciseError(f"{ex}: gradients reach the rewards; detach (r − b) — the reward is a constant")
    if grad_theta is None:
        raise ExerciseError(f"{ex}: no gradient reaches the log-probabilities")
    assert_close(grad_theta, want, exercise=ex,
                 where=lambda i: f"the gradient at sample {i} (mean, not sum?)")
    passed(ex, "gradient = −mean (r − b) ∇ log p, rewards held constant")


@exercise
def straight_through(fn: Callable) -> None:
    """fn(y) → value one_hot(argmax y), gradient that of y."""
    ex = "Exercise 3 (straight-through)"
    g = torch.Generator().manual_seed(12)
    y = torch.randn(25, 6, generator=g, dtype=torch.float64).softmax(-1).requires_grad_()
    got = call(fn, y, exercise=ex)
    hard = torch.nn.functional.one_hot(y.argmax(-1), 6).double()
    assert_close(got, hard, exercise=ex,
                 where=lambda i: f"row {i // 6}: the value must be the one-hot of the argmax")
    weights = torch.randn(25, 6, generator=g, dtype=torch.float64)
    grad = None
    if got.requires_grad:
        (grad,) = torch.autograd.grad((got * weights).sum(), y, allow_unused=True)
    if grad is None or not torch.allclose(grad, weights):
        raise ExerciseError(f"{ex}: the gradient must be that of y (write hard − y.detach() + y)")
    passed(ex, "one-hot forward, identity gradient backward")
