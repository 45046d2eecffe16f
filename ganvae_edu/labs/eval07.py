"""Checkers for notebook 07's exercises (distinct-n, a curve read at a Self-BLEU, total variation,
a prediction of how Self-BLEU moves with the number of samples)."""

from __future__ import annotations

import math
import random
from collections.abc import Callable

from ganvae_edu.evaluation.compare import curve_at, margin, position, verdict
from ganvae_edu.text.evaluate import sample_metrics, score_samples, total_variation
from ganvae_edu.text.metrics import distinct_n, self_bleu
from ganvae_edu.text.scenes import SceneGrammar

from .feedback import ExerciseError, answer, call, exercise, passed


def _number(got, want, ex: str, where: str) -> None:
    if want is None:
        if got is not None:
            raise ExerciseError(f"{ex}: expected None {where}, got {got!r}")
        return
    if not isinstance(got, (int, float)) or isinstance(got, bool):
        raise ExerciseError(f"{ex}: return a number {where}, not {type(got).__name__}")
    if not math.isclose(got, want, rel_tol=1e-9, abs_tol=1e-12):
        raise ExerciseError(f"{ex}: your value is {got:.6g} {where}, expected {want:.6g}")


DISTINCT = (distinct_n, sample_metrics, score_samples)
CURVE = (curve_at, margin, position, verdict)


@exercise
def distinct(fn: Callable) -> None:
    """fn(samples, n) → unique n-grams / all n-grams over the samples (0.0 when there are none)."""
    ex = "Exercise 1 (distinct-n)"
    rng = random.Random(30)
    samples = [[rng.choice("abcde") for _ in range(rng.randint(1, 7))] for _ in range(40)]
    for n in (1, 2, 3):
        _number(call(fn, samples, n, exercise=ex, forbid=DISTINCT), distinct_n(samples, n), ex,
                f"for n = {n} (count n-grams within each sentence, not across sentence ends)")
    _number(call(fn, [["a"], ["b"]], 2, exercise=ex, forbid=DISTINCT), 0.0, ex,
            "when no sentence has an n-gram")
    passed(ex, "distinct-1, 2, 3 correct, and 0 without n-grams")


@exercise
def curve_reading(fn: Callable) -> None:
    """fn(curve, self_bleu) → BLEU interpolated linearly on the curve, None outside its range."""
    ex = "Exercise 2 (reading a curve)"
    curve = [(0.7, 0.62, 0.71), (1.0, 0.50, 0.60), (1.2, 0.41, 0.52)]  # (T, Self-BLEU, BLEU)
    points = ((0.55, "between the T = 0.7 and T = 1 points"), (0.45, "between T = 1 and T = 1.2"),
              (0.50, "at a point of the curve"), (0.30, "left of the curve"), (0.70, "right of the curve"))
    for x, where in points:
        _number(call(fn, curve, x, exercise=ex, forbid=CURVE), curve_at(curve, x), ex,
                f"at Self-BLEU {x} ({where})")
    passed(ex, "interpolation inside the sweep, None outside it")


@exercise
def total_variation_distance(fn: Callable) -> None:
    """fn(p, q) → ½ Σ_v |p(v) − q(v)| over dicts, a value missing from one counting as 0 there."""
    ex = "Exercise 3 (total variation)"
    cases = [({"a": 0.5, "b": 0.5}, {"a": 0.5, "b": 0.5}), ({"a": 1.0}, {"b": 1.0}),
             ({"a": 0.7, "b": 0.2, "c": 0.1}, {"a": 0.4, "b": 0.4, "d": 0.2})]
    for p, q in cases:
        got = call(fn, p, q, exercise=ex, forbid=(total_variation, score_samples))
        _number(got, total_variation(p, q), ex,
                f"for p = {p}, q = {q} (a value only in one of them counts fully)")
    passed(ex, "0 for equal mixes, 1 for disjoint ones, and in between")


SIZES = (200, 800)  # the two sample counts of the prediction


@exercise
def self_bleu_size_prediction(prediction) -> None:
    """Predicted change of the real data's Self-BLEU-5 from SIZES[0] to SIZES[1] sentences:
    "higher", "lower" or "the same", checked on sentences drawn from the true grammar."""
    ex = "Exercise 4 (predict: Self-BLEU and the number of samples)"
    value = answer(prediction, exercise=ex)
    choices = ("higher", "lower", "the same")
    if value not in choices:
        raise ExerciseError(f"{ex}: answer one of {', '.join(repr(c) for c in choices)}, not {value!r}")
    rng = random.Random(7)
    grammar = SceneGrammar()
    small, large = ([grammar.sample(rng)[0] for _ in range(k)] for k in SIZES)
    sb_small, sb_large = self_bleu(small, (5,))[5], self_bleu(large, (5,))[5]
    step = sb_large - sb_small
    truth = "higher" if step > 0.005 else "lower" if step < -0.005 else "the same"
    if value != truth:
        raise ExerciseError(f"{ex}: not {value!r}. Self-BLEU scores each sentence against all the others: "
                            "how does the chance of finding its n-grams change with more references?")
    passed(ex, f"{SIZES[1]} real sentences have a Self-BLEU-5 of {sb_large:.3f} against {sb_small:.3f} for "
               f"{SIZES[0]}: a diversity figure that depends on N, so compare points of equal N")
