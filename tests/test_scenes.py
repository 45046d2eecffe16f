"""The embedded corpus: exact probabilities that sum to 1, and committed files that are reproducible."""

import hashlib
import itertools
import math
import random
from pathlib import Path

from ganvae_edu.text.scenes import SceneGrammar, write_corpus

DATA = Path(__file__).resolve().parents[1] / "data" / "scenes"

# A tiny grammar with deliberately ambiguous slots ("x" is adjective, subject and object;
# "in" is a colour and starts a place phrase), so a sentence can have several derivations.
TINY = SceneGrammar(
    scenes={
        "a": {"subject": ["x", "y"], "verb": ["v"], "object": ["o", "x"], "place": ["in o", "in"]},
        "b": {"subject": ["y"], "verb": ["v", "w"], "object": ["o"], "place": ["in o"]},
    },
    person_adjectives=["x"],
    colours=["o", "in"],
)


def all_sentences(grammar):
    sentences = set()
    for latent, _ in grammar.latents():
        slots = grammar.slots(*latent)
        options = [([()] if s.p_present < 1 else []) + list(s.outcomes) for s in slots]
        for combo in itertools.product(*options):
            sentences.add(tuple(w for outcome in combo for w in outcome))
    return sentences


def test_probabilities_of_a_tiny_ambiguous_grammar_sum_to_one():
    sentences = all_sentences(TINY)
    assert len(sentences) > 50
    assert abs(sum(math.exp(TINY.log_prob(s)) for s in sentences) - 1) < 1e-12


def test_log_prob_matches_sampling_frequencies():
    rng = random.Random(0)
    counts = {}
    n = 200_000
    for _ in range(n):
        tokens, _, _ = TINY.sample(rng)
        counts[tuple(tokens)] = counts.get(tuple(tokens), 0) + 1
    for sentence, c in sorted(counts.items(), key=lambda kv: -kv[1])[:5]:
        p = math.exp(TINY.log_prob(sentence))
        assert abs(c / n - p) < 4 * math.sqrt(p * (1 - p) / n)


def test_impossible_sentences_have_zero_probability_and_posteriors_sum_to_one():
    g = SceneGrammar()
    assert g.log_prob("the man cuts a pizza .".split()) == -math.inf  # must start with "a"
    assert g.log_prob("a man cuts a pizza".split()) == -math.inf  # no final "."
    post = g.posterior("a chef cuts a pizza in the kitchen .".split())
    assert abs(sum(post.values()) - 1) < 1e-12
    # only the kitchen has a chef; no adjective, no colour, a place phrase:
    # P(terse) ∝ .85·.8·.3, P(vivid) ∝ .4·.3·.9 (equal priors, same word probabilities)
    assert abs(post[("kitchen", "terse")] + post[("kitchen", "vivid")] - 1) < 1e-12
    terse, vivid = 0.85 * 0.8 * 0.3, 0.4 * 0.3 * 0.9
    assert abs(post[("kitchen", "terse")] - terse / (terse + vivid)) < 1e-12


def test_committed_corpus_is_what_the_seeded_generator_writes(tmp_path):
    written = write_corpus(tmp_path, seed=0)
    for split, path in written.items():
        committed = DATA / f"{split}.tsv"
        assert committed.exists(), f"{committed} missing: run python -m ganvae_edu.text.scenes data/scenes"
        digest = hashlib.sha256(path.read_bytes()).hexdigest()
        assert digest == hashlib.sha256(committed.read_bytes()).hexdigest(), f"{committed} is stale"


def test_corpus_shape_and_vocabulary():
    lines = (DATA / "train.tsv").read_text(encoding="utf-8").splitlines()
    assert len(lines) == 20_000
    vocab = {w for line in lines for w in line.split("\t")[0].split()}
    assert 100 < len(vocab) < 3000
    scenes = {line.split("\t")[1] for line in lines}
    assert len(scenes) == 6


def test_pooled_grammar_produces_scene_mixtures_but_not_template_breaks():
    g = SceneGrammar()
    mixed = "a farmer pulls a frisbee .".split()  # farm subject and verb, park/beach object
    assert g.log_prob(mixed) == -math.inf
    pooled = g.pooled()
    assert list(pooled.scenes) == ["any"] and pooled.log_prob(mixed) > -math.inf
    assert pooled.log_prob("a man holds at .".split()) == -math.inf  # a cut place phrase
    # every sentence the grammar produces, the pooled one does too
    rng = random.Random(2)
    assert all(pooled.log_prob(g.sample(rng)[0]) > -math.inf for _ in range(200))


def test_split_sentences_are_the_committed_split():
    from ganvae_edu.text.scenes import split_sentences

    data = Path(__file__).resolve().parents[1] / "data" / "scenes"
    for split in ("valid", "test"):
        lines = (data / f"{split}.tsv").read_text().splitlines()
        assert split_sentences(split) == [line.split("\t")[0].split() for line in lines]
    import pytest

    with pytest.raises(ValueError, match="use one of train, valid, test"):
        split_sentences("dev")
