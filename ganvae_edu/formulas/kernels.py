r"""Kernel two-sample statistics."""

from __future__ import annotations

import torch
from torch import Tensor


def mmd(a: Tensor, b: Tensor, bandwidth: float | None = None) -> Tensor:
    r"""MMD²(P, Q) = E k(x, x') + E k(y, y') − 2 E k(x, y), k(x, y) = exp(−‖x − y‖² / (2 s²)).

    The kernel two-sample statistic (Gretton et al. 2012) between the rows of `a` ~ P and of
    `b` ~ Q, as the (biased) V-statistic: all pairs, diagonal included. 0 when P = Q (up to
    sampling noise of order 1/N), larger the further apart they are. Used to ask whether a
    latent GAN's codes match the codes it learned from better than N(0, I) does.

    `bandwidth` None: the median distance between pooled rows (the median heuristic). A fixed
    s = 1 would fail in many dimensions, where ‖x − y‖² ≈ 2d makes every k(x, y) ≈ 0.
    """
    if bandwidth is None:
        pooled = torch.cat([a[:500], b[:500]])
        bandwidth = torch.cdist(pooled, pooled).median().item()

    def k(x: Tensor, y: Tensor) -> Tensor:
        return torch.exp(-torch.cdist(x, y).pow(2) / (2 * bandwidth**2)).mean()

    return k(a, a) + k(b, b) - 2 * k(a, b)
