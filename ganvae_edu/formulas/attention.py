r"""Causal scaled dot-product attention: how a transformer decoder reads the words before this one.

Each position i asks a question q_i and every position j offers a key k_j and a value v_j (all
of width d_h). Position i's answer is an average of the values it may see, weighted by how well
their keys match its question:

    s_ij = q_i · k_j / √d_h                         (the scaled score; √d_h keeps its variance ≈ 1)
    a_ij = exp s_ij / Σ_{j' ≤ i} exp s_ij'   for j ≤ i,   a_ij = 0 for j > i   (causal softmax)
    o_i  = Σ_j a_ij v_j

The mask j ≤ i is what makes it a *decoder*: p(x_t | x_<t) may not read x_t or anything after.
When the keys extend further back than the queries (a cache of earlier positions, or a prefix of
"memory" vectors every query may read), query i sits at absolute position i + (S − T) of the S
keys and sees keys j ≤ i + (S − T). No networks: a formula on tensors.
"""

from __future__ import annotations

import math

import torch
from torch import Tensor


def causal_attention(q: Tensor, k: Tensor, v: Tensor, key_padding: Tensor | None = None) -> Tensor:
    r"""o_i = Σ_{j ≤ i + S − T} softmax_j(q_i · k_j / √d_h) v_j, for q (…, T, d_h), k and v (…, S, d_h).

    S ≥ T: the last T keys are the queries' own positions, the S − T before them are earlier ones
    that every query sees. `key_padding` (…, S), True where a key is padding, hides those keys
    too. Returns o (…, T, d_h).
    """
    T, S = q.shape[-2], k.shape[-2]
    if S < T:
        raise ValueError(f"{S} keys for {T} queries: each query needs its own key (S ≥ T)")
    scores = q @ k.transpose(-2, -1) / math.sqrt(q.shape[-1])  # s_ij, (…, T, S)
    i = torch.arange(T, device=q.device)[:, None] + (S - T)  # each query's absolute position
    j = torch.arange(S, device=q.device)[None, :]
    hidden = j > i  # (T, S): the future
    if key_padding is not None:
        hidden = hidden | key_padding[..., None, :]
    a = torch.softmax(scores.masked_fill(hidden, float("-inf")), dim=-1)  # a_ij, rows sum to 1
    return a @ v  # o_i = Σ_j a_ij v_j
