"""Discriminator rejection sampling and KL-regularised REINFORCE, against independent answers."""

import math

import pytest
import torch

from ganvae_edu.formulas.kl_reward import kl_reinforce_loss, kl_shaped_reward
from ganvae_edu.formulas.rejection import drs_accept_probability


def test_at_gamma_0_drs_accepts_with_the_density_ratio_over_its_bound():
    d = torch.tensor([-3.0, -1.0, 0.0, 0.5, 2.0])
    a = drs_accept_probability(d, max_logit=0.5, eps=1e-6)
    expected = torch.exp(torch.clamp(d - 0.5, max=0.0) - 1e-6)
    assert torch.allclose(a, expected, rtol=1e-4)
    assert a[-1] <= 1 and a[-2] == pytest.approx(math.exp(-1e-6), rel=1e-6)  # logits above d_max: the bound
    assert (drs_accept_probability(d, 0.5, gamma=-2.0) > a).all()  # γ < 0 accepts more


def test_drs_with_the_true_logit_turns_q_samples_into_p_samples():
    # q = N(0, 1), p = N(1, 1) on [-4, 5]: the optimal logit is log p/q = x − 1/2
    g = torch.Generator().manual_seed(0)
    x = torch.randn(200_000, generator=g).clamp(-4, 5)
    d = x - 0.5
    keep = torch.rand(len(x), generator=g) < drs_accept_probability(d, max_logit=4.5)
    accepted = x[keep]
    assert accepted.mean().item() == pytest.approx(1.0, abs=0.03)  # p's mean, not q's 0
    assert accepted.std().item() == pytest.approx(1.0, abs=0.03)


def test_the_kl_shaped_reward_is_a_constant_for_the_gradient():
    logp = torch.tensor([-1.0, -2.0], requires_grad=True)
    r = kl_shaped_reward(torch.tensor([1.0, 0.0]), logp, torch.tensor([-1.5, -1.5]), beta=0.5)
    assert torch.allclose(r, torch.tensor([1.0 - 0.25, 0.0 + 0.25])) and not r.requires_grad


def test_kl_reinforce_gives_the_gradient_of_reward_minus_beta_kl():
    # a categorical policy over 4 outcomes, every outcome enumerated with weight π(x): the
    # estimator's expectation, which must equal autograd's gradient of the exact J(θ)
    theta = torch.tensor([0.3, -0.2, 0.9, 0.0], requires_grad=True)
    ref = torch.log_softmax(torch.tensor([1.0, 0.0, -1.0, 0.5]), -1)
    r, beta = torch.tensor([0.0, 1.0, 2.0, -1.0]), 0.7
    logp = torch.log_softmax(theta, -1)
    exact = (logp.exp() * (r - beta * (logp - ref))).sum()
    (want,) = torch.autograd.grad(exact, theta)
    pi = logp.exp().detach()
    logp = torch.log_softmax(theta, -1)  # a fresh graph: autograd.grad freed the first
    shaped = kl_shaped_reward(r, logp, ref, beta)
    (got,) = torch.autograd.grad(-(pi * shaped * logp).sum(), theta)  # the loss, weighted exactly
    assert torch.allclose(-got, want, atol=1e-6)
    # and its maximiser is π* ∝ π_ref exp(r/β): gradient ascent on J gets there
    theta = torch.zeros(4, requires_grad=True)
    opt = torch.optim.SGD([theta], lr=0.5)
    for _ in range(3000):
        logp = torch.log_softmax(theta, -1)
        opt.zero_grad()
        (-(logp.exp() * (r - beta * (logp - ref))).sum()).backward()
        opt.step()
    target = torch.softmax(ref + r / beta, -1)
    assert torch.allclose(torch.softmax(theta, -1), target, atol=1e-4)
    # the sampled loss has that gradient in expectation: a mean over many draws gets close
    g = torch.Generator().manual_seed(0)
    theta = torch.tensor([0.3, -0.2, 0.9, 0.0], requires_grad=True)
    logp_all = torch.log_softmax(theta, -1)
    x = torch.multinomial(logp_all.exp().detach(), 100_000, replacement=True, generator=g)
    loss = kl_reinforce_loss(r[x], logp_all[x], ref[x], beta, baseline=0.5)
    (sampled,) = torch.autograd.grad(loss, theta)
    assert torch.allclose(-sampled, want, atol=0.02)
