r"""The combined VAE-GAN for text, in the two readings of the source article.

**(a) Joint (Larsen et al. 2016 for text).** One `SentenceVAE`; its decoder is also the
generator. Each step:

* D (`CNNDiscriminator`) judges real sentences against *decodings*: Gumbel-softmax sentences
  (notebook 05's relaxation, `textgan.soft_generate`) decoded from z ~ q(z|x) — the article's
  E_{z~q(z|x)}[log(1 − D(G(z)))] — and from z ~ p(z) = N(0, I), the codes we sample at test time.
* encoder and decoder minimise `combined.player_losses`: reconstruction + β·KL for the encoder,
  γ·reconstruction + (non-saturating GAN loss) for the decoder — Larsen et al.'s γ weighs the
  likelihood against the GAN term. Each player steps on the gradient of its own loss; the codes
  handed to the GAN term are detached, so it never reaches the encoder.
* optionally (`feature_weight`) the decoder also matches D's features of the real sentence with
  those of its decoding from q(z|x) (Larsen's discriminator-feature reconstruction).

**(b) Two-stage.** Train the sentence VAE (notebook 04), then a GAN on its codes
(`latent_gan.train_latent_gan`) that learns the *aggregate posterior* q(z) = (1/N) Σ_n q(z|x_n).
Sampling z from that GAN instead of N(0, I) draws codes from where the decoder was trained,
not from the holes of the prior that no sentence's posterior covers.

The reconstruction and KL are counted per token, as in notebook 04 (`VAEObjective`), so γ
weighs a per-token likelihood against the adversarial signal.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass

import torch
from torch import Tensor, nn

from ganvae_edu.formulas import combined, gan, vae
from ganvae_edu.training import Step, TrainResult, data_digest, run
from ganvae_edu.vector.latent_gan import CodeGenerator, LatentGANConfig, train_latent_gan

from .batches import pad
from .discriminator import CNNDiscriminator
from .sentence_vae import SentenceVAE, encode_all
from .textgan import real_targets, soft_generate, tau_at


@dataclass
class JointConfig:
    steps: int = 200
    batch_size: int = 64
    lr: float = 1e-4  # encoder and decoder
    d_lr: float = 1e-4
    llike_weight: float = 1.0  # γ (Larsen et al.): weight of the likelihood in the decoder's loss
    kl_weight: float = 1.0  # β
    free_bits: float = 0.0  # λ nats per latent dimension (vae.free_bits_kl)
    prior_fakes: bool = True  # D also sees decodings of z ~ N(0, I), not only of z ~ q(z|x)
    feature_weight: float = 0.0  # discriminator-feature reconstruction (Larsen et al.)
    max_len: int = 20
    tau_start: float = 1.0  # Gumbel-softmax temperature, geometric decay as in textgan
    tau_end: float = 0.1
    straight_through: bool = False
    seed: int = 0


class _Conditioned:
    """The VAE's decoder with its codes fixed, seen through the interface `soft_generate` uses."""

    def __init__(self, model: SentenceVAE, z: Tensor) -> None:
        self.model, self.z = model, z
        self.embed, self.pad_id = model.embed, model.pad_id

    def step_vectors(self, vectors: Tensor, state: Tensor | None = None) -> tuple[Tensor, Tensor]:
        return self.model.step_vectors(vectors, self.z, state)


def soft_decode(model: SentenceVAE, z: Tensor, max_len: int, tau: float, hard: bool = False,
                generator: torch.Generator | None = None) -> Tensor:
    """Relaxed sentences (n, max_len + 1, V) decoded from codes z (n, latent), for D to judge."""
    return soft_generate(_Conditioned(model, z), len(z), model.bos_id, model.eos_id, max_len, tau,
                         hard, generator)


def joint_players(model: SentenceVAE) -> dict[str, list[nn.Parameter]]:
    """The parameters each of the encoder and decoder players moves; the shared word embedding
    goes with the decoder (it also embeds the generator's relaxed tokens)."""
    enc = model.encoder_parameters()
    mine = {id(p) for p in enc}
    return {"encoder": enc, "decoder": [p for p in model.parameters() if id(p) not in mine]}


def joint_step(model: SentenceVAE, disc: CNNDiscriminator, train: Sequence[Sequence[int]], cfg: JointConfig):
    r"""The three players' step: D on real sentences against decodings, then encoder and decoder.

    Fakes are Gumbel-softmax decodings of z ~ q(z|x) (the article's E_x E_{z~q(z|x)}) and, with
    `prior_fakes`, of z ~ N(0, I); their codes are detached, so the GAN term never reaches the
    encoder. With ℓ the reconstruction and KL per token (notebook 04):

        discriminator  L_D   = −E log D(x) − E log(1 − D(x̃))          (one step, first)
        encoder        L_enc = −ℓ + β · Σ_j max(λ, KL_j)               (`combined.player_losses`)
        decoder        L_dec = γ · (−ℓ) + (−E log D(x̃)) [+ feature term]

    Encoder and decoder then step together, each on the gradient of its own loss
    (`Step.update_together`): with γ on the decoder's likelihood alone, no single sum gives both.
    """
    device = model.out.weight.device

    def step(s: Step) -> dict[str, float | Tensor]:
        idx = torch.randint(len(train), (cfg.batch_size,), generator=s.rng).tolist()
        seqs = [train[i] for i in idx]
        batch, lengths = pad(seqs, model.pad_id)
        batch, lengths = batch.to(device), lengths.to(device)
        real = real_targets(seqs, cfg.max_len, model.pad_id).to(device)
        model.train()
        out = model(batch, lengths, generator=s.rng)
        tau = tau_at(s.number, cfg)
        # the article's G(z), z ~ q(z|x); detached: the GAN term must not move the encoder
        z = vae.reparameterize(out["mu"].detach(), out["logvar"].detach(), s.rng)
        if cfg.prior_fakes:
            z = torch.cat([z, torch.randn(cfg.batch_size, model.latent, generator=s.rng).to(device)])
        fake = soft_decode(model, z, cfg.max_len, tau, cfg.straight_through, s.rng)

        d_loss = gan.discriminator_loss(disc(real), disc(fake.detach()))
        s.update("discriminator", d_loss)

        disc.requires_grad_(False)
        tokens = int((lengths - 1).sum())
        per_token = len(seqs) / tokens  # per-example means × this = sums per token
        kl = vae.free_bits_kl(out["kl_dim"], cfg.free_bits)
        losses = combined.player_losses(None, disc(fake), out["rec"] * per_token,
                                        kl.expand(len(seqs)) * per_token, cfg.kl_weight, cfg.llike_weight)
        dec_loss = losses["decoder"]
        if cfg.feature_weight > 0:
            f_real = disc.features(real)
            f_rec = disc.features(fake[: len(seqs)])  # decodings of the same sentences' codes
            dec_loss = dec_loss + cfg.feature_weight * (f_rec - f_real).pow(2).mean()
        disc.requires_grad_(True)
        s.update_together({"encoder": losses["encoder"], "decoder": dec_loss})
        return {"tau": tau, "d_loss": d_loss, "enc_loss": losses["encoder"], "dec_loss": dec_loss,
                "rec": -out["rec"].sum() / tokens, "kl": out["kl_dim"].sum(1).mean()}

    return step


