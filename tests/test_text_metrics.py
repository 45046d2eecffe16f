"""BLEU / Self-BLEU equal NLTK's sentence_bleu (Texygen's definition) exactly, and are fast."""

import random
import time
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


@needs_coco
def test_bleu_equals_nltk_on_coco_samples_and_is_fast():
    train, test = coco("train.txt"), coco("test.txt")
    rng = random.Random(0)
    hyps = rng.sample(train, 25)
    ours = bleu(hyps, test)
    for n in (2, 5):
        expected = sum(nltk_bleu(h, test, n) for h in hyps) / len(hyps)
        assert abs(ours[n] - expected) < 1e-9
    t0 = time.perf_counter()
    full = bleu(train, test)  # 10,000 hypotheses x 10,000 references, n = 2..5
    self_bleu(train[:2000])
    assert time.perf_counter() - t0 < 30
    assert 0.5 < full[2] < 0.9  # real captions score about .73 BLEU-2 against real captions
