r"""Notebook 04's sentence VAE with the transformer decoder of `transformer` in place of its GRU.

    log p(x) ≥ E_{q(z|x)}[Σ_t log p(x_t | x_<t, z)] − KL(q(z|x) ‖ N(0, I))

The encoder q(z|x) is `SentenceVAE`'s bidirectional GRU, unchanged. The code z reaches the
decoder the two ways Optimus (Li et al. 2020) uses for a pretrained LLM (`llm.optimus`):

    m = W_mem z                 a *memory*: one position of its own before <bos>, which every
                                later position can attend to in every layer
    e_t = E[x_t] + W_emb z      added to every input embedding

    logits_t = Transformer(m, e_1, …, e_t)_t

so here, as there, the decoder is a stack of causal attention layers that may read z or not.
The word embedding E is shared by the encoder and the decoder (the encoder reads width d), as
`SentenceVAE` shares its own. Everything else — the ELBO pieces, the IWAE bound, `VAEObjective`,
`evaluate_vae`, `encode_all`, decoding from codes — is `SentenceVAE`'s, through `_decode`.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from .sentence_vae import SentenceVAE
from .transformer import Cache, TransformerLanguageModel


class TransformerSentenceVAE(SentenceVAE):
    """A sentence VAE whose decoder is a `TransformerLanguageModel` of width `d`.

    `max_len` counts the decoder's input positions, <bos> included, as in the language model;
    the memory takes one more.
    """

    def __init__(self, vocab_size: int, d: int = 64, heads: int = 4, layers: int = 2, latent: int = 16,
                 enc_hidden: int = 128, max_len: int = 64, dropout: float = 0.0, pad_id: int = 0,
                 bos_id: int = 1, eos_id: int = 2, unk_id: int = 3) -> None:
        nn.Module.__init__(self)  # SentenceVAE's encoder (below), not its GRU decoder
        self.pad_id, self.bos_id, self.eos_id, self.unk_id = pad_id, bos_id, eos_id, unk_id
        self.latent, self.packed, self.max_len = latent, True, max_len
        self.lm = TransformerLanguageModel(vocab_size, d, heads, layers, max_len + 1, dropout, pad_id, bos_id,
                                           eos_id)
        self.embed = self.lm.embed  # E, shared by encoder and decoder
        self.out = self.lm.out  # W_out (the device is read from it, as in SentenceVAE)
        self._build_encoder(d, enc_hidden, latent)
        self.z_to_mem = nn.Linear(latent, d)  # W_mem
        self.z_to_emb = nn.Linear(latent, d)  # W_emb

    def decoder_parameters(self) -> list[nn.Parameter]:
        """p(x|z) alone: W_mem, W_emb and the transformer, the shared word embedding excluded."""
        own = [p for name, p in self.lm.named_parameters() if not name.startswith("embed.")]
        return [*self.z_to_mem.parameters(), *self.z_to_emb.parameters(), *own]

    def memory(self, z: Tensor) -> Cache:
        """The decoder's KV cache after its first position, the memory m = W_mem z (B, latent → cache)."""
        return self.lm.forward_vectors(self.z_to_mem(z)[:, None], None)[1]

    def _run(self, vectors: Tensor, z: Tensor, state: Cache | None) -> tuple[Tensor, Cache]:
        # vectors (B, T, d) of words; the memory first when nothing has run yet
        done = state[0][0].shape[2] - 1 if state else 0  # positions of words already run
        if done + vectors.shape[1] > self.max_len:
            raise ValueError(f"{done + vectors.shape[1]} positions, but this VAE's decoder has "
                             f"max_len={self.max_len}; build it with a larger max_len or cut the sentences")
        if state is None:
            state = self.memory(z)
        return self.lm.forward_vectors(vectors + self.z_to_emb(z)[:, None], state)

    def _decode(self, inputs: Tensor, z: Tensor, lengths: Tensor | None = None,
                state: Cache | None = None) -> tuple[Tensor, Cache]:
        # padding comes after a sentence's words, so causal attention never lets a word read it
        return self._run(self.embed(inputs), z, state)

    def step_vectors(self, vectors: Tensor, z: Tensor, state: Cache | None = None) -> tuple[Tensor, Cache]:
        """One decoder step from input vectors (B, d) given codes z: logits (B, V), the cache.

        A relaxed token y enters as yᵀE, as in `SentenceVAE.step_vectors`.
        """
        logits, state = self._run(vectors[:, None], z, state)
        return logits[:, 0], state

    @torch.no_grad()
    def decode(self, z: Tensor, max_len: int = 40, generator: torch.Generator | None = None,
               temperature: float = 1.0, greedy: bool = False) -> list[list[int]]:
        """`SentenceVAE.decode`, at most as many words as the decoder has positions for."""
        return super().decode(z, min(max_len, self.max_len - 1), generator, temperature, greedy)
