"""Discriminator rejection sampling of sentences, and REINFORCE with a KL anchor (notebook 08)."""

import copy
import random
from dataclasses import replace

import torch

from ganvae_edu.text.discriminator import CNNDiscriminator
from ganvae_edu.text.lm import GRULanguageModel
from ganvae_edu.text.rejection_sampling import fit_discriminator, rejection_sample
from ganvae_edu.text.textgan import (
    TextGANConfig,
    kl_reinforce_step,
    reinforce_step,
    steps_agree,
    train_text_gan,
)

BOS, EOS, V = 1, 2, 20


def sentences(kind, n, rng):
    """'real': counting runs 3 4 5 6 … from a random start; 'fake': random words of the same lengths."""
    out = []
    for _ in range(n):
        k, start = rng.randint(4, 8), rng.randint(3, 10)
        words = list(range(start, start + k)) if kind == "real" else [rng.randint(3, V - 1) for _ in range(k)]
        out.append([BOS, *[min(w, V - 1) for w in words], EOS])
    return out


def test_drs_keeps_what_looks_real_more_often_than_what_does_not():
    rng = random.Random(0)
    torch.manual_seed(0)
    disc = CNNDiscriminator(V, emb=16, filters=16)
    fit_discriminator(disc, sentences("real", 300, rng), sentences("fake", 300, rng), steps=150, seed=0)
    real, fake = sentences("real", 200, rng), sentences("fake", 200, rng)  # candidates D has not seen
    out = rejection_sample(disc, real + fake, generator=torch.Generator().manual_seed(0))
    kept_real = sum(i < 200 for i in out["kept"]) / 200
    kept_fake = sum(i >= 200 for i in out["kept"]) / 200
    assert kept_real > 0.15 and kept_fake < kept_real / 5, (kept_real, kept_fake)  # 0.24 and 0.0 here
    assert out["accept"].max() <= 1 and out["max_logit"] == out["logits"].max().item()
    # γ < 0 accepts more of everything (trading exactness for acceptance)
    loose = rejection_sample(disc, real + fake, gamma=-3.0, generator=torch.Generator().manual_seed(0))
    assert len(loose["kept"]) > len(out["kept"])
    # γ at the median of F: half the candidates have σ(F − γ) ≥ ½, so far more are kept, reals first
    median = rejection_sample(disc, real + fake, percentile=50, generator=torch.Generator().manual_seed(0))
    assert (median["accept"] >= 0.5).sum() == 200 and median["gamma"] < 0
    assert sum(i < 200 for i in median["kept"]) > 2 * sum(i >= 200 for i in median["kept"])


def small_gan():
    torch.manual_seed(0)
    lm = GRULanguageModel(V, emb=8, hidden=16, bos_id=BOS, eos_id=EOS)
    return lm, CNNDiscriminator(V, emb=8, filters=8)


def test_a_zero_kl_anchor_is_plain_reinforce_and_a_strong_one_holds_the_reference():
    lm, disc = small_gan()
    train = sentences("real", 200, random.Random(1))
    cfg = TextGANConfig(batch_size=16, max_len=10, g_lr=3e-3, d_lr=1e-3)
    ref = copy.deepcopy(lm)
    same = steps_agree("reinforce", kl_reinforce_step(ref), lm, disc, train, cfg, steps=3)
    assert same == {"d_loss": True, "g_loss": True, "weights": True}  # β = 0: REINFORCE itself
    drift = {}
    for beta in (0.0, 5.0):
        g, d = copy.deepcopy(lm), copy.deepcopy(disc)
        hist = train_text_gan("reinforce", g, d, train, replace(cfg, steps=80, kl_beta=beta),
                              BOS, EOS, show_progress=False, step=kl_reinforce_step(ref)).history
        drift[beta] = sum(abs(h["kl"]) for h in hist[-20:]) / 20
        assert all("kl" in h for h in hist)
    assert drift[5.0] < drift[0.0], drift  # the anchor keeps log p_θ(x) near log π_ref(x)
    # and with β > 0 it is a different step from plain REINFORCE
    differs = steps_agree("reinforce", kl_reinforce_step(ref), lm, disc, train,
                          replace(cfg, kl_beta=5.0), steps=3,
                          against=lambda *a: reinforce_step(*a))
    assert not differs["weights"] and not differs["g_loss"]


def test_with_dropout_the_anchored_step_samples_and_scores_with_one_network():
    # the policy's samples and their log p_θ come from the same (dropout-free) network, so before
    # the first update, with p_θ = π_ref, the log-ratio is 0 for every sentence; sampling and
    # scoring under two dropout masks gave a negative "KL" (−14.5 nats on COCO)
    torch.manual_seed(0)
    lm = GRULanguageModel(V, emb=8, hidden=16, bos_id=BOS, eos_id=EOS, dropout=0.5)
    disc = CNNDiscriminator(V, emb=8, filters=8)
    ref = copy.deepcopy(lm).eval()
    train = sentences("real", 200, random.Random(1))
    cfg = TextGANConfig(batch_size=32, max_len=10, g_lr=3e-3, d_lr=1e-3, kl_beta=0.1, steps=1)
    hist = train_text_gan("reinforce", lm, disc, train, cfg, BOS, EOS, show_progress=False,
                          step=kl_reinforce_step(ref)).history
    assert abs(hist[0]["kl"]) < 1e-5, hist[0]
