r"""The seed article's GAN + VAE listing (§4), rebuilt in our own code: the naive design.

The article (§3.3) writes the combined objective

    min_G max_D  E_{x~p_data}[log D(x)] + E_{z~q_φ(z|x)}[log(1 - D(G(z)))],

and (§4) gives a PyTorch listing that does not compute it. This module holds the naive design,
faithful to the listing's architecture and hyper-parameters: `NaiveGenerator` (100 → 1000, ReLU
then Tanh), `NaiveDiscriminator` (1000 → 1, Sigmoid), `NaiveEncoder` (1000 → 500 → 100, a
deterministic code), `NaiveDecoder` (100 → 500 → 1000, Sigmoid), four Adam optimisers at lr 2e-4
and `nn.BCELoss`, trained by `naive_training`, which follows the listing's loop step by step.
`bag_of_words` is the only way sentences fit its 1000-d input: word-frequency vectors, which are
continuous and are not text.
"""

from __future__ import annotations

import os
from collections.abc import Collection
from dataclasses import dataclass

import torch
from torch import Tensor, nn

from ganvae_edu.training import Step, TrainResult, run

# The listing's sizes: a 1000-d data vector, 100-d noise / code, 500 hidden units.
DATA_DIM, CODE_DIM, HIDDEN = 1000, 100, 500

# ---------------------------------------------------------------------------------------------
# The naive design (the article's §4 listing, in our own words)
# ---------------------------------------------------------------------------------------------


class NaiveGenerator(nn.Module):
    r"""G(z) = tanh(relu(W z + b)): noise (B, 100) → a vector (B, 1000) in [0, 1).

    ReLU before Tanh: relu(·) ≥ 0, so the output is never negative, and every unit whose
    pre-activation is negative outputs exactly 0 with zero gradient for that z.
    """

    def __init__(self, noise_dim: int = CODE_DIM, data_dim: int = DATA_DIM) -> None:
        super().__init__()
        self.noise_dim = noise_dim
        self.fc = nn.Linear(noise_dim, data_dim)

    def forward(self, z: Tensor) -> Tensor:
        return torch.tanh(torch.relu(self.fc(z)))


class NaiveDiscriminator(nn.Module):
    r"""D(x) = sigmoid(wᵀx + b): a vector (B, 1000) → a probability of shape (B, 1), not (B,)."""

    def __init__(self, data_dim: int = DATA_DIM) -> None:
        super().__init__()
        self.fc = nn.Linear(data_dim, 1)

    def forward(self, x: Tensor) -> Tensor:
        return torch.sigmoid(self.fc(x))


class NaiveEncoder(nn.Module):
    r"""E(x) = W₂ relu(W₁ x + b₁) + b₂: one code per x, no mean/variance, no sampling."""

    def __init__(self, data_dim: int = DATA_DIM, hidden: int = HIDDEN, code_dim: int = CODE_DIM) -> None:
        super().__init__()
        self.fc1 = nn.Linear(data_dim, hidden)
        self.fc2 = nn.Linear(hidden, code_dim)

    def forward(self, x: Tensor) -> Tensor:
        return self.fc2(torch.relu(self.fc1(x)))


class NaiveDecoder(nn.Module):
    r"""De(z) = sigmoid(W₂ relu(W₁ z + b₁) + b₂): a code (B, 100) → a vector (B, 1000) in (0, 1)."""

    def __init__(self, code_dim: int = CODE_DIM, hidden: int = HIDDEN, data_dim: int = DATA_DIM) -> None:
        super().__init__()
        self.fc1 = nn.Linear(code_dim, hidden)
        self.fc2 = nn.Linear(hidden, data_dim)

    def forward(self, z: Tensor) -> Tensor:
        return torch.sigmoid(self.fc2(torch.relu(self.fc1(z))))


def bag_of_words(
    sequences: list[list[int]], dim: int = DATA_DIM, ignore_ids: Collection[int] = (), normalize: bool = True
) -> Tensor:
    r"""Word-frequency vectors (N, dim): x_w = (count of word w in the sentence) / (its length).

    The only way a sentence fits the listing's 1000-d input. Ids 0 … dim-2 keep their own
    coordinate; every id ≥ dim-1 is folded into the last coordinate, an "other words" bucket.
    Ids in `ignore_ids` (e.g. <pad>, <bos>, <eos>) are not counted. Each row lies in [0, 1] and
    sums to 1 (a row with no counted word is all zeros); ``normalize=False`` gives the raw
    counts instead (rows sum to the sentence length: not in [0, 1]). Word order is lost — "the dog bit the
    man" and "the man bit the dog" get the same vector — and a generated vector is not a
    sentence, at best a ranking of words (`top_words`).
    """
    if dim < 2:
        raise ValueError(f"bag_of_words: dim={dim} leaves no room for an 'other' bucket; use dim >= 2")
    counts = torch.zeros(len(sequences), dim)
    skip = set(ignore_ids)
    for row, seq in enumerate(sequences):
        ids = [i for i in seq if i not in skip]
        if any(i < 0 for i in ids):
            raise ValueError(f"bag_of_words: sequence {row} holds a negative id {min(ids)}; ids must be >= 0")
        if ids:
            folded = torch.tensor(ids).clamp(max=dim - 1)
            counts[row] = torch.bincount(folded, minlength=dim).float() / (len(ids) if normalize else 1)
    return counts


