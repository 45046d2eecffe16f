r"""The seed article's GAN + VAE listing, rebuilt in our own code: the naive design, its faults, a fix.

The article (§3.3) writes the combined objective

    min_G max_D  E_{x~p_data}[log D(x)] + E_{z~q_φ(z|x)}[log(1 - D(G(z)))],

and (§4) gives a PyTorch listing that does not compute it. This module holds three things:

1. **The naive design**, faithful to the listing's architecture and hyper-parameters:
   `NaiveGenerator` (100 → 1000, ReLU then Tanh), `NaiveDiscriminator` (1000 → 1, Sigmoid),
   `NaiveEncoder` (1000 → 500 → 100, a deterministic code), `NaiveDecoder` (100 → 500 → 1000,
   Sigmoid), four Adam optimisers at lr 2e-4 and `nn.BCELoss`, trained by `naive_training`,
   which follows the listing's loop step by step. `bag_of_words` is the only way sentences fit
   its 1000-d input: word-frequency vectors, which are continuous and are not text.
2. **Evidence helpers**, one per fault, each returning figures a notebook can print: the GAN
   and the VAE share no parameter (`shared_parameters`), G samples z from N(0, I) while the
   codes are nothing like it (`encoder_is_deterministic`, `code_statistics`), Sigmoid followed by
   BCELoss saturates in float32 (`sigmoid_bce_vs_logits`), ReLU before Tanh (`relu_tanh_outputs`),
   and what the loss functions do with wrong shapes and ranges (`bce_outside_unit_interval`,
   `broadcast_mse_labels`).
3. **The fixed vector-space VAE-GAN** (Larsen et al. 2016, on the same bag-of-words vectors):
   `VectorVAEGAN` has a Gaussian encoder, *one* decoder that is also the generator, and a
   discriminator on logits; `train_vector_vaegan` trains it with the article's formula made
   real (fakes decoded from z ~ q(z|x), and from the prior).

No text models, plots or widgets here: the text VAE-GAN lives in ``ganvae_edu.text.vaegan``.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Collection
from dataclasses import dataclass, field

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from . import combined, gan
from .nets import mlp
from .train import check_finite
from .vae import kl_standard_normal, reparameterize

# The listing's sizes: a 1000-d data vector, 100-d noise / code, 500 hidden units.
DATA_DIM, CODE_DIM, HIDDEN = 1000, 100, 500

# ---------------------------------------------------------------------------------------------
# 1. The naive design (the article's §4 listing, in our own words)
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


@dataclass
class NaiveRun:
    """The four networks after `naive_training`, and one dict of losses per step."""

    generator: NaiveGenerator
    discriminator: NaiveDiscriminator
    encoder: NaiveEncoder
    decoder: NaiveDecoder
    history: list[dict[str, float]] = field(default_factory=list)

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
    """
    n, dim = data.shape
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        G, D = NaiveGenerator(CODE_DIM, dim), NaiveDiscriminator(dim)
        E, De = NaiveEncoder(dim), NaiveDecoder(data_dim=dim)
    opt_g = torch.optim.Adam(G.parameters(), lr=lr)
    opt_d = torch.optim.Adam(D.parameters(), lr=lr)
    opt_e = torch.optim.Adam(E.parameters(), lr=lr)
    opt_de = torch.optim.Adam(De.parameters(), lr=lr)
    criterion = nn.BCELoss()
    rng = torch.Generator().manual_seed(seed)
    run = NaiveRun(G, D, E, De)
    for step in range(1, steps + 1):
        real = data[torch.randint(n, (batch_size,), generator=rng)]
        label_shape = (batch_size, 1) if fix_label_shape else (batch_size,)
        ones, zeros = torch.ones(label_shape), torch.zeros(label_shape)

        # D step: real → 1, G(z) → 0 (the listing does not detach G(z); G's stray gradients
        # are wiped by its zero_grad below, so the result is the same).
        fake = G(torch.randn(batch_size, CODE_DIM, generator=rng))
        real_out, fake_out = D(real), D(fake)
        d_loss = criterion(real_out, ones) + criterion(fake_out, zeros)
        opt_d.zero_grad()
        d_loss.backward()
        opt_d.step()

        # G step: -log D(G(z')) through BCE with label 1 (the non-saturating loss).
        g_loss = criterion(D(G(torch.randn(batch_size, CODE_DIM, generator=rng))), ones)
        opt_g.zero_grad()
        g_loss.backward()
        opt_g.step()

        # E/De step: a plain autoencoder, unrelated to G and D.
        e_loss = torch.tensor(float("nan"))
        if train_vae:
            e_loss = criterion(De(E(real)), real)
            opt_e.zero_grad()
            opt_de.zero_grad()
            e_loss.backward()
            opt_e.step()
            opt_de.step()

        run.history.append({
            "step": step, "d_loss": d_loss.item(), "g_loss": g_loss.item(), "e_loss": e_loss.item(),
            "d_real": real_out.mean().item(), "d_fake": fake_out.mean().item(),
        })
    return run


