r"""Tokenizers (word and character level) and the vocabulary that maps tokens to ids.

Word level (`word_tokenize`): lowercase, then numbers ("3.5", "1,000"), words with inner
apostrophes ("don't", "o'clock") and single punctuation marks are tokens. How it differs from
NLTK's ``word_tokenize`` (the Texygen/COCO convention): NLTK splits contractions ("don't" →
"do", "n't"; "cannot" → "can", "not"), turns double quotes into `` and '', and keeps some
abbreviations ("e.g.") whole; here none of that happens. On COCO captions the two agree on
all but a few sentences, since captions have almost no contractions or quotes.

Character level (`char_tokenize`): every non-space character is a token (Chinese poetry).
"""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

_WORD = re.compile(r"\d+(?:[.,]\d+)*|\w+(?:'\w+)*|[^\w\s]")

PAD, BOS, EOS, UNK = "<pad>", "<bos>", "<eos>", "<unk>"
SPECIALS = (PAD, BOS, EOS, UNK)


def word_tokenize(text: str) -> list[str]:
    """Lowercased words, numbers and punctuation marks."""
    return _WORD.findall(text.lower())


def char_tokenize(text: str) -> list[str]:
    """Every non-whitespace character."""
    return [c for c in text if not c.isspace()]


TOKENIZERS = {"word": word_tokenize, "char": char_tokenize}


def detokenize(tokens: Sequence[str], level: str = "word") -> str:
    """Tokens back to text: words joined by spaces, characters joined directly."""
    return ("" if level == "char" else " ").join(tokens)


@dataclass
class Vocabulary:
    """Token ↔ id, with ids 0..3 for <pad>, <bos>, <eos>, <unk>."""

    itos: list[str]

    def __post_init__(self) -> None:
        if tuple(self.itos[:4]) != SPECIALS:
            raise ValueError(f"a vocabulary starts with {SPECIALS}, not {self.itos[:4]}")
        self.stoi = {t: i for i, t in enumerate(self.itos)}

    pad_id, bos_id, eos_id, unk_id = 0, 1, 2, 3

    @classmethod
    def build(cls, sentences: Iterable[Sequence[str]], max_size: int | None = None,
              min_freq: int = 1) -> Vocabulary:
        """The most frequent tokens (ties alphabetical), at most `max_size` in all, each seen ≥ min_freq."""
        counts = Counter(t for s in sentences for t in s)
        ranked = sorted((t for t, c in counts.items() if c >= min_freq and t not in SPECIALS),
                        key=lambda t: (-counts[t], t))
        if max_size is not None:
            if max_size <= len(SPECIALS):
                raise ValueError(f"max_size={max_size} leaves no room beside the {len(SPECIALS)} specials")
            ranked = ranked[: max_size - len(SPECIALS)]
        return cls([*SPECIALS, *ranked])

    def __len__(self) -> int:
        return len(self.itos)

    def encode(self, tokens: Sequence[str], bos: bool = False, eos: bool = True) -> list[int]:
        """Ids of `tokens` (unknown ones → <unk>), with <bos> / <eos> added as asked."""
        ids = [self.stoi.get(t, self.unk_id) for t in tokens]
        return ([self.bos_id] if bos else []) + ids + ([self.eos_id] if eos else [])

    def decode(self, ids: Iterable[int]) -> list[str]:
        """Tokens of `ids` up to the first <eos>, without <pad> and <bos>."""
        out = []
        for i in ids:
            i = int(i)
            if i == self.eos_id:
                break
            if i not in (self.pad_id, self.bos_id):
                out.append(self.itos[i])
        return out

    def coverage(self, sentences: Iterable[Sequence[str]]) -> float:
        """Fraction of tokens in `sentences` that are in the vocabulary (not <unk>)."""
        total = known = 0
        for s in sentences:
            total += len(s)
            known += sum(t in self.stoi for t in s)
        return known / total if total else 1.0

    def save(self, path: str | Path) -> None:
        from ganvae_edu.runtime import write_json_atomic

        write_json_atomic({"itos": self.itos}, path)

    @classmethod
    def load(cls, path: str | Path) -> Vocabulary:
        return cls(json.loads(Path(path).read_text(encoding="utf-8"))["itos"])
