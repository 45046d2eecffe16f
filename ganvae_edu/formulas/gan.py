r"""The GAN minimax game as formulas: value function, optimal discriminator, JSD, losses.

Goodfellow et al. 2014 define the two-player game

    min_G max_D V(D, G) = E_{x~p_data}[log D(x)] + E_{z~p_z}[log(1 - D(G(z)))].

Everything here takes discriminator *logits* l (D = sigmoid(l)) rather than probabilities,
so that log D = logsigmoid(l) and log(1 - D) = logsigmoid(-l) never take the log of a
rounded 0 or 1. No plotting, no text, no training loops: those live elsewhere.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import Tensor

LOG4 = math.log(4.0)


def value_function(real_logits: Tensor, fake_logits: Tensor) -> Tensor:
    r"""V(D, G) = E_x[log D(x)] + E_z[log(1 - D(G(z)))], estimated by sample means.

    With D = sigmoid(l): log D = logsigmoid(l) and log(1 - D) = logsigmoid(-l).
    D wants V large (≤ 0); G wants it small.
    """
    return F.logsigmoid(real_logits).mean() + F.logsigmoid(-fake_logits).mean()


def optimal_discriminator(p_data: Tensor, p_g: Tensor) -> Tensor:
    r"""D*(x) = p_data(x) / (p_data(x) + p_g(x))  — Goodfellow et al. 2014, Prop. 1.

    It maximises a·log y + b·log(1 - y) pointwise, with a = p_data(x), b = p_g(x):
    the derivative a/y - b/(1 - y) vanishes at y = a / (a + b).
    """
    return p_data / (p_data + p_g)


def kl_divergence(p: Tensor, q: Tensor) -> Tensor:
    r"""KL(p ‖ q) = Σ_i p_i log(p_i / q_i) for probability vectors (terms with p_i = 0 are 0).

    For densities on a grid pass p(x)·dx and q(x)·dx: the sum is then the quadrature of
    ∫ p log(p/q) dx.
    """
    p, q = torch.broadcast_tensors(p, q)
    terms = torch.where(p > 0, p * (p.log() - q.log()), torch.zeros_like(p))
    return terms.sum(-1)


def jensen_shannon(p: Tensor, q: Tensor) -> Tensor:
    r"""JSD(p ‖ q) = ½ KL(p ‖ m) + ½ KL(q ‖ m) with m = (p + q)/2; 0 ≤ JSD ≤ log 2 (nats)."""
    m = 0.5 * (p + q)
    return 0.5 * kl_divergence(p, m) + 0.5 * kl_divergence(q, m)


def optimal_value(p_data: Tensor, p_g: Tensor) -> Tensor:
    r"""C(G) = V(D*, G) = Σ p_data log D* + Σ p_g log(1 - D*) for probability vectors.

    Theorem 1 of Goodfellow et al. 2014 shows C(G) = -log 4 + 2·JSD(p_data ‖ p_g), so its
    minimum -log 4 is reached exactly when p_g = p_data (and then D* = ½ everywhere).
    Computed directly from D*, not from the JSD, so the identity can be checked. The logs
    are taken as log D* = log p_data - log(p_data + p_g) and log(1 - D*) = log p_g -
    log(p_data + p_g): 1 - D* itself rounds to 0 where p_g ≪ p_data.
    """
    log_total = (p_data + p_g).log()
    real = torch.where(p_data > 0, p_data * (p_data.log() - log_total), torch.zeros_like(p_data))
    fake = torch.where(p_g > 0, p_g * (p_g.log() - log_total), torch.zeros_like(p_g))
    return real.sum(-1) + fake.sum(-1)


def discriminator_loss(real_logits: Tensor, fake_logits: Tensor) -> Tensor:
    r"""L_D = -E_x[log D(x)] - E_z[log(1 - D(G(z)))] = -V(D, G): binary cross-entropy on logits."""
    return -value_function(real_logits, fake_logits)


def generator_loss_saturating(fake_logits: Tensor) -> Tensor:
    r"""L_G = E_z[log(1 - D(G(z)))], the minimax generator loss.

    d/dl log(1 - sigmoid(l)) = -sigmoid(l) = -D: when D confidently rejects a fake (D → 0)
    the gradient vanishes, exactly when G most needs it.
    """
    return F.logsigmoid(-fake_logits).mean()


def generator_loss_nonsaturating(fake_logits: Tensor) -> Tensor:
    r"""L_G = -E_z[log D(G(z))], the non-saturating loss (Goodfellow et al. 2014, §3).

    d/dl -log sigmoid(l) = -(1 - D): the gradient is largest when D rejects the fake (D → 0).
    Same fixed point as the minimax loss (p_g = p_data), far stronger early gradients, but not
    the same objective: against D* it descends KL(p_g ‖ p_data) - 2·JSD, not the JSD
    (`nonsaturating_divergence`).
    """
    return -F.logsigmoid(fake_logits).mean()


def nonsaturating_divergence(p_data: Tensor, p_g: Tensor) -> Tensor:
    r"""KL(p_g ‖ p_data) - 2·JSD(p_data ‖ p_g): what a non-saturating generator step descends.

    Arjovsky & Bottou 2017, Thm 2.5: with D held at D* = p_data / (p_data + p_{θ₀}) during G's
    step (as in alternating training),

        ∇_θ E_{x~p_θ}[-log D*(x)] |_{θ₀} = ∇_θ [KL(p_θ ‖ p_data) - 2·JSD(p_data ‖ p_θ)] |_{θ₀},

    whereas the minimax loss E_{p_θ}[log(1 - D*)] descends 2·JSD (C(G) = -log 4 + 2·JSD). Both
    gradients vanish at p_g = p_data — the same fixed point — but away from it the
    non-saturating step follows a different divergence: the reverse KL punishes fakes where
    p_data ≈ 0 heavily and missing modes hardly, and -2·JSD even rewards moving p_g away from
    p_data. For probability vectors (densities on a grid times dx).
    """
    return kl_divergence(p_g, p_data) - 2 * jensen_shannon(p_data, p_g)


def r1_penalty(real_logits: Tensor, real: Tensor) -> Tensor:
    r"""R1 = E_x ‖∇_x l(x)‖², the zero-centred gradient penalty on real data (Mescheder et al. 2018).

    Added as (γ/2)·R1 to the discriminator loss it damps D's oscillation around the
    equilibrium. `real` must have requires_grad=True before `real_logits` is computed.
    """
    (grad,) = torch.autograd.grad(real_logits.sum(), real, create_graph=True)
    return grad.pow(2).flatten(1).sum(1).mean()


def pack(x: Tensor, k: int) -> Tensor:
    r"""PacGAN packing (Lin et al. 2018): k samples → one discriminator input of k·dim features.

    A packed discriminator sees k samples at once, so it can tell a set with no diversity
    (all from one mode) from a real set, which penalises mode collapse.
    """
    if x.shape[0] % k:
        raise ValueError(f"pack: batch of {x.shape[0]} is not divisible by pack size k={k}")
    return x.reshape(x.shape[0] // k, k * x.shape[1])
