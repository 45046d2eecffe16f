r"""Evaluating a text model: NLL on real sentences, and the metrics of what it generates.

Two NLLs of real sentences under a model, both in nats:

* **per token** (`evaluate_nll`): −Σ log p(x_t | x_<t) / Σ (|x| + 1), every real token and the
  end-of-sentence token counted once; exp of it is the perplexity. Every notebook reports this.
* **NLL_gen** (`nll_gen`), as the text-GAN papers report it (Texygen, LeakGAN, RelGAN): each
  test sentence is padded to `pad_to` positions (37 on COCO) and the loss is averaged over
  *all* positions, padding included. Their models learn that padding follows the end, almost
  free; here a sentence stops at <eos> (an absorbing end), so the padded positions cost 0 and

      NLL_gen = Σ_x −log p(x) / (N · pad_to),

  which is lower than the per-token NLL by the factor mean(|x| + 1) / pad_to. Compare it only
  with numbers under the same definition.

`sample_metrics` scores a set of generated sentences the same way for every model, under the
flat `metrics.json` names ``PREFIX.bleu.N``, ``PREFIX.self_bleu.N``, ``PREFIX.distinct.N``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
from torch import nn

from .batches import length_batches, pad
from .metrics import bleu, distinct_n, self_bleu
from .scenes import SceneGrammar

ORDERS = (2, 3, 4, 5)


@torch.no_grad()
def _total_nll(model: nn.Module, sequences: Sequence[Sequence[int]], batch_size: int) -> tuple[float, int]:
    device = next(model.parameters()).device
    was_training = model.training
    model.eval()
    total, count = 0.0, 0
    for idx in length_batches(sequences, batch_size):
        batch, lengths = pad([sequences[i] for i in idx], model.pad_id)
        loss, n = model.nll(batch.to(device), lengths.to(device))
        total, count = total + loss.item(), count + n
    model.train(was_training)
    return total, count


def evaluate_nll(model: nn.Module, sequences: Sequence[Sequence[int]], batch_size: int = 256) -> float:
    """NLL in nats per token (counting <eos>) of `sequences` (<bos> … <eos> id lists)."""
    total, count = _total_nll(model, sequences, batch_size)
    return total / count


def nll_gen(model: nn.Module, sequences: Sequence[Sequence[int]], pad_to: int = 37,
            batch_size: int = 256) -> float:
    """NLL_gen as the text-GAN papers define it: Σ_x −log p(x) / (N · pad_to) (module docstring).

    A sentence longer than `pad_to` counts with its own length, as if padded to it.
    """
    if pad_to < 1:
        raise ValueError(f"pad_to={pad_to} must be ≥ 1")
    total, _ = _total_nll(model, sequences, batch_size)
    positions = sum(max(pad_to, len(s) - 1) for s in sequences)  # len(s) - 1: targets after <bos>
    return total / positions


def nll_gen_from_per_token(nll_per_token: float, sequences: Sequence[Sequence[int]],
                           pad_to: int = 37) -> float:
    """NLL_gen from a per-token NLL (or bound) of the same `sequences`, e.g. a VAE's IW bound.

    The total Σ −log p(x) = nll_per_token · Σ (|x| + 1) is spread over the padded positions.
    """
    if pad_to < 1:
        raise ValueError(f"pad_to={pad_to} must be ≥ 1")
    tokens = sum(len(s) - 1 for s in sequences)
    return nll_per_token * tokens / sum(max(pad_to, len(s) - 1) for s in sequences)


def sample_metrics(
    prefix: str,
    samples: Sequence[Sequence[str]],
    references: Sequence[Sequence[str]],
    orders: Sequence[int] = ORDERS,
    distinct: Sequence[int] = (1, 2),
) -> dict[str, float]:
    """BLEU-n against `references`, Self-BLEU-n and distinct-n of `samples`, named PREFIX.metric.n."""
    out: dict[str, float] = {}
    for n, v in bleu(samples, references, orders).items():
        out[f"{prefix}.bleu.{n}"] = v
    for n, v in self_bleu(samples, orders).items():
        out[f"{prefix}.self_bleu.{n}"] = v
    for n in distinct:
        out[f"{prefix}.distinct.{n}"] = distinct_n(samples, n)
    out[f"{prefix}.mean_length"] = sum(map(len, samples)) / len(samples)
    return out


def true_log_probs(grammar: SceneGrammar, samples: Sequence[Sequence[str]]) -> list[float]:
    """Exact log-probability of each sample under the generator of the data (−inf: impossible)."""
    return [grammar.log_prob(s) for s in samples]


def true_sample_metrics(
    prefix: str, grammar: SceneGrammar, samples: Sequence[Sequence[str]]
) -> dict[str, float]:
    """How well samples follow the true distribution: the share it could produce at all, and
    the mean −log p_true per token (counting <eos>) of those it could (PREFIX.true_nll_per_token).

    Lower true NLL than the data's own entropy means the samples sit in the generator's most
    likely sentences: quality bought with diversity.
    """
    logps = true_log_probs(grammar, samples)
    valid = [(lp, len(s) + 1) for lp, s in zip(logps, samples) if lp > -math.inf]
    out = {f"{prefix}.valid_fraction": len(valid) / len(samples)}
    out[f"{prefix}.true_nll_per_token"] = (
        -sum(lp for lp, _ in valid) / sum(n for _, n in valid) if valid else math.nan
    )
    return out


def error_kinds(grammar: SceneGrammar, samples: Sequence[Sequence[str]]) -> list[str]:
    """What is wrong with each sample, by the true grammar: "valid" (it can produce it),
    "mixes scenes" (every word fits its slot of the template, but no single scene has them
    all: `SceneGrammar.pooled` can produce it) or "breaks the template" (a word in a slot it
    does not belong to, a missing slot, a cut phrase or ending)."""
    pooled = grammar.pooled()
    kinds = []
    for s in samples:
        if grammar.log_prob(s) > -math.inf:
            kinds.append("valid")
        elif pooled.log_prob(s) > -math.inf:
            kinds.append("mixes scenes")
        else:
            kinds.append("breaks the template")
    return kinds


def latent_mix(grammar: SceneGrammar, samples: Sequence[Sequence[str]],
               factor: str = "scene") -> dict[str, float]:
    """The mix of a latent factor ("scene" or "style") among samples: P(value | x) by Bayes'
    rule under the true grammar, averaged over the samples it can produce."""
    which = {"scene": 0, "style": 1}.get(factor)
    if which is None:
        raise ValueError(f"factor={factor!r}: use 'scene' or 'style'")
    mix: dict[str, float] = {}
    valid = [s for s in samples if grammar.log_prob(s) > -math.inf]
    for s in valid:
        for lat, p in grammar.posterior(s).items():
            mix[lat[which]] = mix.get(lat[which], 0.0) + p / len(valid)
    return mix


def total_variation(p: dict[str, float], q: dict[str, float]) -> float:
    """TV(p, q) = ½ Σ_v |p(v) − q(v)|, 0 for the same mix, 1 for disjoint ones."""
    return 0.5 * sum(abs(p.get(v, 0.0) - q.get(v, 0.0)) for v in set(p) | set(q))


def score_samples(prefix: str, samples: Sequence[Sequence[str]], references: Sequence[Sequence[str]],
                  grammar: SceneGrammar | None = None,
                  data_mix: dict[str, float] | None = None) -> dict[str, float]:
    """Everything the notebooks report about one set of samples, under PREFIX.*:

    `sample_metrics` (BLEU-n, Self-BLEU-n, distinct-n, mean length) and, when the true grammar is
    known, `true_sample_metrics`, the scene mix of the samples (PREFIX.scene_mix.SCENE) and its
    total-variation distance to `data_mix` (PREFIX.scene_tv).
    """
    out = sample_metrics(prefix, samples, references)
    if grammar is not None:
        out.update(true_sample_metrics(prefix, grammar, samples))
        mix = latent_mix(grammar, samples)
        out.update({f"{prefix}.scene_mix.{scene}": p for scene, p in sorted(mix.items())})
        if data_mix is not None:
            out[f"{prefix}.scene_tv"] = total_variation(mix, data_mix)
    return out
