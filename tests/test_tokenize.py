"""Tokenizers, the vocabulary and length-bucketed batches."""

import random

import pytest

from ganvae_edu.text.batches import length_batches, pad, padding_fraction
from ganvae_edu.text.tokenize import Vocabulary, char_tokenize, detokenize, word_tokenize


def test_word_tokenize_lowercases_and_splits_punctuation():
    assert word_tokenize("A man rides a red bicycle, down a busy street.") == [
        "a", "man", "rides", "a", "red", "bicycle", ",", "down", "a", "busy", "street", "."]
    assert word_tokenize("It's 3.5 km, isn't it?") == ["it's", "3.5", "km", ",", "isn't", "it", "?"]


def test_char_tokenize_drops_spaces():
    assert char_tokenize("床 前 明 月 光 ，") == ["床", "前", "明", "月", "光", "，"]
    assert detokenize(["床", "前"], level="char") == "床前"


def test_vocabulary_limits_round_trip_and_unknowns(tmp_path):
    sents = [word_tokenize(s) for s in ["a cat sat .", "a dog sat .", "a cat ran ."]]
    v = Vocabulary.build(sents)
    assert v.itos[:4] == ["<pad>", "<bos>", "<eos>", "<unk>"]
    assert v.itos[4:8] == [".", "a", "cat", "sat"]  # by count, ties alphabetical
    for s in sents:
        ids = v.encode(s, bos=True)
        assert ids[0] == v.bos_id and ids[-1] == v.eos_id
        assert v.decode(ids + [v.pad_id] * 3) == s
    small = Vocabulary.build(sents, max_size=6)
    assert len(small) == 6 and small.decode(small.encode(["zebra", "a"])) == ["<unk>", "a"]
    assert Vocabulary.build(sents, min_freq=2).itos[4:] == [".", "a", "cat", "sat"]
    assert abs(small.coverage(sents) - 6 / 12) < 1e-12  # only "." and "a" kept
    v.save(tmp_path / "vocab.json")
    assert Vocabulary.load(tmp_path / "vocab.json").itos == v.itos
    with pytest.raises(ValueError, match="leaves no room"):
        Vocabulary.build(sents, max_size=4)


def test_length_batches_cover_everything_once_and_waste_little_padding():
    rng = random.Random(0)
    seqs = [[rng.randint(4, 50) for _ in range(rng.randint(3, 40))] for _ in range(5000)]
    batches = [pad([seqs[i] for i in idx]) for idx in length_batches(seqs, 32)]
    seen = sorted(
        tuple(x[i, :n].tolist()) for x, lengths in batches for i, n in enumerate(lengths.tolist())
    )
    assert seen == sorted(tuple(s) for s in seqs)
    plain = [pad(seqs[i : i + 32]) for i in range(0, len(seqs), 32)]
    assert padding_fraction(batches) < 0.05 < 0.3 < padding_fraction(plain)