# ---------------------------------------------------------------------------------------------
# 2. Evidence: one helper per fault
# ---------------------------------------------------------------------------------------------


def shared_parameters(a: nn.Module, b: nn.Module) -> int:
    """How many parameter tensors `a` and `b` have in common (the same tensor object).

    0 for the article's GAN (G, D) and VAE (E, De): no gradient of one ever reaches the other,
    so "combining" them is running two unrelated trainings in one loop.
    """
    ids = {id(p) for p in a.parameters()}
    return sum(id(p) in ids for p in b.parameters())


def sigmoid_bce_vs_logits(logits: Tensor, target: float) -> list[dict[str, float]]:
    r"""For each logit l: the loss and dloss/dl (i) as the article computes them, and (ii) on logits.

    (i) p = sigmoid(l) in float32, then ``nn.BCELoss``: -[t log p + (1 - t) log(1 - p)], each
    log clamped at ≥ -100. (ii) ``F.binary_cross_entropy_with_logits``: softplus(l) - t·l, exact,
    with gradient sigmoid(l) - t, which → ±1 when D is confidently wrong.

    What float32 does to (i) (measured with torch 2.13): with t = 0, p rounds to exactly 1 once
    l ≳ 16.7, so the loss sticks at 100 and the gradient is exactly 0 (l = 20 or 40: 100 and
    0; the logits version gives 20 or 40 and gradient 1). With t = 1 the loss stays right
    (-l) while p is representable, but BCELoss's backward divides by max(p(1 - p), 1e-12), so
    the gradient fades below l ≈ -27.6 (-1 at l = -20, -4.2e-6 at l = -40) and both clamp to
    100 and 0 once p underflows to 0 (l ≲ -88.7). Each row: logit, target, sigmoid, bce_loss,
    bce_grad, logits_loss, logits_grad.
    """
    rows = []
    criterion = nn.BCELoss()
    t = torch.tensor([target], dtype=torch.float32)
    for value in logits.detach().to(torch.float32).flatten().tolist():
        a = torch.tensor([value], requires_grad=True)
        p = torch.sigmoid(a)
        bce = criterion(p, t)
        bce.backward()
        b = torch.tensor([value], requires_grad=True)
        exact = F.binary_cross_entropy_with_logits(b, t)
        exact.backward()
        assert a.grad is not None and b.grad is not None
        rows.append({
            "logit": value, "target": target, "sigmoid": p.item(),
            "bce_loss": bce.item(), "bce_grad": a.grad.item(),
            "logits_loss": exact.item(), "logits_grad": b.grad.item(),
        })
    return rows


