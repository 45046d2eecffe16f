"""Notebook 02's checkers: accept the solution, report a stub as not done, catch the usual mistakes,
refuse the package's own functions."""

import math

import pytest
import torch

from ganvae_edu.formulas import vae
from ganvae_edu.labs import vae02
from ganvae_edu.labs.feedback import ExerciseError, NotDone


def stub(*args):
    raise NotImplementedError()


def kl(mu, logvar):
    return 0.5 * (mu.pow(2) + logvar.exp() - logvar - 1).sum(-1)


def iwae(lw):
    top = lw.max(dim=0).values
    return top + torch.log(torch.exp(lw - top).mean(dim=0))


def test_solutions_pass(capsys):
    vae02.kl_standard_normal.strict(kl)
    vae02.reparameterize.strict(lambda mu, lv, eps: mu + torch.exp(0.5 * lv) * eps)
    vae02.iwae_bound.strict(iwae)
    vae02.kl_gradient.strict(lambda mu, lv: (mu, 0.5 * (lv.exp() - 1)))
    vae02.predictions.strict(False, True, 0.0)
    assert capsys.readouterr().out.count("✓") == 5


@pytest.mark.parametrize("checker", [vae02.kl_standard_normal, vae02.reparameterize, vae02.iwae_bound,
                                     vae02.kl_gradient])
def test_stubs_are_not_done(checker):
    with pytest.raises(NotDone):
        checker.strict(stub)


def test_unanswered_predictions_are_not_done():
    for args in [(None, True, 0.0), (False, None, 0.0), (False, True, None)]:
        with pytest.raises(NotDone):
            vae02.predictions.strict(*args)


def test_usual_mistakes_are_caught_with_a_message_saying_where():
    with pytest.raises(ExerciseError, match="row"):  # forgot the ½
        vae02.kl_standard_normal.strict(lambda mu, lv: (mu.pow(2) + lv.exp() - lv - 1).sum(-1))
    with pytest.raises(ExerciseError, match="σ = exp"):  # σ = exp(logvar), not exp(logvar / 2)
        vae02.reparameterize.strict(lambda mu, lv, eps: mu + torch.exp(lv) * eps)
    with pytest.raises(ExerciseError, match="log weights of -1000"):  # no max subtraction: log 0
        vae02.iwae_bound.strict(lambda lw: torch.log(torch.exp(lw).mean(0)))
    with pytest.raises(ExerciseError, match="10 small log weights"):  # logsumexp without - log K
        vae02.iwae_bound.strict(lambda lw: torch.logsumexp(lw, 0))
    with pytest.raises(ExerciseError, match="twice"):
        vae02.kl_gradient.strict(lambda mu, lv: (mu, lv.exp() - 1))
    with pytest.raises(ExerciseError, match="d_logvar"):  # differentiated in σ², not log σ²
        vae02.kl_gradient.strict(lambda mu, lv: (mu, 0.5 * (1 - 1 / lv.exp())))
    with pytest.raises(ExerciseError, match="d_mu"):
        vae02.kl_gradient.strict(lambda mu, lv: (2 * mu, 0.5 * (lv.exp() - 1)))
    with pytest.raises(ExerciseError, match="pair"):
        vae02.kl_gradient.strict(lambda mu, lv: mu)
    with pytest.raises(ExerciseError, match=r"\(a\)"):
        vae02.predictions.strict(True, True, 0.0)
    with pytest.raises(ExerciseError, match=r"\(b\)"):
        vae02.predictions.strict(False, False, 0.0)
    with pytest.raises(ExerciseError, match=r"\(c\)"):
        vae02.predictions.strict(False, True, 0.3)


def test_calling_the_package_is_refused():
    with pytest.raises(ExerciseError, match="kl_standard_normal"):
        vae02.kl_standard_normal.strict(lambda mu, lv: vae.kl_standard_normal(mu, lv))
    g = torch.Generator().manual_seed(0)
    with pytest.raises(ExerciseError, match="reparameterize"):
        vae02.reparameterize.strict(lambda mu, lv, eps: vae.reparameterize(mu, lv, g))
    with pytest.raises(ExerciseError, match="iwae_bound"):
        vae02.iwae_bound.strict(lambda lw: vae.iwae_bound(lw, dim=0))
    with pytest.raises(ExerciseError, match="log_mean_exp"):
        vae02.iwae_bound.strict(lambda lw: vae.log_mean_exp(lw, dim=0))

    def by_autograd(mu, lv):
        mu, lv = mu.requires_grad_(), lv.requires_grad_()
        return torch.autograd.grad(kl(mu, lv).sum(), (mu, lv))

    with pytest.raises(ExerciseError, match="autograd"):
        vae02.kl_gradient.strict(by_autograd)

    def by_backward(mu, lv):
        mu, lv = mu.requires_grad_(), lv.requires_grad_()
        kl(mu, lv).sum().backward()
        return mu.grad, lv.grad

    with pytest.raises(ExerciseError, match="backward"):
        vae02.kl_gradient.strict(by_backward)


def test_the_decorated_checker_shows_a_box_and_never_raises(capsys):
    vae02.iwae_bound(lambda lw: torch.log(torch.exp(lw).mean(0)))
    vae02.predictions(None, None, None)
    out = capsys.readouterr().out
    assert "✗ Exercise 3" in out and "… Exercise 5" in out and "Traceback" not in out
    assert str(round(math.log(2), 4)) not in out