def train_joint(model: SentenceVAE, disc: CNNDiscriminator, train: Sequence[Sequence[int]],
                cfg: JointConfig, show_progress: bool = True,
                on_eval: Callable[[int], dict[str, float]] | None = None,
                eval_every: int | None = None, checkpoint: str | os.PathLike | None = None,
                step: Callable | None = None) -> TrainResult:
    """Joint VAE-GAN training of `model` (usually a trained sentence VAE) against `disc`.

    Each step is `joint_step`'s, or that of `step`, a factory with its signature
    ``step(model, disc, train, cfg)`` (a notebook's own). Three players, each an Adam optimiser:
    "discriminator" (at d_lr), "encoder" and "decoder" (`joint_players`, at lr).
    `train` holds <bos> … <eos> id lists. `on_eval(step)` every `eval_every` steps and at the
    end (model in eval mode) is merged into that step's record. A NaN/inf loss stops training
    with `TrainingDiverged`; the models keep the weights of the last good step.
    """

    def evaluate(k: int) -> dict[str, float]:
        model.eval()
        return on_eval(k)

    players = joint_players(model)
    result = run(
        (joint_step if step is None else step)(model, disc, train, cfg), steps=cfg.steps,
        optimizers={"discriminator": torch.optim.Adam(disc.parameters(), lr=cfg.d_lr),
                    "encoder": torch.optim.Adam(players["encoder"], lr=cfg.lr),
                    "decoder": torch.optim.Adam(players["decoder"], lr=cfg.lr)},
        modules={"vae": model, "discriminator": disc}, rng=torch.Generator().manual_seed(cfg.seed),
        clip=5.0, evaluate=evaluate if on_eval is not None and eval_every else None,
        eval_every=eval_every or None, checkpoint=checkpoint, config=asdict(cfg),
        fingerprint={"data": data_digest(train)} if checkpoint is not None else None, name="VAE-GAN",
        hint=f"Lower lr={cfg.lr} / d_lr={cfg.d_lr} or raise llike_weight={cfg.llike_weight} and rerun",
        show_progress=show_progress,
    )
    model.eval()
    return result


@torch.no_grad()
def posterior_codes(model: SentenceVAE, sequences: Sequence[Sequence[int]], draws: int = 1,
                    seed: int = 0) -> Tensor:
    """Samples of the aggregate posterior: `draws` codes z ~ q(z|x) per sentence (N · draws, d)."""
    mu, logvar = encode_all(model, sequences)
    g = torch.Generator().manual_seed(seed)
    return vae.reparameterize(mu.repeat(draws, 1), logvar.repeat(draws, 1), g)


class TwoStageVAEGAN(nn.Module):
    """A trained sentence VAE whose codes come from a latent GAN instead of N(0, I)."""

    def __init__(self, model: SentenceVAE, codes: CodeGenerator) -> None:
        super().__init__()
        self.vae, self.codes = model, codes

    @torch.no_grad()
    def sample(self, n: int, *, max_len: int = 40, generator: torch.Generator | None = None,
               temperature: float = 1.0) -> list[list[int]]:
        """n sentences: z = G(ε), ε ~ N(0, I), then x ~ p(x|z) (`sampling.SentenceGenerator`)."""
        z = self.codes.sample(n, generator).to(self.vae.out.weight.device)
        return self.vae.decode(z, max_len, generator, temperature)


@dataclass(kw_only=True)
class TwoStageResult(TrainResult):
    model: TwoStageVAEGAN


def train_two_stage(model: SentenceVAE, sequences: Sequence[Sequence[int]], cfg: LatentGANConfig,
                    draws: int = 1, show_progress: bool = True,
                    checkpoint: str | os.PathLike | None = None) -> TwoStageResult:
    """Stage 2: fit a latent GAN to `draws` posterior codes per training sentence of `model`."""
    codes = posterior_codes(model, sequences, draws, cfg.seed).to(model.out.weight.device)
    stage2 = train_latent_gan(codes, cfg, show_progress, checkpoint)
    fields = {k: v for k, v in vars(stage2).items() if k != "generator"}
    return TwoStageResult(**fields, model=TwoStageVAEGAN(model, stage2.generator))
