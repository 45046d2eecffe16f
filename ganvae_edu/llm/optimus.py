r"""The VAE around a pretrained LLM (Optimus, Li et al. 2020): notebook 04's VAE with an LLM decoder.

The pretrained causal LM stays frozen. What trains is small:

* the **encoder** q(z | x) = N(μ(x), diag σ²(x)): a bidirectional GRU over the frozen LLM's own
  token embeddings, its two final states mapped to μ and log σ²;
* the **latent maps**: z enters the decoder twice, as in Optimus — as a *memory*, one extra key
  and value per layer that every position attends to (W_mem z, split into L × 2 vectors, passed
  as the LLM's cache of one earlier position), and *added to every input embedding* (W_emb z);
* a **bottleneck adapter** on the LLM's last hidden state, h ← h + W_up GELU(W_down h).

W_mem, W_emb and W_up start at zero, so training starts from the pretrained LM with an empty
memory (a key and value of 0, which only dilutes each attention row by one score of 0).

    log p(x | z) = Σ_t log p_LLM(x_t | memory(z), e(x_<t) + W_emb z)      (<end> counted)
    ELBO(x) = E_q[log p(x | z)] − KL(q(z | x) ‖ N(0, I))

A decoder this strong models x well without z, so the KL term pushes q onto the prior (posterior
collapse) sooner than with notebook 04's GRU; the remedies are the same formulas
(`formulas.vae.free_bits_kl`, the cyclical `kl_weight`).
"""

from __future__ import annotations

import inspect
from collections.abc import Sequence
from dataclasses import asdict, dataclass

import torch
from torch import Tensor, nn

from ..formulas import vae
from ..text.sampling import decode_loop, sample_next
from ..text.tokenize import word_tokenize
from ..training import Step, TrainResult, run
from .judge import next_token_nll
from .pretrained import Pretrained


