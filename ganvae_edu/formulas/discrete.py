r"""Gradients through discrete choices: the score function (REINFORCE) and the Gumbel-softmax.

A text generator samples tokens x ~ Cat(softmax(θ)); a discriminator scores the result f(x).
The sample is a step function of θ, so ∂f(x)/∂θ is 0 almost everywhere (and undefined at the
jumps): backpropagation alone gives the generator nothing. Two ways around it:

* **Score function / REINFORCE** (Williams 1992; SeqGAN): ∇_θ E_x[f(x)] = E_x[(f(x) − b) ∇_θ log p_θ(x)]
  for any baseline b that does not depend on x. Unbiased; its variance falls when b ≈ E[f].
* **Gumbel-softmax** (Jang et al. 2017; Maddison et al. 2017; RelGAN): with g_i ~ Gumbel(0, 1),
  argmax_i(θ_i + g_i) is an exact sample of Cat(softmax(θ)) (the Gumbel-max trick), and
  y = softmax((θ + g) / τ) is a differentiable relaxation of its one-hot vector. Small τ: close
  to one-hot, high-variance gradients; large τ: smooth, biased. The *straight-through* variant
  uses the hard one-hot forward and y's gradient backward.
No text, no networks: formulas on logits.
"""

from __future__ import annotations

import torch
from torch import Tensor


def gumbel_noise(shape: torch.Size | tuple[int, ...], generator: torch.Generator | None = None,
                 dtype: torch.dtype = torch.float32) -> Tensor:
    r"""g = −log(−log u), u ~ U(0, 1): standard Gumbel noise (u kept away from 0 and 1)."""
    u = torch.rand(shape, generator=generator, dtype=dtype)
    tiny = torch.finfo(dtype).tiny
    return -torch.log(-torch.log(u.clamp(tiny, 1 - torch.finfo(dtype).eps)))


def gumbel_softmax(logits: Tensor, tau: float, hard: bool = False,
                   generator: torch.Generator | None = None) -> Tensor:
    r"""y = softmax((logits + g) / τ) over the last dim; with `hard`, the one-hot of argmax y in
    the forward pass and y's gradient in the backward pass (straight-through)."""
    if tau <= 0:
        raise ValueError(f"tau={tau} must be > 0")
    g = gumbel_noise(logits.shape, generator, logits.dtype).to(logits.device)
    y = ((logits + g) / tau).softmax(-1)
    if not hard:
        return y
    one_hot = torch.zeros_like(y).scatter_(-1, y.argmax(-1, keepdim=True), 1.0)
    return one_hot - y.detach() + y  # value: one_hot; gradient: that of y


def reinforce_surrogate(log_probs: Tensor, rewards: Tensor, baseline: Tensor | float = 0.0) -> Tensor:
    r"""A loss whose gradient is minus the REINFORCE estimate of ∇_θ E[reward]:

        L = −mean_n (r_n − b) · log p_θ(x_n),   so  −∇L = mean_n (r_n − b) ∇_θ log p_θ(x_n).

    `log_probs` (N,) are log p_θ of the sampled sequences (sums over tokens), differentiable;
    `rewards` (N,) and `baseline` are treated as constants.
    """
    advantage = (rewards - baseline).detach()
    return -(advantage * log_probs).mean()
