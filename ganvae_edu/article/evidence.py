r"""Evidence against the seed article's listing: one helper per fault, each returning printable figures.

The GAN and the VAE share no parameter (`shared_parameters`), G samples z from N(0, I) while the
codes are nothing like it (`encoder_is_deterministic`, `code_statistics`), Sigmoid followed by
BCELoss saturates in float32 (`sigmoid_bce_vs_logits`), ReLU before Tanh (`relu_tanh_outputs`),
and what the loss functions do with wrong shapes and ranges (`bce_outside_unit_interval`,
`broadcast_mse_labels`).
"""

from __future__ import annotations

import warnings
from collections.abc import Callable

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from ganvae_edu.formulas.vae import kl_standard_normal

# ---------------------------------------------------------------------------------------------
# Evidence: one helper per fault
# ---------------------------------------------------------------------------------------------


def shared_parameters(a: nn.Module, b: nn.Module) -> int:
    """How many parameter tensors `a` and `b` have in common (the same tensor object).

    0 for the article's GAN (G, D) and VAE (E, De): no gradient of one ever reaches the other,
    so "combining" them is running two unrelated trainings in one loop.
    """
    ids = {id(p) for p in a.parameters()}
    return sum(id(p) in ids for p in b.parameters())


def sigmoid_bce_vs_logits(logits: Tensor, target: float) -> list[dict[str, float]]:
    r"""For each logit l: the loss and dloss/dl (i) as the article computes them, and (ii) on logits.

    (i) p = sigmoid(l) in float32, then ``nn.BCELoss``: -[t log p + (1 - t) log(1 - p)], each
    log clamped at ≥ -100. (ii) ``F.binary_cross_entropy_with_logits``: softplus(l) - t·l, exact,
    with gradient sigmoid(l) - t, which → ±1 when D is confidently wrong.

    What float32 does to (i) (measured with torch 2.13): with t = 0, p rounds to exactly 1 once
    l ≳ 16.7, so the loss sticks at 100 and the gradient is exactly 0 (l = 20 or 40: 100 and
    0; the logits version gives 20 or 40 and gradient 1). With t = 1 the loss stays right
    (-l) while p is representable, but BCELoss's backward divides by max(p(1 - p), 1e-12), so
    the gradient fades below l ≈ -27.6 (-1 at l = -20, -4.2e-6 at l = -40) and both clamp to
    100 and 0 once p underflows to 0 (l ≲ -88.7). Each row: logit, target, sigmoid, bce_loss,
    bce_grad, logits_loss, logits_grad.
    """
    rows = []
    criterion = nn.BCELoss()
    t = torch.tensor([target], dtype=torch.float32)
    for value in logits.detach().to(torch.float32).flatten().tolist():
        a = torch.tensor([value], requires_grad=True)
        p = torch.sigmoid(a)
        bce = criterion(p, t)
        bce.backward()
        b = torch.tensor([value], requires_grad=True)
        exact = F.binary_cross_entropy_with_logits(b, t)
        exact.backward()
        assert a.grad is not None and b.grad is not None
        rows.append({
            "logit": value, "target": target, "sigmoid": p.item(),
            "bce_loss": bce.item(), "bce_grad": a.grad.item(),
            "logits_loss": exact.item(), "logits_grad": b.grad.item(),
        })
    return rows


@torch.no_grad()
def relu_tanh_outputs(gen: nn.Module, n: int, seed: int) -> dict[str, float]:
    r"""Outputs of tanh(relu(·)) on n noise vectors z ~ N(0, I): they lie in [0, 1), never below 0.

    ``zero_fraction`` is the share of outputs exactly 0 (a unit with a negative pre-activation
    for that z, with no gradient through it); about ½ at initialisation, since the pre-
    activations are symmetric around small biases. Also ``min``, ``max``, ``negative_fraction``.
    `gen` needs a ``noise_dim`` attribute (as `NaiveGenerator` has).
    """
    noise_dim = getattr(gen, "noise_dim", None)
    if not isinstance(noise_dim, int):
        raise ValueError(f"relu_tanh_outputs: {type(gen).__name__} has no integer noise_dim attribute; "
                         "pass a NaiveGenerator or set gen.noise_dim")
    z = torch.randn(n, noise_dim, generator=torch.Generator().manual_seed(seed))
    out = gen(z)
    return {
        "zero_fraction": (out == 0).float().mean().item(),
        "negative_fraction": (out < 0).float().mean().item(),
        "min": out.min().item(),
        "max": out.max().item(),
    }


