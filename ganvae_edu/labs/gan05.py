"""Checkers for notebook 05's exercises: Gumbel-softmax, the REINFORCE loss, straight-through,
the exact gradient of a tiny categorical (derived, not autograd), the best discriminator's accuracy."""

from __future__ import annotations

from collections.abc import Callable

import torch

from ganvae_edu.formulas import discrete
from ganvae_edu.text import gan_diagnosis

from .feedback import ExerciseError, assert_close, call, exercise, passed

# Package (and torch) functions that compute an answer themselves: calling one is refused.
_RELAXATIONS = (discrete.gumbel_softmax, discrete.gumbel_noise, torch.nn.functional.gumbel_softmax)
_AUTOGRAD = (torch.autograd.grad, torch.Tensor.backward, torch.autograd.functional.jacobian,
             torch.func.grad, torch.func.vjp, torch.func.jacrev)


@exercise
def gumbel_softmax(fn: Callable) -> None:
    """fn(logits, u, tau) → softmax((logits − log(−log u)) / τ)."""
    ex = "Exercise 1 (Gumbel-softmax)"
    g = torch.Generator().manual_seed(10)
    logits = torch.randn(30, 7, generator=g, dtype=torch.float64)
    u = torch.rand(30, 7, generator=g, dtype=torch.float64).clamp(1e-6, 1 - 1e-6)
    for tau in (1.0, 0.3):
        want = ((logits - torch.log(-torch.log(u))) / tau).softmax(-1)
        got = call(fn, logits, u, tau, exercise=ex, forbid=_RELAXATIONS)
        assert_close(got, want, exercise=ex,
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
    got = call(fn, log_probs, rewards, 0.4, exercise=ex, forbid=(discrete.reinforce_surrogate,))
    if not isinstance(got, torch.Tensor) or got.dim() != 0:
        raise ExerciseError(f"{ex}: return one number (a 0-d tensor), the loss")
    if not got.requires_grad:
        raise ExerciseError(f"{ex}: no gradient reaches the log-probabilities (did you detach them?)")
    grad_theta, grad_r = torch.autograd.grad(got, (theta, rewards), allow_unused=True)
    if grad_r is not None and grad_r.abs().sum() > 0:
        raise ExerciseError(f"{ex}: gradients reach the rewards; detach (r − b) — the reward is a constant")
    if grad_theta is None:
        raise ExerciseError(f"{ex}: no gradient reaches the log-probabilities")
    # −∇_θ L = mean (r − b) ∇ log σ(θ) = mean (r − b)(1 − σ(θ)) ⊙ e_n: written out, not via the package
    want = -(rewards.detach() - 0.4) * (1 - torch.sigmoid(theta.detach())) / len(theta)
    if torch.allclose(grad_theta, want * len(theta)):
        raise ExerciseError(f"{ex}: your gradient is N times too large: average over the samples "
                            "(mean, not sum)")
    if torch.allclose(grad_theta, -want):
        raise ExerciseError(f"{ex}: your loss has the wrong sign: minimising it must raise log p where r > b")
    assert_close(grad_theta, want, exercise=ex, where=lambda i: f"the gradient at sample {i}")
    passed(ex, "gradient = −mean (r − b) ∇ log p, rewards held constant")


@exercise
def straight_through(fn: Callable) -> None:
    """fn(y) → value one_hot(argmax y), gradient that of y."""
    ex = "Exercise 3 (straight-through)"
    g = torch.Generator().manual_seed(12)
    y = torch.randn(25, 6, generator=g, dtype=torch.float64).softmax(-1).requires_grad_()
    got = call(fn, y, exercise=ex, forbid=_RELAXATIONS)
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


@exercise
def categorical_gradient(fn: Callable) -> None:
    """fn(theta, f) → ∇_θ E_{x∼softmax(θ)}[f(x)] in closed form, p ⊙ (f − pᵀf), without autograd;
    checked against autograd on several θ, f."""
    ex = "Exercise 4 (derive the exact gradient)"
    g = torch.Generator().manual_seed(13)
    for k in (3, 5, 8):
        theta = torch.randn(k, generator=g, dtype=torch.float64)
        f = torch.randn(k, generator=g, dtype=torch.float64) + 10  # a large offset: E[∇ log p] = 0 matters
        got = call(fn, theta.clone(), f.clone(), exercise=ex, forbid=_AUTOGRAD)
        t = theta.clone().requires_grad_()
        want = torch.autograd.grad((t.softmax(0) * f).sum(), t)[0]
        if isinstance(got, torch.Tensor) and got.shape == want.shape:
            p = theta.softmax(0)
            if torch.allclose(got.detach().double(), p * f):
                raise ExerciseError(f"{ex}: p ⊙ f is E[f · one-hot(x)], not E[f(x) ∇ log p(x)]: "
                                    "∇_θ log p(x) = one-hot(x) − p, so a term − p · E[f] is missing")
            if torch.allclose(got.detach().double(), f - (p * f).sum()):
                raise ExerciseError(f"{ex}: weight each outcome by its probability: the sum over x of "
                                    "p(x) f(x) ∇ log p(x)")
        assert_close(got, want, exercise=ex, where=lambda i, k=k: f"entry {i} of the gradient (K = {k})")
    passed(ex, "your closed form equals autograd's gradient of Σ_x softmax(θ)_x f(x) for K = 3, 5, 8")


@exercise
def best_accuracy(fn: Callable) -> None:
    """fn(p_data, p_g) → the accuracy of the Bayes-optimal D on a balanced real/generated test,
    ½ Σ_x max(p_data(x), p_g(x)); checked against D* = p_data / (p_data + p_g) thresholded at ½."""
    ex = "Exercise 5 (the best discriminator's accuracy)"
    g = torch.Generator().manual_seed(14)
    cases = [torch.rand(2, 6, generator=g, dtype=torch.float64) for _ in range(3)]
    cases = [c / c.sum(1, keepdim=True) for c in cases]
    # the generator puts 20 % on an outcome the data never makes
    impossible = torch.tensor([[0.5, 0.5, 0.0], [0.4, 0.4, 0.2]], dtype=torch.float64)
    for pair in [*cases, impossible]:
        p_data, p_g = pair[0], pair[1]
        got = call(fn, p_data.clone(), p_g.clone(), exercise=ex,
                   forbid=(gan_diagnosis.tv_estimate, gan_diagnosis.generator_tv))
        try:
            got = float(got)
        except (TypeError, ValueError):
            raise ExerciseError(f"{ex}: return one number, the accuracy") from None
        says_real = p_data / (p_data + p_g) > 0.5  # D* reads x as real where p_data > p_g
        want = 0.5 * (p_data[says_real].sum() + p_g[~says_real].sum()).item()
        if abs(got - want) > 1e-6:
            tv = 0.5 * (p_data - p_g).abs().sum().item()
            if abs(got - tv) < 1e-6:
                why = "that is TV(p_data, p_g); the accuracy is ½ + ½ TV"
            elif abs(got - 2 * want) < 1e-6:
                why = "real and generated sentences are half the test each: a factor ½"
            else:
                why = "D* says real where p_data > p_g; add up what it gets right on each half"
            raise ExerciseError(f"{ex}: {got:.4g} is not the best discriminator's accuracy ({why})")
    passed(ex, "½ Σ max(p_data, p_g) = ½ + ½ TV on four pairs, one with sentences the data never makes")
