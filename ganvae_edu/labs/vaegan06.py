"""Checkers for notebook 06's exercises: the players' losses (γ on the likelihood), aggregate-
posterior codes, the article's discriminator loss fixed, the decoder's gradient by hand, and
what a collapsed encoder's codes look like."""

from __future__ import annotations

import math
from collections.abc import Callable

import torch

from ganvae_edu.formulas import combined, gan, vae
from ganvae_edu.text import vaegan as text_vaegan
from ganvae_edu.vector import vaegan as vector_vaegan

from .feedback import ExerciseError, answer, assert_close, call, exercise, passed

# package functions that compute an answer themselves: calling one is not the exercise
_LOSSES = (combined.player_losses, gan.discriminator_loss, gan.generator_loss_nonsaturating,
           gan.value_function)


@exercise
def player_losses(fn: Callable) -> None:
    """fn(real_logits, fake_logits, log_likelihood, kl, beta, gamma) → a dict of the three losses."""
    ex = "Exercise 1 (the players' losses)"
    g = torch.Generator().manual_seed(20)
    real = torch.randn(16, generator=g, dtype=torch.float64)
    fake = torch.randn(24, generator=g, dtype=torch.float64)
    ll = -20 * torch.rand(16, generator=g, dtype=torch.float64)
    kl = 5 * torch.rand(16, generator=g, dtype=torch.float64)
    got = call(fn, real, fake, ll, kl, 0.5, 2.0, exercise=ex, forbid=_LOSSES)
    if not isinstance(got, dict) or not {"encoder", "decoder", "discriminator"} <= set(got):
        raise ExerciseError(f"{ex}: return a dict with the keys 'encoder', 'decoder' and 'discriminator'")
    want = combined.player_losses(real, fake, ll, kl, 0.5, 2.0)
    rec = -ll.mean()
    if isinstance(got["decoder"], torch.Tensor) and torch.isclose(
            got["decoder"].detach().double(), rec + 2.0 * gan.generator_loss_nonsaturating(fake)):
        raise ExerciseError(f"{ex}: decoder: γ weighs the *likelihood*, not the GAN term (Larsen et al.: "
                            "γ · (−mean log p(x|z)) + (−mean log D(fake)))")
    hints = {"encoder": "−mean log p(x|z) + β · mean KL (no γ: the encoder has no GAN term)",
             "decoder": "γ · (−mean log p(x|z)) + (−mean log D(fake)), from logits: −logsigmoid(l)",
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
    got = call(fn, mu, logvar, 3, eps, exercise=ex,
               forbid=(vae.reparameterize, text_vaegan.posterior_codes))
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
    got = call(fn, real, fake, exercise=ex, forbid=_LOSSES)
    if not isinstance(got, torch.Tensor) or got.dim() != 0:
        raise ExerciseError(f"{ex}: return one number (a 0-d tensor), the loss")
    want = gan.discriminator_loss(real.squeeze(-1), fake.squeeze(-1))
    hint = ("the loss (a confident wrong D, logits ±60, must cost ≈ 60 nats, not a clamped 100: use "
            "logits, e.g. binary_cross_entropy_with_logits, with labels of D's shape)")
    assert_close(got, want, exercise=ex, where=lambda i: hint)
    passed(ex, "exact on logits, even where Sigmoid + BCELoss would clamp")


@exercise
def decoder_gradient(fn: Callable) -> None:
    """fn(fake_logits (B_f,), n_real, gamma) → (∂L_dec/∂l (B_f,), ∂L_dec/∂log p(x_i|z_i) (n_real,)).

    L_dec = γ · (−(1/B) Σ_i log p(x_i|z_i)) + (−(1/B_f) Σ_k log σ(l_k)): derived by hand,
    checked against autograd; calling autograd or the package's losses is refused.
    """
    ex = "Exercise 4 (the decoder's gradient by hand)"
    g = torch.Generator().manual_seed(23)
    logits = torch.cat([3 * torch.randn(10, generator=g, dtype=torch.float64),
                        torch.tensor([-40.0, 40.0], dtype=torch.float64)])
    n_real, gamma = 6, 2.5
    got = call(fn, logits.clone(), n_real, gamma, exercise=ex,
               forbid=(*_LOSSES, torch.autograd.grad, torch.autograd.backward, torch.Tensor.backward))
    if not (isinstance(got, tuple | list) and len(got) == 2):
        raise ExerciseError(f"{ex}: return two tensors: (gradient for the fake logits, "
                            "for the log-likelihoods)")
    l = logits.clone().requires_grad_(True)
    ll = torch.zeros(n_real, dtype=torch.float64, requires_grad=True)
    no_kl = torch.zeros(n_real, dtype=torch.float64)
    loss = combined.player_losses(None, l, ll, no_kl, 1.0, gamma)["decoder"]
    want_l, want_ll = torch.autograd.grad(loss, (l, ll))
    assert_close(got[0], want_l, exercise=ex, where=lambda i: (
        f"fake logit {i} (d/dl of −log σ(l) is −(1 − σ(l)) = −σ(−l), over B_f fakes; compute it stably)"))
    assert_close(got[1], want_ll, exercise=ex, where=lambda i: (
        f"log-likelihood {i} (L_dec holds γ · (−mean log p): each gets the same share, with its sign)"))
    passed(ex, "∂L_dec/∂l = −σ(−l)/B_f and ∂L_dec/∂log p = −γ/B, as autograd says; a fake D calls "
               "certain (l ≪ 0) gets the largest push, one it is fooled by (l ≫ 0) almost none")


@exercise
def collapsed_codes(kl: float | None, mutual_info: float | None, active: int | None,
                    moment_kl: float | None) -> None:
    """Predictions for an encoder with q(z|x) = N(0, I) for every x: its mean KL to the prior,
    I(x; z), its active units, and the moment-matched KL of its codes to N(0, I)."""
    ex = "Exercise 5 (a collapsed encoder's codes)"
    values = [answer(v, exercise=ex) for v in (kl, mutual_info, active, moment_kl)]
    n, d = 2000, 16
    mu, logvar = torch.zeros(n, d), torch.zeros(n, d)
    usage = vector_vaegan.code_usage(mu, logvar, torch.Generator().manual_seed(24))
    codes = vae.reparameterize(mu, logvar, torch.Generator().manual_seed(25))
    moment = 0.5 * float((codes.var(0) + codes.mean(0).pow(2) - 1 - codes.var(0).log()).sum())
    truth = {"the mean KL(q(z|x) ‖ p(z))": (usage["kl"], 0.1),
             "I(x; z)": (max(usage["mutual_info"], 0.0), 0.1),
             "the active units": (usage["active_units"], 0.5),
             "the moment-matched KL of the codes": (moment, 0.1)}
    for value, (what, (want, tol)) in zip(values, truth.items()):
        if not isinstance(value, int | float) or not math.isfinite(value):
            raise ExerciseError(f"{ex}: {what}: give a number")
        if abs(value - want) > tol:
            raise ExerciseError(f"{ex}: {what} is off: every q(z|x) is the prior itself — what can z "
                                "then tell about x, and how far is the mix of the priors from the prior?")
    passed(ex, "all four are 0: the codes are exactly N(0, I) *and* say nothing about x — which is why "
               "'codes look like N(0, I)' is no test of an encoder without I(x; z) and active units")
