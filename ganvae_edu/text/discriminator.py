r"""A sequence discriminator that reads token ids *or* soft one-hot vectors (Kim-style CNN).

Tokens become vectors by the embedding matrix E: an id w gives E[w]; a distribution y over the
vocabulary (a Gumbel-softmax sample) gives yᵀE, which equals E[w] when y is the one-hot of w.
So one network judges real sentences, sampled ones and relaxed ones alike, and gradients flow
back through yᵀE to the generator. Convolutions of several widths, max-pooled over time, then a
highway layer and a linear map to one logit per sentence (SeqGAN, RelGAN).
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import Tensor, nn


class CNNDiscriminator(nn.Module):
    def __init__(self, vocab_size: int, emb: int = 64, filters: int = 64,
                 widths: Sequence[int] = (2, 3, 4, 5), dropout: float = 0.25, pad_id: int = 0) -> None:
        super().__init__()
        self.pad_id, self.min_len = pad_id, max(widths)
        self.embed = nn.Embedding(vocab_size, emb, padding_idx=pad_id)
        self.convs = nn.ModuleList(nn.Conv1d(emb, filters, w) for w in widths)
        features = filters * len(widths)
        self.highway = nn.Linear(features, 2 * features)
        self.drop = nn.Dropout(dropout)
        self.out = nn.Linear(features, 1)

    def vectors(self, x: Tensor) -> Tensor:
        """(B, T, emb) from ids (B, T) or distributions over the vocabulary (B, T, V)."""
        if x.dtype in (torch.long, torch.int):
            return self.embed(x)
        return x @ self.embed.weight

    def forward(self, x: Tensor) -> Tensor:
        """One logit per sentence (B,); D = sigmoid(logit) is the probability that it is real."""
        return self.out(self.drop(self.features(x))).squeeze(-1)

    def features(self, x: Tensor) -> Tensor:
        """The pooled, highway-mixed features (B, filters · widths) that the final layer reads."""
        h = self.vectors(x)
        if h.shape[1] < self.min_len:  # too short for the widest filter: pad with zero vectors
            h = nn.functional.pad(h, (0, 0, 0, self.min_len - h.shape[1]))
        h = h.transpose(1, 2)  # (B, emb, T) for Conv1d
        pooled = torch.cat([torch.relu(conv(h)).amax(-1) for conv in self.convs], -1)
        transform, gate = self.highway(pooled).chunk(2, -1)
        gate = torch.sigmoid(gate)
        return gate * torch.relu(transform) + (1 - gate) * pooled
