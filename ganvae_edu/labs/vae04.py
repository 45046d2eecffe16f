"""Checkers for notebook 04's exercises (logistic KL annealing, word dropout, the IW NLL per token)."""

from __future__ import annotations

import math
from collections.abc import Callable

import torch

from ganvae_edu.formulas import vae

from .feedback import ExerciseError, assert_close, call, exercise, passed


@exercise
def logistic_schedule(fn: Callable) -> None:
    """fn(step, warmup) → β = 1 / (1 + exp(−10 (step / warmup − ½))) before warmup, 1 after."""
    ex = "Exercise 1 (logistic KL annealing)"
    steps = [0, 100, 250, 500, 750, 999, 1000, 5000]
    got = torch.tensor([float(call(fn, s, 1000, exercise=ex)) for s in steps], dtype=torch.float64)
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
    got = call(fn, inputs.clone(), 0.3, torch.Generator().manual_seed(0), exercise=ex)
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
    if (call(fn, inputs.clone(), 0.0, torch.Generator().manual_seed(0), exercise=ex) != inputs).any():
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
        got = torch.as_tensor(call(fn, log_w, lengths, exercise=ex), dtype=torch.float64).reshape(1)
        want = (-vae.iwae_bound(log_w, dim=0).sum() / (lengths.sum() + len(lengths))).reshape(1)
        assert_close(got, want, exercise=ex, where=lambda i, hint=hint: hint)
    passed(ex, "−IWAE bound per token, <eos> counted, stable for tiny weights")
