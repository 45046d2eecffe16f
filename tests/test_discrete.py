"""Gumbel-max samples the categorical exactly; REINFORCE is unbiased and a baseline cuts its variance."""

import math

import pytest
import torch

from ganvae_edu.formulas.discrete import gumbel_softmax, reinforce_surrogate


def test_gumbel_max_samples_the_categorical():
    logits = torch.tensor([1.0, 0.0, -1.0, 2.0])
    p = logits.softmax(0)
    n = 200_000
    g = torch.Generator().manual_seed(0)
    y = gumbel_softmax(logits.expand(n, -1), tau=1.0, generator=g)
    freq = torch.bincount(y.argmax(-1), minlength=4).double() / n
    se = (p * (1 - p) / n).sqrt()
    assert ((freq - p).abs() < 4 * se).all()


def test_temperature_and_straight_through():
    logits = torch.randn(1000, 6, generator=torch.Generator().manual_seed(1), requires_grad=True)
    cold = gumbel_softmax(logits, 0.05, generator=torch.Generator().manual_seed(2))
    warm = gumbel_softmax(logits, 5.0, generator=torch.Generator().manual_seed(2))
    assert cold.max(-1).values.mean() > 0.95 > 0.5 > warm.max(-1).values.mean()  # near one-hot vs smooth
    hard = gumbel_softmax(logits, 1.0, hard=True, generator=torch.Generator().manual_seed(3))
    assert torch.equal(hard.sum(-1), torch.ones(1000)) and set(hard.unique().tolist()) == {0.0, 1.0}
    (hard * torch.arange(6.0)).sum().backward()
    assert logits.grad.abs().sum() > 0  # the gradient of the soft sample flows through
    with pytest.raises(ValueError, match="tau=0"):
        gumbel_softmax(logits, 0)


def test_reinforce_is_unbiased_and_the_baseline_cuts_variance():
    # E_x[f(x)] for x ~ Cat(softmax(θ)): exact gradient p_i (f_i − E f)
    theta = torch.tensor([0.5, -0.3, 0.1], requires_grad=True)
    f = torch.tensor([1.0, 3.0, 2.0]) + 10.0  # a large offset makes the plain estimator noisy
    p = theta.softmax(0)
    exact = (p * (f - (p * f).sum())).detach()
    g = torch.Generator().manual_seed(0)
    grads = {0.0: [], (p * f).sum().item(): []}
    for _ in range(2000):
        x = torch.multinomial(p.detach(), 16, replacement=True, generator=g)
        for b, store in grads.items():
            loss = reinforce_surrogate(theta.log_softmax(0)[x], f[x], b)
            store.append(-torch.autograd.grad(loss, theta)[0])
    means = {b: torch.stack(v).mean(0) for b, v in grads.items()}
    variances = {b: torch.stack(v).var(0).sum().item() for b, v in grads.items()}
    for b, m in means.items():
        se = math.sqrt(variances[b] / 2000)
        assert (m - exact).abs().max() < 4 * se
    with_baseline = (p * f).sum().item()
    assert variances[with_baseline] < variances[0.0] / 20