@torch.no_grad()
def relu_tanh_outputs(gen: nn.Module, n: int, seed: int) -> dict[str, float]:
    r"""Outputs of tanh(relu(·)) on n noise vectors z ~ N(0, I): they lie in [0, 1), never below 0.

    ``zero_fraction`` is the share of outputs exactly 0 (a unit with a negative pre-activation
    for that z, with no gradient through it); about ½ at initialisation, since the pre-
    activations are symmetric around small biases. Also ``min``, ``max``, ``negative_fraction``.
    `gen` needs a ``noise_dim`` attribute (as `NaiveGenerator` has).
    """
    noise_dim = getattr(gen, "noise_dim", None)
    if not isinstance(noise_dim, int):
        raise ValueError(f"relu_tanh_outputs: {type(gen).__name__} has no integer noise_dim attribute; "
                         "pass a NaiveGenerator or set gen.noise_dim")
    z = torch.randn(n, noise_dim, generator=torch.Generator().manual_seed(seed))
    out = gen(z)
    return {
        "zero_fraction": (out == 0).float().mean().item(),
        "negative_fraction": (out < 0).float().mean().item(),
        "min": out.min().item(),
        "max": out.max().item(),
    }


def _error_text(fn: Callable[[], Tensor]) -> str:
    """'ok: <value>' if fn() returns, else 'ErrorType: message'."""
    try:
        return f"ok: {fn().item():.4f}"
    except (RuntimeError, ValueError) as err:
        return f"{type(err).__name__}: {err}"


def bce_outside_unit_interval() -> dict[str, object]:
    r"""What the losses do with values outside [0, 1], e.g. data rescaled to [-1, 1] for a Tanh G.

    Measured with torch 2.13 (CPU): ``nn.BCELoss`` checks both arguments and raises
    "RuntimeError: all elements of target should be between 0 and 1" (target -1) or "... of
    input ..." (a negative prediction), so the listing's E/De step fails on such data.
    ``binary_cross_entropy_with_logits`` checks nothing: with target -1 its loss softplus(l) + l
    is negative and unbounded below (→ -∞ as l → -∞), a number with no meaning.
    Keys: bce_target (target -1), bce_input (prediction -0.5), logits_loss_target_minus_one
    ({logit: loss} for l = 0, -10, -100).
    """
    bce = nn.BCELoss()
    logits = [0.0, -10.0, -100.0]
    with_logits = F.binary_cross_entropy_with_logits(
        torch.tensor(logits), torch.full((3,), -1.0), reduction="none")
    return {
        "bce_target": _error_text(lambda: bce(torch.tensor([0.3, 0.7]), torch.tensor([-1.0, 1.0]))),
        "bce_input": _error_text(lambda: bce(torch.tensor([-0.5, 0.7]), torch.tensor([0.0, 1.0]))),
        "logits_loss_target_minus_one": dict(zip(logits, with_logits.tolist())),
    }


