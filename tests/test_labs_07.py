"""Notebook 07's checkers: accept the solution, report a stub as not done, catch the usual
mistakes with a message saying where, refuse the package function that computes the answer."""

import pytest

from ganvae_edu.evaluation import compare
from ganvae_edu.labs import ExerciseError, eval07
from ganvae_edu.labs.feedback import NotDone
from ganvae_edu.text import evaluate
from ganvae_edu.text.metrics import distinct_n


def stub(*args):
    raise NotImplementedError()


def distinct(samples, n):
    grams = [tuple(s[i:i + n]) for s in samples for i in range(len(s) - n + 1)]
    return len(set(grams)) / len(grams) if grams else 0.0


def reading(curve, x):
    pts = sorted((sb, b) for _, sb, b in curve)
    for (x0, y0), (x1, y1) in zip(pts, pts[1:]):
        if x0 <= x <= x1:
            return y0 + (y1 - y0) * (x - x0) / (x1 - x0)
    return None


def tv(p, q):
    return 0.5 * sum(abs(p.get(v, 0.0) - q.get(v, 0.0)) for v in set(p) | set(q))


def test_solutions_pass(capsys):
    eval07.distinct.strict(distinct)
    eval07.curve_reading.strict(reading)
    eval07.total_variation_distance.strict(tv)
    eval07.self_bleu_size_prediction.strict("higher")
    assert capsys.readouterr().out.count("✓") == 4


def test_stubs_are_not_done():
    for check in (eval07.distinct, eval07.curve_reading, eval07.total_variation_distance):
        with pytest.raises(NotDone):
            check.strict(stub)
    with pytest.raises(NotDone, match="replace None"):
        eval07.self_bleu_size_prediction.strict(None)


def test_usual_mistakes_are_named():
    with pytest.raises(ExerciseError, match="across sentence ends"):  # joined all samples into one
        eval07.distinct.strict(lambda samples, n: distinct([[t for s in samples for t in s]], n))
    once = lambda samples, n: distinct(samples, n) / 2  # noqa: E731 - any other share
    with pytest.raises(ExerciseError, match="for n = 1"):
        eval07.distinct.strict(once)
    with pytest.raises(ExerciseError, match="left of the curve"):  # extrapolated instead of None
        eval07.curve_reading.strict(lambda curve, x: reading(curve, min(max(x, 0.41), 0.62)))
    with pytest.raises(ExerciseError, match="counts fully"):  # only the shared values
        eval07.total_variation_distance.strict(
            lambda p, q: 0.5 * sum(abs(p[v] - q[v]) for v in set(p) & set(q)))
    with pytest.raises(ExerciseError, match="more references"):
        eval07.self_bleu_size_prediction.strict("the same")
    with pytest.raises(ExerciseError, match="answer one of"):
        eval07.self_bleu_size_prediction.strict("up")


def test_package_functions_are_refused():
    with pytest.raises(ExerciseError, match="distinct_n"):
        eval07.distinct.strict(distinct_n)
    with pytest.raises(ExerciseError, match="curve_at"):
        eval07.curve_reading.strict(lambda curve, x: compare.curve_at(curve, x))
    with pytest.raises(ExerciseError, match="total_variation"):
        eval07.total_variation_distance.strict(lambda p, q: evaluate.total_variation(p, q))
