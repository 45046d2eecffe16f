r"""Reading a text GAN's end state against the truth, when the data's generator is known (`scenes`).

**Where D ends, against where it could.** With as many real as generated sentences, the
Bayes-optimal discriminator D*(x) = p_data(x) / (p_data(x) + p_g(x)) (notebook 01) is right with
probability

    acc* = ½ Σ_x max(p_data(x), p_g(x)) = ½ + ½ TV(p_data, p_g),

    TV(p_data, p_g) = Σ_x max(0, p_g(x) − p_data(x)) = E_{x∼p_g}[max(0, 1 − p_data(x) / p_g(x))],

which a Monte-Carlo mean over the generator's own samples estimates without bias when both
densities are exact: the true grammar's p_data and the language model's p_g. A sample the
grammar cannot produce (p_data = 0) adds 1, so TV ≥ the share of impossible samples. A trained
D whose held-out accuracy is near ½ while acc* is well above it is weak (it has not learnt what
separates them); one near acc* with acc* near ½ is fooled (the generator is close to the data).

**At equal diversity.** `match_temperature` finds the temperature at which a model's samples
reach a target figure (e.g. a GAN's Self-BLEU), by bisection, to compare a GAN with its cooled
language model at the same diversity.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

import torch
from torch import Tensor

from .batches import pad
from .discriminator import CNNDiscriminator
from .lm import GRULanguageModel
from .scenes import SceneGrammar
from .textgan import real_targets


def tv_estimate(log_p_data: Tensor, log_p_model: Tensor) -> tuple[float, float]:
    r"""TV(p_data, p_g) ≈ mean_n max(0, 1 − exp(log p_data(x_n) − log p_g(x_n))), x_n ~ p_g,
    and its standard error. log p_data = −inf (an impossible sample) counts 1."""
    terms = (1 - torch.exp(log_p_data - log_p_model)).clamp(min=0.0)
    se = terms.std().item() / math.sqrt(len(terms)) if len(terms) > 1 else math.nan
    return terms.mean().item(), se


@torch.no_grad()
def generator_tv(lm: GRULanguageModel, grammar: SceneGrammar, decode: Callable[[list[int]], list[str]],
                 n: int, max_len: int, generator: torch.Generator | None = None,
                 temperature: float = 1.0) -> dict[str, float]:
    """TV between the true grammar and the language model (at `temperature`) from n samples.

    p_g(x) is the probability of drawing x: Σ_t log p(x_t | x_<t) plus the end (<eos>), or, for a
    sentence cut at max_len, without it. Returns tv, its standard error se, the share of
    impossible samples (a lower bound on tv) and acc_best = ½ + ½ tv.
    """
    device = lm.out.weight.device
    was_training = lm.training
    lm.eval()
    ids = lm.sample(n, max_len=max_len, generator=generator, temperature=temperature)
    rows = [[lm.bos_id, *x] + ([lm.eos_id] if len(x) < max_len else []) for x in ids]
    batch, lengths = pad(rows, lm.pad_id)
    logits, _ = lm(batch[:, :-1].to(device), (lengths - 1).to(device))
    logp = (logits / temperature).log_softmax(-1)
    targets = batch[:, 1:].to(device)
    mask = targets != lm.pad_id
    log_p_model = (logp.gather(-1, targets[..., None]).squeeze(-1) * mask).sum(1).cpu()
    log_p_data = torch.tensor([grammar.log_prob(decode(x)) for x in ids], dtype=log_p_model.dtype)
    lm.train(was_training)
    tv, se = tv_estimate(log_p_data, log_p_model)
    invalid = (log_p_data == -math.inf).float().mean().item()
    return {"tv": tv, "se": se, "invalid": invalid, "acc_best": 0.5 + 0.5 * tv}


@torch.no_grad()
def discriminator_accuracy(disc: CNNDiscriminator, real: Sequence[Sequence[int]],
                           fake: Sequence[Sequence[int]],
                           max_len: int, eos_id: int, pad_id: int = 0) -> dict[str, float]:
    """A trained D on held-out sentences (dropout off): its mean D on real sentences (<bos> …
    <eos> lists) and on generated ones (id lists as `sample` gives them, read as the REINFORCE
    step reads them: w_1 … <eos>), and its accuracy on the two classes weighted equally, with
    D > ½ read as "real"."""
    device = disc.out.weight.device
    was_training = disc.training
    disc.eval()
    d_real = torch.sigmoid(disc(real_targets(real, max_len, pad_id).to(device))).cpu()
    fake_batch, _ = pad([[*x, eos_id] for x in fake], pad_id)
    d_fake = torch.sigmoid(disc(fake_batch.to(device))).cpu()
    disc.train(was_training)
    accuracy = 0.5 * ((d_real > 0.5).float().mean() + (d_fake <= 0.5).float().mean()).item()
    return {"d_real": d_real.mean().item(), "d_fake": d_fake.mean().item(), "accuracy": accuracy}


def match_temperature(score: Callable[[float], float], target: float, lo: float = 0.3, hi: float = 1.0,
                      iters: int = 6) -> float:
    """The temperature T in [lo, hi] where score(T) = target, by bisection; score must fall as
    T rises (as Self-BLEU does: a cooler model repeats itself). Ends at lo or hi when the target
    lies outside [score(hi), score(lo)]."""
    if score(hi) >= target:
        return hi
    if score(lo) <= target:
        return lo
    for _ in range(iters):
        mid = 0.5 * (lo + hi)
        if score(mid) > target:
            lo = mid
        else:
            hi = mid
    return 0.5 * (lo + hi)
