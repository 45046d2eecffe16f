r"""Discriminator rejection sampling of sentences (Azadi et al. 2019), with notebook 05's discriminator.

Given sentences x_1 … x_N from a generator q (any: our GRU, an LLM), a `CNNDiscriminator` is
trained to tell real sentences from *other* samples of q (`fit_discriminator`); then each
candidate is kept with probability σ(F(x)) (`formulas.rejection.drs_accept_probability`), the
bound d_max taken as the largest logit among the candidates themselves (Azadi et al. estimate it
on a burn-in batch and raise it as larger logits come; with every candidate scored first, the
maximum is known, so no logit exceeds it). Kept
samples follow q reweighted by D's estimate of p/q: as far as D has learned p/q, closer to the
data. The candidates D was trained on are never the ones it filters.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch

from ..formulas import gan
from ..formulas.rejection import drs_accept_probability
from ..training import Step, TrainResult, run
from .discriminator import CNNDiscriminator
from .textgan import real_targets


def fit_discriminator(disc: CNNDiscriminator, real: Sequence[Sequence[int]], fake: Sequence[Sequence[int]],
                      steps: int = 200, batch_size: int = 32, lr: float = 1e-3, max_len: int = 20,
                      seed: int = 0, show_progress: bool = False) -> TrainResult:
    """D trained on the loss of notebook 01, −log D(x) − log(1 − D(x̃)), with batches of `real`
    and `fake` sentences (both ``<bos> … <eos>`` id lists), drawn by the run's generator."""
    if not real or not fake:
        raise ValueError(f"{len(real)} real and {len(fake)} generated sentences: D needs both")
    device = disc.out.weight.device
    real_x = real_targets(real, max_len, disc.pad_id).to(device)
    fake_x = real_targets(fake, max_len, disc.pad_id).to(device)

    def step(s: Step) -> dict[str, float]:
        r = torch.randint(len(real_x), (batch_size,), generator=s.rng)
        f = torch.randint(len(fake_x), (batch_size,), generator=s.rng)
        disc.train()
        loss = gan.discriminator_loss(disc(real_x[r]), disc(fake_x[f]))
        s.update("discriminator", loss)
        return {"d_loss": loss}

    result = run(step, steps=steps, optimizers={"discriminator": torch.optim.Adam(disc.parameters(), lr=lr)},
                 modules={"discriminator": disc}, rng=torch.Generator().manual_seed(seed),
                 name="discriminator", hint=f"Lower lr={lr}", show_progress=show_progress)
    disc.eval()
    return result


@torch.no_grad()
def rejection_sample(disc: CNNDiscriminator, candidates: Sequence[Sequence[int]], max_len: int = 20,
                     gamma: float = 0.0, percentile: float | None = None,
                     generator: torch.Generator | None = None) -> dict:
    """Which `candidates` (``<bos> … <eos>`` id lists) DRS keeps: ``kept`` (their indices), ``accept``
    (each one's probability σ(F)), ``logits`` (D's d(x)), ``max_logit`` (d_max, their largest) and
    ``gamma``. With `percentile` p, γ is the p-th percentile of F(x) at γ = 0 over the candidates
    (Azadi et al.'s choice), so that the (100 − p) % with the largest F are kept with probability
    ≥ ½; else γ = `gamma` (0: the exact rejection sampler, which keeps e^{d − d_max})."""
    if not candidates:
        raise ValueError("no candidates to filter; sample some first")
    if percentile is not None and not 0 <= percentile <= 100:
        raise ValueError(f"percentile={percentile}: give a number in [0, 100], or None for a fixed gamma")
    disc.eval()
    logits = disc(real_targets(candidates, max_len, disc.pad_id).to(disc.out.weight.device)).float().cpu()
    max_logit = logits.max().item()
    if percentile is not None:
        f0 = torch.logit(drs_accept_probability(logits.double(), max_logit), eps=1e-12)  # F(x) at γ = 0
        gamma = torch.quantile(f0, percentile / 100).item()
    accept = drs_accept_probability(logits, max_logit, gamma)
    u = torch.rand(len(candidates), generator=generator)
    kept = torch.nonzero(u < accept).squeeze(-1).tolist()
    return {"kept": kept, "accept": accept, "logits": logits, "max_logit": max_logit, "gamma": gamma}
