r"""2D Gaussian mixtures and the mode-coverage metric of VEEGAN / PacGAN.

The two standard benchmarks (Srivastava et al. 2017; Lin et al. 2018):

* ``ring8``: 8 Gaussians with means (cos 2πk/8, sin 2πk/8), k = 0..7, σ = 0.01;
* ``grid25``: 25 Gaussians with means {-4, -2, 0, 2, 4}², σ = 0.05.

The metric, on (by convention) 2,500 generated samples: a sample is *high quality* (HQ)
when it lies within 3σ of its nearest mean; a mode is *covered* when it is the nearest
mean of at least one HQ sample; the *reverse KL* is KL(mode histogram of HQ samples ‖
uniform over the modes).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch import Tensor


@dataclass(frozen=True)
class Mixture:
    """An equal-weight mixture of isotropic 2D Gaussians."""

    name: str
    means: Tensor  # (K, 2)
    sigma: float

    def sample(self, n: int, generator: torch.Generator | None = None) -> Tensor:
        """n samples: pick a mode uniformly, add σ·N(0, I) noise."""
        k = torch.randint(len(self.means), (n,), generator=generator)
        noise = torch.randn(n, 2, generator=generator)
        return self.means[k] + self.sigma * noise

    def log_density(self, x: Tensor) -> Tensor:
        r"""log p(x) = logsumexp_k [log N(x; μ_k, σ²I)] - log K."""
        d2 = torch.cdist(x, self.means.to(x)).pow(2)  # (n, K)
        log_n = -d2 / (2 * self.sigma**2) - math.log(2 * math.pi * self.sigma**2)
        return torch.logsumexp(log_n, dim=1) - math.log(len(self.means))


def ring8(radius: float = 1.0, sigma: float = 0.01) -> Mixture:
    """8 modes evenly spaced on a circle of `radius` (means at angles 2πk/8)."""
    angles = 2 * math.pi * torch.arange(8, dtype=torch.float32) / 8
    means = radius * torch.stack([angles.cos(), angles.sin()], dim=1)
    return Mixture("ring8", means, sigma)


def grid25(spacing: float = 2.0, sigma: float = 0.05) -> Mixture:
    """25 modes on the grid {-2, -1, 0, 1, 2}² · spacing."""
    ticks = spacing * torch.arange(-2, 3, dtype=torch.float32)
    means = torch.cartesian_prod(ticks, ticks)
    return Mixture("grid25", means, sigma)


MIXTURES = {"ring8": ring8, "grid25": grid25}


def mixture(name: str) -> Mixture:
    """The benchmark mixture called `name` ('ring8' or 'grid25')."""
    if name not in MIXTURES:
        raise ValueError(f"unknown mixture {name!r}; use one of {sorted(MIXTURES)}")
    return MIXTURES[name]()


def coverage(samples: Tensor, mix: Mixture) -> dict[str, float]:
    r"""Modes covered, high-quality fraction and reverse KL of `samples` against `mix`.

    * HQ sample: ‖x - μ_nearest‖ ≤ 3σ.
    * modes: number of modes that are the nearest mean of ≥ 1 HQ sample.
    * reverse_kl = Σ_k p_k log(p_k K), p = histogram of HQ samples over modes (0 log 0 = 0);
      0 for a perfectly even spread, log K when all HQ samples sit in one mode, and +inf
      when there is no HQ sample at all.
    """
    samples = samples.detach().float().cpu()
    dist = torch.cdist(samples, mix.means)
    nearest_dist, nearest = dist.min(dim=1)
    hq = nearest_dist <= 3 * mix.sigma
    k = len(mix.means)
    counts = torch.bincount(nearest[hq], minlength=k).double()
    n_hq = counts.sum().item()
    if n_hq == 0:
        reverse_kl = math.inf
    else:
        p = counts / n_hq
        reverse_kl = float(torch.where(p > 0, p * (p * k).log(), torch.zeros_like(p)).sum())
    return {
        "modes": int((counts > 0).sum()),
        "hq_fraction": float(hq.double().mean()),
        "reverse_kl": reverse_kl,
    }


def normal_density(x: Tensor, mean: float, std: float) -> Tensor:
    r"""N(x; μ, σ²) = exp(-(x - μ)² / 2σ²) / (σ √(2π)), for 1D examples on a grid."""
    return torch.exp(-0.5 * ((x - mean) / std) ** 2) / (std * math.sqrt(2 * math.pi))


def data_density_1d(x: Tensor) -> Tensor:
    """The 1D 'data' density of notebook 01: ½ N(-1, 0.5²) + ½ N(1.5, 0.7²)."""
    return 0.5 * normal_density(x, -1.0, 0.5) + 0.5 * normal_density(x, 1.5, 0.7)


def energy_distance(x: Tensor, y: Tensor) -> float:
    r"""Squared energy distance E(P, Q) = 2 E‖X - Y‖ - E‖X - X'‖ - E‖Y - Y'‖ between two samples.

    X, X' ~ P (rows of `x`), Y, Y' ~ Q (rows of `y`), estimated by the V-statistic (all pairs,
    including i = j). E ≥ 0, and E = 0 iff P = Q (Székely & Rizzo 2013): unlike the mode count it
    compares whole distributions, so a blob spread over the modes' region is not mistaken for
    the mixture. Two samples of the same distribution still give a small positive value (use
    the data against a second data sample as the floor).
    """
    x, y = x.detach().double().cpu(), y.detach().double().cpu()
    return float(2 * torch.cdist(x, y).mean() - torch.cdist(x, x).mean() - torch.cdist(y, y).mean())
