r"""The fixed vector-space VAE-GAN (Larsen et al. 2016) on bag-of-words vectors.

`VectorVAEGAN` has a Gaussian encoder, *one* decoder that is also the generator, and a
discriminator on logits; `train_vector_vaegan` trains it with the seed article's formula made
real (fakes decoded from z ~ q(z|x), and from the prior). Sizes default to the article's
listing (1000 words, 100-d code, 500 hidden units); the text VAE-GAN lives in
``ganvae_edu.text.vaegan``.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from ganvae_edu.formulas import combined, gan
from ganvae_edu.formulas.vae import kl_standard_normal, reparameterize
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


@dataclass(kw_only=True)
class VectorVAEGANResult(TrainResult):
    model: VectorVAEGAN


def train_vector_vaegan(
    data: Tensor,
    steps: int,
    batch_size: int = 64,
    lr: float = 1e-3,
    kl_weight: float = 1.0,
    adv_weight: float = 1.0,
    seed: int = 0,
    code_dim: int = CODE_DIM,
    hidden: int = HIDDEN,
    fakes: str = "both",
    checkpoint: str | os.PathLike | None = None,
    show_progress: bool = False,
) -> VectorVAEGANResult:
    r"""A VAE-GAN (Larsen et al. 2016) on bag-of-words rows `data` (N, dim): `.model`, `.history`.

    Per step, with x a batch, z_q ~ q(z|x), z_p ~ N(0, I), fakes x̃ = softmax(ℓ(z)):

        encoder:       L_E  = -log p(x|z_q) + kl_weight · KL(q(z|x) ‖ N(0, I))
        decoder (= G): L_De = -log p(x|z_q) + adv_weight · (-E log D(x̃))      (non-saturating)
        discriminator: L_D  = -E_x log D(x) - E log(1 - D(x̃))                 (gan.discriminator_loss)

    `fakes` picks the z behind x̃: "posterior" (z ~ q(z|x), the article's formula), "prior"
    (z ~ N(0, I), what `generate` uses) or "both". adv_weight = 0 is a plain VAE.

    Scale of the reconstruction: on word *counts* (``bag_of_words(..., normalize=False)``)
    -log p(x|z) is per sentence and kl_weight = 1 gives the true ELBO. On frequencies it is
    per word, i.e. 1/L of the sentence's, so kl_weight = 1 charges the KL L times over and the
    posterior tends to collapse (KL → 0, the decoder learns the unigram distribution); use
    kl_weight ≈ 1/L there. Each loss only
    moves its own network (the encoder gets no adversarial gradient). All losses are computed
    first and checked: a NaN/inf raises `TrainingDiverged` before any weight moves. History per
    step: recon, kl, d_loss, g_adv, d_real, d_fake (mean D(x), D(x̃)).
    """
    if fakes not in ("posterior", "prior", "both"):
        raise ValueError(f"fakes={fakes!r}: use 'posterior', 'prior' or 'both'")
    n, dim = data.shape
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        model = VectorVAEGAN(dim, code_dim, hidden)
    nets = {"encoder": model.encoder, "decoder": model.decoder, "discriminator": model.discriminator}
    opts = {name: torch.optim.Adam(net.parameters(), lr=lr, betas=(0.5, 0.9)) for name, net in nets.items()}

    def step(s: Step) -> dict[str, Tensor]:
        x = data[torch.randint(n, (batch_size,), generator=s.rng)]
        mu, logvar = model.encode(x)
        z_q = reparameterize(mu, logvar, generator=s.rng)
        z_p = torch.randn(batch_size, code_dim, generator=s.rng)
        logits_q = model.decode(z_q)
        nll, kl_each = multinomial_nll(x, logits_q), kl_standard_normal(mu, logvar)

        fake_logits = {"posterior": [logits_q], "prior": [model.decode(z_p)],
                       "both": [logits_q, model.decode(z_p)]}[fakes]
        fake = F.softmax(torch.cat(fake_logits), dim=-1)
        real_d = model.discriminate(_normalise(x))
        d_loss = gan.discriminator_loss(real_d, model.discriminate(fake.detach()))
        fake_d = model.discriminate(fake)  # same D as d_loss: simultaneous updates

        players = combined.player_losses(None, fake_d, -nll, kl_each, kl_weight, adv_weight)
        s.update_together({"encoder": players["encoder"], "decoder": players["decoder"],
                           "discriminator": d_loss})
        return {"recon": nll.mean(), "kl": kl_each.mean(), "d_loss": d_loss,
                "g_adv": gan.generator_loss_nonsaturating(fake_d), "d_real": torch.sigmoid(real_d).mean(),
                "d_fake": torch.sigmoid(fake_d).mean()}

    result = run(step, steps=steps, optimizers=opts, modules={"model": model},
                 rng=torch.Generator().manual_seed(seed), checkpoint=checkpoint,
                 fingerprint={"data": data_digest(data)} if checkpoint is not None else None,
                 config={"steps": steps, "batch_size": batch_size, "lr": lr, "kl_weight": kl_weight,
                         "adv_weight": adv_weight, "seed": seed, "code_dim": code_dim, "hidden": hidden,
                         "fakes": fakes},
                 name="vector VAE-GAN", hint=f"Check the data for NaN/inf, or lower lr={lr}",
                 show_progress=show_progress)
    return VectorVAEGANResult(**vars(result), model=model)

