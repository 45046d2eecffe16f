r"""Metrics for generated text: BLEU-n and Self-BLEU-n as Texygen defines them, and distinct-n.

Texygen (Zhu et al. 2018), which the text-GAN papers report, scores each generated sentence with
NLTK's ``sentence_bleu`` against *all* reference sentences (smoothing method1, uniform weights
1/n over the orders 1..n) and averages over the generated set; Self-BLEU scores each generated
sentence against all the *other* generated ones. For one hypothesis h:

    p_k  = Σ_g min(count_h(g), max_r count_r(g)) / max(1, Σ_g count_h(g))   over k-grams g,
           with 0 replaced by 0.1 / denominator (method1);
    BP   = 1 if |h| > r* else exp(1 - r*/|h|),  r* the reference length closest to |h|
           (ties to the shorter);
    BLEU-n(h) = BP · exp(Σ_{k=1..n} (1/n) log p_k),  and 0 when no unigram matches.

NLTK recomputes max_r count_r(g) by scanning every reference for every hypothesis: with 10,000
references that is 10,000 Counter builds per sentence. Here the per-n-gram maxima over the
reference set are computed once (for Self-BLEU, the two largest counts, so "all but me" is a
lookup), which gives the same numbers in a fraction of the time.
"""

from __future__ import annotations

import bisect
import math
from collections import Counter
from collections.abc import Iterable, Sequence

Sentence = Sequence[str]
EPSILON = 0.1  # NLTK SmoothingFunction().method1


def ngrams(tokens: Sentence, n: int) -> Counter:
    """Counts of the n-grams (as tuples) of `tokens`."""
    return Counter(tuple(tokens[i : i + n]) for i in range(len(tokens) - n + 1))


class _ReferenceStats:
    """Per-order maxima of n-gram counts over a reference set, and its sentence lengths.

    For leave-one-out (Self-BLEU) it keeps, for each n-gram, the largest count, how many
    references reach it, and the second-largest count.
    """

    def __init__(self, references: Iterable[Sentence], max_n: int) -> None:
        self.max_n = max_n
        self.top: list[dict[tuple, list[int]]] = [{} for _ in range(max_n + 1)]
        self.length_counts: Counter = Counter()
        for ref in references:
            self.length_counts[len(ref)] += 1
            for n in range(1, max_n + 1):
                table = self.top[n]
                for gram, c in ngrams(ref, n).items():
                    entry = table.get(gram)
                    if entry is None:
                        table[gram] = [c, 1, 0]
                    elif c > entry[0]:
                        entry[2], entry[0], entry[1] = entry[0], c, 1
                    elif c == entry[0]:
                        entry[1] += 1
                    elif c > entry[2]:
                        entry[2] = c
        self.lengths = sorted(self.length_counts)

    def max_count(self, gram: tuple, n: int, own: int) -> int:
        """max count of `gram` over the references, leaving out one with count `own` (0: none)."""
        entry = self.top[n].get(gram)
        if entry is None:
            return 0
        best, how_many, second = entry
        if own == best and how_many == 1:
            return second
        return best

    def closest_length(self, hyp_len: int, leave_out: int | None) -> int:
        """The reference length closest to hyp_len (ties: the shorter), optionally leaving one out."""
        lengths = self.lengths
        if leave_out is not None and self.length_counts[leave_out] == 1:
            lengths = [n for n in lengths if n != leave_out]
        i = bisect.bisect_left(lengths, hyp_len)
        candidates = lengths[max(0, i - 1) : i + 1]
        return min(candidates, key=lambda r: (abs(r - hyp_len), r))


