"""Notebook 04's checkers: each accepts the solution, reports a stub as not done, says where a
usual mistake is off, and refuses the package function that computes the answer."""

import math

import pytest
import torch

from ganvae_edu.formulas import vae
from ganvae_edu.labs import ExerciseError, vae04
from ganvae_edu.labs.feedback import NotDone
from ganvae_edu.text.sentence_vae import word_dropout


def stub(*args):
    raise NotImplementedError()


def logistic(t, T):
    return 1.0 if t >= T else 1 / (1 + math.exp(-10 * (t / T - 0.5)))


def dropout(x, rate, g):
    drop = (torch.rand(x.shape, generator=g) < rate) & (x != 0) & (x != 1)
    return x.masked_fill(drop, 3)


def iw_nll(lw, n):
    return -(torch.logsumexp(lw, 0) - math.log(lw.shape[0])).sum() / (n.sum() + len(n))


def fb_grad(mu, logvar, lam, indicator=True, batch_mean=True):
    kl = 0.5 * (mu**2 + logvar.exp() - logvar - 1)
    over = (kl.mean(0) > lam).to(mu.dtype) if indicator else torch.ones(mu.shape[1], dtype=mu.dtype)
    b = mu.shape[0] if batch_mean else 1
    return over * mu / b, over * 0.5 * (logvar.exp() - 1) / b


def test_solutions_pass(capsys):
    vae04.logistic_schedule.strict(logistic)
    vae04.word_dropout.strict(dropout)
    vae04.iw_nll_per_token.strict(iw_nll)
    vae04.free_bits_gradient.strict(fb_grad)
    vae04.free_bits_prediction.strict(2, ">=", 0.1)
    assert capsys.readouterr().out.count("✓") == 5


@pytest.mark.parametrize("checker", ["logistic_schedule", "word_dropout", "iw_nll_per_token",
                                     "free_bits_gradient"])
def test_stubs_are_not_done(checker):
    with pytest.raises(NotDone):
        getattr(vae04, checker).strict(stub)


def test_unanswered_predictions_are_not_done():
    with pytest.raises(NotDone):
        vae04.free_bits_prediction.strict(None, None, None)
    with pytest.raises(NotDone):
        vae04.free_bits_prediction.strict(2, None, 0.1)


def test_the_usual_mistakes_are_caught_with_where():
    with pytest.raises(ExerciseError, match="step 1000 of warmup"):  # never reaches 1
        vae04.logistic_schedule.strict(lambda t, T: 1 / (1 + math.exp(-10 * (t / T - 0.5))))
    drops_bos = lambda x, rate, g: x.masked_fill(torch.rand(x.shape, generator=g) < rate, 3)  # noqa: E731
    with pytest.raises(ExerciseError, match="<bos>"):
        vae04.word_dropout.strict(drops_bos)
    naive = lambda lw, n: -torch.log(torch.exp(lw).mean(0)).sum() / (n.sum() + len(n))  # noqa: E731
    with pytest.raises(ExerciseError, match="stabl|-1000"):
        vae04.iw_nll_per_token.strict(naive)
    no_eos = lambda lw, n: -(torch.logsumexp(lw, 0) - math.log(lw.shape[0])).sum() / n.sum()  # noqa: E731
    with pytest.raises(ExerciseError, match="off by"):
        vae04.iw_nll_per_token.strict(no_eos)
    with pytest.raises(ExerciseError, match="under λ"):  # the plain KL's gradient, no free bits
        vae04.free_bits_gradient.strict(lambda m, lv, lam: fb_grad(m, lv, lam, indicator=False))
    with pytest.raises(ExerciseError, match="1/B"):  # a sum over the batch, not the mean
        vae04.free_bits_gradient.strict(lambda m, lv, lam: fb_grad(m, lv, lam, batch_mean=False))
    with pytest.raises(ExerciseError, match="two tensors"):
        vae04.free_bits_gradient.strict(lambda m, lv, lam: fb_grad(m, lv, lam)[0])


def test_predictions_wrong_answers_say_what_to_rethink():
    with pytest.raises(ExerciseError, match="`pushed`"):
        vae04.free_bits_prediction.strict(4, ">=", 0.1)
    with pytest.raises(ExerciseError, match="`relation`"):
        vae04.free_bits_prediction.strict(2, "<=", 0.1)
    with pytest.raises(ExerciseError, match="must be one of"):
        vae04.free_bits_prediction.strict(2, "bigger", 0.1)
    with pytest.raises(ExerciseError, match="`largest_lambda`"):
        vae04.free_bits_prediction.strict(2, ">=", 0.5)


def test_calling_the_package_is_refused():
    with pytest.raises(ExerciseError, match="kl_weight"):
        vae04.logistic_schedule.strict(lambda t, T: vae.kl_weight(t, "logistic", T))
    with pytest.raises(ExerciseError, match="word_dropout"):
        vae04.word_dropout.strict(lambda x, rate, g: word_dropout(x, rate, 3, 0, 1, g))
    with pytest.raises(ExerciseError, match="iwae_bound"):
        vae04.iw_nll_per_token.strict(lambda lw, n: -vae.iwae_bound(lw, dim=0).sum() / (n.sum() + len(n)))

    def by_autograd(mu, logvar, lam):
        mu, logvar = mu.requires_grad_(), logvar.requires_grad_()
        kl = 0.5 * (mu**2 + logvar.exp() - logvar - 1)
        return torch.autograd.grad(torch.clamp(kl.mean(0), min=lam).sum(), (mu, logvar))

    with pytest.raises(ExerciseError, match="autograd"):
        vae04.free_bits_gradient.strict(by_autograd)

    def by_backward(mu, logvar, lam):
        mu, logvar = mu.requires_grad_(), logvar.requires_grad_()
        vae.free_bits_kl(0.5 * (mu**2 + logvar.exp() - logvar - 1), lam).backward()
        return mu.grad, logvar.grad

    with pytest.raises(ExerciseError, match="free_bits_kl|backward"):
        vae04.free_bits_gradient.strict(by_backward)


def test_no_reference_answer_leaks_into_a_message():
    try:
        vae04.free_bits_prediction.strict(3, ">=", 0.1)
    except ExerciseError as e:
        assert "2" not in str(e)
    try:
        vae04.free_bits_prediction.strict(2, ">=", 0.3)
    except ExerciseError as e:
        assert "0.1" not in str(e)
