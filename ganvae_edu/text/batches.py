"""Minibatches of token-id sequences that waste little on padding: bucket by length, then shuffle."""

from __future__ import annotations

from collections.abc import Iterator, Sequence

import torch
from torch import Tensor


def pad(sequences: Sequence[Sequence[int]], pad_id: int = 0) -> tuple[Tensor, Tensor]:
    """(B, T_max) LongTensor padded with pad_id, and the lengths (B,)."""
    lengths = torch.tensor([len(s) for s in sequences], dtype=torch.long)
    out = torch.full((len(sequences), int(lengths.max())), pad_id, dtype=torch.long)
    for i, s in enumerate(sequences):
        out[i, : len(s)] = torch.as_tensor(s, dtype=torch.long)
    return out, lengths


def bucket_batches(
    sequences: Sequence[Sequence[int]],
    batch_size: int,
    generator: torch.Generator | None = None,
    pool: int = 50,
    pad_id: int = 0,
) -> Iterator[tuple[Tensor, Tensor]]:
    """Padded batches in random order, each of similar-length sequences.

    Shuffle, cut into pools of `pool` batches, sort each pool by length, cut it into batches,
    shuffle the batches: nearly as random as plain shuffling, with little padding.
    """
    order = torch.randperm(len(sequences), generator=generator).tolist()
    batches = []
    span = batch_size * pool
    for start in range(0, len(order), span):
        chunk = sorted(order[start : start + span], key=lambda i: len(sequences[i]))
        batches += [chunk[i : i + batch_size] for i in range(0, len(chunk), batch_size)]
    for b in torch.randperm(len(batches), generator=generator).tolist():
        yield pad([sequences[i] for i in batches[b]], pad_id)


def padding_fraction(batches: Sequence[tuple[Tensor, Tensor]]) -> float:
    """Share of the padded positions that are padding."""
    cells = sum(x.numel() for x, _ in batches)
    real = sum(int(lengths.sum()) for _, lengths in batches)
    return 1 - real / cells
