"""Checkers for notebook 06's exercises (the players' losses, aggregate-posterior codes, the
article's discriminator loss fixed)."""

from __future__ import annotations

from collections.abc import Callable

import torch

from ganvae_edu.formulas import combined, gan

from .feedback import ExerciseError, assert_close, call, exercise, passed


@exercise
def player_losses(fn: Callable) -> None:
    """fn(real_logits, fake_logits, log_likelihood, kl, beta, gamma) → a dict of the three losses."""
    ex = "Exercise 1 (the players' losses)"
    g = torch.Generator().manual_seed(20)
    real = torch.randn(16, generator=g, dtype=torch.float64)
    fake = torch.randn(24, generator=g, dtype=torch.float64)
    ll = -20 * torch.rand(16, generator=g, dtype=torch.float64)
    kl = 5 * torch.rand(16, generator=g, dtype=torch.float64)
    got = call(fn, real, fake, ll, kl, 0.5, 2.0, exercise=ex)
    if not isinstance(got, dict) or not {"encoder", "decoder", "discriminator"} <= set(got):
        raise ExerciseError(f"{ex}: return a dict with the keys 'encoder', 'decoder' and 'discriminator'")
    want = combined.player_losses(real, fake, ll, kl, 0.5, 2.0)
    hints = {"encoder": "−mean log p(x|z) + β · mean KL",
             "decoder": "−mean log p(x|z) + γ · (−mean log D(fake)), from logits: −logsigmoid(l)",
             "discriminator": "−mean log D(real) − mean log(1 − D(fake)), from logits"}
    for who, hint in hints.items():
        assert_close(got[who], want[who], exercise=ex, where=lambda i, who=who, hint=hint: f"{who}: {hint}")
    passed(ex, "encoder, decoder and discriminator losses correct (β = 0.5, γ = 2)")


@exercise
def posterior_codes(fn: Callable) -> None:
    """fn(mu, logvar, draws, eps) → (draws · N, d) codes μ + σ ε, rows of μ repeated draw after draw."""
    ex = "Exercise 2 (aggregate-posterior codes)"
    g = torch.Generator().manual_seed(21)
    mu = torch.randn(10, 3, generator=g, dtype=torch.float64)
    logvar = torch.randn(10, 3, generator=g, dtype=torch.float64)
    eps = torch.randn(30, 3, generator=g, dtype=torch.float64)
    got = call(fn, mu, logvar, 3, eps, exercise=ex)
    want = mu.repeat(3, 1) + (0.5 * logvar).exp().repeat(3, 1) * eps
    if not isinstance(got, torch.Tensor) or got.shape != want.shape:
        shape = getattr(got, "shape", type(got).__name__)
        raise ExerciseError(f"{ex}: expected a tensor of shape {tuple(want.shape)}, got {shape}")
    assert_close(got, want, exercise=ex,
                 where=lambda i: f"row {i // 3}: σ = exp(½ log σ²), and μ repeated with .repeat(draws, 1)")
    passed(ex, "z = μ + σ ε for every sentence, 3 draws each")


@exercise
def article_d_loss(fn: Callable) -> None:
    """fn(real_logits (B, 1), fake_logits (B, 1)) → the discriminator's loss, computed on logits."""
    ex = "Exercise 3 (the article's D loss, fixed)"
    g = torch.Generator().manual_seed(22)
    real = torch.cat([torch.randn(14, 1, generator=g), torch.tensor([[-60.0], [30.0]])])
    fake = torch.cat([torch.randn(14, 1, generator=g), torch.tensor([[60.0], [-30.0]])])
    got = call(fn, real, fake, exercise=ex)
    if not isinstance(got, torch.Tensor) or got.dim() != 0:
        raise ExerciseError(f"{ex}: return one number (a 0-d tensor), the loss")
    want = gan.discriminator_loss(real.squeeze(-1), fake.squeeze(-1))
    hint = ("the loss (a confident wrong D, logits ±60, must cost ≈ 60 nats, not a clamped 100: use "
            "logits, e.g. binary_cross_entropy_with_logits, with labels of D's shape)")
    assert_close(got, want, exercise=ex, where=lambda i: hint)
    passed(ex, "exact on logits, even where Sigmoid + BCELoss would clamp")
