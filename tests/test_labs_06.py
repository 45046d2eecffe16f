"""Notebook 06's checkers: each accepts the solution, reports a stub as not done, catches the usual
mistakes with a message saying where, and refuses the package function that computes the answer."""

import pytest
import torch
import torch.nn.functional as F

from ganvae_edu.formulas import combined, gan, vae
from ganvae_edu.labs import vaegan06
from ganvae_edu.labs.feedback import ExerciseError, NotDone


def stub(*args):
    raise NotImplementedError()


def losses(real, fake, ll, kl, beta, gamma, saturating=False, gamma_on_gan=False):
    adv = F.logsigmoid(-fake).mean() if saturating else -F.logsigmoid(fake).mean()
    rec = -ll.mean()
    decoder = rec + gamma * adv if gamma_on_gan else gamma * rec + adv
    return {"encoder": rec + beta * kl.mean(), "decoder": decoder,
            "discriminator": -F.logsigmoid(real).mean() - F.logsigmoid(-fake).mean()}


def test_player_losses(capsys):
    vaegan06.player_losses.strict(losses)
    with pytest.raises(NotDone):
        vaegan06.player_losses.strict(stub)
    with pytest.raises(ExerciseError, match="decoder: "):  # the saturating generator loss
        vaegan06.player_losses.strict(lambda *a: losses(*a, saturating=True))
    with pytest.raises(ExerciseError, match="γ weighs the \\*likelihood\\*"):  # the old placement of γ
        vaegan06.player_losses.strict(lambda *a: losses(*a, gamma_on_gan=True))
    with pytest.raises(ExerciseError, match="calls the package's `.*player_losses`"):
        vaegan06.player_losses.strict(lambda r, f, ll, kl, b, g: combined.player_losses(r, f, ll, kl, b, g))
    with pytest.raises(ExerciseError, match="calls the package's `.*discriminator_loss`"):
        vaegan06.player_losses.strict(
            lambda *a: {**losses(*a), "discriminator": gan.discriminator_loss(a[0], a[1])})
    assert capsys.readouterr().out.count("✓") == 1


def codes(mu, logvar, draws, eps):
    return mu.repeat(draws, 1) + (0.5 * logvar).exp().repeat(draws, 1) * eps


def test_posterior_codes():
    vaegan06.posterior_codes.strict(codes)
    with pytest.raises(NotDone):
        vaegan06.posterior_codes.strict(stub)
    with pytest.raises(ExerciseError, match="σ = exp"):  # used log σ² as σ
        vaegan06.posterior_codes.strict(lambda mu, lv, d, eps: mu.repeat(d, 1) + lv.repeat(d, 1) * eps)
    with pytest.raises(ExerciseError, match="shape"):  # one draw only
        vaegan06.posterior_codes.strict(lambda mu, lv, d, eps: mu + (0.5 * lv).exp() * eps[: len(mu)])
    with pytest.raises(ExerciseError, match="calls the package's `.*reparameterize`"):
        vaegan06.posterior_codes.strict(
            lambda mu, lv, d, eps: vae.reparameterize(mu.repeat(d, 1), lv.repeat(d, 1)))


def test_article_d_loss():
    def fixed(real, fake):
        return (F.binary_cross_entropy_with_logits(real, torch.ones_like(real))
                + F.binary_cross_entropy_with_logits(fake, torch.zeros_like(fake)))

    vaegan06.article_d_loss.strict(fixed)
    with pytest.raises(NotDone):
        vaegan06.article_d_loss.strict(stub)
    with pytest.raises(ExerciseError, match="clamped 100"):  # the article's Sigmoid + BCELoss
        vaegan06.article_d_loss.strict(
            lambda r, f: F.binary_cross_entropy(torch.sigmoid(r), torch.ones_like(r))
            + F.binary_cross_entropy(torch.sigmoid(f), torch.zeros_like(f)))
    with pytest.raises(ExerciseError, match="calls the package's `.*discriminator_loss`"):
        vaegan06.article_d_loss.strict(lambda r, f: gan.discriminator_loss(r.squeeze(-1), f.squeeze(-1)))


def gradient(logits, n_real, gamma):
    return -torch.sigmoid(-logits) / len(logits), torch.full((n_real,), -gamma / n_real, dtype=logits.dtype)


def test_decoder_gradient():
    vaegan06.decoder_gradient.strict(gradient)
    with pytest.raises(NotDone):
        vaegan06.decoder_gradient.strict(stub)
    with pytest.raises(ExerciseError, match="fake logit"):  # the saturating loss's gradient −σ(l)
        vaegan06.decoder_gradient.strict(lambda l, n, g: (-torch.sigmoid(l) / len(l), gradient(l, n, g)[1]))
    with pytest.raises(ExerciseError, match="log-likelihood"):  # γ forgotten
        vaegan06.decoder_gradient.strict(lambda l, n, g: (gradient(l, n, g)[0], gradient(l, n, 1.0)[1]))

    def by_autograd(l, n, g):
        l = l.clone().requires_grad_(True)
        ll = torch.zeros(n, dtype=l.dtype, requires_grad=True)
        loss = combined.player_losses(None, l, ll, torch.zeros(n, dtype=l.dtype), 1.0, g)["decoder"]
        return torch.autograd.grad(loss, (l, ll))

    with pytest.raises(ExerciseError, match="calls the package's"):
        vaegan06.decoder_gradient.strict(by_autograd)

    def by_backward(l, n, g):
        l = l.clone().requires_grad_(True)
        loss = -F.logsigmoid(l).mean()
        loss.backward()
        return l.grad, gradient(l.detach(), n, g)[1]

    with pytest.raises(ExerciseError, match="calls `.*backward`"):
        vaegan06.decoder_gradient.strict(by_backward)


def test_collapsed_codes(capsys):
    vaegan06.collapsed_codes.strict(0.0, 0.0, 0, 0.0)
    with pytest.raises(NotDone):
        vaegan06.collapsed_codes.strict(None, None, None, None)
    with pytest.raises(NotDone):
        vaegan06.collapsed_codes.strict(0.0, None, 0, 0.0)
    # "the codes are N(0, I), so they are used"
    with pytest.raises(ExerciseError, match="I\\(x; z\\) is off"):
        vaegan06.collapsed_codes.strict(0.0, 2.0, 0, 0.0)
    with pytest.raises(ExerciseError, match="active units is off"):
        vaegan06.collapsed_codes.strict(0.0, 0.0, 16, 0.0)
    with pytest.raises(ExerciseError, match="give a number"):
        vaegan06.collapsed_codes.strict("zero", 0.0, 0, 0.0)
    vaegan06.collapsed_codes(0.0, 0.0, 16, 0.0)  # decorated: a box, never an exception
    out = capsys.readouterr().out
    assert out.count("✓") == 1 and "active units is off" in out
