"""Minibatches of token-id sequences that waste little on padding: group by length, then pad."""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import Tensor, nn
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence


def pad(sequences: Sequence[Sequence[int]], pad_id: int = 0) -> tuple[Tensor, Tensor]:
    """(B, T_max) LongTensor padded with pad_id, and the lengths (B,)."""
    lengths = torch.tensor([len(s) for s in sequences], dtype=torch.long)
    out = torch.full((len(sequences), int(lengths.max())), pad_id, dtype=torch.long)
    for i, s in enumerate(sequences):
        out[i, : len(s)] = torch.as_tensor(s, dtype=torch.long)
    return out, lengths


def length_batches(sequences: Sequence[Sequence[int]], batch_size: int) -> list[list[int]]:
    """Indices of `sequences` sorted by length and cut into batches: little padding in each.

    The batches are fixed; a training loop picks among them at random each step (from a
    seeded generator, so a resumed run picks the same ones).
    """
    order = sorted(range(len(sequences)), key=lambda i: len(sequences[i]))
    return [order[i : i + batch_size] for i in range(0, len(order), batch_size)]


def padding_fraction(batches: Sequence[tuple[Tensor, Tensor]]) -> float:
    """Share of the padded positions that are padding."""
    cells = sum(x.numel() for x, _ in batches)
    real = sum(int(lengths.sum()) for _, lengths in batches)
    return 1 - real / cells


def run_rnn(rnn: nn.RNNBase, x: Tensor, lengths: Tensor | None = None,
            state: Tensor | None = None) -> tuple[Tensor, Tensor]:
    """A batch-first RNN over x (B, T, F). With `lengths`, each row runs only over its real
    steps (packed sequences: no work on padding; outputs there are 0); without, over all T."""
    if lengths is None:
        return rnn(x, state)
    packed = pack_padded_sequence(x, lengths.cpu(), batch_first=True, enforce_sorted=False)
    out, state = rnn(packed, state)
    out, _ = pad_packed_sequence(out, batch_first=True, total_length=x.shape[1])
    return out, state