class OptimusVAE(nn.Module):
    """A frozen causal LM as decoder, with a trainable encoder, latent maps and adapter.

    The LLM is held, not registered: `parameters()`, `state_dict()` and checkpoints hold only the
    parts that train. `latent=0` is the baseline at the same budget: the frozen LLM with the same
    adapter and no latent, fine-tuned as a language model.
    """

    def __init__(self, lm: Pretrained, latent: int = 32, hidden: int = 128, adapter: int = 64) -> None:
        super().__init__()
        self.lm = lm  # a dataclass, not a Module: the LLM's weights stay out of this module's state
        for p in lm.model.parameters():
            p.requires_grad_(False)
        cfg = lm.model.config
        d = cfg.hidden_size
        heads = cfg.num_attention_heads
        self.layers = cfg.num_hidden_layers
        self.kv_heads = getattr(cfg, "num_key_value_heads", None) or heads
        self.head_dim = getattr(cfg, "head_dim", None) or d // heads
        self.latent = latent
        if latent:
            self.encoder = nn.GRU(d, hidden, batch_first=True, bidirectional=True)
            self.to_mu, self.to_logvar = nn.Linear(2 * hidden, latent), nn.Linear(2 * hidden, latent)
            self.to_memory = nn.Linear(latent, self.layers * 2 * self.kv_heads * self.head_dim)  # W_mem
            self.to_embedding = nn.Linear(latent, d)  # W_emb
        self.adapter = nn.Sequential(nn.Linear(d, adapter), nn.GELU(), nn.Linear(adapter, d))
        # W_up, W_mem and W_emb start at zero: no offset, an empty memory (keys and values 0), an
        # identity adapter. Randomly started maps put noise into every layer of the pretrained
        # model (measured on SmolLM2: NLL per word 6.5 after 30 steps, against 2.7 without a latent)
        starts_at_zero = [self.adapter[2]] + ([self.to_memory, self.to_embedding] if latent else [])
        for layer in starts_at_zero:
            nn.init.zeros_(layer.weight)
            nn.init.zeros_(layer.bias)
        params = inspect.signature(lm.model.base_model.forward).parameters
        self._cache_arg = "cache" if "cache" in params else "past_key_values"
        self.to(lm.device)

    @property
    def decoder(self):
        return self.lm.model

    def trainable_share(self) -> tuple[int, int]:
        """(trainable parameters, all parameters with the frozen LLM's)."""
        mine = sum(p.numel() for p in self.parameters())
        return mine, mine + sum(p.numel() for p in self.decoder.parameters())

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

    def logits(self, ids: Tensor, real: Tensor, z: Tensor | None) -> Tensor:
        """Next-token logits (B, T, V) of the decoder reading `ids` given z (None: no latent)."""
        e = self.decoder.get_input_embeddings()(ids)
        if z is None:
            out = self.decoder.base_model(inputs_embeds=e, attention_mask=real, use_cache=False)
        else:
            e = e + self.to_embedding(z)[:, None]
            mask = torch.cat([torch.ones_like(real[:, :1]), real], dim=1)  # the memory is always seen
            memory = {self._cache_arg: self.memory(z)}
            out = self.decoder.base_model(inputs_embeds=e, attention_mask=mask, use_cache=False, **memory)
        h = out.last_hidden_state
        return self.decoder.get_output_embeddings()(h + self.adapter(h))

    def log_likelihood(self, ids: Tensor, real: Tensor, z: Tensor | None) -> Tensor:
        """log p(x | z) per sentence (B,): every token after <start>, <end> included."""
        return -next_token_nll(self.logits(ids[:, :-1], real[:, :-1], z), ids, real)

    def generate(self, n: int | None = None, z: Tensor | None = None, *, temperature: float = 1.0,
                 greedy: bool = False, max_tokens: int = 32,
                 generator: torch.Generator | None = None) -> list[str]:
        """Sentences from p(x | z), one per row of z (B, latent); with a latent and no z, n codes
        z ~ N(0, I); with latent=0, n sentences of the adapted LM. Greedy, or sampled at
        `temperature` from `generator`; incremental, on the LLM's own cache (the memory first)."""
        ids = self.generate_ids(n, z, temperature=temperature, greedy=greedy, max_tokens=max_tokens,
                                generator=generator)
        return [self.lm.tokenizer.decode(x, skip_special_tokens=True).strip() for x in ids]

    @torch.no_grad()
    def generate_ids(self, n: int | None = None, z: Tensor | None = None, *, temperature: float = 1.0,
                     greedy: bool = False, max_tokens: int = 32,
                     generator: torch.Generator | None = None) -> list[list[int]]:
        """`generate`'s sentences as the LLM's token ids (without <start> and <end>)."""
        if self.latent and z is None:
            if n is None:
                raise ValueError("give n (sentences to draw) or z (codes to decode)")
            z = torch.randn(n, self.latent, generator=generator).to(self.lm.device)
        if z is not None:
            n = z.shape[0]
        if not n or n < 1:
            raise ValueError(f"n={n!r}: give a positive number of sentences")
        from transformers import DynamicCache

        embed, head = self.decoder.get_input_embeddings(), self.decoder.get_output_embeddings()
        offset = self.to_embedding(z)[:, None] if z is not None else 0.0

        def step(token: Tensor, state):
            if state is None:  # the cache and which sentence each row is (finished ones leave)
                cache = self.memory(z) if z is not None else DynamicCache(config=self.decoder.config)
                state = cache, torch.arange(n, device=token.device)
            cache, rows = state
            mask = torch.ones(len(rows), cache.get_seq_length() + 1, dtype=torch.long, device=token.device)
            shift = offset[rows] if z is not None else 0.0
            out = self.decoder.base_model(inputs_embeds=embed(token) + shift, attention_mask=mask,
                                          use_cache=True, **{self._cache_arg: cache})
            h = out.last_hidden_state
            return head(h + self.adapter(h)), state

        def select(state, keep: Tensor):
            cache, rows = state
            cache.batch_select_indices(keep)
            return cache, rows[keep]

        def pick(logits: Tensor) -> Tensor:
            return logits.argmax(-1) if greedy else sample_next(logits, generator, temperature)

        self.eval()
        return decode_loop(step, n, self.lm.start_id, self.lm.end_id, max_tokens, self.lm.device, pick,
                           select)

    # ------------------------------------------------------------------ the objective

    def loss(self, sentences: Sequence[str], beta: float = 1.0, free_bits: float = 0.0,
             generator: torch.Generator | None = None) -> tuple[Tensor, int, dict[str, float]]:
        r"""(−(E_q log p(x|z) − β · KL) per token, tokens, figures); KL with free bits λ per dimension.

        Tokens are the LLM's, <end> counted; with latent=0 the loss is the plain NLL per token.
        """
        ids, real = self.lm.encode(sentences)
        tokens = int(real[:, 1:].sum())
        if not self.latent:
            rec = self.log_likelihood(ids, real, None)
            return -rec.sum() / tokens, tokens, {"rec": -rec.sum().item() / tokens}
        mu, logvar = self.encode(ids, real)
        z = vae.reparameterize(mu, logvar, generator)
        rec = self.log_likelihood(ids, real, z)
        kl_dims = vae.kl_standard_normal_per_dim(mu, logvar)
        kl_term = vae.free_bits_kl(kl_dims, free_bits)
        loss = (-rec.sum() + beta * kl_term * len(sentences)) / tokens
        return loss, tokens, {"rec": -rec.sum().item() / tokens, "kl": kl_dims.sum(1).mean().item()}


