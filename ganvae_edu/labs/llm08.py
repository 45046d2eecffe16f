"""Checkers for notebook 08's exercises (GANs and VAEs at language-model scale): causal attention,
the judge's NLL per word, the DRS acceptance probability, the KL-shaped reward, active units.

Pure torch on small made-up inputs: none needs the pretrained LLM (or transformers)."""

from __future__ import annotations

import math
import random
import sys
from collections.abc import Callable

import torch

from ganvae_edu.formulas import attention, kl_reward, rejection, vae
from ganvae_edu.llm import judge
from ganvae_edu.text.tokenize import word_tokenize

from .feedback import ExerciseError, assert_close, call, exercise, passed

# torch's fused attention is a C function, which `call`'s forbid (it watches Python frames) cannot see
_C_ATTENTION = (torch.nn.functional.scaled_dot_product_attention,)
_ATTENTION = (attention.causal_attention, torch.nn.functional.multi_head_attention_forward)


def _watching(fn: Callable, builtins: tuple, used: list) -> Callable:
    """fn, recording in `used` the first of `builtins` (C functions) it calls; chains `call`'s own watch."""

    def watched(*args):
        outer = sys.getprofile()

        def hook(frame, event, arg):
            if event == "c_call" and not used and any(arg is b for b in builtins):
                used.append(arg)
            if outer is not None:
                outer(frame, event, arg)

        sys.setprofile(hook)
        try:
            return fn(*args)
        finally:
            sys.setprofile(outer)

    return watched


def _number(got, ex: str, what: str) -> float:
    """`got` as a float: a Python number or a one-element tensor."""
    if isinstance(got, torch.Tensor) and got.numel() == 1:
        got = got.item()
    if not isinstance(got, (int, float)) or isinstance(got, bool):
        raise ExerciseError(f"{ex}: return one number, {what}, not {type(got).__name__}")
    return float(got)


def _same(got, want: torch.Tensor) -> bool:
    return (isinstance(got, torch.Tensor) and got.shape == want.shape
            and torch.allclose(got.detach().double(), want, atol=1e-6, rtol=1e-5))


@exercise
def causal_attention(fn: Callable) -> None:
    """fn(q, k, v) → softmax(q kᵀ/√d + M) v for q, k, v (T, d), M_ij = −∞ for j > i (the future), else 0."""
    ex = "Exercise 1 (causal attention)"
    g = torch.Generator().manual_seed(80)
    for T, d in ((6, 8), (5, 16)):
        q, k, v = (torch.randn(T, d, generator=g, dtype=torch.float64) for _ in range(3))
        used: list = []
        got = call(_watching(fn, _C_ATTENTION, used), q.clone(), k.clone(), v.clone(), exercise=ex,
                   forbid=_ATTENTION)
        if used:
            raise ExerciseError(f"{ex}: your code calls `torch.nn.functional.scaled_dot_product_attention`, "
                                "which computes the answer itself; work it out yourself — that is the "
                                "exercise")
        scores = q @ k.T
        future = torch.ones(T, T, dtype=torch.bool).triu(1)
        want = attention.causal_attention(q, k, v)
        mistakes = (
            ((scores / math.sqrt(d)).softmax(-1) @ v,
             "the future leaks: position i attends to positions j > i; set the scores above the diagonal "
             "to −∞ before the softmax"),
            (scores.masked_fill(future, -math.inf).softmax(-1) @ v,
             f"scale the scores by 1/√d (d = {d}) before the softmax"),
            ((scores / d).masked_fill(future, -math.inf).softmax(-1) @ v,
             f"divide the scores by √d = {math.sqrt(d):.3g}, not by d = {d}"),
            ((scores / math.sqrt(d)).masked_fill(future, -math.inf).softmax(0) @ v,
             "softmax over the wrong axis: each query's weights run over the keys j (the last axis of "
             "q kᵀ) and sum to 1 along a row"),
        )
        for wrong, why in mistakes:
            if not _same(got, want) and _same(got, wrong):
                raise ExerciseError(f"{ex}: {why} (T = {T}, d = {d})")
        if isinstance(got, torch.Tensor) and got.shape == want.shape:
            # o_i may read only positions ≤ i: change the last two positions, the others must not move
            later = torch.arange(T) >= T - 2
            q2, k2, v2 = (x.masked_fill(later[:, None], 3.0) for x in (q, k, v))
            moved = call(fn, q2, k2, v2, exercise=ex, forbid=_ATTENTION)
            if isinstance(moved, torch.Tensor) and moved.shape == got.shape:
                diff = (moved.detach() - got.detach()).abs()[: T - 2].amax(-1) > 1e-6
                if diff.any():
                    i = int(diff.nonzero()[0])
                    raise ExerciseError(f"{ex}: the future leaks: your output at position {i} changes when "
                                        f"positions {T - 2} and {T - 1} change; mask scores j > i with −∞")
        assert_close(got, want, exercise=ex,
                     where=lambda i, d=d, T=T: f"query position {i // d}, feature {i % d} (T = {T}, d = {d})")
    passed(ex, "softmax(q kᵀ/√d + causal mask) v correct, and no position reads a later one")


