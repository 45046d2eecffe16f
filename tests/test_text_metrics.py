"""BLEU / Self-BLEU equal NLTK's sentence_bleu (Texygen's definition) exactly.

How fast they are is measured, not asserted, by the benchmark: benchmarks/bleu_speed.py and
`ganvae-edu bench` (ganvae_edu.tooling.bench.bleu_speed) time BLEU-2..5 of all 10,000 COCO
training captions against the 10,000 test captions, and their Self-BLEU.
"""

import random
from pathlib import Path

import pytest
from nltk.translate.bleu_score import SmoothingFunction, sentence_bleu

from ganvae_edu.text.metrics import bleu, distinct_n, self_bleu

COCO = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "coco_captions"
needs_coco = pytest.mark.skipif(
    not COCO.is_dir(), reason=f"reference corpus not found at {COCO} (only beside the project checkout)"
)
SMOOTH = SmoothingFunction().method1


def nltk_bleu(hyp, refs, n):
    return sentence_bleu(refs, hyp, tuple(1.0 / n for _ in range(n)), smoothing_function=SMOOTH)


def random_corpus(rng, size, vocab=12, max_len=9):
    words = [f"w{i}" for i in range(vocab)]
    return [[rng.choice(words) for _ in range(rng.randint(0, max_len))] for _ in range(size)]


def coco(name):
    lines = (COCO / name).read_text(encoding="utf-8").splitlines()
    return [line.lower().replace(".", " .").split() for line in lines if line.strip()]


@pytest.mark.parametrize("seed", range(3))
def test_bleu_equals_nltk_on_random_sentences(seed):
    rng = random.Random(seed)
    refs, hyps = random_corpus(rng, 80), random_corpus(rng, 40)  # includes empty and 1-word ones
    ours = bleu(hyps, refs)
    for n in (2, 3, 4, 5):
        expected = sum(nltk_bleu(h, refs, n) for h in hyps) / len(hyps)
        assert abs(ours[n] - expected) < 1e-9


@pytest.mark.parametrize("seed", range(3))
def test_self_bleu_equals_nltk_leave_one_out(seed):
    rng = random.Random(seed)
    samples = random_corpus(rng, 50, vocab=6)
    samples += [list(samples[0]), list(samples[1])]  # duplicates: a count's maximum is shared
    ours = self_bleu(samples)
    for n in (2, 3, 4, 5):
        expected = sum(
            nltk_bleu(s, samples[:i] + samples[i + 1 :], n) for i, s in enumerate(samples)
        ) / len(samples)
        assert abs(ours[n] - expected) < 1e-9


def test_distinct_n_by_hand():
    samples = [["a", "b", "a", "b"], ["a", "b"]]
    assert distinct_n(samples, 1) == 2 / 6
    assert distinct_n(samples, 2) == 2 / 4  # (a,b), (b,a), (a,b) | (a,b)
    assert distinct_n([["a"]], 2) == 0.0


def test_bad_input_is_refused():
    with pytest.raises(ValueError, match="at least one hypothesis"):
        bleu([], [["a"]])
    with pytest.raises(ValueError, match="at least two samples"):
        self_bleu([["a"]])


@pytest.mark.slow  # NLTK scores each hypothesis against all 10,000 references: about 25 s
@needs_coco
def test_bleu_equals_nltk_on_coco_samples():
    train, test = coco("train.txt"), coco("test.txt")
    rng = random.Random(0)
    hyps = rng.sample(train, 25)
    ours = bleu(hyps, test)
    for n in (2, 5):
        expected = sum(nltk_bleu(h, test, n) for h in hyps) / len(hyps)
        assert abs(ours[n] - expected) < 1e-9


@needs_coco
def test_real_captions_score_about_073_bleu2_against_real_captions():
    train, test = coco("train.txt"), coco("test.txt")
    full = bleu(train, test)  # 10,000 hypotheses x 10,000 references, n = 2..5
    assert 0.5 < full[2] < 0.9  # real captions score about .73 BLEU-2 against real captions


def test_per_sentence_scores_average_to_bleu_and_self_bleu_and_match_nltk():
    from ganvae_edu.text.metrics import bleu_per_sentence, self_bleu_per_sentence

    rng = random.Random(11)
    hyps, refs = random_corpus(rng, 30, max_len=8), random_corpus(rng, 40, max_len=8)
    hyps = [h for h in hyps if h]
    scores = bleu_per_sentence(hyps, refs, 4)
    assert scores == pytest.approx([nltk_bleu(h, refs, 4) for h in hyps], abs=1e-12)
    assert sum(scores) / len(scores) == pytest.approx(bleu(hyps, refs, (4,))[4], abs=1e-12)
    own = self_bleu_per_sentence(hyps, 3)
    others = [hyps[:i] + hyps[i + 1:] for i in range(len(hyps))]
    assert own == pytest.approx([nltk_bleu(h, o, 3) for h, o in zip(hyps, others)], abs=1e-12)
    assert sum(own) / len(own) == pytest.approx(self_bleu(hyps, (3,))[3], abs=1e-12)
    with pytest.raises(ValueError, match="at least two"):
        self_bleu_per_sentence(hyps[:1], 3)


def test_distinct_n_counts_different_ngrams_not_those_seen_once():
    # 'a a a b': 4 unigrams, 2 different; only 'b' occurs once (that reading would give 1/4)
    assert distinct_n([["a", "a", "a", "b"]], 1) == 0.5
    # by a brute count over sentences, n-grams never spanning two of them
    rng = random.Random(5)
    samples = random_corpus(rng, 25, vocab=4, max_len=6)
    for n in (1, 2, 3):
        grams = [tuple(s[i:i + n]) for s in samples for i in range(len(s) - n + 1)]
        assert distinct_n(samples, n) == len(set(grams)) / len(grams)
