r"""The combined VAE-GAN objective: what each of the three players minimises.

The source article (§3.3) writes the combination as one minimax game,

    min_G max_D  E_{x~p_data}[log D(x)] + E_{z~q_φ(z|x)}[log(1 − D(G(z)))],

where G decodes codes drawn from the VAE encoder. That game alone never asks q_φ to be a
posterior (no KL, no likelihood) and never samples the prior. Larsen et al. (2016) give the
complete version: the decoder *is* the generator, and

    L = L_prior + L_llike + L_GAN,   L_prior = KL(q(z|x) ‖ p(z)),
    L_llike = −E_q[log p(x|z)],     L_GAN = log D(x) + log(1 − D(Dec(z_q))) + log(1 − D(Dec(z_p))),

with each player taking the terms that concern it:

    encoder:        L_enc = L_llike + β · L_prior
    decoder (= G):  L_dec = L_llike − γ · [non-saturating] = L_llike + γ · (−E log D(Dec(z)))
    discriminator:  L_D   = −E log D(x) − E log(1 − D(Dec(z)))   (z from q(z|x) and from p(z))

Larsen et al. measure L_llike in the discriminator's feature space; for text the token
likelihood is the natural choice (a feature term is optional in `text.vaegan`). γ weights the
adversarial signal against the likelihood, β the KL. All losses take discriminator logits.
"""

from __future__ import annotations

from torch import Tensor

from . import gan


def player_losses(real_logits: Tensor | None, fake_logits: Tensor, log_likelihood: Tensor,
                  kl: Tensor, kl_weight: float = 1.0, adv_weight: float = 1.0) -> dict[str, Tensor]:
    r"""The losses of the VAE-GAN's players, as means over the batch:

    encoder       L_enc = −E[log p(x|z)] + β·KL(q(z|x) ‖ p(z))
    decoder       L_dec = −E[log p(x|z)] + γ·(−E[log D(Dec(z))])     (non-saturating GAN term)
    discriminator L_D   = −E[log D(x)] − E[log(1 − D(Dec(z)))]        (= gan.discriminator_loss)
    vae           L_enc + L_dec + E[log p(x|z)] = −E[log p(x|z)] + β·KL + γ·(−E[log D(Dec(z))])

    `log_likelihood` and `kl` are per example (B,); `fake_logits` are D's logits on decodings.
    "vae" is what one optimiser over encoder and decoder minimises: if the codes given to the
    GAN term are detached, the encoder's gradient of it is that of L_enc and the decoder's that
    of L_dec (KL has no decoder parameter). L_D is left out when `real_logits` is None.
    """
    rec = -log_likelihood.mean()
    kl_term = kl_weight * kl.mean()
    adv_term = adv_weight * gan.generator_loss_nonsaturating(fake_logits)
    out = {"encoder": rec + kl_term, "decoder": rec + adv_term, "vae": rec + kl_term + adv_term}
    if real_logits is not None:
        out["discriminator"] = gan.discriminator_loss(real_logits, fake_logits)
    return out