# (sentence, its LLM sub-word tokens' count, end token included): more tokens than words, as with BPE
_SENTENCES = (
    ("A woman, smiling, holds an umbrella.", 12),
    ("two dogs play in the snow", 8),
    ("The skateboarder's jump", 7),
    ("kids", 2),
    ("a man rides a horse on the beach at sunset", 13),
)


@exercise
def nll_per_word(fn: Callable) -> None:
    """fn(token_nlls, sentences) → Σ_s Σ_t token_nlls[s][t] / Σ_s (len(word_tokenize(s)) + 1): the LLM's
    nats over all its sub-word tokens (end included), pooled, per word of ours plus one end per sentence."""
    ex = "Exercise 2 (NLL per word)"
    rng = random.Random(81)
    sentences = [s for s, _ in _SENTENCES]
    token_nlls = [[round(rng.uniform(0.2, 7.0), 3) for _ in range(n)] for _, n in _SENTENCES]
    got = _number(call(fn, [list(t) for t in token_nlls], list(sentences), exercise=ex,
                       forbid=(judge.llm_nll_per_word, judge.sentence_nll)), ex, "the NLL per word")
    total = sum(map(sum, token_nlls))
    words = [len(word_tokenize(s)) for s in sentences]
    want = total / sum(w + 1 for w in words)
    mistakes = (
        (total / sum(map(len, token_nlls)),
         f"you divided by the LLM's {sum(map(len, token_nlls))} sub-word tokens; divide by our words + 1 end "
         f"per sentence ({sum(w + 1 for w in words)}), the count of notebooks 03–07's per-token NLL"),
        (total / sum(words), "count one end per sentence: the denominator is Σ_s (words(s) + 1)"),
        (sum(sum(t) / (w + 1) for t, w in zip(token_nlls, words)) / len(words),
         "pool the sentences: the total NLL over the total count, not the mean of per-sentence ratios"),
        (total / sum(len(s.split()) + 1 for s in sentences),
         "count words with word_tokenize: punctuation marks are words too ('smiling,' is two)"),
        ((total - sum(t[-1] for t in token_nlls)) / sum(w + 1 for w in words),
         "add up every token's NLL, the end token's included (it is the last of each list)"),
    )
    if not math.isclose(got, want, rel_tol=1e-6):
        why = next((why for wrong, why in mistakes if math.isclose(got, wrong, rel_tol=1e-6)),
                   "Σ of all the token NLLs / Σ (words + 1)")
        raise ExerciseError(f"{ex}: your value is {got:.6g}, expected {want:.6g} ({why})")
    passed(ex, f"{want:.4f} nats per word: all sub-word NLLs over {sum(w + 1 for w in words)} words and ends")


@exercise
def drs_acceptance(fn: Callable) -> None:
    """fn(logits, max_logit, gamma) → σ(F), F = d − d_max − ε − log(1 − exp(d − d_max − ε)) − γ, ε = 1e-6,
    logits d above max_logit taken as d_max (as `rejection.drs_accept_probability`)."""
    ex = "Exercise 3 (DRS acceptance)"
    g = torch.Generator().manual_seed(82)
    max_logit = 1.5  # a burn-in estimate: a few later samples beat it
    logits = torch.cat([torch.randn(20, generator=g, dtype=torch.float64) * 2 - 1,
                        torch.tensor([max_logit, 2.3, 4.0, -9.0], dtype=torch.float64)])
    above = logits > max_logit
    for gamma in (0.0, -1.0, 2.0):
        got = call(fn, logits.clone(), max_logit, gamma, exercise=ex,
                   forbid=(rejection.drs_accept_probability,))
        want = rejection.drs_accept_probability(logits, max_logit, gamma)
        if isinstance(got, torch.Tensor) and got.shape == want.shape and not _same(got, want):
            if _same(got[~above], want[~above]):
                d = logits[above][0].item()
                raise ExerciseError(f"{ex}: wrong at d = {d:.3g} > d_max = {max_logit} (γ = {gamma}): take "
                                    "min(d, d_max) first, so exp(d − d_max − ε) < 1 and the probability ≤ 1")
            if gamma and _same(got, rejection.drs_accept_probability(logits, max_logit, -gamma)):
                raise ExerciseError(f"{ex}: γ enters F with a minus sign (F = … − γ): at γ = {gamma} the "
                                    f"acceptance must {'fall' if gamma > 0 else 'rise'}")
        assert_close(got, want, exercise=ex, where=lambda i, gamma=gamma: (
            f"logit d = {logits[i].item():.3g}, d_max = {max_logit}, γ = {gamma} "
            "(F = d − d_max − ε − log(1 − e^(d − d_max − ε)) − γ)"))
    passed(ex, "σ(F) correct at γ = 0, −1 and 2, logits above d_max included")


