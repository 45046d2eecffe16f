"""The sentence VAE: word dropout, packed = padded, the IW bound above the ELBO, a short real fit."""

import math

import pytest
import torch

from ganvae_edu.formulas import vae
from ganvae_edu.text.batches import pad
from ganvae_edu.text.fit import TrainConfig, fit
from ganvae_edu.text.sentence_vae import SentenceVAE, VAEObjective, evaluate_vae, interpolate, word_dropout

SEQS = [[1, 4, 5, 6, 2], [1, 7, 2], [1, 4, 4, 8, 9, 10, 2], [1, 5, 2]]


def test_word_dropout_replaces_only_words_at_the_rate():
    g = torch.Generator().manual_seed(0)
    x = torch.randint(4, 30, (500, 10), generator=g)
    x[:, 0] = 1
    x[::2, 6:] = 0
    y = word_dropout(x, 0.4, unk_id=3, pad_id=0, bos_id=1, generator=g)
    changed = y != x
    assert (y[changed] == 3).all() and not changed[:, 0].any() and not changed[x == 0].any()
    words = int((x >= 4).sum())
    assert abs(changed.sum().item() / words - 0.4) < 4 * math.sqrt(0.24 / words)
    assert torch.equal(word_dropout(x, 0.0, 3, 0, 1), x)
    with pytest.raises(ValueError, match="word_dropout=1.5"):
        word_dropout(x, 1.5, 3, 0, 1)


def test_padded_implementation_computes_the_same_as_packed():
    torch.manual_seed(0)
    packed = SentenceVAE(12, emb=6, hidden=10, latent=3, enc_hidden=5)
    padded = SentenceVAE(12, emb=6, hidden=10, latent=3, enc_hidden=5, packed=False)
    padded.load_state_dict(packed.state_dict())
    batch, lengths = pad(SEQS)
    for a, b in zip(packed.encode(batch, lengths), padded.encode(batch, lengths)):
        assert torch.allclose(a, b, atol=1e-6)
    z = torch.randn(len(SEQS), 3)
    a, b = packed.log_likelihood(batch, lengths, z), padded.log_likelihood(batch, lengths, z)
    assert torch.allclose(a, b, atol=1e-5)


def test_iw_bound_lies_above_the_elbo_and_rises_with_k():
    torch.manual_seed(1)
    model = SentenceVAE(12, emb=6, hidden=10, latent=3).eval()
    batch, lengths = pad(SEQS * 25)
    g = torch.Generator().manual_seed(0)
    with torch.no_grad():
        out = model(batch, lengths, generator=g)
        elbo = (out["rec"] - out["kl_dim"].sum(1)).mean()
        iw = {k: model.iw_log_likelihood(batch, lengths, k, g).mean() for k in (1, 10, 100)}
    assert abs(iw[1] - elbo) < 0.5  # L_1 is the ELBO, up to Monte Carlo noise
    assert elbo < iw[10] < iw[100]


def test_a_short_fit_with_annealing_uses_the_latent_and_evaluates(two_scenes, two_scenes_nll):
    # two "scenes": sentences about 4/5/6 or about 7/8/9; z can tell them apart
    data = two_scenes
    torch.manual_seed(0)
    model = SentenceVAE(10, emb=8, hidden=16, latent=2)
    obj = VAEObjective(kl_schedule="linear", kl_warmup=100, word_dropout=0.3)
    res = fit(model, data, obj.step_loss, TrainConfig(steps=200, batch_size=32, lr=1e-2), show_progress=False)
    assert res.history[-1]["beta"] == 1.0 and res.history[0]["beta"] == pytest.approx(0.01)
    ev = evaluate_vae(model, data[:100], k=10)
    assert set(ev) == {"nll_per_token", "elbo_nll_per_token", "rec_per_token", "kl", "mutual_info",
                       "active_units"}
    assert ev["nll_per_token"] <= ev["elbo_nll_per_token"] + 1e-6
    assert ev["mutual_info"] > 0.5 * math.log(2)  # z carries most of the scene's 1 bit
    assert ev["nll_per_token"] < two_scenes_nll + 0.05


def test_interpolation_and_decoding():
    a, b = torch.zeros(3), torch.ones(3)
    line = interpolate(a, b, 5)
    assert torch.equal(line[0], a) and torch.equal(line[-1], b)
    assert torch.allclose(line[2], torch.full((3,), 0.5))
    model = SentenceVAE(12, emb=6, hidden=10, latent=3)
    out = model.decode(line, max_len=7, greedy=True)
    assert len(out) == 5 and all(len(s) <= 7 for s in out)
    assert vae.kl_weight(10, "none", 0) == 1.0


def _scenes(n=200):
    g = torch.Generator().manual_seed(0)
    data = []
    for i in range(n):
        words = [4, 5, 6] if i % 2 else [7, 8, 9]
        data.append([1] + [words[int(torch.randint(3, (1,), generator=g))] for _ in range(4)] + [2])
    return data


def test_fit_runs_a_passed_step_factory_and_the_default_is_the_package_step():
    from ganvae_edu.text.fit import loss_step

    data, cfg = _scenes(), TrainConfig(steps=3, batch_size=16, lr=1e-2)
    obj = VAEObjective(kl_schedule="linear", kl_warmup=2, word_dropout=0.3, free_bits=0.2)
    calls = []

    def counting(model, draw):  # the package's step, counted: the factory passed is the one run
        inner = loss_step(obj.step_loss)(model, draw)

        def step(s):
            calls.append(s.number)
            return inner(s)

        return step

    runs = {}
    ways = {"default": {"step_loss": obj.step_loss}, "passed": {"step_loss": None, "step": counting}}
    for name, kwargs in ways.items():
        torch.manual_seed(0)
        model = SentenceVAE(10, emb=6, hidden=8, latent=2)
        runs[name] = (fit(model, data, cfg=cfg, show_progress=False, **kwargs), model)
    assert calls == [1, 2, 3]
    (a, ma), (b, mb) = runs["default"], runs["passed"]
    assert a.history == b.history and {"train_loss", "train_rec", "train_kl", "beta"} <= set(a.history[0])
    assert all(torch.equal(p, q) for p, q in zip(ma.parameters(), mb.parameters()))
    with pytest.raises(ValueError, match="not both"):
        fit(ma, data, obj.step_loss, cfg, step=counting, show_progress=False)
    with pytest.raises(ValueError, match="neither"):
        fit(ma, data, None, cfg, show_progress=False)


def test_the_elbo_step_loss_is_the_free_bits_elbo_by_hand():
    torch.manual_seed(0)
    model = SentenceVAE(10, emb=6, hidden=8, latent=3)
    batch, lengths = pad(_scenes(8))
    obj = VAEObjective(kl_schedule="linear", kl_warmup=10, free_bits=0.3)
    torch.manual_seed(1)
    loss, tokens, record = obj.step_loss(model, batch, lengths, 4)
    torch.manual_seed(1)
    out = model(batch, lengths)
    kl_j = out["kl_dim"].mean(0)
    kl_term = len(batch) * torch.maximum(kl_j, torch.tensor(0.3)).sum()
    by_hand = (-out["rec"].sum() + 0.4 * kl_term) / (5 * 8)  # 4 words and <eos> each
    assert tokens == 5 * 8 and record["beta"] == pytest.approx(0.4)
    assert torch.isclose(loss, by_hand) and record["train_loss"] == pytest.approx(by_hand.item())
