"""NLL per token, NLL_gen (the papers' padded definition), and the sample metrics' names."""

import math

import pytest
import torch

from ganvae_edu.text.batches import pad
from ganvae_edu.text.evaluate import (
    evaluate_nll,
    latent_mix,
    nll_gen,
    nll_gen_from_per_token,
    sample_metrics,
    score_samples,
    total_variation,
    true_sample_metrics,
)
from ganvae_edu.text.lm import GRULanguageModel
from ganvae_edu.text.scenes import SceneGrammar


def sentence_nll(model, ids):
    batch, lengths = pad([ids])
    logits, _ = model(batch[:, :-1])
    return -sum(logits[0, t].log_softmax(-1)[ids[t + 1]].item() for t in range(len(ids) - 1))


def test_nll_gen_is_total_nll_over_padded_positions():
    torch.manual_seed(0)
    model = GRULanguageModel(10, emb=4, hidden=8).eval()
    seqs = [[1, 4, 5, 2], [1, 6, 2], [1, 4, 4, 4, 7, 2]]
    totals = [sentence_nll(model, s) for s in seqs]
    assert math.isclose(nll_gen(model, seqs, pad_to=6), sum(totals) / (3 * 6), rel_tol=1e-5)
    # per token: 3 + 2 + 5 targets after <bos>
    assert math.isclose(evaluate_nll(model, seqs), sum(totals) / 10, rel_tol=1e-5)
    # a sentence longer than pad_to counts with its own length (5 targets > pad_to = 4)
    assert math.isclose(nll_gen(model, seqs, pad_to=4), sum(totals) / (4 + 4 + 5), rel_tol=1e-5)
    with pytest.raises(ValueError, match="pad_to=0"):
        nll_gen(model, seqs, pad_to=0)


def test_sample_metrics_use_the_shared_names_and_identical_samples_have_self_bleu_one():
    samples = [["a", "man", "rides", "a", "bike", "."]] * 4
    refs = [["a", "man", "rides", "a", "bike", "."], ["a", "dog", "runs", "."]]
    m = sample_metrics("gumbel_gan", samples, refs)
    assert {f"gumbel_gan.bleu.{n}" for n in (2, 3, 4, 5)} <= set(m)
    assert {f"gumbel_gan.self_bleu.{n}" for n in (2, 3, 4, 5)} <= set(m)
    assert m["gumbel_gan.bleu.5"] == pytest.approx(1.0) and m["gumbel_gan.self_bleu.4"] == pytest.approx(1.0)
    assert m["gumbel_gan.distinct.1"] == pytest.approx(5 / 24)
    assert m["gumbel_gan.mean_length"] == 6


def test_true_sample_metrics_count_impossible_sentences():
    g = SceneGrammar()
    ok = "a chef cuts a pizza in the kitchen .".split()
    bad = "a pizza cuts a chef".split()
    m = true_sample_metrics("lm", g, [ok, ok, bad, ok])
    assert m["lm.valid_fraction"] == 0.75
    assert m["lm.true_nll_per_token"] == pytest.approx(-g.log_prob(ok) / (len(ok) + 1))
    assert math.isnan(true_sample_metrics("lm", g, [bad])["lm.true_nll_per_token"])


def test_nll_gen_from_a_per_token_figure_equals_the_direct_one():
    torch.manual_seed(0)
    model = GRULanguageModel(10, emb=4, hidden=8).eval()
    seqs = [[1, 4, 5, 2], [1, 6, 2], [1, 4, 4, 4, 7, 2]]
    direct = nll_gen(model, seqs, pad_to=4)
    via_per_token = nll_gen_from_per_token(evaluate_nll(model, seqs), seqs, pad_to=4)
    assert math.isclose(via_per_token, direct, rel_tol=1e-6)


def test_latent_mix_of_one_scenes_sentences_is_that_scene_and_tv_distance():
    g = SceneGrammar()
    kitchen = "a chef cuts a pizza in the kitchen .".split()
    mix = latent_mix(g, [kitchen, kitchen, "a pizza cuts a chef".split()])
    assert sum(mix.values()) == pytest.approx(1.0)  # the impossible sentence is left out
    assert max(mix, key=mix.get) == "kitchen" and mix["kitchen"] > 0.9
    assert total_variation({"a": 0.5, "b": 0.5}, {"a": 0.5, "b": 0.5}) == 0
    assert total_variation({"a": 1.0}, {"b": 1.0}) == 1
    assert total_variation({"a": 0.75, "b": 0.25}, {"a": 0.25, "b": 0.75}) == pytest.approx(0.5)
    with pytest.raises(ValueError, match="factor='mood'"):
        latent_mix(g, [kitchen], "mood")


def test_score_samples_adds_the_true_grammar_figures_only_when_known():
    g = SceneGrammar()
    kitchen = "a chef cuts a pizza in the kitchen .".split()
    refs = [kitchen, "a dog runs on the beach .".split()]
    plain = score_samples("lm", [kitchen] * 3, refs)
    assert "lm.bleu.4" in plain and not any("scene" in k or "valid" in k for k in plain)
    full = score_samples("lm", [kitchen] * 3, refs, g, {"kitchen": 0.5, "beach": 0.5})
    # only the kitchen has a chef: the samples' mix is all kitchen, so TV = ½ (|1 − ½| + |0 − ½|)
    assert full["lm.valid_fraction"] == 1.0 and full["lm.scene_mix.kitchen"] == pytest.approx(1.0)
    assert full["lm.scene_mix.beach"] == 0.0
    assert full["lm.scene_tv"] == pytest.approx(0.5)


def test_error_kinds_sort_samples_by_what_the_grammar_says():
    from ganvae_edu.text.evaluate import error_kinds

    g = SceneGrammar()
    samples = ["a man holds a laptop .".split(), "a farmer pulls a frisbee .".split(),
               "a man holds at .".split(), "a man holds a laptop".split()]
    assert error_kinds(g, samples) == ["valid", "mixes scenes", "breaks the template", "breaks the template"]
