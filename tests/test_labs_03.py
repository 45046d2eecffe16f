"""Notebook 03's checkers: accept the solution, report a stub as not done, catch the usual
mistakes with a message saying where, refuse the package function that computes the answer."""

from collections import Counter

import pytest
import torch

from ganvae_edu.labs import ExerciseError, text03
from ganvae_edu.labs.feedback import NotDone
from ganvae_edu.text import metrics, sampling


def stub(*args):
    raise NotImplementedError()


def perplexity(log_probs, lengths):
    return torch.exp(-log_probs.sum() / (lengths.sum() + len(lengths)))


def top_p(probs, p):
    sorted_probs, order = probs.sort(dim=-1, descending=True)
    keep_sorted = sorted_probs.cumsum(-1) - sorted_probs < p
    keep = keep_sorted.scatter(-1, order, keep_sorted)
    kept = probs * keep
    return kept / kept.sum(-1, keepdim=True)


def clipped(hyp, refs, n):
    def grams(s):
        return Counter(tuple(s[i:i + n]) for i in range(len(s) - n + 1))

    counts, ref_counts = grams(hyp), [grams(r) for r in refs]
    return sum(min(c, max(rc[g] for rc in ref_counts)) for g, c in counts.items()), sum(counts.values())


def heated(probs, invalid, T):
    h = probs ** (1 / T)
    return (h / h.sum())[invalid].sum()


def test_solutions_pass(capsys):
    text03.perplexity.strict(perplexity)
    text03.top_p_filter.strict(top_p)
    text03.clipped_precision.strict(clipped)
    text03.heated_mass.strict(heated)
    assert capsys.readouterr().out.count("✓") == 4


def test_stubs_are_not_done():
    for check in (text03.perplexity, text03.top_p_filter, text03.clipped_precision, text03.heated_mass):
        with pytest.raises(NotDone):
            check.strict(stub)


def test_usual_mistakes_are_named():
    with pytest.raises(ExerciseError, match="5 tokens with <eos>"):
        text03.perplexity.strict(lambda lp, n: torch.exp(-lp.sum() / n.sum()))  # forgets <eos>

    def strict_nucleus(probs, p):  # drops the token that crosses p
        sorted_probs, order = probs.sort(dim=-1, descending=True)
        keep_sorted = sorted_probs.cumsum(-1) < p
        keep = keep_sorted.scatter(-1, order, keep_sorted)
        kept = probs * keep
        return kept / kept.sum(-1, keepdim=True)

    with pytest.raises(ExerciseError, match=r"p=0\.5, row \d+, token \d+"):
        text03.top_p_filter.strict(strict_nucleus)
    unclipped = lambda h, refs, n: (sum(1 for i in range(len(h) - n + 1)  # noqa: E731
                                        if any(tuple(h[i:i + n]) == tuple(r[j:j + n])
                                               for r in refs for j in range(len(r) - n + 1))),
                                    len(h) - n + 1)
    with pytest.raises(ExerciseError, match="the the the"):
        text03.clipped_precision.strict(unclipped)
    with pytest.raises(ExerciseError, match=r"T = 1\.3 \(raise p to 1/T"):
        text03.heated_mass.strict(lambda p, bad, T: (p * T / (p * T).sum())[bad].sum())  # scales p by T
    with pytest.raises(ExerciseError, match="return one number"):
        text03.heated_mass.strict(lambda p, bad, T: (p ** (1 / T) / (p ** (1 / T)).sum())[bad])  # not summed


def test_package_functions_are_refused():
    with pytest.raises(ExerciseError, match="filter_logits"):
        text03.top_p_filter.strict(lambda probs, p: sampling.filter_logits(probs.log(), top_p=p).softmax(-1))

    def with_ngrams(hyp, refs, n):
        counts = metrics.ngrams(hyp, n)
        return (sum(min(c, max(metrics.ngrams(r, n)[g] for r in refs)) for g, c in counts.items()),
                sum(counts.values()))

    with pytest.raises(ExerciseError, match="ngrams"):
        text03.clipped_precision.strict(with_ngrams)
    with pytest.raises(ExerciseError, match="filter_logits"):
        text03.heated_mass.strict(
            lambda p, bad, T: sampling.filter_logits(p.log(), temperature=T).softmax(-1)[bad].sum())
