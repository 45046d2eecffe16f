"""Checkers for notebook 03's exercises (perplexity, nucleus filtering, clipped n-gram precision,
the mass temperature moves onto a tail)."""

from __future__ import annotations

import math
from collections.abc import Callable

import torch

from ganvae_edu.text import metrics, sampling

from .feedback import ExerciseError, assert_close, call, exercise, passed


@exercise
def perplexity(fn: Callable) -> None:
    """fn(sentence_log_probs, sentence_lengths) → perplexity exp(−Σ log p / Σ (length + 1))."""
    ex = "Exercise 1 (perplexity)"
    g = torch.Generator().manual_seed(6)
    cases = [
        (torch.tensor([-10.0]), torch.tensor([4])),
        (-torch.rand(50, generator=g, dtype=torch.float64) * 60, torch.randint(1, 20, (50,), generator=g)),
    ]
    hints = ["one sentence of 4 words with log p = -10 (5 tokens with <eos>: perplexity e^2)",
             "50 random sentences (count one <eos> per sentence)"]
    for (logp, lengths), hint in zip(cases, hints):
        got = torch.as_tensor(call(fn, logp, lengths, exercise=ex), dtype=torch.float64).reshape(1)
        want = torch.tensor([math.exp(-logp.sum().item() / (lengths.sum().item() + len(lengths)))])
        assert_close(got, want, exercise=ex, where=lambda i, hint=hint: hint)
    passed(ex, "perplexity = exp(NLL per token), with <eos> counted in every sentence")


@exercise
def top_p_filter(fn: Callable) -> None:
    """fn(probs, p) → probs with all but the nucleus zeroed, renormalised (rows of a 2-D tensor)."""
    ex = "Exercise 2 (top-p)"
    g = torch.Generator().manual_seed(7)
    probs = torch.rand(20, 12, generator=g, dtype=torch.float64) ** 3
    probs = probs / probs.sum(-1, keepdim=True)
    for p in (0.5, 0.9, 1.0):
        got = call(fn, probs.clone(), p, exercise=ex, forbid=(sampling.filter_logits, sampling.sample_next))
        want = sampling.filter_logits(probs.log(), top_p=p).softmax(-1)
        if isinstance(got, torch.Tensor) and got.shape == want.shape and torch.isnan(got).any():
            raise ExerciseError(f"{ex}: NaN in your output at p={p}; renormalise the kept probabilities")
        assert_close(got, want, exercise=ex,
                     where=lambda i, p=p: f"p={p}, row {i // 12}, token {i % 12} (keep the most likely "
                     "tokens until their total first reaches p)")
    passed(ex, "nucleus of 20 random distributions at p = 0.5, 0.9, 1.0")


@exercise
def clipped_precision(fn: Callable) -> None:
    """fn(hypothesis, references, n) → (clipped matches, total n-grams) as in BLEU's p_n."""
    ex = "Exercise 3 (clipped n-gram precision)"
    cases = [
        ("the the the the the the the", ["the cat is on the mat", "there is a cat on the mat"], 1),
        ("a man rides a red bike .", ["a man rides a bike .", "a woman rides a red bike"], 2),
        ("a dog .", ["a cat sits ."], 3),
    ]
    for hyp_text, ref_texts, n in cases:
        hyp, refs = hyp_text.split(), [r.split() for r in ref_texts]
        got = call(fn, hyp, refs, n, exercise=ex, forbid=(metrics.ngrams, metrics.bleu, metrics.self_bleu))
        counts = metrics.ngrams(hyp, n)
        want = (sum(min(c, max(metrics.ngrams(r, n)[g] for r in refs)) for g, c in counts.items()),
                sum(counts.values()))
        if tuple(got) != want:
            raise ExerciseError(
                f"{ex}: for hypothesis {' '.join(hyp)!r}, n={n}: expected {want}, got {tuple(got)}. "
                "Clip each n-gram's count by its largest count in any single reference"
            )
    passed(ex, "clipped counts correct, including Papineni's 'the the the …' example (2/7)")



@exercise
def heated_mass(fn: Callable) -> None:
    """fn(probs, invalid, T) → Σ_{w ∈ invalid} p_T(w), p_T ∝ p^{1/T} (temperature on the logits)."""
    ex = "Exercise 4 (temperature and the tail)"
    forbid = (sampling.filter_logits, sampling.sample_next)
    g = torch.Generator().manual_seed(8)
    valid = torch.tensor([1.0 / (k + 1) for k in range(8)], dtype=torch.float64)  # a Zipf slot
    probs = torch.cat([0.99 * valid / valid.sum(), torch.full((100,), 0.01 / 100, dtype=torch.float64)])
    invalid = torch.arange(8, 108)
    random_probs = torch.rand(30, generator=g, dtype=torch.float64) ** 4
    random_probs /= random_probs.sum()
    cases = [(probs, invalid, 1.0, "T = 1 (nothing changes)"), (probs, invalid, 1.3, "T = 1.3"),
             (probs, invalid, 0.5, "T = 0.5"),
             (random_probs, torch.tensor([0, 3, 7]), 1.7, "a random distribution, T = 1.7")]
    for p, bad, t, where in cases:
        got = call(fn, p.clone(), bad, t, exercise=ex, forbid=forbid)
        want = (p.log() / t).softmax(-1)[bad].sum().reshape(1)
        got = torch.as_tensor(got, dtype=torch.float64).reshape(-1)
        if got.shape != (1,):
            raise ExerciseError(f"{ex}: return one number (the total mass on `invalid`), "
                                f"not shape {tuple(got.shape)}")
        assert_close(got, want, exercise=ex,
                     where=lambda i, where=where: f"{where} (raise p to 1/T, then renormalise)")
    hot = float(call(fn, probs.clone(), invalid, 1.3, exercise=ex, forbid=forbid))
    passed(ex, f"1 % spread over 100 invalid tokens becomes {hot:.1%} at T = 1.3: the many small "
               "probabilities gain the most, which is why the LM's invalid share jumps when it is heated")

