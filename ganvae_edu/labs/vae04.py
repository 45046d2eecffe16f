"""Checkers for notebook 04's exercises: logistic KL annealing, word dropout, the IW NLL per token,
the free-bits gradient derived by hand, and a prediction of what free bits does to one batch."""

from __future__ import annotations

import math
from collections.abc import Callable

import torch

from ganvae_edu.formulas import vae
from ganvae_edu.text import sentence_vae

from .feedback import ExerciseError, answer, assert_close, call, exercise, passed

# what computes a gradient for the student: the exercise is to derive it
_AUTOGRAD = (torch.autograd.grad, torch.Tensor.backward, torch.autograd.backward)


@exercise
def logistic_schedule(fn: Callable) -> None:
    """fn(step, warmup) → β = 1 / (1 + exp(−10 (step / warmup − ½))) before warmup, 1 after."""
    ex = "Exercise 1 (logistic KL annealing)"
    steps = [0, 100, 250, 500, 750, 999, 1000, 5000]
    got = torch.tensor([float(call(fn, s, 1000, exercise=ex, forbid=(vae.kl_weight,))) for s in steps],
                       dtype=torch.float64)
    want = torch.tensor([vae.kl_weight(s, "logistic", 1000) for s in steps], dtype=torch.float64)
    assert_close(got, want, exercise=ex, where=lambda i: f"step {steps[i]} of warmup 1000")
    passed(ex, "β rises from 0.007 through ½ at warmup/2 to 1, and stays at 1")


@exercise
def word_dropout(fn: Callable) -> None:
    """fn(inputs, rate, generator) → inputs with words (ids ≥ 4) replaced by UNK = 3 w.p. rate."""
    ex = "Exercise 2 (word dropout)"
    g = torch.Generator().manual_seed(8)
    inputs = torch.randint(4, 50, (400, 12), generator=g)
    inputs[:, 0] = 1  # <bos>
    inputs[::3, 8:] = 0  # <pad> at the end of every third row
    forbid = (sentence_vae.word_dropout,)
    got = call(fn, inputs.clone(), 0.3, torch.Generator().manual_seed(0), exercise=ex, forbid=forbid)
    if not isinstance(got, torch.Tensor) or got.shape != inputs.shape:
        raise ExerciseError(f"{ex}: return a tensor of shape {tuple(inputs.shape)}")
    changed = got != inputs
    if (got[changed] != 3).any():
        found = got[changed][:5].tolist()
        raise ExerciseError(f"{ex}: changed words must become <unk> (id 3), found {found}")
    if changed[:, 0].any() or changed[inputs == 0].any():
        raise ExerciseError(f"{ex}: <bos> (column 0) and <pad> (id 0) must never be dropped")
    words = (inputs >= 4).sum().item()
    rate = changed.sum().item() / words
    if abs(rate - 0.3) > 4 * math.sqrt(0.3 * 0.7 / words):
        raise ExerciseError(f"{ex}: you dropped {rate:.3f} of the words; expected about 0.3")
    if (call(fn, inputs.clone(), 0.0, torch.Generator().manual_seed(0), exercise=ex, forbid=forbid)
            != inputs).any():
        raise ExerciseError(f"{ex}: rate 0 must leave the inputs unchanged")
    passed(ex, f"{rate:.3f} of {words} words became <unk>; <bos> and <pad> untouched")


@exercise
def iw_nll_per_token(fn: Callable) -> None:
    """fn(log_weights (k, B), lengths (B,)) → −Σ_x log mean_k exp(w) / Σ (length + 1)."""
    ex = "Exercise 3 (importance-weighted NLL per token)"
    g = torch.Generator().manual_seed(9)
    spread = torch.randn(20, 30, generator=g, dtype=torch.float64) * 3 - 40
    cases = [(spread, torch.randint(3, 15, (30,), generator=g)),
             (torch.full((5, 2), -1000.0, dtype=torch.float64), torch.tensor([4, 9]))]
    hints = ["20 samples for 30 sentences", "log weights of -1000 (compute log-mean-exp stably)"]
    for (log_w, lengths), hint in zip(cases, hints):
        got = call(fn, log_w, lengths, exercise=ex, forbid=(vae.iwae_bound, vae.log_mean_exp))
        if not isinstance(got, (torch.Tensor, float, int)):
            raise ExerciseError(f"{ex}: return a number or a 0-d tensor, not {type(got).__name__}")
        got = torch.as_tensor(got, dtype=torch.float64).reshape(1)
        want = (-vae.iwae_bound(log_w, dim=0).sum() / (lengths.sum() + len(lengths))).reshape(1)
        assert_close(got, want, exercise=ex, where=lambda i, hint=hint: hint)
    passed(ex, "−IWAE bound per token, <eos> counted, stable for tiny weights")


