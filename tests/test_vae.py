"""The VAE formulas against closed forms and exact answers on the linear-Gaussian model."""

import math

import pytest
import torch

from ganvae_edu.formulas import vae
from ganvae_edu.formulas.linear_gaussian import LinearGaussian
from ganvae_edu.vector.toyvae import ToyVAEConfig, train_toy_vae


def lg_model(d=4, k=2, sigma=0.5, seed=0):
    g = torch.Generator().manual_seed(seed)
    W = torch.randn(d, k, generator=g, dtype=torch.float64)
    b = torch.randn(d, generator=g, dtype=torch.float64)
    return LinearGaussian(W, b, sigma)


def test_gaussian_log_prob_matches_torch_distributions():
    x, mu, logvar = torch.randn(3, 4), torch.randn(3, 4), torch.randn(3, 4)
    ref = torch.distributions.Normal(mu, (0.5 * logvar).exp()).log_prob(x).sum(-1)
    assert torch.allclose(vae.gaussian_log_prob(x, mu, logvar), ref, atol=1e-5)


def test_kl_closed_forms_match_torch_and_each_other():
    mu_q, lv_q, mu_p, lv_p = (torch.randn(5, 3, dtype=torch.float64) for _ in range(4))
    q = torch.distributions.Normal(mu_q, (0.5 * lv_q).exp())
    p = torch.distributions.Normal(mu_p, (0.5 * lv_p).exp())
    ref = torch.distributions.kl_divergence(q, p).sum(-1)
    assert torch.allclose(vae.kl_diag_gaussians(mu_q, lv_q, mu_p, lv_p), ref)
    zeros = torch.zeros_like(mu_q)
    assert torch.allclose(vae.kl_standard_normal(mu_q, lv_q), vae.kl_diag_gaussians(mu_q, lv_q, zeros, zeros))
    # by hand: KL(N(1, e²) ‖ N(0, 1)) = ½ (1 + e² - 2 - 1)
    one = torch.tensor([[1.0]], dtype=torch.float64)
    assert math.isclose(vae.kl_standard_normal(one, 2 * one).item(), 0.5 * (math.e**2 - 2), rel_tol=1e-12)


def test_reparameterized_samples_have_the_right_moments_and_gradients():
    mu = torch.tensor([1.0, -2.0], requires_grad=True)
    logvar = torch.tensor([0.0, math.log(4.0)], requires_grad=True)
    z = vae.reparameterize(mu.expand(200_000, 2), logvar.expand(200_000, 2), torch.Generator().manual_seed(0))
    assert torch.allclose(z.mean(0), mu.detach(), atol=0.02)
    assert torch.allclose(z.std(0), torch.tensor([1.0, 2.0]), atol=0.02)
    z.sum().backward()  # ∂Σz/∂μ = n per dimension
    assert torch.allclose(mu.grad, torch.full((2,), 200_000.0))


def test_log_mean_exp_is_stable():
    x = torch.tensor([-1000.0, -1000.0 + math.log(3.0)])
    assert math.isclose(vae.log_mean_exp(x).item(), -1000 + math.log(2.0), rel_tol=1e-6)
    assert math.isclose(vae.log_mean_exp(torch.tensor([800.0, 800.0])).item(), 800.0)


def test_linear_gaussian_marginal_by_quadrature():
    model = lg_model(d=2, k=1)
    x = torch.tensor([[0.3, -0.2]], dtype=torch.float64)
    z = torch.linspace(-10, 10, 200_001, dtype=torch.float64)[:, None]
    joint = model.log_likelihood(x.expand(len(z), 2), z) - 0.5 * (z[:, 0] ** 2 + math.log(2 * math.pi))
    by_quadrature = torch.logsumexp(joint, 0) + math.log(float(z[1] - z[0]))
    assert math.isclose(model.log_marginal(x).item(), by_quadrature.item(), abs_tol=1e-8)


def test_posterior_is_bayes_rule():
    model = lg_model()
    x = model.sample(3, torch.Generator().manual_seed(1))
    m, S = model.posterior(x)
    z = torch.randn(3, 2, dtype=torch.float64)
    # log p(z|x) = log p(x|z) + log p(z) - log p(x) for every z
    log_prior = -0.5 * (z.pow(2).sum(-1) + 2 * math.log(2 * math.pi))
    bayes = model.log_likelihood(x, z) + log_prior - model.log_marginal(x)
    post = torch.distributions.MultivariateNormal(m, covariance_matrix=S).log_prob(z)
    assert torch.allclose(bayes, post, atol=1e-10)


def test_elbo_gap_is_kl_to_posterior_and_tight_at_the_posterior():
    model = lg_model()
    x = model.sample(50, torch.Generator().manual_seed(2))
    mu, logvar = torch.randn(50, 2, dtype=torch.float64), 0.5 * torch.randn(50, 2, dtype=torch.float64)
    gap = model.log_marginal(x) - model.exact_elbo(x, mu, logvar)
    assert (gap > 0).all()
    assert torch.allclose(gap, model.kl_to_posterior(x, mu, logvar), atol=1e-9)
    # orthogonal columns of W make the posterior diagonal, so a diagonal q can equal it
    Q, _ = torch.linalg.qr(torch.randn(4, 2, dtype=torch.float64))
    diag_model = LinearGaussian(Q * torch.tensor([2.0, 0.7], dtype=torch.float64), model.b, 0.5)
    m, S = diag_model.posterior(x)
    tight = diag_model.exact_elbo(x, m, torch.diagonal(S).log().expand_as(m))
    assert torch.allclose(tight, diag_model.log_marginal(x), atol=1e-9)


