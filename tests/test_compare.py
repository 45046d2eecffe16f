"""Reading runs back into quality–diversity curves, and placing a point against a curve."""

import json
import math
import random
import statistics

import pytest

from ganvae_edu.evaluation.compare import (
    curve_at,
    dominance,
    load_metrics,
    margin,
    margin_noise,
    point_and_errors,
    position,
    standard_errors,
    temperature_curve,
    temperatures,
    verdict,
)
from ganvae_edu.runtime import metric_key, model_key
from ganvae_edu.text.metrics import bleu, bleu_per_sentence, self_bleu

RUN = {
    "lm.bleu.5": 0.60, "lm.self_bleu.5": 0.50, "lm.bleu.2": 0.9,
    "lm_t0.8.bleu.5": 0.70, "lm_t0.8.self_bleu.5": 0.60, "lm_t0.8.bleu.2": 0.95,
    "lm_t1.2.bleu.5": 0.50, "lm_t1.2.self_bleu.5": 0.40, "lm_t1.2.bleu.2": 0.85,
    "gan.bleu.5": 0.66, "gan.self_bleu.5": 0.58, "gan.bleu.2": 0.9,
    "latent.bleu.5": None, "latent.self_bleu.5": 0.3, "latent.bleu.2": 0.8,
}


def test_curves_come_from_the_prefixed_keys_by_rising_temperature():
    assert temperatures(RUN, "lm") == [0.8, 1.0, 1.2]
    assert temperature_curve(RUN, "lm") == [(0.8, 0.60, 0.70), (1.0, 0.50, 0.60), (1.2, 0.40, 0.50)]
    assert temperature_curve(RUN, "latent") == []  # a null is skipped, not plotted as 0
    assert temperatures(RUN, "absent") == []


def test_metric_keys_are_the_names_the_runs_use_and_read_back():
    assert model_key("lm") == model_key("lm", 1.0) == "lm"
    assert model_key("vaegan_two_stage", 0.7) == "vaegan_two_stage_t0.7"
    assert metric_key("lm", "bleu.5", 0.8) == "lm_t0.8.bleu.5"
    assert metric_key("lm", "bleu.2", 0.85) == "lm_t0.85.bleu.2"
    assert metric_key("gan", "nll_gen") == "gan.nll_gen" and model_key("lm", 2.0) == "lm_t2"
    points = ((0.7, 0.9), (1.0, 0.5), (1.3, 0.2))
    run = {metric_key("two_stage", f"{m}.5", t): v for t, v in points for m in ("bleu", "self_bleu")}
    run |= {metric_key("two_stage", "bleu.2", t): 0.0 for t, _ in points}
    assert temperatures(run, "two_stage") == [0.7, 1.0, 1.3]
    assert temperature_curve(run, "two_stage") == [(0.7, 0.9, 0.9), (1.0, 0.5, 0.5), (1.3, 0.2, 0.2)]


def test_interpolation_and_position_against_a_curve():
    lm = temperature_curve(RUN, "lm")
    assert curve_at(lm, 0.55) == pytest.approx(0.65)
    assert curve_at(lm, 0.7) is None and curve_at(lm, 0.39) is None  # no extrapolation
    assert position((0.58, 0.66), lm) == "below"  # the LM at T ≈ 0.8 has 0.68 at that Self-BLEU
    assert position((0.45, 0.60), lm) == "above"
    assert position((0.45, 0.553), lm) == "on"
    assert position((0.9, 0.9), lm) == "outside"


def test_load_metrics_names_the_problem(tmp_path):
    with pytest.raises(FileNotFoundError, match="run the notebook first"):
        load_metrics(tmp_path / "metrics.json")
    (tmp_path / "bad.json").write_text("{not json")
    with pytest.raises(ValueError, match="is not valid JSON"):
        load_metrics(tmp_path / "bad.json")
    (tmp_path / "list.json").write_text("[1, 2]")
    with pytest.raises(ValueError, match="one JSON object, not list"):
        load_metrics(tmp_path / "list.json")
    (tmp_path / "ok.json").write_text(json.dumps(RUN))
    assert load_metrics(tmp_path / "ok.json")["lm.bleu.5"] == 0.6


LM = [(0.7, 0.60, 0.70), (1.0, 0.50, 0.60)]  # (T, Self-BLEU, BLEU): slope 1


def test_margin_and_dominance():
    assert margin((0.55, 0.70), LM) == pytest.approx(0.05)
    assert margin((0.65, 0.9), LM) is None
    assert dominance((0.45, 0.65), LM) == ([1.0], [])  # more diverse and better than T = 1
    assert dominance((0.65, 0.68), LM) == ([], [0.7])  # T = 0.7 is more diverse and better
    assert dominance((0.65, 0.75), LM) == ([], [])  # more repetitive and better: a trade


def test_margin_noise_is_the_independent_sum_of_both_points_errors():
    assert margin_noise(LM, 0.0, 0.01) == pytest.approx(math.sqrt(2) * 0.01)
    assert margin_noise(LM, 0.01, 0.0) == pytest.approx(math.sqrt(2) * 1.0 * 0.01)  # through the slope
    assert margin_noise(LM[:1], 0.01, 0.01) == pytest.approx(math.sqrt(2) * 0.01)  # one point: no slope


def test_verdict_resolves_only_beyond_the_noise_and_the_sweep():
    assert verdict((0.55, 0.70), LM, 0.005, 0.005)[0] == "above"  # +0.05 against a band of 2σ = 0.014
    assert verdict((0.55, 0.60), LM, 0.005, 0.005)[0] == "below"
    kind, text = verdict((0.55, 0.66), LM, 0.005, 0.005)
    assert kind == "within noise" and "+0.010" in text
    assert verdict((0.65, 0.60), LM, 0.005, 0.005)[0] == "below"  # beaten by T = 0.7 by 0.1 BLEU
    assert verdict((0.61, 0.695), LM, 0.005, 0.005)[0] == "within noise"  # beaten, but by 0.005 and 0.01
    kind, text = verdict((0.65, 0.75), LM, 0.005, 0.005)
    assert kind == "not comparable" and "beyond the swept 0.500–0.600" in text


def test_point_and_errors_are_means_and_standard_errors_of_sentence_scores():
    rng = random.Random(3)
    words = "a b c d e".split()
    samples = [[rng.choice(words) for _ in range(rng.randint(3, 7))] for _ in range(60)]
    refs = [[rng.choice(words) for _ in range(rng.randint(3, 7))] for _ in range(40)]
    (sb, b), (se_sb, se_b) = point_and_errors(samples, refs, 3)
    assert sb == pytest.approx(self_bleu(samples, (3,))[3])
    assert b == pytest.approx(bleu(samples, refs, (3,))[3])
    scores = bleu_per_sentence(samples, refs, 3)
    assert se_b == pytest.approx(statistics.stdev(scores) / math.sqrt(len(scores)))
    assert standard_errors(samples, refs, 3) == (se_sb, se_b)