@exercise
def kl_shaped(fn: Callable) -> None:
    """fn(reward, log_prob, ref_log_prob, beta) → r − β (log π − log π_ref), detached (no gradient)."""
    ex = "Exercise 4 (KL-shaped reward)"
    g = torch.Generator().manual_seed(83)
    theta = torch.randn(20, generator=g, dtype=torch.float64, requires_grad=True)
    score = torch.randn(20, generator=g, dtype=torch.float64, requires_grad=True)
    ref_log_prob = torch.nn.functional.logsigmoid(torch.randn(20, generator=g, dtype=torch.float64))
    r, lp = torch.sigmoid(score.detach()), torch.nn.functional.logsigmoid(theta.detach())
    for beta in (0.1, 2.0):
        reward = torch.sigmoid(score)  # a discriminator's D(x): differentiable, like log π
        log_prob = torch.nn.functional.logsigmoid(theta)
        got = call(fn, reward, log_prob, ref_log_prob.clone(), beta, exercise=ex,
                   forbid=(kl_reward.kl_shaped_reward, kl_reward.kl_reinforce_loss))
        want = r - beta * (lp - ref_log_prob)
        if not _same(got, want):
            if _same(got, r + beta * (lp - ref_log_prob)):
                raise ExerciseError(f"{ex}: the KL term has the wrong sign: r − β (log π − log π_ref) "
                                    "penalises what the policy likes more than the reference does")
            if _same(got, r - (lp - ref_log_prob)):
                raise ExerciseError(f"{ex}: multiply the log-ratio by β (β = {beta})")
        assert_close(got, want, exercise=ex, where=lambda i, beta=beta: f"sample {i}, β = {beta}")
        if got.requires_grad:
            raise ExerciseError(f"{ex}: your shaped reward carries a gradient (through log π or r): detach "
                                "it — REINFORCE weights ∇ log π by r̃ held constant")
    passed(ex, "r − β (log π − log π_ref) at β = 0.1 and 2, a constant for the gradient")


# sample variances (÷ N − 1) and means of the latent dimensions' posterior means over N = 12 sentences
_N = 12
_VARIANCES = (5e-5, 0.003, 0.005, 0.0105, 0.05, 0.21, 0.3, 0.5, 1.0, 0.001, 0.0)
_MEANS = (0.3, 0.0, 0.0, 0.0, 0.0, -0.5, 0.0, 0.0, 0.0, 2.0, 0.05)


def _posterior_means() -> torch.Tensor:
    g = torch.Generator().manual_seed(84)
    z = torch.randn(_N, len(_VARIANCES), generator=g, dtype=torch.float64)
    z = (z - z.mean(0)) / z.std(0)  # each column: mean 0, sample variance 1 exactly
    var, mean = (torch.tensor(x, dtype=torch.float64) for x in (_VARIANCES, _MEANS))
    return z * var.sqrt() + mean


@exercise
def active_units(fn: Callable) -> None:
    """fn(mu, threshold) → how many of mu's D columns (latent dimensions) have a sample variance
    (÷ N − 1, torch's `var`) over the N rows (sentences) above threshold, as `vae.active_units`."""
    ex = "Exercise 5 (active units)"
    mu = _posterior_means()
    for threshold in (0.01, 0.2):
        got = call(fn, mu.clone(), threshold, exercise=ex, forbid=(vae.active_units,))
        if isinstance(got, torch.Tensor) and got.numel() == 1 and not got.is_floating_point():
            got = got.item()
        if not isinstance(got, int) or isinstance(got, bool):
            raise ExerciseError(f"{ex}: return a whole number (an int), the count, not {type(got).__name__}")
        want = int((mu.var(0) > threshold).sum())
        if got == want:
            continue
        if threshold != 0.01 and got == int((mu.var(0) > 0.01).sum()):
            raise ExerciseError(f"{ex}: you count {got}, the active units at 0.01; compare with the "
                                f"`threshold` argument ({threshold})")
        uncentred = "subtract each dimension's mean first: a variance, not a mean square"
        mistakes = (
            (mu.var(1), f"take each latent dimension's variance over the {_N} sentences (dim 0, down a "
                        "column), not the variance across one sentence's dimensions"),
            (mu.var(0, correction=0), "use the sample variance (÷ N − 1, torch's default `var`), as the "
                                      "package does: one dimension is just above the threshold with it, just "
                                      "below with ÷ N"),
            (mu.std(0), "compare the variance with the threshold, not the standard deviation"),
            (mu.pow(2).mean(0), uncentred),
            (mu.pow(2).sum(0) / (_N - 1), uncentred),
        )
        why = next((why for stat, why in mistakes if int((stat > threshold).sum()) == got),
                   "count the columns whose variance over the rows exceeds the threshold")
        raise ExerciseError(f"{ex}: you count {got} active units at threshold {threshold}, expected {want} "
                            f"({why})")
    passed(ex, "Var_x(E_q[z_d | x]) > threshold counted at 0.01 and 0.2")
