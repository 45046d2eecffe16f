r"""The combined VAE-GAN objective: what each of the three players minimises.

The source article (§3.3) writes the combination as one minimax game,

    min_G max_D  E_{x~p_data}[log D(x)] + E_{z~q_φ(z|x)}[log(1 − D(G(z)))],

where G decodes codes drawn from the VAE encoder. Its second expectation leaves x free: read
as a game over the data it is E_{x~p_data} E_{z~q_φ(z|x)}, i.e. z from the *aggregate
posterior* q(z) = E_{x~p_data} q_φ(z|x). That game alone never asks q_φ to be a posterior (no
KL, no likelihood) and never samples the prior. Larsen et al. (2016) give the complete version:
the decoder *is* the generator, and

    L = L_prior + L_llike + L_GAN,   L_prior = KL(q(z|x) ‖ p(z)),
    L_llike = −E_q[log p(x|z)],     L_GAN = log D(x) + log(1 − D(Dec(z_q))) + log(1 − D(Dec(z_p))),

with each player taking the terms that concern it, and γ weighing *the likelihood* against the
GAN term in the decoder's update (their Algorithm 1: θ_Dec ← −∇(γ L_llike − L_GAN)):

    encoder:        L_enc = L_llike + β · L_prior
    decoder (= G):  L_dec = γ · L_llike + (−E log D(Dec(z)))          (non-saturating GAN term)
    discriminator:  L_D   = −E log D(x) − E log(1 − D(Dec(z)))   (z from q(z|x) and from p(z))

γ large: the decoder is a VAE's and the GAN term a whisper; γ small: the decoder plays the GAN.
The encoder's likelihood term has no γ, so no single sum of the three gives both encoder and
decoder their own gradient (unless γ = 1): each player steps on its own loss. Larsen et al.
measure L_llike in the discriminator's feature space; for text the token likelihood is the
natural choice (a feature term is optional in `text.vaegan`). All losses take D's logits.
"""

from __future__ import annotations

from torch import Tensor

from . import gan


def player_losses(real_logits: Tensor | None, fake_logits: Tensor, log_likelihood: Tensor,
                  kl: Tensor, kl_weight: float = 1.0, llike_weight: float = 1.0) -> dict[str, Tensor]:
    r"""The losses of the VAE-GAN's players (Larsen et al. 2016), as means over the batch:

    encoder       L_enc = −E[log p(x|z)] + β·KL(q(z|x) ‖ p(z))
    decoder       L_dec = γ·(−E[log p(x|z)]) + (−E[log D(Dec(z))])   (non-saturating GAN term)
    discriminator L_D   = −E[log D(x)] − E[log(1 − D(Dec(z)))]        (= gan.discriminator_loss)

    β = `kl_weight`, γ = `llike_weight`. `log_likelihood` and `kl` are per example (B,);
    `fake_logits` are D's logits on decodings. L_D is left out when `real_logits` is None.
    """
    rec = -log_likelihood.mean()
    adv = gan.generator_loss_nonsaturating(fake_logits)
    out = {"encoder": rec + kl_weight * kl.mean(), "decoder": llike_weight * rec + adv}
    if real_logits is not None:
        out["discriminator"] = gan.discriminator_loss(real_logits, fake_logits)
    return out
