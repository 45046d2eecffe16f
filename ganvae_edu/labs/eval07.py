"""Checkers for notebook 07's exercises (distinct-n, a curve read at a Self-BLEU, total variation)."""

from __future__ import annotations

import math
import random
from collections.abc import Callable

from ganvae_edu.evaluation.compare import curve_at
from ganvae_edu.text.evaluate import total_variation
from ganvae_edu.text.metrics import distinct_n

from .feedback import ExerciseError, call, exercise, passed


def _number(got, want, ex: str, where: str) -> None:
    if want is None:
        if got is not None:
            raise ExerciseError(f"{ex}: expected None {where}, got {got!r}")
        return
    if not isinstance(got, (int, float)) or isinstance(got, bool):
        raise ExerciseError(f"{ex}: return a number {where}, not {type(got).__name__}")
    if not math.isclose(got, want, rel_tol=1e-9, abs_tol=1e-12):
        raise ExerciseError(f"{ex}: your value is {got:.6g} {where}, expected {want:.6g}")


@exercise
def distinct(fn: Callable) -> None:
    """fn(samples, n) → unique n-grams / all n-grams over the samples (0.0 when there are none)."""
    ex = "Exercise 1 (distinct-n)"
    rng = random.Random(30)
    samples = [[rng.choice("abcde") for _ in range(rng.randint(1, 7))] for _ in range(40)]
    for n in (1, 2, 3):
        _number(call(fn, samples, n, exercise=ex), distinct_n(samples, n), ex,
                f"for n = {n} (count n-grams within each sentence, not across sentence ends)")
    _number(call(fn, [["a"], ["b"]], 2, exercise=ex), 0.0, ex, "when no sentence has an n-gram")
    passed(ex, "distinct-1, 2, 3 correct, and 0 without n-grams")


@exercise
def curve_reading(fn: Callable) -> None:
    """fn(curve, self_bleu) → BLEU interpolated linearly on the curve, None outside its range."""
    ex = "Exercise 2 (reading a curve)"
    curve = [(0.7, 0.62, 0.71), (1.0, 0.50, 0.60), (1.2, 0.41, 0.52)]  # (T, Self-BLEU, BLEU)
    points = ((0.55, "between the T = 0.7 and T = 1 points"), (0.45, "between T = 1 and T = 1.2"),
              (0.50, "at a point of the curve"), (0.30, "left of the curve"), (0.70, "right of the curve"))
    for x, where in points:
        _number(call(fn, curve, x, exercise=ex), curve_at(curve, x), ex, f"at Self-BLEU {x} ({where})")
    passed(ex, "interpolation inside the sweep, None outside it")


@exercise
def total_variation_distance(fn: Callable) -> None:
    """fn(p, q) → ½ Σ_v |p(v) − q(v)| over dicts, a value missing from one counting as 0 there."""
    ex = "Exercise 3 (total variation)"
    cases = [({"a": 0.5, "b": 0.5}, {"a": 0.5, "b": 0.5}), ({"a": 1.0}, {"b": 1.0}),
             ({"a": 0.7, "b": 0.2, "c": 0.1}, {"a": 0.4, "b": 0.4, "d": 0.2})]
    for p, q in cases:
        _number(call(fn, p, q, exercise=ex), total_variation(p, q), ex,
                f"for p = {p}, q = {q} (a value only in one of them counts fully)")
    passed(ex, "0 for equal mixes, 1 for disjoint ones, and in between")
