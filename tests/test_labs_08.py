"""Notebook 08's checkers: each accepts the solution, reports a stub as not done, catches the
usual mistakes with a message saying where, and refuses the package function that computes it.
None needs the pretrained LLM: pure torch, fast."""

import math
import subprocess
import sys

import pytest
import torch

from ganvae_edu.formulas import attention, kl_reward, rejection, vae
from ganvae_edu.labs import llm08
from ganvae_edu.labs.feedback import ExerciseError, NotDone
from ganvae_edu.llm import judge
from ganvae_edu.text.tokenize import word_tokenize


def stub(*args):
    raise NotImplementedError()


def attend(q, k, v, scale=True, mask=True, dim=-1):
    s = q @ k.T / (math.sqrt(q.shape[-1]) if scale else 1.0)
    if mask:
        s = s.masked_fill(torch.ones(len(q), len(k), dtype=torch.bool).triu(1), float("-inf"))
    return s.softmax(dim) @ v


def test_causal_attention():
    llm08.causal_attention.strict(attend)
    with pytest.raises(NotDone):
        llm08.causal_attention.strict(stub)
    with pytest.raises(ExerciseError, match="the future leaks: position i attends"):
        llm08.causal_attention.strict(lambda q, k, v: attend(q, k, v, mask=False))
    with pytest.raises(ExerciseError, match="scale the scores by 1/√d \\(d = 8\\)"):
        llm08.causal_attention.strict(lambda q, k, v: attend(q, k, v, scale=False))
    with pytest.raises(ExerciseError, match="not by d = 8"):
        llm08.causal_attention.strict(lambda q, k, v: attend(q / math.sqrt(q.shape[-1]), k, v))
    with pytest.raises(ExerciseError, match="softmax over the wrong axis"):
        llm08.causal_attention.strict(lambda q, k, v: attend(q, k, v, dim=0))

    def half_masked(q, k, v):  # a leak the formulas above do not make: only the last key is hidden
        s = q @ k.T / math.sqrt(q.shape[-1])
        s[:-1, -1] = float("-inf")
        return s.softmax(-1) @ v

    with pytest.raises(ExerciseError, match="your output at position 0 changes when positions 4 and 5"):
        llm08.causal_attention.strict(half_masked)
    with pytest.raises(ExerciseError, match="query position"):
        llm08.causal_attention.strict(lambda q, k, v: attend(q, k, v) + 0.01)
    with pytest.raises(ExerciseError, match="package's `ganvae_edu.formulas.attention.causal_attention`"):
        llm08.causal_attention.strict(attention.causal_attention)
    with pytest.raises(ExerciseError, match="calls `torch.nn.functional.scaled_dot_product_attention`"):
        llm08.causal_attention.strict(
            lambda q, k, v: torch.nn.functional.scaled_dot_product_attention(q, k, v, is_causal=True))


def per_word(token_nlls, sentences):
    return sum(map(sum, token_nlls)) / sum(len(word_tokenize(s)) + 1 for s in sentences)


def test_nll_per_word(monkeypatch):
    llm08.nll_per_word.strict(per_word)
    llm08.nll_per_word.strict(lambda t, s: torch.tensor(per_word(t, s)))  # a 0-d tensor is a number too
    with pytest.raises(NotDone):
        llm08.nll_per_word.strict(stub)
    with pytest.raises(ExerciseError, match="you divided by the LLM's 42 sub-word tokens"):
        llm08.nll_per_word.strict(lambda t, s: sum(map(sum, t)) / sum(map(len, t)))
    with pytest.raises(ExerciseError, match="count one end per sentence"):
        llm08.nll_per_word.strict(lambda t, s: sum(map(sum, t)) / sum(len(word_tokenize(x)) for x in s))
    with pytest.raises(ExerciseError, match="pool the sentences"):
        llm08.nll_per_word.strict(
            lambda t, s: sum(sum(a) / (len(word_tokenize(x)) + 1) for a, x in zip(t, s)) / len(s))
    with pytest.raises(ExerciseError, match="count words with word_tokenize"):
        llm08.nll_per_word.strict(lambda t, s: sum(map(sum, t)) / sum(len(x.split()) + 1 for x in s))
    with pytest.raises(ExerciseError, match="the end token's included"):
        llm08.nll_per_word.strict(lambda t, s: per_word([a[:-1] for a in t], s))
    with pytest.raises(ExerciseError, match="one number"):
        llm08.nll_per_word.strict(lambda t, s: [per_word(t, s)])
    # the judge itself, its LLM replaced by the given NLLs: the right number, through the package
    monkeypatch.setattr(judge, "sentence_nll", lambda nlls, sentences, batch_size=32: [sum(t) for t in nlls])
    with pytest.raises(ExerciseError, match="package's `ganvae_edu.llm.judge.llm_nll_per_word`"):
        llm08.nll_per_word.strict(judge.llm_nll_per_word)


