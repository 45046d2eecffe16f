"""The latent GAN learns a code distribution: a shifted, correlated one, not its N(0, I) noise."""

import math

import pytest
import torch

from ganvae_edu.formulas.kernels import mmd
from ganvae_edu.vector.latent_gan import LatentGANConfig, train_latent_gan


@pytest.mark.slow  # 600 steps of GAN training: about 40 s on 2 cores
def test_it_matches_the_mean_and_covariance_of_the_codes():
    g = torch.Generator().manual_seed(0)
    mean = torch.tensor([2.0, -1.0, 0.5])
    scale = torch.tensor([[1.0, 0.0, 0.0], [0.8, 0.3, 0.0], [0.0, 0.0, 0.5]])
    codes = mean + torch.randn(4000, 3, generator=g) @ scale.T
    res = train_latent_gan(codes, LatentGANConfig(steps=600, hidden=64, noise_dim=4), show_progress=False)
    gen, history = res.generator, res.history
    samples = gen.sample(4000, torch.Generator().manual_seed(1))
    assert (samples.mean(0) - mean).abs().max() < 0.25
    assert (torch.cov(samples.T) - scale @ scale.T).abs().max() < 0.3
    assert abs(torch.corrcoef(samples.T)[0, 1] - 0.94) < 0.1  # the correlation the noise lacks
    assert history[-1]["step"] == 600


def test_mmd_matches_its_closed_form_for_two_shifted_gaussians():
    # x ~ N(0, σ² I), y ~ N(δ, σ² I), Gaussian kernel of width s, in d dimensions:
    # E k(x, x') = c = (s² / (s² + 2σ²))^{d/2},  E k(x, y) = c · exp(−‖δ‖² / (2 (s² + 2σ²)))
    g = torch.Generator().manual_seed(0)
    d, sigma, s, n = 3, 1.0, 1.5, 3000
    delta = torch.tensor([1.0, 0.5, 0.0])
    x = sigma * torch.randn(n, d, generator=g, dtype=torch.float64)
    y = delta + sigma * torch.randn(n, d, generator=g, dtype=torch.float64)
    c = (s**2 / (s**2 + 2 * sigma**2)) ** (d / 2)
    want = 2 * c * (1 - math.exp(-delta.pow(2).sum().item() / (2 * (s**2 + 2 * sigma**2))))
    assert abs(mmd(x, y, s).item() - want) < 0.15 * want  # sampling noise ≈ 1/√n
    same = mmd(x, sigma * torch.randn(n, d, generator=g, dtype=torch.float64), s).item()
    assert abs(same) < 2e-3 < want / 10


def test_mmd_with_the_median_bandwidth_separates_shifted_codes_in_many_dimensions():
    g = torch.Generator().manual_seed(1)
    x, y = torch.randn(1000, 32, generator=g), torch.randn(1000, 32, generator=g)
    shifted = torch.randn(1000, 32, generator=g) + 0.5
    noise = mmd(x, y).item()
    assert mmd(x, shifted).item() > 10 * max(noise, 1e-4)
    # a fixed narrow kernel sees nothing: only its diagonal floor 2/N, shifted or not
    assert abs(mmd(x, shifted, bandwidth=1.0).item() - mmd(x, y, bandwidth=1.0).item()) < 1e-4