@exercise
def free_bits_gradient(fn: Callable) -> None:
    """fn(mu, logvar, lam) → (∂F/∂μ, ∂F/∂log σ²) of F = Σ_j max(λ, mean_b KL_bj), derived by hand."""
    ex = "Exercise 4 (the free-bits gradient, by hand)"
    g = torch.Generator().manual_seed(4)
    # dimension 0 far under λ, 1 just under, 2 just over, 3 far over (batch-mean KLs about 0.02, 0.4, 0.6, 3)
    scale = torch.tensor([0.2, 0.85, 1.05, 2.4], dtype=torch.float64)
    mu = torch.randn(6, 4, generator=g, dtype=torch.float64)
    mu = mu / mu.pow(2).mean(0).sqrt() * scale  # mean_b μ_bj² = scale_j² exactly
    logvar = torch.randn(6, 4, generator=g, dtype=torch.float64) * 0.3
    lam = 0.5
    got = call(fn, mu.clone(), logvar.clone(), lam, exercise=ex,
               forbid=(*_AUTOGRAD, vae.free_bits_kl, vae.kl_standard_normal))
    if not (isinstance(got, (tuple, list)) and len(got) == 2):
        raise ExerciseError(f"{ex}: return two tensors, (∂F/∂μ, ∂F/∂log σ²), each of shape (6, 4)")
    m, lv = mu.clone().requires_grad_(), logvar.clone().requires_grad_()
    kl = 0.5 * (m.pow(2) + lv.exp() - lv - 1)
    want = torch.autograd.grad(vae.free_bits_kl(kl, lam), (m, lv))
    under = (0.5 * (mu.pow(2) + logvar.exp() - logvar - 1)).mean(0) < lam
    for name, gv, wv in zip(("∂F/∂μ", "∂F/∂log σ²"), got, want):
        if isinstance(gv, torch.Tensor) and gv.shape == wv.shape:
            wrong = (gv.detach().double() - wv).abs().amax(0) > 1e-6
            if (wrong & under).any() and not (wrong & ~under).any():
                raise ExerciseError(f"{ex}: {name} is off in the dimensions whose batch-mean KL is under λ: "
                                    "what does max(λ, KL_j) do to a change of KL_j there?")
            if (wrong & ~under).any() and gv.abs().max() > 0:
                j = int((wrong & ~under).nonzero()[0])
                raise ExerciseError(f"{ex}: {name} is off in dimension {j}, whose KL is over λ: there "
                                    "F = Σ_j mean_b KL_bj; remember the 1/B of the batch mean")
        assert_close(gv, wv, exercise=ex, where=lambda i, name=name: f"{name}[{i // 4}, {i % 4}]")
    passed(ex, f"{int(under.sum())} of 4 dimensions under λ = {lam} get no gradient; the others are "
               "pulled towards the prior as by the plain KL")


@exercise
def free_bits_prediction(pushed: int | None, relation: str | None, largest_lambda: float | None) -> None:
    """Batch-mean KLs (0.1, 0.3, 1.2, 2.0), λ = 0.5: how many dimensions the free-bits term pushes
    down, how the free-bits loss compares with −ELBO, and the largest λ at which they are equal."""
    ex = "Exercise 5 (predict what free bits does)"
    pushed = answer(pushed, exercise=ex)
    relation = answer(relation, exercise=ex)
    largest_lambda = answer(largest_lambda, exercise=ex)
    kls = torch.tensor([0.1, 0.3, 1.2, 2.0])
    if not isinstance(pushed, int) or pushed != int((kls > 0.5).sum()):
        raise ExerciseError(f"{ex}: `pushed` = {pushed!r} is not right: a dimension is pushed down only "
                            "where max(λ, KL_j) changes when KL_j does")
    if relation not in (">=", "=", "<="):
        raise ExerciseError(f"{ex}: `relation` must be one of \">=\", \"=\", \"<=\" (got {relation!r})")
    if relation != ">=":
        raise ExerciseError(f"{ex}: `relation` = {relation!r} is not right: compare max(λ, KL_j) with KL_j "
                            "term by term, for any KLs, not only these")
    if not isinstance(largest_lambda, (int, float)) or abs(largest_lambda - float(kls.min())) > 1e-6:
        raise ExerciseError(f"{ex}: `largest_lambda` = {largest_lambda!r} is not right: the two are equal "
                            "exactly when no KL_j is below λ")
    passed(ex, "free bits never lowers the loss below −ELBO; it equals it once every KL_j ≥ λ")
