"""The latent GAN learns a code distribution: a shifted, correlated one, not its N(0, I) noise."""

import torch

from ganvae_edu.latent_gan import LatentGANConfig, train_latent_gan


def test_it_matches_the_mean_and_covariance_of_the_codes():
    g = torch.Generator().manual_seed(0)
    mean = torch.tensor([2.0, -1.0, 0.5])
    scale = torch.tensor([[1.0, 0.0, 0.0], [0.8, 0.3, 0.0], [0.0, 0.0, 0.5]])
    codes = mean + torch.randn(4000, 3, generator=g) @ scale.T
    gen, history = train_latent_gan(codes, LatentGANConfig(steps=600, hidden=64, noise_dim=4),
                                    show_progress=False)
    samples = gen.sample(4000, torch.Generator().manual_seed(1))
    assert (samples.mean(0) - mean).abs().max() < 0.25
    assert (torch.cov(samples.T) - scale @ scale.T).abs().max() < 0.3
    assert abs(torch.corrcoef(samples.T)[0, 1] - 0.94) < 0.1  # the correlation the noise lacks
    assert history[-1]["step"] == 600
