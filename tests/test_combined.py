"""The VAE-GAN players' losses against their closed forms (Larsen et al. 2016: γ on the likelihood)."""

import math

import torch

from ganvae_edu.formulas import gan
from ganvae_edu.formulas.combined import player_losses


def softplus(v):
    return math.log1p(math.exp(v))  # −log σ(−v) = softplus(v)


def test_each_player_gets_its_terms_and_gamma_weighs_the_decoders_likelihood():
    real, fake = torch.tensor([2.0, -1.0]), torch.tensor([0.5, -0.5, 1.0])
    ll, kl = torch.tensor([-10.0, -14.0]), torch.tensor([3.0, 5.0])
    out = player_losses(real, fake, ll, kl, kl_weight=0.5, llike_weight=2.0)
    nonsat = sum(softplus(-v) for v in (0.5, -0.5, 1.0)) / 3  # −log σ(l) = softplus(−l)
    assert math.isclose(out["encoder"].item(), 12.0 + 0.5 * 4.0, rel_tol=1e-6)  # no γ on the encoder
    assert math.isclose(out["decoder"].item(), 2.0 * 12.0 + nonsat, rel_tol=1e-6)  # γ·L_llike + L_GAN
    d = (softplus(-2.0) + softplus(1.0)) / 2 + sum(softplus(v) for v in (0.5, -0.5, 1.0)) / 3
    assert math.isclose(out["discriminator"].item(), d, rel_tol=1e-6)
    assert torch.equal(out["discriminator"], gan.discriminator_loss(real, fake))
    assert "discriminator" not in player_losses(None, fake, ll, kl)


def test_gamma_sets_the_ratio_of_likelihood_to_gan_gradient_in_the_decoder():
    # one decoder parameter w: log p(x|z) = −(x − w)², fake logit a·w; d L_dec / dw = γ·2(w − x)·… + GAN
    w = torch.tensor(0.4, requires_grad=True)
    x, a = torch.tensor(1.0), torch.tensor(0.7)
    for gamma in (0.1, 1.0, 10.0):
        out = player_losses(None, (a * w)[None], (-(x - w).pow(2))[None], torch.zeros(1), llike_weight=gamma)
        (grad,) = torch.autograd.grad(out["decoder"], w)
        by_hand = gamma * 2 * (w - x) - a * (1 - torch.sigmoid(a * w))  # d/dw [γ(x−w)² − log σ(a w)]
        assert torch.isclose(grad, by_hand)


def test_one_sum_gives_the_encoder_one_plus_gamma_times_the_likelihood_gradient():
    # why each player steps on its own loss: the sum L_enc + L_dec over-weights the encoder's likelihood
    m, w = torch.tensor(0.3, requires_grad=True), torch.tensor(1.5, requires_grad=True)
    ll = -(torch.tensor(1.0) - w * m).pow(2)[None]
    kl = (0.5 * m.pow(2))[None]
    out = player_losses(None, (0.7 * w * m.detach())[None], ll, kl, kl_weight=1.0, llike_weight=3.0)
    g_sum = torch.autograd.grad(out["encoder"] + out["decoder"], m, retain_graph=True)[0]
    g_enc = torch.autograd.grad(out["encoder"], m, retain_graph=True)[0]
    g_rec = torch.autograd.grad(-ll.mean(), m)[0]
    assert torch.isclose(g_sum - g_enc, 3.0 * g_rec) and not torch.isclose(g_sum, g_enc)
