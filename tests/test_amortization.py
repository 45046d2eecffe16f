"""The approximation and amortization gaps of the linear-Gaussian model against independent answers."""

import math

import torch

from ganvae_edu.formulas import amortization as am
from ganvae_edu.formulas import vae
from ganvae_edu.formulas.linear_gaussian import LinearGaussian
from ganvae_edu.vector.toyvae import GaussianVAE


def correlated_model(d=4, k=2, seed=0):
    g = torch.Generator().manual_seed(seed)
    W = torch.randn(d, k, generator=g, dtype=torch.float64)
    W[:, 1:] += W[:, :1]  # columns that lean on the first: a correlated posterior
    b = torch.randn(d, generator=g, dtype=torch.float64)
    sigma = 0.3 + torch.rand(d, generator=g, dtype=torch.float64)  # one noise scale per dimension
    return LinearGaussian(W, b, sigma)


def test_per_dimension_noise_posterior_is_bayes_rule_and_marginal_is_a_monte_carlo_average():
    model = correlated_model()
    x = model.sample(3, torch.Generator().manual_seed(1))
    m, S = model.posterior(x)
    z = torch.randn(3, 2, dtype=torch.float64)
    log_prior = -0.5 * (z.pow(2).sum(-1) + 2 * math.log(2 * math.pi))
    bayes = model.log_likelihood(x, z) + log_prior - model.log_marginal(x)
    post = torch.distributions.MultivariateNormal(m, covariance_matrix=S).log_prob(z)
    assert torch.allclose(bayes, post, atol=1e-10)
    # p(x) = E_{p(z)} p(x|z), by 400,000 prior samples
    zs = torch.randn(400_000, 2, generator=torch.Generator().manual_seed(2), dtype=torch.float64)
    mc = vae.log_mean_exp(model.log_likelihood(x[:1].expand(len(zs), -1), zs), dim=0)
    assert abs(mc.item() - model.log_marginal(x[:1]).item()) < 0.02


def test_closed_form_elbo_with_per_dimension_noise_matches_monte_carlo():
    model = correlated_model()
    x = model.sample(1, torch.Generator().manual_seed(3))
    mu = torch.tensor([[0.3, -0.2]], dtype=torch.float64)
    logvar = torch.tensor([[-1.0, -0.5]], dtype=torch.float64)
    z = vae.reparameterize(mu.expand(400_000, 2), logvar.expand(400_000, 2), torch.Generator().manual_seed(4))
    terms = (model.log_likelihood(x.expand(len(z), -1), z) + vae.gaussian_log_prob(z, 0 * z, 0 * z)
             - vae.gaussian_log_prob(z, mu, logvar))
    se = terms.std().item() / math.sqrt(len(terms))
    assert abs(terms.mean().item() - model.exact_elbo(x, mu, logvar).item()) < 4 * se


def test_best_diagonal_q_is_the_numerical_argmax_of_the_elbo():
    model = correlated_model()
    x = model.sample(5, torch.Generator().manual_seed(5))
    mu = torch.zeros(5, 2, dtype=torch.float64, requires_grad=True)
    logvar = torch.zeros(5, 2, dtype=torch.float64, requires_grad=True)
    opt = torch.optim.LBFGS([mu, logvar], max_iter=500, tolerance_grad=1e-12, tolerance_change=1e-14,
                            line_search_fn="strong_wolfe")

    def closure():
        opt.zero_grad()
        loss = -model.exact_elbo(x, mu, logvar).sum()
        loss.backward()
        return loss

    opt.step(closure)
    m_best, lv_best = am.best_diagonal_q(model, x)
    assert torch.allclose(mu.detach(), m_best, atol=1e-6)
    assert torch.allclose(logvar.detach(), lv_best, atol=1e-6)
    # and the gap at that optimum is the closed-form approximation gap, the same for every x
    gap = model.log_marginal(x) - model.exact_elbo(x, mu.detach(), logvar.detach())
    assert torch.allclose(gap, am.approximation_gap(model).expand(5), atol=1e-8)
    assert (gap > 0.01).all()


def test_approximation_gap_is_zero_for_a_factorised_posterior():
    Q, _ = torch.linalg.qr(torch.randn(4, 2, dtype=torch.float64, generator=torch.Generator().manual_seed(6)))
    W = Q * torch.tensor([2.0, 0.5], dtype=torch.float64)
    model = LinearGaussian(W, torch.zeros(4, dtype=torch.float64), 0.5)
    assert abs(am.approximation_gap(model).item()) < 1e-12


def test_best_affine_encoder_reaches_the_per_example_optimum():
    model = correlated_model()
    x = model.sample(200, torch.Generator().manual_seed(7))
    A, c, lv = am.best_affine_encoder(model)
    dec = am.gap_decomposition(model, x, x @ A.T + c, lv.expand(200, 2))
    assert abs(dec["amortization_gap"]) < 1e-10 and dec["approximation_gap"] > 0.01
    m, _ = model.posterior(x)
    assert torch.allclose(x @ A.T + c, m, atol=1e-10)


def test_regression_encoder_estimates_the_posterior_mean_and_marginal_variances():
    model = correlated_model()
    g = torch.Generator().manual_seed(8)
    z = torch.randn(200_000, 2, generator=g, dtype=torch.float64)
    noise = torch.randn(200_000, 4, generator=g, dtype=torch.float64)
    x = z @ model.W.T + model.b + model.noise_var.sqrt() * noise
    A, c, lv = am.regression_encoder(x, z)
    A_best, c_best, _ = am.best_affine_encoder(model)
    _, S = model.posterior(x[:1])
    assert torch.allclose(A, A_best, atol=0.01) and torch.allclose(c, c_best, atol=0.01)
    assert torch.allclose(lv.exp(), torch.diagonal(S), rtol=0.02)
    # wider than the ELBO's best variances 1/Λ_jj, so it pays an amortization gap
    dec = am.gap_decomposition(model, x[:500], x[:500] @ A.T + c, lv.expand(500, 2))
    assert dec["amortization_gap"] > 0.01
    total = dec["log_px"] - dec["elbo_encoder"]
    assert math.isclose(dec["approximation_gap"] + dec["amortization_gap"], total, rel_tol=1e-9)


def test_a_linear_vae_is_its_linear_gaussian_model():
    torch.manual_seed(0)
    net = GaussianVAE(data_dim=3, latent_dim=2, layers=0)
    with torch.no_grad():
        net.log_sigma_x.copy_(torch.tensor([-0.5, 0.0, 0.3]))
    lg = net.as_linear_gaussian()
    x, z = torch.randn(4, 3), torch.randn(4, 2)
    exact = lg.log_likelihood(x.double(), z.double())
    assert torch.allclose(exact, net.log_likelihood(x, z).double(), atol=1e-5)
    # its IWAE estimate with many samples reaches its exact log p(x)
    iwae = net.iwae(x, k=20_000, generator=torch.Generator().manual_seed(1)).double()
    assert torch.allclose(iwae, lg.log_marginal(x.double()), atol=0.02)
    deep = GaussianVAE(data_dim=3, latent_dim=2, layers=1)
    try:
        deep.as_linear_gaussian()
    except ValueError as e:
        assert "layers=0" in str(e)
    else:
        raise AssertionError("a nonlinear decoder has no LinearGaussian")
