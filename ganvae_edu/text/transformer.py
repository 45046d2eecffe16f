r"""A small transformer decoder language model: the GRU of notebook 03 with attention in its place.

Same contract as `lm.GRULanguageModel` (<bos> w_1 … w_n <eos>, `forward(inputs, lengths, state)`,
`nll`, `sentence_log_prob`, `sample`), so `train_lm`, the metrics and the samplers take either.
What changes is how position t sees the words before it. The GRU carries them in one state
vector h_t = GRU(h_{t−1}, x_t); a decoder layer reads all of them at once, by causal attention
(`formulas.attention.causal_attention`), in a pre-norm residual block:

    e_t = E[x_t] + P[t]                                     token embedding plus learned position
    h ← h + W_o · concat_heads(causal_attention(W_q LN(h), W_k LN(h), W_v LN(h)))
    h ← h + W_2 · GELU(W_1 · LN(h))                          the position-wise MLP (width 4d)
    logits_t = W_out · LN(h_t)

Sampling keeps each layer's keys and values (the KV cache): step t computes one new query, key
and value per layer and attends over the cached ones, which gives exactly the full computation's
logits (tested), at O(t) a step instead of O(t²).
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from ..formulas.attention import causal_attention
from .sampling import decode_loop, sample_next

Cache = tuple[tuple[Tensor, Tensor], ...]  # per layer: keys and values (B, H, S, d_h) so far


class CausalSelfAttention(nn.Module):
    """Multi-head causal self-attention: H heads of width d_h = d / H, then one output map W_o."""

    def __init__(self, d: int, heads: int) -> None:
        super().__init__()
        if d % heads:
            raise ValueError(f"width {d} is not divisible by heads={heads}; choose d = heads · d_h")
        self.heads = heads
        self.qkv = nn.Linear(d, 3 * d)  # W_q, W_k, W_v side by side
        self.out = nn.Linear(d, d)  # W_o

    def forward(self, h: Tensor, past: tuple[Tensor, Tensor] | None = None,
                key_padding: Tensor | None = None) -> tuple[Tensor, tuple[Tensor, Tensor]]:
        """h (B, T, d) → (B, T, d), and this layer's keys and values (B, H, S, d_h), past included."""
        B, T, d = h.shape
        q, k, v = self.qkv(h).split(d, dim=-1)  # each (B, T, d)
        # (B, T, d) → (B, H, T, d_h): each head its own slice of width d_h
        q, k, v = (t.view(B, T, self.heads, d // self.heads).transpose(1, 2) for t in (q, k, v))
        if past is not None:  # the cached positions come first: S = S_past + T
            k, v = torch.cat([past[0], k], dim=2), torch.cat([past[1], v], dim=2)
        pad = key_padding[:, None, :] if key_padding is not None else None  # (B, 1, S): every head
        o = causal_attention(q, k, v, pad)  # (B, H, T, d_h)
        return self.out(o.transpose(1, 2).reshape(B, T, d)), (k, v)


class DecoderBlock(nn.Module):
    def __init__(self, d: int, heads: int, dropout: float) -> None:
        super().__init__()
        self.ln1, self.ln2 = nn.LayerNorm(d), nn.LayerNorm(d)
        self.attn = CausalSelfAttention(d, heads)
        self.mlp = nn.Sequential(nn.Linear(d, 4 * d), nn.GELU(), nn.Linear(4 * d, d))
        self.drop = nn.Dropout(dropout)

    def forward(self, h: Tensor, past=None, key_padding=None):
        a, kv = self.attn(self.ln1(h), past, key_padding)
        h = h + self.drop(a)
        return h + self.drop(self.mlp(self.ln2(h))), kv


class TransformerLanguageModel(nn.Module):
    """p(x) = Π_t p(x_t | x_<t) by a stack of `layers` decoder blocks of width `d`, `heads` heads.

    `max_len` bounds the positions it has embeddings for (<bos> included); longer inputs are
    refused with a message naming the limit.
    """

    def __init__(self, vocab_size: int, d: int = 64, heads: int = 4, layers: int = 2, max_len: int = 64,
                 dropout: float = 0.0, pad_id: int = 0, bos_id: int = 1, eos_id: int = 2) -> None:
        super().__init__()
        self.pad_id, self.bos_id, self.eos_id = pad_id, bos_id, eos_id
        self.max_len = max_len
        self.embed = nn.Embedding(vocab_size, d, padding_idx=pad_id)  # E
        self.pos = nn.Embedding(max_len, d)  # P
        self.blocks = nn.ModuleList(DecoderBlock(d, heads, dropout) for _ in range(layers))
        self.ln = nn.LayerNorm(d)
        self.drop = nn.Dropout(dropout)
        self.out = nn.Linear(d, vocab_size)  # W_out

    def forward(self, inputs: Tensor, lengths: Tensor | None = None,
                state: Cache | None = None) -> tuple[Tensor, Cache]:
        """Logits (B, T, V) for the next token at every position, and the KV cache to continue from.

        `state` is the cache of earlier positions (from a previous call): `inputs` then continue
        them. `lengths` is accepted for the GRU's contract and not needed: padding comes after a
        sentence's tokens, so causal attention never lets a real position read it.
        """
        return self.forward_vectors(self.embed(inputs), state)

    def forward_vectors(self, x: Tensor, state: Cache | None = None) -> tuple[Tensor, Cache]:
        """`forward` from input vectors x (B, T, d) instead of token ids (E[x_t] for a word).

        The entry for anything that is not one word: a relaxed token yᵀE, a word plus a code
        (the VAE decoder of `transformer_vae`), or a code as a position of its own.
        """
        start = state[0][0].shape[2] if state else 0
        T = x.shape[1]
        if start + T > self.max_len:
            raise ValueError(f"{start + T} positions, but this model has embeddings for max_len="
                             f"{self.max_len}; build it with a larger max_len or cut the sentences")
        positions = torch.arange(start, start + T, device=x.device)
        h = self.drop(x + self.pos(positions))
        cache = []
        for i, block in enumerate(self.blocks):
            h, kv = block(h, state[i] if state else None)
            cache.append(kv)
        return self.out(self.ln(h)), tuple(cache)

    def nll(self, batch: Tensor, lengths: Tensor) -> tuple[Tensor, int]:
        r"""(Σ -log p(x_t | x_<t) over the real tokens of `batch`, how many tokens), <eos> counted."""
        logits, _ = self(batch[:, :-1])
        targets = batch[:, 1:]
        losses = nn.functional.cross_entropy(logits.reshape(-1, logits.shape[-1]), targets.reshape(-1),
                                             ignore_index=self.pad_id, reduction="sum")
        return losses, int((targets != self.pad_id).sum())

    def sentence_log_prob(self, batch: Tensor, lengths: Tensor) -> Tensor:
        """log p(x) per sentence (B,), differentiable; `batch` holds <bos> … <eos> padded."""
        logits, _ = self(batch[:, :-1])
        nll = nn.functional.cross_entropy(logits.transpose(1, 2), batch[:, 1:], ignore_index=self.pad_id,
                                          reduction="none")
        return -nll.sum(1)

    @torch.no_grad()
    def sample(self, n: int, *, max_len: int = 40, generator: torch.Generator | None = None,
               temperature: float = 1.0, top_k: int = 0, top_p: float = 1.0) -> list[list[int]]:
        """n sentences as id lists (without <bos> / <eos>), each at most max_len tokens (KV-cached)."""
        max_len = min(max_len, self.max_len - 1)  # <bos> takes the first position
        return decode_loop(lambda token, state: self(token, state=state), n, self.bos_id, self.eos_id,
                           max_len, self.out.weight.device,
                           lambda logits: sample_next(logits, generator, temperature, top_k, top_p))
