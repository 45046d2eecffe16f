"""`prepare`: the embedded corpus with its latents and true entropy, files at both levels, errors."""

import math

import pytest

from ganvae_edu.text.data import describe, prepare


@pytest.fixture(scope="module")
def scenes():
    return prepare("scenes")


def test_embedded_corpus_is_encoded_with_bos_eos_and_keeps_its_latents(scenes):
    info = describe(scenes)
    sizes = (info["train_sentences"], info["validation_sentences"], info["test_sentences"])
    assert sizes == (20_000, 2_000, 2_000)
    assert info["test_coverage"] == 1.0 and scenes.truncated == 0
    v = scenes.vocab
    first = scenes.ids["train"][0]
    assert first[0] == v.bos_id and first[-1] == v.eos_id
    assert v.decode(first) == scenes.tokens["train"][0]
    assert set(scenes.latents["test"]) == {"scene", "style"}
    assert len(scenes.latents["test"]["scene"]) == 2_000
    assert set(scenes.latents["train"]["style"]) == {"terse", "vivid"}


def test_true_entropy_and_latent_entropy(scenes):
    # 1.2690 nats/token on the committed test split; 6 uniform scenes × 2 equally likely styles
    assert abs(scenes.true_nll_per_token("test") - 1.2690) < 5e-4
    assert math.isclose(scenes.latent_entropy(), math.log(12))
    assert math.isclose(scenes.latent_entropy("scene"), math.log(6))
    with pytest.raises(ValueError, match="factor='colour'"):
        scenes.latent_entropy("colour")


def test_text_file_at_character_level_with_truncation_and_no_truth(tmp_path):
    lines = [f"床前明月光{i}疑是地上霜" for i in range(100)]
    path = tmp_path / "poems.txt"
    path.write_text("\n".join(lines), encoding="utf-8")
    d = prepare(str(path), level="char", max_len=8)
    assert d.truncated == 100 and all(len(s) == 8 for s in d.tokens["train"])
    assert d.tokens["train"][0][:5] == list("床前明月光")
    assert d.true_nll_per_token() is None and d.latent_entropy() is None and d.latents == {}
    assert sum(len(d.tokens[s]) for s in ("train", "validation", "test")) == 100


def test_vocabulary_is_built_on_train_only_and_limits_apply(tmp_path):
    path = tmp_path / "c.txt"
    path.write_text("\n".join(["a b c"] * 50 + ["a d"] * 50), encoding="utf-8")
    d = prepare(str(path), max_vocab=6)
    assert len(d.vocab) == 6  # 4 specials + the two most frequent words
    with pytest.raises(ValueError, match="level='bpe'"):
        prepare(str(path), level="bpe")
    with pytest.raises(ValueError, match="max_len=0"):
        prepare(str(path), max_len=0)