def top_words(vector: Tensor, k: int = 10) -> list[int]:
    """The k coordinates (word ids) with the largest values: all one can read from a vector."""
    return vector.topk(k).indices.tolist()


@dataclass(kw_only=True)
class NaiveRun(TrainResult):
    """The four networks after `naive_training`, and one dict of losses per step."""

    generator: NaiveGenerator
    discriminator: NaiveDiscriminator
    encoder: NaiveEncoder
    decoder: NaiveDecoder

    def gan(self) -> nn.ModuleList:
        """G and D together (not registered anywhere: a view for `shared_parameters`)."""
        return nn.ModuleList([self.generator, self.discriminator])

    def vae(self) -> nn.ModuleList:
        """E and De together (a view for `shared_parameters`)."""
        return nn.ModuleList([self.encoder, self.decoder])


def naive_training(
    data: Tensor,
    steps: int,
    batch_size: int = 64,
    lr: float = 2e-4,
    seed: int = 0,
    fix_label_shape: bool = False,
    train_vae: bool = True,
    show_progress: bool = False,
    checkpoint: str | os.PathLike | None = None,
) -> NaiveRun:
    r"""The article's training loop, step for step, on `data` (N, dim) with rows in [0, 1].

    Each step: a random batch x; D step on BCE(D(x), 1) + BCE(D(G(z)), 0) with z ~ N(0, I);
    G step on BCE(D(G(z')), 1) with fresh z'; then (if `train_vae`) E and De step on
    BCE(De(E(x)), x). Losses are `nn.BCELoss` on Sigmoid outputs, as in the listing.

    The listing's labels are ``torch.ones(B)``, shape (B,), while D returns (B, 1). In torch
    2.x, BCELoss refuses that: "ValueError: Using a target size (torch.Size([B])) that is
    different to the input size (torch.Size([B, 1])) is deprecated. Please ensure they have the
    same size." With ``fix_label_shape=False`` that error is raised at the first step, as the
    listing would; ``fix_label_shape=True`` uses labels of shape (B, 1).

    Initial weights come from `seed` (without touching the global RNG); batch indices and noise
    from a local ``torch.Generator``. The VAE step draws nothing from it, so ``train_vae=False``
    leaves G and D bit-identical: the VAE never influences the GAN. History: d_loss, g_loss,
    e_loss (NaN when `train_vae` is False), d_real / d_fake = mean D output on x and on G(z).
    The optimiser steps are the loop's (`training.run`), with its NaN/inf guard.
    """
    n, dim = data.shape
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        G, D = NaiveGenerator(CODE_DIM, dim), NaiveDiscriminator(dim)
        E, De = NaiveEncoder(dim), NaiveDecoder(data_dim=dim)
    nets = {"generator": G, "discriminator": D, "encoder": E, "decoder": De}
    opts = {name: torch.optim.Adam(net.parameters(), lr=lr) for name, net in nets.items()}
    criterion = nn.BCELoss()

    def step(s: Step) -> dict[str, Tensor]:
        real = data[torch.randint(n, (batch_size,), generator=s.rng)]
        label_shape = (batch_size, 1) if fix_label_shape else (batch_size,)
        ones, zeros = torch.ones(label_shape), torch.zeros(label_shape)

        # D step: real → 1, G(z) → 0 (the listing does not detach G(z); G's stray gradients
        # are wiped before G's own step, so the result is the same).
        fake = G(torch.randn(batch_size, CODE_DIM, generator=s.rng))
        real_out, fake_out = D(real), D(fake)
        d_loss = criterion(real_out, ones) + criterion(fake_out, zeros)
        s.update("discriminator", d_loss)

        # G step: -log D(G(z')) through BCE with label 1 (the non-saturating loss).
        g_loss = criterion(D(G(torch.randn(batch_size, CODE_DIM, generator=s.rng))), ones)
        s.update("generator", g_loss)

        # E/De step: a plain autoencoder, unrelated to G and D.
        e_loss = torch.tensor(float("nan"))
        if train_vae:
            e_loss = criterion(De(E(real)), real)
            s.update(("encoder", "decoder"), e_loss)
        return {"d_loss": d_loss, "g_loss": g_loss, "e_loss": e_loss,
                "d_real": real_out.mean(), "d_fake": fake_out.mean()}

    config = {"steps": steps, "batch_size": batch_size, "lr": lr, "seed": seed,
              "fix_label_shape": fix_label_shape, "train_vae": train_vae}
    result = run(step, steps=steps, optimizers=opts, modules=nets, rng=torch.Generator().manual_seed(seed),
                 checkpoint=checkpoint, config=config, name="naive design", hint=f"Lower lr={lr}",
                 show_progress=show_progress)
    return NaiveRun(**vars(result), **nets)
