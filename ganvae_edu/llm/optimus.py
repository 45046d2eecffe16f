r"""The VAE around a pretrained LLM (Optimus, Li et al. 2020): notebook 04's VAE with an LLM decoder.

The pretrained causal LM stays frozen. What trains is small:

* the **encoder** q(z | x) = N(μ(x), diag σ²(x)): a bidirectional GRU over the frozen LLM's own
  token embeddings, its two final states mapped to μ and log σ²;
* the **latent maps**: z enters the decoder twice, as in Optimus — as a *memory*, one extra key
  and value per layer that every position attends to (W_mem z, split into L × 2 vectors, passed
  as the LLM's cache of one earlier position), and *added to every input embedding* (W_emb z);
* a **bottleneck adapter** on the LLM's last hidden state, h ← h + W_up GELU(W_down h), W_up
  starting at zero, so that it starts as the identity.

    log p(x | z) = Σ_t log p_LLM(x_t | memory(z), e(x_<t) + W_emb z)      (<end> counted)
    ELBO(x) = E_q[log p(x | z)] − KL(q(z | x) ‖ N(0, I))

A decoder this strong models x well without z, so the KL term pushes q onto the prior (posterior
collapse) sooner than with notebook 04's GRU; the remedies are the same formulas
(`formulas.vae.free_bits_kl`, the cyclical `kl_weight`).
"""

from __future__ import annotations

import inspect
from collections.abc import Sequence

import torch
from torch import Tensor, nn

from ..formulas import vae
from .pretrained import Pretrained


class OptimusVAE(nn.Module):
    """A frozen causal LM as decoder, with a trainable encoder, latent maps and adapter."""

    def __init__(self, lm: Pretrained, latent: int = 32, hidden: int = 128, adapter: int = 64) -> None:
        super().__init__()
        self.lm = lm
        self.decoder = lm.model
        for p in self.decoder.parameters():
            p.requires_grad_(False)
        cfg = self.decoder.config
        d = cfg.hidden_size
        heads = cfg.num_attention_heads
        self.layers = cfg.num_hidden_layers
        self.kv_heads = getattr(cfg, "num_key_value_heads", None) or heads
        self.head_dim = getattr(cfg, "head_dim", None) or d // heads
        self.latent = latent
        self.encoder = nn.GRU(d, hidden, batch_first=True, bidirectional=True)
        self.to_mu, self.to_logvar = nn.Linear(2 * hidden, latent), nn.Linear(2 * hidden, latent)
        self.to_memory = nn.Linear(latent, self.layers * 2 * self.kv_heads * self.head_dim)  # W_mem
        self.to_embedding = nn.Linear(latent, d)  # W_emb
        self.adapter = nn.Sequential(nn.Linear(d, adapter), nn.GELU(), nn.Linear(adapter, d))
        nn.init.zeros_(self.adapter[2].weight)
        nn.init.zeros_(self.adapter[2].bias)
        params = inspect.signature(self.decoder.base_model.forward).parameters
        self._cache_arg = "cache" if "cache" in params else "past_key_values"

    # ------------------------------------------------------------------ counting

    def trainable_share(self) -> tuple[int, int]:
        """(trainable parameters, all parameters, the frozen LLM's included)."""
        mine = sum(p.numel() for p in self.parameters() if p.requires_grad)
        return mine, sum(p.numel() for p in self.parameters())

    # ------------------------------------------------------------------ q(z | x)

    def encode(self, ids: Tensor, real: Tensor) -> tuple[Tensor, Tensor]:
        """μ, log σ² (B, latent) of q(z | x), from the frozen embeddings of the real ids."""
        with torch.no_grad():
            e = self.decoder.get_input_embeddings()(ids)
        lengths = real.sum(1).cpu()
        packed = nn.utils.rnn.pack_padded_sequence(e, lengths, batch_first=True, enforce_sorted=False)
        _, h = self.encoder(packed)  # (2, B, hidden): the forward and the backward final states
        h = torch.cat([h[0], h[1]], dim=-1)
        return self.to_mu(h), self.to_logvar(h)

    # ------------------------------------------------------------------ p(x | z)

    def memory(self, z: Tensor):
        """The LLM's cache of one earlier position per layer: W_mem z as keys and values."""
        from transformers import DynamicCache

        B = z.shape[0]
        kv = self.to_memory(z).view(B, self.layers, 2, self.kv_heads, 1, self.head_dim)
        cache = DynamicCache(config=self.decoder.config)
        for layer in range(self.layers):
            cache.update(kv[:, layer, 0], kv[:, layer, 1], layer)  # (B, kv_heads, 1, head_dim) each
        return cache

    def logits(self, ids: Tensor, real: Tensor, z: Tensor) -> Tensor:
        """Next-token logits (B, T, V) of the decoder reading `ids` given z."""
        e = self.decoder.get_input_embeddings()(ids) + self.to_embedding(z)[:, None]
        mask = torch.cat([torch.ones_like(real[:, :1]), real], dim=1)  # the memory is always seen
        memory = {self._cache_arg: self.memory(z)}
        out = self.decoder.base_model(inputs_embeds=e, attention_mask=mask, use_cache=False, **memory)
        h = out.last_hidden_state
        return self.decoder.get_output_embeddings()(h + self.adapter(h))

    def log_likelihood(self, ids: Tensor, real: Tensor, z: Tensor) -> Tensor:
        """log p(x | z) per sentence (B,): every token after <start>, <end> included."""
        logits = self.logits(ids[:, :-1], real[:, :-1], z)
        nll = nn.functional.cross_entropy(logits.float().transpose(1, 2), ids[:, 1:], reduction="none")
        return -(nll * real[:, 1:]).sum(1)

    # ------------------------------------------------------------------ the objective

    def loss(self, sentences: Sequence[str], beta: float = 1.0, free_bits: float = 0.0,
             generator: torch.Generator | None = None) -> tuple[Tensor, dict[str, float]]:
        r"""−(E_q log p(x|z) − β · KL) per token, KL with free bits λ per dimension (`vae.free_bits_kl`)."""
        ids, real = self.lm.encode(sentences)
        mu, logvar = self.encode(ids, real)
        z = vae.reparameterize(mu, logvar, generator)
        rec = self.log_likelihood(ids, real, z)
        kl_dims = vae.kl_standard_normal_per_dim(mu, logvar)
        kl_term = vae.free_bits_kl(kl_dims, free_bits)
        tokens = int(real[:, 1:].sum())
        loss = (-rec.sum() + beta * kl_term * len(sentences)) / tokens
        return loss, {"rec": -rec.sum().item() / tokens, "kl": kl_dims.sum(1).mean().item()}