def drs(logits, max_logit, gamma, clamp=True, sign=-1):
    shifted = (logits.clamp(max=max_logit) if clamp else logits) - max_logit - 1e-6
    return torch.sigmoid(shifted - torch.log1p(-torch.exp(shifted)) + sign * gamma)


def test_drs_acceptance():
    llm08.drs_acceptance.strict(drs)
    with pytest.raises(NotDone):
        llm08.drs_acceptance.strict(stub)
    with pytest.raises(ExerciseError, match="> d_max = 1.5 \\(γ = 0.0\\): take min\\(d, d_max\\)"):
        llm08.drs_acceptance.strict(lambda d, m, g: drs(d, m, g, clamp=False))
    with pytest.raises(ExerciseError, match="minus sign .* at γ = -1.0 the acceptance must rise"):
        llm08.drs_acceptance.strict(lambda d, m, g: drs(d, m, g, sign=+1))
    with pytest.raises(ExerciseError, match="logit d = .*, d_max = 1.5, γ = 0.0"):  # forgot the log term
        llm08.drs_acceptance.strict(lambda d, m, g: torch.sigmoid(d.clamp(max=m) - m - 1e-6 - g))
    with pytest.raises(ExerciseError, match="drs_accept_probability"):
        llm08.drs_acceptance.strict(rejection.drs_accept_probability)


def test_kl_shaped():
    llm08.kl_shaped.strict(lambda r, lp, ref, beta: (r - beta * (lp - ref)).detach())
    with pytest.raises(NotDone):
        llm08.kl_shaped.strict(stub)
    with pytest.raises(ExerciseError, match="the KL term has the wrong sign"):
        llm08.kl_shaped.strict(lambda r, lp, ref, beta: (r + beta * (lp - ref)).detach())
    with pytest.raises(ExerciseError, match="multiply the log-ratio by β"):
        llm08.kl_shaped.strict(lambda r, lp, ref, beta: (r - (lp - ref)).detach())
    with pytest.raises(ExerciseError, match="carries a gradient"):
        llm08.kl_shaped.strict(lambda r, lp, ref, beta: r - beta * (lp - ref))
    with pytest.raises(ExerciseError, match="carries a gradient"):  # detached log π, live reward
        llm08.kl_shaped.strict(lambda r, lp, ref, beta: r - beta * (lp.detach() - ref))
    with pytest.raises(ExerciseError, match="sample \\d+, β = 0.1"):
        llm08.kl_shaped.strict(lambda r, lp, ref, beta: (r - beta * lp).detach())
    for package in (kl_reward.kl_shaped_reward,
                    lambda r, lp, ref, beta: kl_reward.kl_reinforce_loss(r, lp, ref, beta).detach() * r):
        with pytest.raises(ExerciseError, match="computes the answer itself"):
            llm08.kl_shaped.strict(package)


def test_active_units():
    llm08.active_units.strict(lambda mu, t: int((mu.var(0) > t).sum()))
    llm08.active_units.strict(lambda mu, t: (mu.var(dim=0) > t).sum())  # an integer tensor is a count too
    with pytest.raises(NotDone):
        llm08.active_units.strict(stub)
    with pytest.raises(ExerciseError, match="you count 12 active units .* over the 12 sentences \\(dim 0"):
        llm08.active_units.strict(lambda mu, t: int((mu.var(1) > t).sum()))
    with pytest.raises(ExerciseError, match="use the sample variance"):
        llm08.active_units.strict(lambda mu, t: int((mu.var(0, unbiased=False) > t).sum()))
    with pytest.raises(ExerciseError, match="not the standard deviation"):
        llm08.active_units.strict(lambda mu, t: int((mu.std(0) > t).sum()))
    with pytest.raises(ExerciseError, match="a variance, not a mean square"):
        llm08.active_units.strict(lambda mu, t: int(((mu ** 2).mean(0) > t).sum()))
    with pytest.raises(ExerciseError, match="compare with the `threshold` argument \\(0.2\\)"):
        llm08.active_units.strict(lambda mu, t: int((mu.var(0) > 0.01).sum()))
    with pytest.raises(ExerciseError, match="a whole number"):
        llm08.active_units.strict(lambda mu, t: float((mu.var(0) > t).sum()))
    with pytest.raises(ExerciseError, match="package's `ganvae_edu.formulas.vae.active_units`"):
        llm08.active_units.strict(vae.active_units)


@pytest.mark.slow  # a fresh interpreter (torch's import): seconds
def test_the_checkers_need_no_llm():
    code = "import sys, ganvae_edu.labs.llm08; assert 'transformers' not in sys.modules"
    subprocess.run([sys.executable, "-c", code], check=True)


def test_the_decorated_checkers_never_raise(capsys):
    llm08.causal_attention(stub)
    llm08.active_units(lambda mu, t: 0)
    out = capsys.readouterr().out
    assert "not done yet" in out and "you count 0 active units" in out
