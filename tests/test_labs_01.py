"""Notebook 01's checkers: accept the solution, report a stub as not done, catch the usual
mistakes with a message saying where, refuse the package's own function."""

import math

import pytest
import torch
import torch.nn.functional as F

from ganvae_edu.formulas import dirac, gan
from ganvae_edu.labs import ExerciseError, gan01
from ganvae_edu.labs.feedback import NotDone


def stub(*args):
    raise NotImplementedError()


def d_star(p_data, p_g):
    return p_data / (p_data + p_g)


def jsd(p, q):
    m = 0.5 * (p + q)

    def kl(a, b):
        return torch.where(a > 0, a * (a / b).log(), torch.zeros_like(a)).sum()

    return 0.5 * kl(p, m) + 0.5 * kl(q, m)


def ns_loss(fake_logits):
    return -F.logsigmoid(fake_logits).mean()


def eigenvalues(gamma):
    return torch.linalg.eigvals(torch.tensor([[0.0, -0.5], [0.5, -gamma]], dtype=torch.float64))


GROWTH = (1 + 0.1**2 / 4) ** 50


def test_solutions_pass(capsys):
    gan01.optimal_discriminator.strict(d_star)
    gan01.jensen_shannon.strict(jsd)
    gan01.nonsaturating_loss.strict(ns_loss)
    gan01.dirac_eigenvalues.strict(eigenvalues)
    gan01.dirac_growth.strict(GROWTH)
    assert capsys.readouterr().out.count("✓") == 5


@pytest.mark.parametrize("checker", [gan01.optimal_discriminator, gan01.jensen_shannon,
                                     gan01.nonsaturating_loss, gan01.dirac_eigenvalues])
def test_a_stub_is_not_done(checker):
    with pytest.raises(NotDone, match="not done yet"):
        checker.strict(stub)


def test_an_unanswered_prediction_is_not_done(capsys):
    with pytest.raises(NotDone, match="replace None"):
        gan01.dirac_growth.strict(None)
    gan01.dirac_growth(None)  # shown, not raised
    assert "not done yet" in capsys.readouterr().out


def test_the_usual_mistakes_are_caught_and_located():
    with pytest.raises(ExerciseError, match=r"off by .* at p_data="):
        gan01.optimal_discriminator.strict(lambda p_data, p_g: p_g / (p_data + p_g))
    with pytest.raises(ExerciseError, match="disjoint supports|random pair"):
        gan01.jensen_shannon.strict(lambda p, q: 0.5 * ((p - q).abs().sum()))
    with pytest.raises(ExerciseError, match="disjoint supports"):  # 0·log 0 not taken as 0: nan
        gan01.jensen_shannon.strict(lambda p, q: (0.5 * p * (2 * p / (p + q)).log()
                                                  + 0.5 * q * (2 * q / (p + q)).log()).sum())
    with pytest.raises(ExerciseError, match="numerically stable"):
        gan01.nonsaturating_loss.strict(lambda l: -torch.log(torch.sigmoid(l)).mean())
    with pytest.raises(ExerciseError, match="mean over the batch"):
        gan01.nonsaturating_loss.strict(lambda l: -F.logsigmoid(l).sum())
    with pytest.raises(ExerciseError, match="0-d torch.Tensor"):
        gan01.nonsaturating_loss.strict(lambda l: -F.logsigmoid(l))
    # R1 with the wrong sign (D's objective plus the penalty), or the penalty's ½ dropped
    with pytest.raises(ExerciseError, match=r"γ=0\.4.*R1 enters only D's equation"):
        gan01.dirac_eigenvalues.strict(lambda g: torch.linalg.eigvals(
            torch.tensor([[0.0, -0.5], [0.5, g]], dtype=torch.float64)))
    with pytest.raises(ExerciseError, match=r"γ=0\.4"):
        gan01.dirac_eigenvalues.strict(lambda g: torch.linalg.eigvals(
            torch.tensor([[0.0, -0.5], [0.5, -2 * g]], dtype=torch.float64)))
    with pytest.raises(ExerciseError, match=r"γ=0 .*f'\(0\)"):  # f'(0) taken as 1
        gan01.dirac_eigenvalues.strict(lambda g: torch.linalg.eigvals(
            torch.tensor([[0.0, -1.0], [1.0, -g]], dtype=torch.float64)))
    with pytest.raises(ExerciseError, match="2 eigenvalues"):
        gan01.dirac_eigenvalues.strict(lambda g: torch.tensor(0.5))
    with pytest.raises(ExerciseError, match="does not shrink"):
        gan01.dirac_growth.strict(0.5)
    with pytest.raises(ExerciseError, match=r"√\(1 \+ h²/4\)"):
        gan01.dirac_growth.strict(1.05**100)
    with pytest.raises(ExerciseError, match="one number"):
        gan01.dirac_growth.strict("big")


@pytest.mark.parametrize("checker, fn", [
    (gan01.optimal_discriminator, gan.optimal_discriminator),
    (gan01.optimal_discriminator, lambda a, b: gan.optimal_discriminator(a, b) + 0),  # through an alias
    (gan01.jensen_shannon, gan.jensen_shannon),
    (gan01.jensen_shannon, lambda p, q: 0.5 * gan.kl_divergence(p, (p + q) / 2)
     + 0.5 * gan.kl_divergence(q, (p + q) / 2)),
    (gan01.nonsaturating_loss, gan.generator_loss_nonsaturating),
    (gan01.dirac_eigenvalues, dirac.eigenvalues),
    (gan01.dirac_eigenvalues, lambda g: torch.linalg.eigvals(
        dirac.jacobian(torch.tensor(0.0, dtype=torch.float64), torch.tensor(0.0, dtype=torch.float64), g))),
])
def test_the_package_function_is_refused(checker, fn):
    with pytest.raises(ExerciseError, match="calls the package's"):
        checker.strict(fn)


def test_checkers_do_not_print_their_reference(capsys):
    gan01.dirac_growth(2.0)
    gan01.dirac_eigenvalues(lambda g: torch.tensor([0.1j, -0.1j]))
    out = capsys.readouterr().out
    assert f"{GROWTH:.4g}" not in out and "0.5j" not in out and math.isfinite(GROWTH)
