r"""Sampling the next token: temperature, top-k and top-p (nucleus), from an explicit generator.

p_T(w) ∝ exp(logit_w / T): T < 1 sharpens (quality up, diversity down), T > 1 flattens.
top-k keeps the k most likely tokens; top-p keeps the smallest set of most likely tokens whose
probability reaches p (Holtzman et al. 2020). What is dropped gets probability 0, the rest is
renormalised.

Every model that generates sentences (`GRULanguageModel`, `TransformerLanguageModel`,
`SentenceVAE`, `TwoStageVAEGAN`) is a `SentenceGenerator`: `model.sample(n, max_len=…,
generator=…, temperature=…)` gives n id lists without <bos> / <eos>; the model knows its own
<bos> and <eos> ids. They share one decoding loop, `decode_loop`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol

import torch
from torch import Tensor


class SentenceGenerator(Protocol):
    """What the notebooks and explorers sample from: anything with this `sample`."""

    def sample(self, n: int, *, max_len: int = 40, generator: torch.Generator | None = None,
               temperature: float = 1.0) -> list[list[int]]:
        """n sentences as id lists (without <bos> / <eos>), each at most max_len tokens."""
        ...


def filter_logits(logits: Tensor, temperature: float = 1.0, top_k: int = 0, top_p: float = 1.0) -> Tensor:
    """Logits (…, V) after temperature, top-k and top-p; dropped entries are -inf."""
    if temperature <= 0:
        raise ValueError(f"temperature={temperature} must be > 0 (use a small value for near-greedy)")
    if not 0 < top_p <= 1:
        raise ValueError(f"top_p={top_p} must be in (0, 1]")
    logits = logits / temperature
    if top_k and top_k < logits.shape[-1]:
        kth = torch.topk(logits, top_k, dim=-1).values[..., -1:]
        logits = logits.masked_fill(logits < kth, float("-inf"))
    if top_p < 1:
        sorted_logits, order = torch.sort(logits, dim=-1, descending=True)
        probs = sorted_logits.softmax(-1)
        # drop a token when the tokens strictly before it already reach top_p
        drop_sorted = probs.cumsum(-1) - probs >= top_p
        drop = drop_sorted.scatter(-1, order, drop_sorted)
        logits = logits.masked_fill(drop, float("-inf"))
    return logits


def sample_next(
    logits: Tensor,
    generator: torch.Generator | None = None,
    temperature: float = 1.0,
    top_k: int = 0,
    top_p: float = 1.0,
) -> Tensor:
    """One token id per row of `logits` (B, V), drawn on the CPU from `generator`."""
    probs = filter_logits(logits.float(), temperature, top_k, top_p).softmax(-1).cpu()
    return torch.multinomial(probs, 1, generator=generator).squeeze(-1).to(logits.device)


def decode_loop(step: Callable[[Tensor, Any], tuple[Tensor, Any]], n: int, bos_id: int, eos_id: int,
                max_len: int, device: torch.device | str,
                pick: Callable[[Tensor], Tensor],
                select: Callable[[Any, Tensor], Any] | None = None) -> list[list[int]]:
    """n sentences (id lists without <bos> / <eos>) from a left-to-right decoder.

    `step(tokens (n, 1), state)` gives next-token logits (n, 1, V) and the state to continue from
    (None at first); `pick(logits (n, V))` chooses the next ids (n,), e.g. `sample_next`. Each
    sentence ends at its first <eos> or after `max_len` tokens; decoding stops when all have.

    With `select(state, keep)`, finished sentences leave the batch: `keep` (m,) holds the
    positions, in the current batch, of the rows still running, `select` returns their state,
    and later steps get only those rows. One long sentence then no longer makes every row decode
    to its end (a large model's cost); without it every row runs to the last step.
    """
    token = torch.full((n, 1), bos_id, dtype=torch.long, device=device)
    state, done = None, [False] * n
    out: list[list[int]] = [[] for _ in range(n)]
    rows = list(range(n))  # the sentence each row of the current batch belongs to
    for _ in range(max_len):
        logits, state = step(token, state)
        nxt = pick(logits[:, -1])
        for j, t in enumerate(nxt.tolist()):
            i = rows[j]
            if not done[i]:
                if t == eos_id:
                    done[i] = True
                else:
                    out[i].append(t)
        if all(done):
            break
        if select is not None:
            keep = [j for j, i in enumerate(rows) if not done[i]]
            if len(keep) < len(rows):
                idx = torch.tensor(keep, dtype=torch.long, device=nxt.device)
                state, rows, nxt = select(state, idx), [rows[j] for j in keep], nxt[idx]
        token = nxt[:, None]
    return out
