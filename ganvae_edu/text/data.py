"""A corpus made ready for models: tokenized splits, a vocabulary, id sequences, latent factors.

`prepare(source, ...)` is the one call every text notebook starts with: it loads `source`
through `corpus.load_corpus`, tokenizes it at word or character level, builds the vocabulary
on the training split only, and encodes every split as <bos> … <eos> id lists. For the embedded
corpus it also keeps each sentence's latent factors and the grammar, whose exact probabilities
give the true entropy.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field

from .corpus import load_corpus
from .scenes import SceneGrammar
from .tokenize import TOKENIZERS, Vocabulary

SPLITS = ("train", "validation", "test")


@dataclass
class TextData:
    source: str
    level: str  # "word" or "char"
    vocab: Vocabulary
    tokens: dict[str, list[list[str]]]  # split → tokenized sentences (truncated to max_len)
    ids: dict[str, list[list[int]]]  # split → <bos> … <eos> id lists
    latents: dict[str, dict[str, list[str]]] = field(default_factory=dict)  # split → factor → values
    grammar: SceneGrammar | None = None  # the true distribution, when it is known
    truncated: int = 0  # sentences cut to max_len

    def true_nll_per_token(self, split: str = "test", n: int | None = None) -> float | None:
        r"""−Σ log p_true(x) / Σ (|x| + 1) over `split` (its first `n` sentences if given; the +1
        is <eos>), or None when the true distribution is unknown.

        The exact cross-entropy of the data under its own generator: the NLL per token that
        no model can beat on average (its expectation is the entropy rate per token).
        """
        if self.grammar is None:
            return None
        total = count = 0.0
        for sentence in self.tokens[split][:n]:
            total -= self.grammar.log_prob(sentence)
            count += len(sentence) + 1
        return total / count

    def latent_entropy(self, factor: str | None = None) -> float | None:
        """Entropy in nats of the generator's latent factor (both factors jointly by default)."""
        if self.grammar is None:
            return None
        if factor not in (None, "scene", "style"):
            raise ValueError(f"factor={factor!r}: use 'scene', 'style' or None (both)")
        probs: dict[object, float] = {}
        for (scene, style), p in self.grammar.latents():
            key = {"scene": scene, "style": style}[factor] if factor else (scene, style)
            probs[key] = probs.get(key, 0.0) + p
        return -sum(p * math.log(p) for p in probs.values() if p > 0)


def prepare(
    source: str,
    *,
    level: str = "word",
    text_column: str = "text",
    max_vocab: int | None = None,
    min_freq: int = 1,
    max_len: int = 40,
    seed: int = 0,
) -> TextData:
    """Load, tokenize, build the vocabulary on train, encode (see the module docstring).

    Sentences longer than `max_len` tokens are cut to their first `max_len` tokens (counted in
    `truncated`), as the text-GAN benchmarks do (COCO: 37).
    """
    if level not in TOKENIZERS:
        raise ValueError(f"level={level!r} is not a tokenizer; use one of {sorted(TOKENIZERS)}")
    if max_len < 1:
        raise ValueError(f"max_len={max_len} must be ≥ 1")
    ds = load_corpus(source, text_column=text_column, seed=seed)
    tokenize = TOKENIZERS[level]
    tokens: dict[str, list[list[str]]] = {}
    truncated = 0
    for split in SPLITS:
        rows = [tokenize(t) for t in ds[split]["text"]]
        rows = [r for r in rows if r]
        truncated += sum(len(r) > max_len for r in rows)
        tokens[split] = [r[:max_len] for r in rows]
    vocab = Vocabulary.build(tokens["train"], max_size=max_vocab, min_freq=min_freq)
    ids = {split: [vocab.encode(s, bos=True) for s in rows] for split, rows in tokens.items()}
    latents: dict[str, dict[str, list[str]]] = {}
    grammar = None
    if str(source) == "scenes":
        grammar = SceneGrammar()
        latents = {split: {f: list(ds[split][f]) for f in ("scene", "style")} for split in SPLITS}
    return TextData(str(source), level, vocab, tokens, ids, latents, grammar, truncated)


def describe(data: TextData) -> dict[str, float]:
    """Sizes worth printing: sentences per split, vocabulary, mean length, test coverage."""
    out: dict[str, float] = {f"{s}_sentences": len(data.tokens[s]) for s in SPLITS}
    out["vocab_size"] = len(data.vocab)
    out["mean_length"] = _mean_len(data.tokens["train"])
    out["test_coverage"] = data.vocab.coverage(data.tokens["test"])
    return out


def _mean_len(rows: Sequence[Sequence[str]]) -> float:
    return sum(map(len, rows)) / max(1, len(rows))