def _error_text(fn: Callable[[], Tensor]) -> str:
    """'ok: <value>' if fn() returns, else 'ErrorType: message'."""
    try:
        return f"ok: {fn().item():.4f}"
    except (RuntimeError, ValueError) as err:
        return f"{type(err).__name__}: {err}"


def bce_outside_unit_interval() -> dict[str, object]:
    r"""What the losses do with values outside [0, 1], e.g. data rescaled to [-1, 1] for a Tanh G.

    Measured with torch 2.13 (CPU): ``nn.BCELoss`` checks both arguments and raises
    "RuntimeError: all elements of target should be between 0 and 1" (target -1) or "... of
    input ..." (a negative prediction), so the listing's E/De step fails on such data.
    ``binary_cross_entropy_with_logits`` checks nothing: with target -1 its loss softplus(l) + l
    is negative and unbounded below (→ -∞ as l → -∞), a number with no meaning.
    Keys: bce_target (target -1), bce_input (prediction -0.5), logits_loss_target_minus_one
    ({logit: loss} for l = 0, -10, -100).
    """
    bce = nn.BCELoss()
    logits = [0.0, -10.0, -100.0]
    with_logits = F.binary_cross_entropy_with_logits(
        torch.tensor(logits), torch.full((3,), -1.0), reduction="none")
    return {
        "bce_target": _error_text(lambda: bce(torch.tensor([0.3, 0.7]), torch.tensor([-1.0, 1.0]))),
        "bce_input": _error_text(lambda: bce(torch.tensor([-0.5, 0.7]), torch.tensor([0.0, 1.0]))),
        "logits_loss_target_minus_one": dict(zip(logits, with_logits.tolist())),
    }


def broadcast_mse_labels(batch: int) -> dict[str, object]:
    r"""``nn.MSELoss`` with outputs (B, 1) and labels (B,): broadcast to (B, B), with only a warning.

    A perfect discriminator is built (outputs = labels: half 1, half 0). With labels of shape
    (B, 1) its loss is 0; with labels (B,) every output is compared with every label, mean over
    (B, B) pairs of (o_i - t_j)², here 0.5. torch 2.13 emits a UserWarning ("Using a target
    size ... This will likely lead to incorrect results due to broadcasting ...") and goes on.
    Keys: loss_matched, loss_broadcast, loss_all_pairs (the (B, B) mean, computed by hand),
    warning (its text, or '' if none).
    """
    labels = torch.cat([torch.ones(batch // 2), torch.zeros(batch - batch // 2)])
    outputs = labels.unsqueeze(1)  # (B, 1), exactly right
    mse = nn.MSELoss()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        broadcast = mse(outputs, labels)
    return {
        "loss_matched": mse(outputs, labels.unsqueeze(1)).item(),
        "loss_broadcast": broadcast.item(),
        "loss_all_pairs": (outputs - labels.unsqueeze(0)).pow(2).mean().item(),
        "warning": str(caught[0].message) if caught else "",
    }


@torch.no_grad()
def encoder_is_deterministic(encoder: Callable[[Tensor], Tensor], x: Tensor) -> bool:
    """True when encoding x twice gives identical codes: a point, not a distribution q(z|x).

    The article's formula samples z ~ q_φ(z|x); its encoder returns one code per x.
    """
    return bool(torch.equal(encoder(x), encoder(x)))


def code_statistics(codes: Tensor) -> dict[str, float]:
    r"""How far a set of codes (N, d) is from the prior N(0, I) that G is fed.

    Fits a diagonal Gaussian by moments (mean m_j, variance s_j² per dimension) and reports
    KL(N(m, diag s²) ‖ N(0, I)) = ½ Σ_j (m_j² + s_j² - log s_j² - 1) with
    `vae.kl_standard_normal`; near 0 for N(0, I) samples, large when the codes sit elsewhere
    or are squeezed (a tiny s_j costs -½ log s_j²). Keys: mean_abs_mean (average |m_j|),
    mean_std (average s_j), kl, kl_per_dim.
    """
    codes = codes.detach().to(torch.float64)
    mean, var = codes.mean(0), codes.var(0)
    kl = kl_standard_normal(mean, var.log()).item()
    return {
        "mean_abs_mean": mean.abs().mean().item(),
        "mean_std": var.sqrt().mean().item(),
        "kl": kl,
        "kl_per_dim": kl / codes.shape[1],
    }


