r"""The fixed vector-space VAE-GAN (Larsen et al. 2016) on bag-of-words vectors.

`VectorVAEGAN` has a Gaussian encoder, *one* decoder that is also the generator, and a
discriminator on logits; `train_vector_vaegan` trains it with the seed article's formula made
real (fakes decoded from z ~ q(z|x), and from the prior). Sizes default to the article's
listing (1000 words, 100-d code, 500 hidden units); the text VAE-GAN lives in
``ganvae_edu.text.vaegan``.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import asdict, dataclass

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from ganvae_edu.formulas import combined, gan
from ganvae_edu.formulas.discrete import gumbel_softmax
from ganvae_edu.formulas.vae import active_units, free_bits_kl, mutual_information, reparameterize
from ganvae_edu.training import Step, TrainResult, data_digest, run
from ganvae_edu.vector.nets import mlp

# The seed article's sizes: a 1000-d data vector, 100-d code, 500 hidden units.
DATA_DIM, CODE_DIM, HIDDEN = 1000, 100, 500

# ---------------------------------------------------------------------------------------------
# The fix: a VAE-GAN on bag-of-words vectors
# ---------------------------------------------------------------------------------------------


class VectorVAEGAN(nn.Module):
    r"""Encoder q(z|x) = N(μ(x), diag σ²(x)); decoder = generator; discriminator on logits.

    The decoder gives the logits of a *multinomial* over the `dim` words: p(w|z) = softmax(ℓ(z))_w,
    matching the bag-of-words data (rows of word frequencies, each summing to 1). Its
    log-likelihood of a row x is Σ_w x_w log p(w|z): per word for frequencies (a sentence of L
    words has L times this; pass counts to get the sentence's multinomial log-likelihood up to
    a constant). The *same* decoder makes the fakes: D sees softmax(ℓ(z)), a point of the
    simplex like a real (normalised) row — so the GAN and the VAE share the decoder's weights.
    Sizes default to the article's (1000 words, 100-d code, 500 hidden units).
    """

    def __init__(self, dim: int = DATA_DIM, code_dim: int = CODE_DIM, hidden: int = HIDDEN) -> None:
        super().__init__()
        self.dim, self.code_dim = dim, code_dim
        self.encoder = mlp(dim, hidden, 1, 2 * code_dim, nn.ReLU)
        self.decoder = mlp(code_dim, hidden, 1, dim, nn.ReLU)
        self.discriminator = mlp(dim, hidden, 1, 1, lambda: nn.LeakyReLU(0.2))

    def encode(self, x: Tensor) -> tuple[Tensor, Tensor]:
        """(μ, log σ²) of q(z|x), each (B, code_dim)."""
        mu, logvar = self.encoder(x).chunk(2, dim=-1)
        return mu, logvar

    def sample_code(self, x: Tensor, generator: torch.Generator | None = None) -> Tensor:
        r"""z ~ q(z|x) by `vae.reparameterize`: a different code at each call."""
        return reparameterize(*self.encode(x), generator=generator)

    def decode(self, z: Tensor) -> Tensor:
        """Logits ℓ(z) (B, dim) of the multinomial over words."""
        return self.decoder(z)

    def discriminate(self, v: Tensor) -> Tensor:
        """D's logit (B,) for frequency vectors v (B, dim): > 0 means 'real'.

        Each row is standardised first (mean 0, variance 1 over its coordinates): frequencies
        are ~1/L, far below the unit scale nn.Linear's initialisation expects, and a D fed raw
        frequencies barely moves from D = ½ in a few hundred steps.
        """
        return self.discriminator(F.layer_norm(v, v.shape[-1:])).squeeze(-1)

    @torch.no_grad()
    def generate(self, n: int, generator: torch.Generator | None = None) -> Tensor:
        r"""n word distributions softmax(ℓ(z)), z ~ N(0, I): still vectors, not sentences."""
        z = torch.randn(n, self.code_dim, generator=generator)
        return F.softmax(self.decode(z.to(next(self.parameters()).device)), dim=-1)

    def gan(self) -> nn.ModuleList:
        """Generator (= decoder) and discriminator, as a view for `shared_parameters`."""
        return nn.ModuleList([self.decoder, self.discriminator])

    def vae(self) -> nn.ModuleList:
        """Encoder and decoder, as a view for `shared_parameters`."""
        return nn.ModuleList([self.encoder, self.decoder])


def multinomial_nll(x: Tensor, logits: Tensor) -> Tensor:
    r"""-log p(x|z) = -Σ_w x_w log softmax(ℓ)_w per row (B,): the reconstruction loss."""
    return -(x * F.log_softmax(logits, dim=-1)).sum(-1)


def _normalise(x: Tensor) -> Tensor:
    """Rows scaled to sum 1 (frequencies), what D sees of a real row; all-zero rows stay 0."""
    return x / x.sum(-1, keepdim=True).clamp_min(1e-12)


def relaxed_bag(logits: Tensor, lengths: Tensor, tau: float,
                generator: torch.Generator | None = None) -> Tensor:
    r"""A relaxed bag of words (B, dim): the mean of L_b Gumbel-softmax draws from softmax(ℓ_b).

    Row b has L_b = `lengths[b]` words, each drawn as y = softmax((ℓ_b + g)/τ) (notebook 05's
    relaxation, `discrete.gumbel_softmax`); the bag is their mean, a frequency vector like a
    real row. softmax(ℓ) itself is dense (every word gets some mass) where a real row has ≈ 9
    non-zero entries, and a discriminator tells the two apart by that alone; at small τ each
    draw is nearly one-hot, so the bag is as sparse as a sentence's and still differentiable.
    """
    steps = int(torch.nan_to_num(lengths, nan=1.0).max().item()) if len(lengths) else 0  # NaN: the guard's
    draws = gumbel_softmax(logits[:, None, :].expand(-1, max(steps, 1), -1), tau, generator=generator)
    keep = (torch.arange(max(steps, 1), device=logits.device)[None, :] < lengths[:, None]).to(draws.dtype)
    return (draws * keep[..., None]).sum(1) / lengths.clamp_min(1)[:, None]


@dataclass(frozen=True)
class VectorVAEGANConfig:
    """The settings of `train_vector_vaegan` (see there), as its step factory gets them."""

    steps: int = 300
    batch_size: int = 64
    lr: float = 3e-3  # encoder and decoder
    d_lr: float = 5e-4  # discriminator: slower, so that it does not win the game outright
    kl_weight: float = 1.0  # β
    llike_weight: float = 1.0  # γ (Larsen et al.): weight of the likelihood in the decoder's loss
    free_bits: float = 0.5  # λ nats per code dimension (vae.free_bits_kl), against posterior collapse
    tau: float = 0.5  # Gumbel-softmax temperature of the fakes' relaxed bags
    fakes: str = "both"
    seed: int = 0
    code_dim: int = 16
    hidden: int = 128


def vaegan_step(model: VectorVAEGAN, data: Tensor, cfg: VectorVAEGANConfig):
    r"""The three players' step on bag-of-words rows `data` (N, dim), simultaneous updates.

    x a batch of word counts, z_q ~ q(z|x), z_p ~ N(0, I), fakes x̃ = relaxed bags of words from
    softmax(ℓ(z)) with as many words as the real rows (`relaxed_bag`):

        encoder:       L_E  = −log p(x|z_q) + β · KL(q(z|x) ‖ N(0, I))   (free bits λ: Σ_j max(λ, KL_j))
        decoder (= G): L_De = γ · (−log p(x|z_q)) + (−E log D(x̃))        (Larsen: γ on the likelihood)
        discriminator: L_D  = −E log D(x) − E log(1 − D(x̃))              (gan.discriminator_loss)
    """
    n, code_dim = len(data), model.code_dim

    def step(s: Step) -> dict[str, Tensor]:
        x = data[torch.randint(n, (cfg.batch_size,), generator=s.rng)]            # (B, dim) counts
        mu, logvar = model.encode(x)                                               # (B, d) each
        z_q = reparameterize(mu, logvar, generator=s.rng)                          # z ~ q(z|x)
        z_p = torch.randn(cfg.batch_size, code_dim, generator=s.rng)               # z ~ p(z)
        logits_q = model.decode(z_q)                                               # (B, dim)
        nll = multinomial_nll(x, logits_q)                                         # −log p(x|z_q), (B,)
        kl_dim = _kl_dims(mu, logvar)                                              # KL_j, (B, d)
        kl = free_bits_kl(kl_dim, cfg.free_bits)                                   # Σ_j max(λ, KL_j)

        z = {"posterior": z_q, "prior": z_p, "both": torch.cat([z_q, z_p])}[cfg.fakes]
        lengths = x.sum(-1).repeat(len(z) // cfg.batch_size)                       # words per fake row
        fake = relaxed_bag(model.decode(z.detach()), lengths, cfg.tau, s.rng)      # x̃, codes detached
        real_d, fake_d = model.discriminate(_normalise(x)), model.discriminate(fake)   # D's logits
        losses = combined.player_losses(real_d, fake_d, -nll, kl.expand(len(x)), cfg.kl_weight,
                                        cfg.llike_weight)
        d_loss = losses["discriminator"]  # simultaneous: each player's gradient of its own loss
        s.update_together({"encoder": losses["encoder"], "decoder": losses["decoder"],
                           "discriminator": d_loss})
        return {"recon": nll.mean(), "kl": kl_dim.sum(-1).mean(), "d_loss": d_loss,
                "g_adv": gan.generator_loss_nonsaturating(fake_d), "d_real": torch.sigmoid(real_d).mean(),
                "d_fake": torch.sigmoid(fake_d).mean()}

    return step


def _kl_dims(mu: Tensor, logvar: Tensor) -> Tensor:
    r"""KL(q(z_j|x) ‖ N(0, 1)) per example and dimension (B, d): ½(μ² + σ² − 1 − log σ²)."""
    return 0.5 * (mu.pow(2) + logvar.exp() - 1 - logvar)


@dataclass(kw_only=True)
class VectorVAEGANResult(TrainResult):
    model: VectorVAEGAN
    config: VectorVAEGANConfig


def train_vector_vaegan(data: Tensor, steps: int, *, checkpoint: str | os.PathLike | None = None,
                        show_progress: bool = False, step: Callable | None = None,
                        **settings) -> VectorVAEGANResult:
    r"""A VAE-GAN (Larsen et al. 2016) on bag-of-words rows `data` (N, dim): `.model`, `.history`.

    `settings` are the fields of `VectorVAEGANConfig` (batch_size, lr, d_lr, kl_weight β,
    llike_weight γ, free_bits λ, tau, fakes, seed, code_dim, hidden); each step is `vaegan_step`'s,
    or that of `step`, a factory with its signature ``step(model, data, cfg)``.

    `fakes` picks the z behind x̃: "posterior" (z ~ q(z|x), the article's formula), "prior"
    (z ~ N(0, I), what `generate` uses) or "both". γ (`llike_weight`) weighs the likelihood
    against the GAN term in the decoder's loss, as in Larsen et al.; the GAN term has weight 1.

    Scale of the reconstruction: on word *counts* (``bag_of_words(..., normalize=False)``)
    −log p(x|z) is per sentence and β = 1 gives the true ELBO. On frequencies it is per word,
    i.e. 1/L of the sentence's, so β = 1 charges the KL L times over and the posterior tends to
    collapse (KL → 0, the decoder learns the unigram distribution); use β ≈ 1/L there. Each loss
    only moves its own network (the encoder gets no adversarial gradient). All losses are
    computed first and checked: a NaN/inf raises `TrainingDiverged` before any weight moves.
    History per step: recon, kl, d_loss, g_adv, d_real, d_fake (mean D(x), D(x̃)).
    """
    cfg = VectorVAEGANConfig(steps=steps, **settings)
    if cfg.fakes not in ("posterior", "prior", "both"):
        raise ValueError(f"fakes={cfg.fakes!r}: use 'posterior', 'prior' or 'both'")
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(cfg.seed)
        model = VectorVAEGAN(data.shape[1], cfg.code_dim, cfg.hidden)
    lrs = {"encoder": cfg.lr, "decoder": cfg.lr, "discriminator": cfg.d_lr}
    opts = {name: torch.optim.Adam(getattr(model, name).parameters(), lr=lr, betas=(0.5, 0.9))
            for name, lr in lrs.items()}
    factory = vaegan_step if step is None else step
    result = run(factory(model, data, cfg), steps=cfg.steps, optimizers=opts, modules={"model": model},
                 rng=torch.Generator().manual_seed(cfg.seed), checkpoint=checkpoint,
                 fingerprint={"data": data_digest(data)} if checkpoint is not None else None,
                 config=asdict(cfg), name="vector VAE-GAN",
                 hint=f"Check the data for NaN/inf, or lower lr={cfg.lr}", show_progress=show_progress)
    return VectorVAEGANResult(**vars(result), model=model, config=cfg)


# ---------------------------------------------------------------------------------------------
# Is it working? The game and the code, from figures
# ---------------------------------------------------------------------------------------------


def code_usage(mu: Tensor, logvar: Tensor, generator: torch.Generator | None = None,
               threshold: float = 0.01) -> dict[str, float]:
    r"""How much the codes of N data points say about x: KL, mutual information, active units.

    With q(z) = (1/N) Σ_n q(z|x_n) the aggregate posterior (Hoffman & Johnson 2016),

        E_x KL(q(z|x) ‖ p(z)) = I_q(x; z) + KL(q(z) ‖ p(z)),

    so a KL near 0 forces I(x; z) ≈ 0: the codes then look like N(0, I) *because* they carry
    nothing. Returns kl (the left side, nats), mutual_info (`vae.mutual_information`, a
    Monte-Carlo estimate, at most log N), marginal_kl = kl − mutual_info (the right side's
    second term) and active_units: dimensions with Cov_x(E_q[z_j|x]) > `threshold` (Burda et al.
    2016, `vae.active_units`), out of `dims`.
    """
    mu, logvar = mu.detach().double(), logvar.detach().double()
    kl = float(0.5 * (mu.pow(2) + logvar.exp() - 1 - logvar).sum(-1).mean())
    mi = float(mutual_information(mu, logvar, generator))
    return {"kl": kl, "mutual_info": mi, "marginal_kl": kl - mi,
            "active_units": active_units(mu, threshold), "dims": mu.shape[1]}


def health(history: list[dict[str, float]], usage: dict[str, float], window: int = 20,
           d_band: tuple[float, float] = (0.2, 0.8), min_mutual_info: float = 1.0) -> dict[str, object]:
    r"""Verdicts on a VAE-GAN run from its figures: is the game alive, does the code carry x?

    * game: the mean D(x) and D(x̃) over the last `window` steps both inside `d_band` — neither
      player has won (D(x) → 1, D(x̃) → 0 is a discriminator that wins outright, and the
      generator's gradient then says only "you are fake");
    * code: I(x; z) ≥ `min_mutual_info` nats and at least half the dimensions active — the
      encoder has not collapsed onto the prior.

    Returns the figures (d_real, d_fake, mutual_info, active_units, dims), the booleans
    game_ok, code_ok, and `sentence`, one line built from them.
    """
    last = history[-window:]
    d_real = sum(h["d_real"] for h in last) / len(last)
    d_fake = sum(h["d_fake"] for h in last) / len(last)
    lo, hi = d_band
    game_ok = lo < d_fake < hi and lo < d_real < hi
    code_ok = usage["mutual_info"] >= min_mutual_info and 2 * usage["active_units"] >= usage["dims"]
    game = ("the GAN game is alive: neither player has won" if game_ok else
            "the discriminator has won" if d_real - d_fake > hi - lo else "the GAN game is off balance")
    code = ("the codes carry information about x" if code_ok else "the encoder has (nearly) collapsed")
    sentence = (f"{game} (D(x) {d_real:.2f}, D(x̃) {d_fake:.2f}, band {lo:g}–{hi:g}); {code} "
                f"(I(x; z) {usage['mutual_info']:.1f} nats, {usage['active_units']}/{usage['dims']} "
                f"active units, threshold {min_mutual_info:g} nat and half)")
    return {"d_real": d_real, "d_fake": d_fake, "mutual_info": usage["mutual_info"],
            "active_units": usage["active_units"], "dims": usage["dims"], "game_ok": game_ok,
            "code_ok": code_ok, "sentence": sentence}