def _sentence_scores(
    hyp: Sentence, stats: _ReferenceStats, orders: Sequence[int], self_ref: bool
) -> dict[int, float]:
    """BLEU-n of one hypothesis for each n in `orders`, as NLTK's sentence_bleu computes it."""
    max_n = max(orders)
    precisions = []
    for k in range(1, max_n + 1):
        counts = ngrams(hyp, k)
        matched = sum(
            min(c, stats.max_count(g, k, c if self_ref else 0)) for g, c in counts.items()
        )
        precisions.append((matched, max(1, sum(counts.values()))))
    if precisions[0][0] == 0:
        return {n: 0.0 for n in orders}
    hyp_len = len(hyp)
    ref_len = stats.closest_length(hyp_len, hyp_len if self_ref else None)
    if hyp_len > ref_len:
        bp = 1.0
    elif hyp_len == 0:
        bp = 0.0
    else:
        bp = math.exp(1 - ref_len / hyp_len)
    logs = [math.log((num + EPSILON) / den if num == 0 else num / den) for num, den in precisions]
    return {n: bp * math.exp(math.fsum((1 / n) * logs[k] for k in range(n))) for n in orders}


def _mean_scores(
    hypotheses: Sequence[Sentence], stats: _ReferenceStats, orders: Sequence[int], self_ref: bool
) -> dict[int, float]:
    totals = dict.fromkeys(orders, 0.0)
    for hyp in hypotheses:
        for n, score in _sentence_scores(hyp, stats, orders, self_ref).items():
            totals[n] += score
    return {n: totals[n] / len(hypotheses) for n in orders}


def bleu(
    hypotheses: Sequence[Sentence], references: Sequence[Sentence], orders: Sequence[int] = (2, 3, 4, 5)
) -> dict[int, float]:
    """Texygen BLEU-n: mean over hypotheses of sentence BLEU-n against all `references`."""
    if not hypotheses or not references:
        raise ValueError("bleu needs at least one hypothesis and one reference sentence")
    return _mean_scores(hypotheses, _ReferenceStats(references, max(orders)), orders, self_ref=False)


def bleu_per_sentence(
    hypotheses: Sequence[Sentence], references: Sequence[Sentence], n: int = 5
) -> list[float]:
    """Sentence BLEU-n of each hypothesis against all `references`; `bleu` is their mean.

    Their spread gives BLEU's sampling error: SE = sd / √N for N hypotheses.
    """
    if not hypotheses or not references:
        raise ValueError("bleu_per_sentence needs at least one hypothesis and one reference sentence")
    stats = _ReferenceStats(references, n)
    return [_sentence_scores(h, stats, (n,), self_ref=False)[n] for h in hypotheses]


def self_bleu(samples: Sequence[Sentence], orders: Sequence[int] = (2, 3, 4, 5)) -> dict[int, float]:
    """Texygen Self-BLEU-n: mean over samples of BLEU-n against all the *other* samples.

    Higher means less diverse. It grows with the number of samples: compare equal sizes.
    """
    if len(samples) < 2:
        raise ValueError("self_bleu needs at least two samples")
    return _mean_scores(samples, _ReferenceStats(samples, max(orders)), orders, self_ref=True)


def self_bleu_per_sentence(samples: Sequence[Sentence], n: int = 5) -> list[float]:
    """Sentence BLEU-n of each sample against all the *other* samples; `self_bleu` is their mean."""
    if len(samples) < 2:
        raise ValueError("self_bleu_per_sentence needs at least two samples")
    stats = _ReferenceStats(samples, n)
    return [_sentence_scores(s, stats, (n,), self_ref=True)[n] for s in samples]


def distinct_n(samples: Iterable[Sentence], n: int) -> float:
    """distinct-n (Li et al. 2016) = |{different n-grams}| / #(all n-grams), over all the samples.

    The numerator counts each different n-gram once, however often it occurs (not only those
    that occur once); n-grams are taken within each sentence, never across two. 0 if none.
    """
    total, unique = 0, set()
    for s in samples:
        grams = [tuple(s[i : i + n]) for i in range(len(s) - n + 1)]
        total += len(grams)
        unique.update(grams)
    return len(unique) / total if total else 0.0
