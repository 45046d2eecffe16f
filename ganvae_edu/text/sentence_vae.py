r"""The sentence VAE (Bowman et al. 2016): a recurrent encoder q(z|x) and a recurrent decoder p(x|z).

    log p(x) ≥ E_{q(z|x)}[Σ_t log p(x_t | x_<t, z)] − KL(q(z|x) ‖ N(0, I))

* Encoder: a bidirectional GRU reads w_1 … w_n <eos>; its two final states give μ and log σ².
* Decoder: a GRU language model whose initial state is tanh(W z) and whose every input is the
  word embedding concatenated with z, so z can steer each step.
* Word dropout (Bowman et al.): each decoder *input* word is replaced by <unk> with probability
  `word_dropout` (not <bos>, not padding), so the decoder cannot lean on the previous words
  alone and must read z. The targets are untouched.

`packed=True` runs the GRUs only over real tokens (packed sequences); `packed=False` is the
straightforward padded version (every position of the padded rectangle is computed and the
loss masked), kept to measure what packing buys.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import torch
from torch import Tensor, nn

from ganvae_edu.formulas import vae

from .batches import length_batches, pad, run_rnn
from .sampling import decode_loop, sample_next


def word_dropout(inputs: Tensor, rate: float, unk_id: int, pad_id: int, bos_id: int,
                 generator: torch.Generator | None = None) -> Tensor:
    """`inputs` with each word (not <bos>, not <pad>) replaced by <unk> with probability `rate`."""
    if rate <= 0:
        return inputs
    if rate > 1:
        raise ValueError(f"word_dropout={rate} must be in [0, 1]")
    u = torch.rand(inputs.shape, generator=generator).to(inputs.device)
    drop = (u < rate) & (inputs != pad_id) & (inputs != bos_id)
    return inputs.masked_fill(drop, unk_id)


class SentenceVAE(nn.Module):
    def __init__(self, vocab_size: int, emb: int = 64, hidden: int = 128, latent: int = 16,
                 enc_hidden: int | None = None, pad_id: int = 0, bos_id: int = 1, eos_id: int = 2,
                 unk_id: int = 3, packed: bool = True, dropout: float = 0.0) -> None:
        super().__init__()
        self.pad_id, self.bos_id, self.eos_id, self.unk_id = pad_id, bos_id, eos_id, unk_id
        self.latent, self.packed = latent, packed
        enc_hidden = enc_hidden or hidden
        self.embed = nn.Embedding(vocab_size, emb, padding_idx=pad_id)
        self._build_encoder(emb, enc_hidden, latent)
        self.z_to_h = nn.Linear(latent, hidden)
        self.decoder = nn.GRU(emb + latent, hidden, batch_first=True)
        self.drop = nn.Dropout(dropout)  # on the decoder's word embeddings and outputs, as in the LM
        self.out = nn.Linear(hidden, vocab_size)

    def _build_encoder(self, emb: int, enc_hidden: int, latent: int) -> None:
        # a bidirectional encoder as two GRUs, so the padded variant can reverse each row itself
        self.enc_fwd = nn.GRU(emb, enc_hidden, batch_first=True)
        self.enc_bwd = nn.GRU(emb, enc_hidden, batch_first=True)
        self.to_mu = nn.Linear(2 * enc_hidden, latent)
        self.to_logvar = nn.Linear(2 * enc_hidden, latent)

    # -- encoder -------------------------------------------------------------------------------
    def encode(self, batch: Tensor, lengths: Tensor) -> tuple[Tensor, Tensor]:
        """μ, log σ² (B, latent) of q(z|x); `batch` holds <bos> … <eos> padded, `lengths` counts both."""
        words, n = batch[:, 1:], lengths - 1  # the encoder reads w_1 … w_n <eos>
        steps = torch.arange(words.shape[1], device=words.device)
        # each row reversed within its own length (padding stays at the end)
        rev_idx = (n[:, None] - 1 - steps[None]).clamp(min=0)
        reversed_words = words.gather(1, rev_idx).masked_fill(steps[None] >= n[:, None], self.pad_id)
        finals = []
        for gru, tokens in ((self.enc_fwd, words), (self.enc_bwd, reversed_words)):
            x = self.embed(tokens)
            if self.packed:
                finals.append(run_rnn(gru, x, n)[1][0])
            else:  # padded: run over the whole rectangle, read the state at each row's last token
                out, _ = gru(x)
                finals.append(out[torch.arange(len(n), device=x.device), n - 1])
        h = torch.cat(finals, -1)
        return self.to_mu(h), self.to_logvar(h)

    def encoder_parameters(self) -> list[nn.Parameter]:
        """The parameters of q(z|x) alone: both encoder GRUs and the μ, log σ² heads.

        The word embedding is shared by encoder and decoder, so it is in neither list.
        """
        return [p for m in (self.enc_fwd, self.enc_bwd, self.to_mu, self.to_logvar) for p in m.parameters()]

    # -- decoder -------------------------------------------------------------------------------
    def decoder_parameters(self) -> list[nn.Parameter]:
        """The parameters of p(x|z) alone: z → initial state, the decoder GRU, the output layer
        (the shared word embedding excluded, as in `encoder_parameters`)."""
        return [p for m in (self.z_to_h, self.decoder, self.out) for p in m.parameters()]

    def teacher_forced_logits(self, inputs: Tensor, z: Tensor, lengths: Tensor | None = None) -> Tensor:
        """Next-token logits (B, T, V) given codes z (B, latent), the decoder reading `inputs`
        (B, T: <bos> w_1 … w_n, padded) instead of its own samples; `lengths` skips the padding."""
        return self._decode(inputs, z, lengths)[0]

    def _decode(self, inputs: Tensor, z: Tensor, lengths: Tensor | None = None,
                state: Tensor | None = None) -> tuple[Tensor, Tensor]:
        x = torch.cat([self.drop(self.embed(inputs)), z[:, None, :].expand(-1, inputs.shape[1], -1)], -1)
        if state is None:
            state = torch.tanh(self.z_to_h(z))[None]
        out, state = run_rnn(self.decoder, x, lengths if self.packed else None, state)
        return self.out(self.drop(out)), state

    def step_vectors(self, vectors: Tensor, z: Tensor, state: Tensor | None = None) -> tuple[Tensor, Tensor]:
        """One decoder step from input *vectors* (B, emb) given codes z: logits (B, V), state.

        A relaxed token y enters as yᵀE (E the embedding), as in `GRULanguageModel.step_vectors`.
        """
        if state is None:
            state = torch.tanh(self.z_to_h(z))[None]
        out, state = self.decoder(torch.cat([self.drop(vectors), z], -1)[:, None], state)
        return self.out(self.drop(out[:, 0])), state

    def log_likelihood(self, batch: Tensor, lengths: Tensor, z: Tensor, dropout: float = 0.0,
                       generator: torch.Generator | None = None) -> Tensor:
        """log p(x | z) per sentence (B,), <eos> included; `dropout` is word dropout on the inputs."""
        inputs, targets = batch[:, :-1], batch[:, 1:]
        inputs = word_dropout(inputs, dropout, self.unk_id, self.pad_id, self.bos_id, generator)
        logits = self.teacher_forced_logits(inputs, z, lengths - 1)
        nll = nn.functional.cross_entropy(logits.transpose(1, 2), targets, ignore_index=self.pad_id,
                                          reduction="none")
        return -nll.sum(1)

    def forward(self, batch: Tensor, lengths: Tensor, dropout: float = 0.0,
                generator: torch.Generator | None = None) -> dict[str, Tensor]:
        """One-sample ELBO pieces: reconstruction log-likelihood (B,), KL per dimension (B, d), μ, log σ²."""
        mu, logvar = self.encode(batch, lengths)
        z = vae.reparameterize(mu, logvar, generator)
        rec = self.log_likelihood(batch, lengths, z, dropout, generator)
        kl_dim = vae.kl_standard_normal_per_dim(mu, logvar)
        return {"rec": rec, "kl_dim": kl_dim, "mu": mu, "logvar": logvar}

    @torch.no_grad()
    def iw_log_likelihood(self, batch: Tensor, lengths: Tensor, k: int,
                          generator: torch.Generator | None = None) -> Tensor:
        r"""log p(x) ≈ log (1/k) Σ_i p(x|z_i) p(z_i) / q(z_i|x), z_i ~ q(z|x)  (IWAE bound, per sentence)."""
        mu, logvar = self.encode(batch, lengths)
        log_w = []
        for _ in range(k):
            z = vae.reparameterize(mu, logvar, generator)
            prior = vae.gaussian_log_prob(z, torch.zeros_like(z), torch.zeros_like(z))
            posterior = vae.gaussian_log_prob(z, mu, logvar)
            log_w.append(self.log_likelihood(batch, lengths, z) + prior - posterior)
        return vae.iwae_bound(torch.stack(log_w), dim=0)

    @torch.no_grad()
    def decode(self, z: Tensor, max_len: int = 40, generator: torch.Generator | None = None,
               temperature: float = 1.0, greedy: bool = False) -> list[list[int]]:
        """Sentences (id lists without <bos>/<eos>) decoded from codes z (n, latent)."""
        def pick(logits: Tensor) -> Tensor:
            return logits.argmax(-1) if greedy else sample_next(logits, generator, temperature)

        return decode_loop(lambda token, state: self._decode(token, z, state=state), len(z), self.bos_id,
                           self.eos_id, max_len, z.device, pick)

    def sample(self, n: int, *, max_len: int = 40, generator: torch.Generator | None = None,
               temperature: float = 1.0) -> list[list[int]]:
        """n sentences from the prior: z ~ N(0, I), then decode (`sampling.SentenceGenerator`)."""
        z = torch.randn(n, self.latent, generator=generator).to(self.out.weight.device)
        return self.decode(z, max_len, generator, temperature)


@dataclass
class VAEObjective:
    """The remedies against posterior collapse, each switchable (all off: the plain VAE)."""

    kl_schedule: str = "none"  # "none", "linear", "logistic" or "cyclical" (vae.kl_weight)
    kl_warmup: int = 0  # steps until the KL weight reaches 1
    word_dropout: float = 0.0  # probability of replacing a decoder input word by <unk>
    free_bits: float = 0.0  # λ nats per latent dimension (vae.free_bits_kl)

    def step_loss(self, model: SentenceVAE, batch: Tensor, lengths: Tensor, step: int):
        r"""(loss per token, tokens, record) for `fit`: the package's ELBO step with the remedies,

            loss = −(Σ_x log p(x | z) − β_t · B · Σ_j max(λ, mean_x KL_j)) / tokens,

        z ~ q(z|x) (one sample), the decoder's inputs word-dropped, β_t = `vae.kl_weight`, λ the
        free bits (`vae.free_bits_kl`), tokens the words and <eos> of the batch. The record holds
        that loss, the reconstruction NLL per token, the KL per sentence and β.
        """
        out = model(batch, lengths, dropout=self.word_dropout)
        tokens = int((lengths - 1).sum())
        beta = vae.kl_weight(step, self.kl_schedule, self.kl_warmup)
        kl_term = vae.free_bits_kl(out["kl_dim"], self.free_bits) * len(batch)
        loss = (-out["rec"].sum() + beta * kl_term) / tokens
        kl = out["kl_dim"].sum(1).mean().item()
        return loss, tokens, {"train_loss": loss.item(), "train_rec": -out["rec"].sum().item() / tokens,
                              "train_kl": kl, "beta": beta}


@torch.no_grad()
def encode_all(model: SentenceVAE, sequences: Sequence[Sequence[int]], batch_size: int = 256):
    """μ and log σ² of every sequence, in the given order."""
    device = model.out.weight.device
    mus, logvars = [None] * len(sequences), [None] * len(sequences)
    for idx in length_batches(sequences, batch_size):
        batch, lengths = pad([sequences[i] for i in idx], model.pad_id)
        mu, logvar = model.encode(batch.to(device), lengths.to(device))
        for j, i in enumerate(idx):
            mus[i], logvars[i] = mu[j], logvar[j]
    return torch.stack(mus).cpu(), torch.stack(logvars).cpu()


@torch.no_grad()
def evaluate_vae(model: SentenceVAE, sequences: Sequence[Sequence[int]], k: int = 50,
                 batch_size: int = 256, seed: int = 0) -> dict[str, float]:
    r"""Test figures of a sentence VAE:

    nll_per_token (−IWAE_k bound summed / tokens, <eos> counted), elbo_nll_per_token (−ELBO),
    rec_per_token, kl (nats per sentence), mutual_info (vae.mutual_information over all
    sequences), active_units (vae.active_units).
    """
    was_training = model.training
    model.eval()
    device = model.out.weight.device
    g = torch.Generator().manual_seed(seed)
    tokens = sum(len(s) - 1 for s in sequences)
    iw = rec = kl = 0.0
    for idx in length_batches(sequences, batch_size):
        batch, lengths = pad([sequences[i] for i in idx], model.pad_id)
        batch, lengths = batch.to(device), lengths.to(device)
        iw += model.iw_log_likelihood(batch, lengths, k, g).sum().item()
        out = model(batch, lengths, generator=g)
        rec += out["rec"].sum().item()
        kl += out["kl_dim"].sum().item()
    mu, logvar = encode_all(model, sequences, batch_size)
    model.train(was_training)
    return {
        "nll_per_token": -iw / tokens,
        "elbo_nll_per_token": (kl - rec) / tokens,
        "rec_per_token": -rec / tokens,
        "kl": kl / len(sequences),
        "mutual_info": vae.mutual_information(mu.double(), logvar.double(), g).item(),
        "active_units": vae.active_units(mu),
    }


def interpolate(z_a: Tensor, z_b: Tensor, steps: int) -> Tensor:
    """Codes on the straight line from z_a to z_b, both ends included (steps, latent)."""
    t = torch.linspace(0, 1, steps, dtype=z_a.dtype, device=z_a.device)[:, None]
    return (1 - t) * z_a + t * z_b