def broadcast_mse_labels(batch: int) -> dict[str, object]:
    r"""``nn.MSELoss`` with outputs (B, 1) and labels (B,): broadcast to (B, B), with only a warning.

    A perfect discriminator is built (outputs = labels: half 1, half 0). With labels of shape
    (B, 1) its loss is 0; with labels (B,) every output is compared with every label, mean over
    (B, B) pairs of (o_i - t_j)², here 0.5. torch 2.13 emits a UserWarning ("Using a target
    size ... This will likely lead to incorrect results due to broadcasting ...") and goes on.
    Keys: loss_matched, loss_broadcast, loss_all_pairs (the (B, B) mean, computed by hand),
    warning (its text, or '' if none).
    """
    labels = torch.cat([torch.ones(batch // 2), torch.zeros(batch - batch // 2)])
    outputs = labels.unsqueeze(1)  # (B, 1), exactly right
    mse = nn.MSELoss()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        broadcast = mse(outputs, labels)
    return {
        "loss_matched": mse(outputs, labels.unsqueeze(1)).item(),
        "loss_broadcast": broadcast.item(),
        "loss_all_pairs": (outputs - labels.unsqueeze(0)).pow(2).mean().item(),
        "warning": str(caught[0].message) if caught else "",
    }


@torch.no_grad()
def encoder_is_deterministic(encoder: Callable[[Tensor], Tensor], x: Tensor) -> bool:
    """True when encoding x twice gives identical codes: a point, not a distribution q(z|x).

    The article's formula samples z ~ q_φ(z|x); its encoder returns one code per x.
    """
    return bool(torch.equal(encoder(x), encoder(x)))


def code_statistics(codes: Tensor) -> dict[str, float]:
    r"""How far a set of codes (N, d) is from the prior N(0, I) that G is fed.

    Fits a diagonal Gaussian by moments (mean m_j, variance s_j² per dimension) and reports
    KL(N(m, diag s²) ‖ N(0, I)) = ½ Σ_j (m_j² + s_j² - log s_j² - 1) with
    `vae.kl_standard_normal`; near 0 for N(0, I) samples, large when the codes sit elsewhere
    or are squeezed (a tiny s_j costs -½ log s_j²). Keys: mean_abs_mean (average |m_j|),
    mean_std (average s_j), kl, kl_per_dim.
    """
    codes = codes.detach().to(torch.float64)
    mean, var = codes.mean(0), codes.var(0)
    kl = kl_standard_normal(mean, var.log()).item()
    return {
        "mean_abs_mean": mean.abs().mean().item(),
        "mean_std": var.sqrt().mean().item(),
        "kl": kl,
        "kl_per_dim": kl / codes.shape[1],
    }


# ---------------------------------------------------------------------------------------------
# 3. The fix: a VAE-GAN on bag-of-words vectors
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
) -> tuple[VectorVAEGAN, list[dict[str, float]]]:
    r"""(model, history): a VAE-GAN (Larsen et al. 2016) on bag-of-words rows `data` (N, dim).

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
    nets = (model.encoder, model.decoder, model.discriminator)
    opts = [torch.optim.Adam(net.parameters(), lr=lr, betas=(0.5, 0.9)) for net in nets]
    rng = torch.Generator().manual_seed(seed)
    history: list[dict[str, float]] = []
    for step in range(1, steps + 1):
        x = data[torch.randint(n, (batch_size,), generator=rng)]
        mu, logvar = model.encode(x)
        z_q = reparameterize(mu, logvar, generator=rng)
        z_p = torch.randn(batch_size, code_dim, generator=rng)
        logits_q = model.decode(z_q)
        nll, kl_each = multinomial_nll(x, logits_q), kl_standard_normal(mu, logvar)
        recon, kl = nll.mean(), kl_each.mean()

        fake_logits = {"posterior": [logits_q], "prior": [model.decode(z_p)],
                       "both": [logits_q, model.decode(z_p)]}[fakes]
        fake = F.softmax(torch.cat(fake_logits), dim=-1)
        real_d = model.discriminate(_normalise(x))
        d_loss = gan.discriminator_loss(real_d, model.discriminate(fake.detach()))
        fake_d = model.discriminate(fake)  # same D as d_loss: simultaneous updates
        g_adv = gan.generator_loss_nonsaturating(fake_d)

        players = combined.player_losses(None, fake_d, -nll, kl_each, kl_weight, adv_weight)
        losses = {"encoder": players["encoder"], "decoder": players["decoder"], "discriminator": d_loss}
        for who, loss in losses.items():
            check_finite(loss, f"vector VAE-GAN {who} loss", step,
                         f"Check the data for NaN/inf, or lower lr={lr}")
        grads = [torch.autograd.grad(loss, list(net.parameters()), retain_graph=True)
                 for loss, net in zip(losses.values(), nets)]
        for net, opt, net_grads in zip(nets, opts, grads):
            for p, g in zip(net.parameters(), net_grads):
                p.grad = g
            opt.step()
            opt.zero_grad(set_to_none=True)

        history.append({
            "step": step, "recon": recon.item(), "kl": kl.item(), "d_loss": d_loss.item(),
            "g_adv": g_adv.item(), "d_real": torch.sigmoid(real_d).mean().item(),
            "d_fake": torch.sigmoid(fake_d).mean().item(),
        })
    return model, history
