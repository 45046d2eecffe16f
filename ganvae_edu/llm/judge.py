r"""An external judge of fluency: the pretrained LLM's NLL per word of a model's sentences.

BLEU rewards n-gram overlap with the test captions, which a model that copies training captions
wins; NLL_gen asks our own (equally small) language model. The judge asks a model no one here
trained. For sentences s_1 … s_N, each scored after the LLM's start token and ending with its
end-of-text token e (counted, as <eos> is for our models):

    llm_nll_per_word = Σ_s −log p_LLM(tokens(s), e | start) / Σ_s (words(s) + 1)

The numerator is in nats over the LLM's own (sub-word) tokens, all of them; the denominator
counts *our* tokenizer's words plus one end per sentence — the same count as the per-token NLL
of every model in notebooks 03–07, so the numbers sit in one table. Lower is more fluent to the
LLM. It is a judge of fluency, not of truth or of diversity (a model repeating one fluent
sentence scores well: read it beside Self-BLEU).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import torch

from ..text.tokenize import word_tokenize
from .pretrained import Pretrained


def next_token_nll(logits: torch.Tensor, ids: torch.Tensor, real: torch.Tensor) -> torch.Tensor:
    """Σ_t −log softmax(logits_t)[ids_{t+1}] per sentence (B,), over the real ids after the first;
    `logits` (B, T − 1, V) are the model's readings of ids[:, :-1]."""
    nll = torch.nn.functional.cross_entropy(logits.float().transpose(1, 2), ids[:, 1:], reduction="none")
    return (nll * real[:, 1:]).sum(1)


@torch.no_grad()
def sentence_nll(lm: Pretrained, sentences: Sequence[str], batch_size: int = 32) -> list[float]:
    """−log p_LLM(tokens(s), end | start) per sentence, in nats (summed over its LLM tokens)."""
    out: list[float] = []
    for lo in range(0, len(sentences), batch_size):
        chunk = sentences[lo:lo + batch_size]
        ids, real = lm.encode(chunk)
        logits = lm.model(input_ids=ids, attention_mask=real).logits
        out += next_token_nll(logits[:, :-1], ids, real).tolist()
    return out


def llm_nll_per_word(lm: Pretrained, sentences: Sequence[str], batch_size: int = 32) -> float:
    """Σ_s −log p_LLM(s, end | start) / Σ_s (words(s) + 1), in nats (see the module docstring)."""
    sentences = list(sentences)
    if not sentences:
        raise ValueError("no sentences to judge; sample some first")
    words = sum(len(word_tokenize(s)) + 1 for s in sentences)
    return sum(sentence_nll(lm, sentences, batch_size)) / words


def judge_samples(lm: Pretrained, named: Mapping[str, Sequence[str]], n: int,
                  batch_size: int = 32) -> dict[str, float]:
    """The judge on the first `n` sentences of each set: {NAME.llm_nll_per_word, and its standard
    error NAME.llm_nll_per_word_se}, the error of a ratio of sums over n sentences,

        se = sd_s(nll_s − R (words_s + 1)) / (√n · mean_s(words_s + 1)),   R = llm_nll_per_word
    """
    if n < 2:
        raise ValueError(f"judge_samples={n}: the judge needs at least 2 sentences per model (0 skips it)")
    out: dict[str, float] = {}
    for name, sentences in named.items():
        chosen = list(sentences)[:n]
        if len(chosen) < 2:
            raise ValueError(f"{name}: {len(chosen)} sentences to judge; it needs at least 2")
        nll = torch.tensor(sentence_nll(lm, chosen, batch_size), dtype=torch.float64)
        words = torch.tensor([len(word_tokenize(s)) + 1 for s in chosen], dtype=torch.float64)
        ratio = nll.sum() / words.sum()
        out[f"{name}.llm_nll_per_word"] = ratio.item()
        se = (nll - ratio * words).std() / (len(chosen) ** 0.5 * words.mean())
        out[f"{name}.llm_nll_per_word_se"] = se.item()
    return out
