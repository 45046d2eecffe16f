"""The VAE-GAN players' losses against their closed forms."""

import math

import torch

from ganvae_edu.formulas import gan
from ganvae_edu.formulas.combined import player_losses


def softplus(v):
    return math.log1p(math.exp(v))  # −log σ(−v) = softplus(v)


def test_each_player_gets_its_terms():
    real, fake = torch.tensor([2.0, -1.0]), torch.tensor([0.5, -0.5, 1.0])
    ll, kl = torch.tensor([-10.0, -14.0]), torch.tensor([3.0, 5.0])
    out = player_losses(real, fake, ll, kl, kl_weight=0.5, adv_weight=2.0)
    nonsat = sum(softplus(-v) for v in (0.5, -0.5, 1.0)) / 3  # −log σ(l) = softplus(−l)
    assert math.isclose(out["encoder"].item(), 12.0 + 0.5 * 4.0, rel_tol=1e-6)
    assert math.isclose(out["decoder"].item(), 12.0 + 2.0 * nonsat, rel_tol=1e-6)
    assert math.isclose(out["vae"].item(), 12.0 + 2.0 + 2.0 * nonsat, rel_tol=1e-6)
    d = (softplus(-2.0) + softplus(1.0)) / 2 + sum(softplus(v) for v in (0.5, -0.5, 1.0)) / 3
    assert math.isclose(out["discriminator"].item(), d, rel_tol=1e-6)
    assert torch.equal(out["discriminator"], gan.discriminator_loss(real, fake))
    assert "discriminator" not in player_losses(None, fake, ll, kl)


def test_the_summed_loss_gives_each_player_its_own_gradient_when_codes_are_detached():
    # encoder parameter m (the code's mean), decoder parameter w; D fixed: logit = a · x̃
    m, w = torch.tensor(0.3, requires_grad=True), torch.tensor(1.5, requires_grad=True)
    x, a = torch.tensor(1.0), torch.tensor(0.7)
    ll = -(x - w * m).pow(2)[None]  # log p(x|z) with z = m
    kl = (0.5 * m.pow(2))[None]
    fake_logits = (a * w * m.detach())[None]  # the GAN term sees the code detached
    out = player_losses(None, fake_logits, ll, kl, kl_weight=1.0, adv_weight=1.0)
    g_vae = torch.autograd.grad(out["vae"], (m, w), retain_graph=True)
    g_enc = torch.autograd.grad(out["encoder"], m, retain_graph=True)[0]
    g_dec = torch.autograd.grad(out["decoder"], w)[0]
    assert torch.isclose(g_vae[0], g_enc) and torch.isclose(g_vae[1], g_dec)
