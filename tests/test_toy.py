"""The 2D mixtures and the VEEGAN/PacGAN coverage metric on hand-made samples."""

import math

import torch

from ganvae_edu.vector import toy


def test_mixture_means_follow_the_benchmarks():
    ring = toy.ring8()
    assert ring.means.shape == (8, 2) and ring.sigma == 0.01
    assert torch.allclose(ring.means.norm(dim=1), torch.ones(8))
    angles = torch.atan2(ring.means[:, 1], ring.means[:, 0]) % (2 * math.pi)
    assert torch.allclose(angles.sort().values, 2 * math.pi * torch.arange(8) / 8, atol=1e-6)
    grid = toy.grid25()
    assert grid.sigma == 0.05
    assert sorted(set(grid.means[:, 0].tolist())) == [-4, -2, 0, 2, 4]


def test_samples_exactly_on_the_means_cover_everything():
    for mix in (toy.ring8(), toy.grid25()):
        samples = mix.means.repeat(10, 1)
        m = toy.coverage(samples, mix)
        assert m == {"modes": len(mix.means), "hq_fraction": 1.0, "reverse_kl": 0.0}


def test_all_samples_in_one_mode():
    mix = toy.ring8()
    samples = mix.means[3] + 0.5 * mix.sigma * torch.randn(2500, 2)
    m = toy.coverage(samples, mix)
    assert m["modes"] == 1
    assert m["hq_fraction"] > 0.99
    assert math.isclose(m["reverse_kl"], math.log(8), rel_tol=1e-9)


def test_samples_far_away_are_not_high_quality():
    mix = toy.grid25()
    m = toy.coverage(torch.full((100, 2), 50.0), mix)
    assert m["modes"] == 0 and m["hq_fraction"] == 0.0 and m["reverse_kl"] == math.inf


def test_three_sigma_boundary_and_real_data():
    mix = toy.ring8()
    inside = mix.means[0] + torch.tensor([[2.9 * mix.sigma, 0.0]])
    outside = mix.means[0] + torch.tensor([[3.1 * mix.sigma, 0.0]])
    assert toy.coverage(torch.cat([inside, outside]), mix)["hq_fraction"] == 0.5
    # real data: within 3σ in 2D with probability 1 - exp(-9/2) ≈ 0.9889
    m = toy.coverage(mix.sample(20_000, torch.Generator().manual_seed(0)), mix)
    assert m["modes"] == 8 and abs(m["hq_fraction"] - (1 - math.exp(-4.5))) < 0.003


def test_log_density_integrates_to_one():
    mix = toy.grid25(sigma=0.5)
    g = torch.linspace(-8, 8, 801)
    xy = torch.cartesian_prod(g, g)
    mass = mix.log_density(xy).exp().sum() * (g[1] - g[0]) ** 2
    assert abs(mass.item() - 1) < 1e-3


def test_energy_distance_against_closed_forms():
    # point masses at 0 and at a: E = 2a
    assert math.isclose(toy.energy_distance(torch.zeros(5, 1), torch.full((7, 1), 3.0)), 6.0)
    same = torch.randn(50, 2)
    assert abs(toy.energy_distance(same, same)) < 1e-12
    # N(0, 1) against N(m, 1) in 1D: X - Y ~ N(-m, 2), X - X' ~ N(0, 2), E|N(m, s²)| is closed-form
    m = 1.5

    def abs_mean(mean, var):
        s = math.sqrt(var)
        tail = mean * math.erf(mean / (s * math.sqrt(2)))
        return s * math.sqrt(2 / math.pi) * math.exp(-mean**2 / (2 * var)) + tail

    exact = 2 * abs_mean(m, 2.0) - 2 * abs_mean(0.0, 2.0)
    g = torch.Generator().manual_seed(0)
    est = toy.energy_distance(torch.randn(4000, 1, generator=g), m + torch.randn(4000, 1, generator=g))
    assert abs(est - exact) < 0.03


def test_energy_distance_is_not_fooled_by_a_blob_over_the_ring():
    ring = toy.ring8()
    g = torch.Generator().manual_seed(1)
    data, other = ring.sample(2000, g), ring.sample(2000, g)
    blob = 0.7 * torch.randn(20_000, 2, generator=g)  # a collapsed VAE: one Gaussian over the ring
    assert toy.coverage(blob, ring)["modes"] == 8  # the mode count is fooled
    blob = blob[:2000]
    assert toy.energy_distance(blob, data) > 10 * toy.energy_distance(other, data)