@dataclass
class OptimusConfig:
    steps: int = 100
    batch_size: int = 16
    lr: float = 1e-3
    kl_schedule: str = "cyclical"  # vae.kl_weight: "none", "linear", "logistic" or "cyclical"
    warmup: int = 50  # the schedule's warm-up, or a cyclical schedule's cycle, in steps
    free_bits: float = 0.0  # λ nats per latent dimension (KL thresholding); 0: none
    seed: int = 0


def train_optimus(model: OptimusVAE, sentences: Sequence[str], cfg: OptimusConfig,
                  show_progress: bool = True) -> TrainResult:
    """`cfg.steps` steps of Adam on the trainable parts, batches drawn from `sentences` by the
    run's generator, through the one training loop (guard, history, tokens per second)."""
    if len(sentences) < cfg.batch_size:
        raise ValueError(f"{len(sentences)} sentences for batch_size={cfg.batch_size}; give more or "
                         "lower batch_size")
    sentences = list(sentences)

    def step(s: Step) -> dict[str, float]:
        pick = torch.randperm(len(sentences), generator=s.rng)[: cfg.batch_size].tolist()
        beta = vae.kl_weight(s.number - 1, cfg.kl_schedule, cfg.warmup)
        loss, tokens, figures = model.loss([sentences[i] for i in pick], beta, cfg.free_bits, s.rng)
        s.update("model", loss)
        s.count(tokens)
        return {"beta": beta, **figures}

    model.train()
    result = run(step, steps=cfg.steps, optimizers={"model": torch.optim.Adam(model.parameters(), lr=cfg.lr)},
                 modules={"model": model}, rng=torch.Generator().manual_seed(cfg.seed), config=asdict(cfg),
                 name="Optimus" if model.latent else "LLM + adapter", hint=f"Lower lr={cfg.lr}",
                 show_progress=show_progress)
    model.eval()
    return result


@torch.no_grad()
def evaluate_optimus(model: OptimusVAE, sentences: Sequence[str], k: int = 20, batch_size: int = 16,
                     generator: torch.Generator | None = None) -> dict[str, float]:
    r"""The VAE's figures on `sentences`: importance-weighted NLL per word (k samples; per word as
    `judge.llm_nll_per_word` counts: our words + 1 end), KL, mutual information, active units at
    0.01 and 0.2. With latent=0 only the exact NLL per word.

        log p(x) ≥ log (1/k) Σ_i p(x | z_i) p(z_i) / q(z_i | x),  z_i ~ q(z | x)   (vae.iwae_bound)
    """
    sentences = list(sentences)
    words = sum(len(word_tokenize(s)) + 1 for s in sentences)
    log_px, mus, logvars = [], [], []
    for lo in range(0, len(sentences), batch_size):
        ids, real = model.lm.encode(sentences[lo:lo + batch_size])
        if not model.latent:
            log_px.append(model.log_likelihood(ids, real, None))
            continue
        mu, logvar = model.encode(ids, real)
        log_w = []
        for _ in range(k):
            z = vae.reparameterize(mu, logvar, generator)
            prior = vae.gaussian_log_prob(z, torch.zeros_like(z), torch.zeros_like(z))
            log_w.append(model.log_likelihood(ids, real, z) + prior - vae.gaussian_log_prob(z, mu, logvar))
        log_px.append(vae.iwae_bound(torch.stack(log_w), dim=0))
        mus.append(mu)
        logvars.append(logvar)
    out = {"nll_per_word": -torch.cat(log_px).sum().item() / words}
    if model.latent:
        mu, logvar = torch.cat(mus), torch.cat(logvars)
        out.update(kl=vae.kl_standard_normal(mu, logvar).mean().item(),
                   mi=vae.mutual_information(mu, logvar, generator).item(),
                   active_units=vae.active_units(mu, 0.01), active_units_02=vae.active_units(mu, 0.2))
    return out