def test_monte_carlo_elbo_matches_the_closed_form():
    model = lg_model()
    x = model.sample(1, torch.Generator().manual_seed(3))
    mu, logvar = torch.zeros(1, 2, dtype=torch.float64), torch.zeros(1, 2, dtype=torch.float64)
    z = vae.reparameterize(mu.expand(400_000, 2), logvar.expand(400_000, 2), torch.Generator().manual_seed(4))
    mc = (model.log_likelihood(x.expand(len(z), 4), z) - vae.kl_standard_normal(mu, logvar)).mean()
    assert abs(mc.item() - model.exact_elbo(x, mu, logvar).item()) < 0.05


def test_iwae_bound_increases_with_k_towards_log_px():
    model = lg_model()
    x = model.sample(20, torch.Generator().manual_seed(5))
    g = torch.Generator().manual_seed(6)
    bounds = []
    for k in (1, 10, 100, 2000):
        z = torch.randn(k, 20, 2, generator=g, dtype=torch.float64)  # q = the prior
        log_w = model.log_likelihood(x.expand(k, 20, 4), z)  # p(x,z)/q(z) = p(x|z) when q = p(z)
        bounds.append(vae.iwae_bound(log_w, dim=0).mean().item())
    exact = model.log_marginal(x).mean().item()
    assert bounds == sorted(bounds) and bounds[-1] < exact + 0.01
    assert exact - bounds[-1] < 0.3


def test_a_linear_vae_learns_the_linear_gaussian_likelihood():
    model = lg_model(d=4, k=2, sigma=0.5, seed=7)
    g = torch.Generator().manual_seed(8)
    train, test = model.sample(4000, g).float(), model.sample(500, g)
    res = train_toy_vae(train, ToyVAEConfig(layers=0, steps=1500, lr=1e-2), show_progress=False)
    iwae = res.model.iwae(test.float(), k=1000, generator=g).double().mean().item()
    exact = model.log_marginal(test).mean().item()
    assert abs(iwae - exact) < 0.05, (iwae, exact)


def test_kl_weight_schedules():
    assert vae.kl_weight(0, "none", 100) == 1.0
    assert vae.kl_weight(25, "linear", 100) == 0.25 and vae.kl_weight(150, "linear", 100) == 1.0
    assert abs(vae.kl_weight(50, "logistic", 100) - 0.5) < 1e-12
    assert vae.kl_weight(0, "logistic", 100) < 0.01 < 0.99 < vae.kl_weight(99, "logistic", 100)
    # cyclical: by hand, cycles of 100 steps, rising over 50
    assert [vae.kl_weight(s, "cyclical", 100) for s in (0, 25, 50, 99, 100, 125, 250)] == \
        [0.0, 0.5, 1.0, 1.0, 0.0, 0.5, 1.0]
    with pytest.raises(ValueError, match="schedule='cosine'"):
        vae.kl_weight(1, "cosine", 10)


def test_free_bits_clamp_each_dimension_at_lambda():
    kl = torch.tensor([[0.1, 2.0, 0.0], [0.3, 4.0, 0.0]])  # batch means 0.2, 3.0, 0.0
    assert torch.isclose(vae.free_bits_kl(kl, 0.0), torch.tensor(3.2))
    assert torch.isclose(vae.free_bits_kl(kl, 0.5), torch.tensor(0.5 + 3.0 + 0.5))
    x = kl.clone().requires_grad_()
    vae.free_bits_kl(x, 0.5).backward()
    assert x.grad[:, 0].abs().sum() == 0 and x.grad[:, 1].abs().sum() > 0  # no push below λ


def test_mutual_information_limits():
    g = torch.Generator().manual_seed(0)
    n, d = 2000, 2
    se = math.sqrt(d / 2 / n)  # standard error of the one-sample Monte Carlo term
    # every x has the same posterior: z tells nothing about x
    zeros = torch.zeros(n, d, dtype=torch.float64)
    same = vae.mutual_information(zeros, zeros, g)
    assert abs(same.item()) < 4 * se
    # far-apart, narrow posteriors: z identifies x exactly, I = log N
    far = vae.mutual_information(torch.arange(n, dtype=torch.float64)[:, None].repeat(1, d) * 100,
                                 torch.full((n, d), -4.0, dtype=torch.float64), g)
    assert abs(far.item() - math.log(n)) < 4 * se
    # two well-separated clusters of equal size and identical posteriors inside: I = log 2
    mu = torch.cat([torch.full((n // 2, d), -50.0), torch.full((n // 2, d), 50.0)]).double()
    two = vae.mutual_information(mu, torch.zeros(n, d, dtype=torch.float64), g)
    assert abs(two.item() - math.log(2)) < 4 * se


def test_active_units_counts_dimensions_whose_mean_varies():
    ramp = torch.linspace(-1, 1, 100)
    mu = torch.stack([ramp, torch.full((100,), 3.0), 0.05 * ramp], 1)
    assert vae.active_units(mu) == 1  # var of the third is 0.0009 < 0.01
