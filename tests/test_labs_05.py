"""Notebook 05's checkers: each accepts the solution, reports a stub as not done, catches the
usual mistakes with a message saying where, and refuses the package function that computes it."""

import pytest
import torch

from ganvae_edu.formulas import discrete
from ganvae_edu.labs import gan05
from ganvae_edu.labs.feedback import ExerciseError, NotDone
from ganvae_edu.text import gan_diagnosis


def stub(*args):
    raise NotImplementedError()


def test_gumbel_softmax():
    gan05.gumbel_softmax.strict(lambda lg, u, tau: ((lg - torch.log(-torch.log(u))) / tau).softmax(-1))
    with pytest.raises(NotDone):
        gan05.gumbel_softmax.strict(stub)
    with pytest.raises(ExerciseError, match="g = −log"):  # forgot the second log
        gan05.gumbel_softmax.strict(lambda logits, u, tau: ((logits - torch.log(u)) / tau).softmax(-1))
    with pytest.raises(ExerciseError, match="τ=0.3"):  # forgot the temperature
        gan05.gumbel_softmax.strict(lambda logits, u, tau: (logits - torch.log(-torch.log(u))).softmax(-1))
    with pytest.raises(ExerciseError, match="package's `ganvae_edu.formulas.discrete.gumbel_softmax`"):
        gan05.gumbel_softmax.strict(lambda logits, u, tau: discrete.gumbel_softmax(logits, tau))
    with pytest.raises(ExerciseError, match="gumbel_softmax"):
        gan05.gumbel_softmax.strict(lambda logits, u, tau: torch.nn.functional.gumbel_softmax(logits, tau))


def test_reinforce_loss():
    gan05.reinforce_loss.strict(lambda lp, r, b: -((r - b).detach() * lp).mean())
    with pytest.raises(NotDone):
        gan05.reinforce_loss.strict(stub)
    with pytest.raises(ExerciseError, match="gradients reach the rewards"):
        gan05.reinforce_loss.strict(lambda lp, r, b: -((r - b) * lp).mean())
    with pytest.raises(ExerciseError, match="mean, not sum"):
        gan05.reinforce_loss.strict(lambda lp, r, b: -((r - b).detach() * lp).sum())
    with pytest.raises(ExerciseError, match="wrong sign"):
        gan05.reinforce_loss.strict(lambda lp, r, b: ((r - b).detach() * lp).mean())
    with pytest.raises(ExerciseError, match="no gradient reaches"):
        gan05.reinforce_loss.strict(lambda lp, r, b: -((r - b).detach() * lp.detach()).mean())
    with pytest.raises(ExerciseError, match="reinforce_surrogate"):
        gan05.reinforce_loss.strict(discrete.reinforce_surrogate)


def test_straight_through():
    def solution(y):
        hard = torch.zeros_like(y).scatter_(-1, y.argmax(-1, keepdim=True), 1.0)
        return hard - y.detach() + y

    gan05.straight_through.strict(solution)
    with pytest.raises(NotDone):
        gan05.straight_through.strict(stub)
    with pytest.raises(ExerciseError, match="gradient must be that of y"):
        gan05.straight_through.strict(lambda y: torch.nn.functional.one_hot(y.argmax(-1), 6).double())
    with pytest.raises(ExerciseError, match="one-hot of the argmax"):
        gan05.straight_through.strict(lambda y: y)
    with pytest.raises(ExerciseError, match="gumbel_softmax"):
        gan05.straight_through.strict(lambda y: discrete.gumbel_softmax(y.log(), 1e-3, hard=True))


def test_categorical_gradient():
    gan05.categorical_gradient.strict(lambda theta, f: theta.softmax(0) * (f - (theta.softmax(0) * f).sum()))
    with pytest.raises(NotDone):
        gan05.categorical_gradient.strict(stub)
    with pytest.raises(ExerciseError, match="a term − p · E\\[f\\] is missing"):
        gan05.categorical_gradient.strict(lambda theta, f: theta.softmax(0) * f)
    with pytest.raises(ExerciseError, match="weight each outcome"):
        gan05.categorical_gradient.strict(lambda theta, f: f - (theta.softmax(0) * f).sum())
    with pytest.raises(ExerciseError, match="entry"):
        gan05.categorical_gradient.strict(lambda theta, f: theta.softmax(0) * (f - f.mean()))

    def by_autograd(theta, f):
        t = theta.clone().requires_grad_()
        return torch.autograd.grad((t.softmax(0) * f).sum(), t)[0]

    def by_backward(theta, f):
        t = theta.clone().requires_grad_()
        (t.softmax(0) * f).sum().backward()
        return t.grad

    for fn in (by_autograd, by_backward):
        with pytest.raises(ExerciseError, match="computes the answer itself"):
            gan05.categorical_gradient.strict(fn)


def test_best_accuracy():
    gan05.best_accuracy.strict(lambda p, q: 0.5 * torch.maximum(p, q).sum())
    gan05.best_accuracy.strict(lambda p, q: 0.5 + 0.25 * (p - q).abs().sum().item())
    with pytest.raises(NotDone):
        gan05.best_accuracy.strict(stub)
    with pytest.raises(ExerciseError, match="½ \\+ ½ TV"):
        gan05.best_accuracy.strict(lambda p, q: 0.5 * (p - q).abs().sum())
    with pytest.raises(ExerciseError, match="a factor ½"):
        gan05.best_accuracy.strict(lambda p, q: torch.maximum(p, q).sum())
    with pytest.raises(ExerciseError, match="one number"):
        gan05.best_accuracy.strict(lambda p, q: "high")

    def via_package(p, q):
        return 0.5 + 0.5 * gan_diagnosis.tv_estimate(p.log(), q.log())[0]

    with pytest.raises(ExerciseError, match="tv_estimate"):
        gan05.best_accuracy.strict(via_package)


def test_the_decorated_checkers_never_raise(capsys):
    gan05.categorical_gradient(stub)
    gan05.best_accuracy(lambda p, q: 0.0)
    out = capsys.readouterr().out
    assert "not done yet" in out and "is not the best discriminator's accuracy" in out
