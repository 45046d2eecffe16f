"""The GAN formulas against closed forms and independent numerical answers."""

import math

import torch

from ganvae_edu.formulas import gan
from ganvae_edu.vector import toy


def test_optimal_discriminator_is_the_pointwise_argmax():
    y = torch.linspace(1e-5, 1 - 1e-5, 200_001, dtype=torch.float64)
    for a, b in [(0.3, 0.7), (2.0, 0.1), (1.0, 1.0)]:
        best = y[torch.argmax(a * y.log() + b * (1 - y).log())]
        d = gan.optimal_discriminator(torch.tensor(a), torch.tensor(b))
        assert abs(d.item() - best.item()) < 1e-4


def test_value_function_matches_probabilities():
    real, fake = torch.tensor([0.3, -1.2, 2.0]), torch.tensor([-0.5, 0.7])
    d_real, d_fake = torch.sigmoid(real), torch.sigmoid(fake)
    expected = d_real.log().mean() + (1 - d_fake).log().mean()
    assert torch.isclose(gan.value_function(real, fake), expected, atol=1e-6)


def test_losses_are_finite_where_probabilities_overflow():
    fake = torch.tensor([-100.0, 100.0])
    assert torch.isclose(gan.generator_loss_nonsaturating(fake[:1]), torch.tensor(100.0))
    assert torch.isclose(gan.generator_loss_saturating(fake[1:]), torch.tensor(-100.0))
    assert torch.isfinite(gan.discriminator_loss(fake, fake))


def test_generator_loss_gradients_closed_form():
    # d/dl log(1 - σ(l)) = -σ(l);  d/dl -log σ(l) = -(1 - σ(l))
    l = torch.linspace(-8, 8, 17, requires_grad=True)
    (g_sat,) = torch.autograd.grad(gan.generator_loss_saturating(l) * len(l), l)
    (g_ns,) = torch.autograd.grad(gan.generator_loss_nonsaturating(l) * len(l), l)
    s = torch.sigmoid(l.detach())
    assert torch.allclose(g_sat, -s, atol=1e-6)
    assert torch.allclose(g_ns, -(1 - s), atol=1e-6)


def test_jsd_closed_forms():
    p = torch.tensor([0.5, 0.5, 0.0, 0.0], dtype=torch.float64)
    q = torch.tensor([0.0, 0.0, 0.5, 0.5], dtype=torch.float64)
    assert math.isclose(gan.jensen_shannon(p, q).item(), math.log(2), rel_tol=1e-12)
    assert gan.jensen_shannon(p, p).item() == 0.0
    # two-point distributions, by the entropy form JSD = H(m) − ½ H(a) − ½ H(b), m = (a + b)/2
    a, b, m = (0.2, 0.8), (0.6, 0.4), (0.4, 0.6)
    entropy = lambda p: -sum(x * math.log(x) for x in p)  # noqa: E731
    by_hand = entropy(m) - 0.5 * entropy(a) - 0.5 * entropy(b)  # 0.0863046…
    jsd = gan.jensen_shannon(torch.tensor(a, dtype=torch.float64), torch.tensor(b, dtype=torch.float64))
    assert math.isclose(jsd.item(), by_hand, rel_tol=1e-12)


def test_c_of_g_is_minus_log4_plus_twice_jsd():
    # Densities on a grid, normalised to probability vectors: the identity needs Σp = Σq = 1.
    x = torch.linspace(-8, 8, 20_001, dtype=torch.float64)
    p = toy.data_density_1d(x)
    p = p / p.sum()
    for mu, sd in [(0.0, 1.0), (3.0, 0.3), (-1.0, 2.0)]:
        q = toy.normal_density(x, mu, sd)
        q = q / q.sum()
        c = gan.optimal_value(p, q)
        assert abs(c.item() - (-math.log(4) + 2 * gan.jensen_shannon(p, q).item())) < 1e-10
    assert abs(gan.optimal_value(p, p).item() + math.log(4)) < 1e-12


def test_r1_penalty_of_a_linear_discriminator_is_its_squared_weight_norm():
    w = torch.tensor([3.0, -4.0])
    x = torch.randn(7, 2, requires_grad=True)
    assert torch.isclose(gan.r1_penalty(x @ w, x), torch.tensor(25.0))


def test_pack_groups_consecutive_samples():
    x = torch.arange(12.0).reshape(6, 2)
    assert gan.pack(x, 3).tolist() == [[0, 1, 2, 3, 4, 5], [6, 7, 8, 9, 10, 11]]
    try:
        gan.pack(x, 4)
    except ValueError as e:
        assert "k=4" in str(e)
    else:
        raise AssertionError("pack accepted a batch that does not divide")


def test_nonsaturating_step_descends_kl_minus_twice_jsd():
    # Arjovsky & Bottou 2017, Thm 2.5, on a grid: G = N(μ, 0.8²), D held at D* of μ₀.
    x = torch.linspace(-8, 8, 8001, dtype=torch.float64)
    p = toy.data_density_1d(x)
    p = p / p.sum()

    def q_of(mu):
        q = toy.normal_density(x, mu, 0.8)
        return q / q.sum()

    for mu0 in (-2.0, 0.3, 1.5):
        mu = torch.tensor(mu0, dtype=torch.float64, requires_grad=True)
        d_star = gan.optimal_discriminator(p, q_of(torch.tensor(mu0, dtype=torch.float64)))
        ns_loss = (q_of(mu) * -d_star.log()).sum()  # E_{p_g}[-log D*], D* fixed
        (g_ns,) = torch.autograd.grad(ns_loss, mu)
        # the divergence's gradient by central finite differences: an independent answer
        h = 1e-5
        fd = (gan.nonsaturating_divergence(p, q_of(torch.tensor(mu0 + h, dtype=torch.float64)))
              - gan.nonsaturating_divergence(p, q_of(torch.tensor(mu0 - h, dtype=torch.float64)))) / (2 * h)
        assert abs(g_ns.item() - fd.item()) < 1e-6
        jsd_fd = (gan.jensen_shannon(p, q_of(torch.tensor(mu0 + h, dtype=torch.float64)))
                  - gan.jensen_shannon(p, q_of(torch.tensor(mu0 - h, dtype=torch.float64)))) / (2 * h)
        assert abs(g_ns.item() - 2 * jsd_fd.item()) > 1e-3  # not the JSD's gradient
    assert abs(gan.nonsaturating_divergence(p, p).item()) < 1e-12


def test_train_toy_gan_runs_the_step_factory_it_is_given():
    from ganvae_edu.vector.toygan import ToyGANConfig, gan_step, same_step, train_toy_gan

    calls = []

    def counting_step(g, d, mix, cfg, device):
        inner = gan_step(g, d, mix, cfg, device)

        def step(s):
            calls.append(s.number)
            return inner(s)

        return step

    cfg = ToyGANConfig(steps=3, snapshots=3, eval_samples=10)
    train_toy_gan(cfg, show_progress=False, step=counting_step)
    assert calls == [1, 2, 3]
    assert same_step(cfg, counting_step) == {"d_loss": True, "g_loss": True, "weights": True}
    saturating = ToyGANConfig(steps=3, snapshots=3, eval_samples=10, loss="saturating")
    # a different step (here: the package's, on another loss) is told apart
    verdict = same_step(cfg, lambda g, d, mix, c, device: gan_step(g, d, mix, saturating, device))
    assert verdict["g_loss"] is False and verdict["weights"] is False
