r"""Discriminator rejection sampling (Azadi et al. 2019): keep a generator's samples as real as they look.

A discriminator D(x) = σ(d(x)) trained to optimality between data p and generator q has logit
d*(x) = log p(x)/q(x) (notebook 01: D* = p/(p+q)). Rejection sampling from q with the bound
p/q ≤ M = exp(d_max) then draws exact samples of p: accept x ~ q with probability

    a(x) = p(x) / (M q(x)) = exp(d(x) − d_max).

In practice a(x) is tiny for most x, so Azadi et al. accept with σ(F(x)) instead, with

    F(x) = d(x) − d_max − ε − log(1 − exp(d(x) − d_max − ε)) − γ,

whose σ(F) equals exp(d − d_max − ε) exactly at γ = 0 (σ(log(e/(1 − e))) = e) and rises for
γ < 0, trading exactness for a higher acceptance rate. Azadi et al. estimate d_max on a burn-in batch;
when every candidate is scored first, it is simply their largest logit.
"""

from __future__ import annotations

import torch
from torch import Tensor


def drs_accept_probability(logits: Tensor, max_logit: float, gamma: float = 0.0, eps: float = 1e-6) -> Tensor:
    r"""σ(F(x)), F = d − d_max − ε − log(1 − exp(d − d_max − ε)) − γ, for discriminator logits d.

    Logits above `max_logit` (a burn-in estimate) are treated as d_max: beyond d_max + ε the
    logarithm's argument 1 − exp(d − d_max − ε) would be negative.
    """
    shifted = torch.clamp(logits - max_logit, max=0.0) - eps  # d − d_max − ε ≤ −ε < 0
    f = shifted - torch.log1p(-torch.exp(shifted)) - gamma
    return torch.sigmoid(f)
