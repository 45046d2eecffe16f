"""Text GANs on a tiny corpus: both variants train for real, the relaxed sentences are well-formed,
and a NaN stops training with the last good weights kept."""

import pytest
import torch

from ganvae_edu.text.discriminator import CNNDiscriminator
from ganvae_edu.text.fit import TrainConfig
from ganvae_edu.text.lm import GRULanguageModel, train_lm
from ganvae_edu.text.textgan import TextGANConfig, real_targets, soft_generate, tau_at, train_text_gan
from ganvae_edu.training import TrainingDiverged

V = 12  # the vocabulary of the tiny_ids fixture (conftest.py)


def pretrained(data):
    torch.manual_seed(0)
    lm = GRULanguageModel(V, emb=8, hidden=16)
    train_lm(lm, data, None, TrainConfig(steps=60, batch_size=32, lr=1e-2), show_progress=False)
    return lm


def test_real_targets_and_the_temperature_schedule():
    batch = real_targets([[1, 5, 6, 2], [1, 7, 2]], max_len=5)
    assert batch.tolist() == [[5, 6, 2], [7, 2, 0]]
    cfg = TextGANConfig(steps=11, tau_start=1.0, tau_end=0.01)
    assert tau_at(1, cfg) == 1.0 and abs(tau_at(11, cfg) - 0.01) < 1e-12 and abs(tau_at(6, cfg) - 0.1) < 1e-12


def test_soft_sentences_are_distributions_padded_after_the_first_eos(tiny_ids):
    lm = pretrained(tiny_ids)
    y = soft_generate(lm, 50, 1, 2, max_len=8, tau=0.5, generator=torch.Generator().manual_seed(0))
    assert y.shape == (50, 9, V) and torch.allclose(y.sum(-1), torch.ones(50, 9), atol=1e-5)
    ids = y.argmax(-1)
    for row in ids.tolist():
        if 2 in row:
            assert all(t == 0 for t in row[row.index(2) + 1:])


@pytest.mark.parametrize("variant", ["reinforce", "gumbel"])
def test_both_variants_train_and_record_history(variant, tiny_ids):
    data = tiny_ids
    lm = pretrained(data)
    torch.manual_seed(0)
    disc = CNNDiscriminator(V, emb=8, filters=8)
    before = [p.detach().clone() for p in lm.parameters()]
    cfg = TextGANConfig(steps=20, batch_size=32, g_lr=1e-3, d_lr=1e-3, max_len=8)
    history = train_text_gan(variant, lm, disc, data, cfg, show_progress=False,
                             on_eval=lambda step: {"probe": float(step)}, eval_every=10).history
    assert len(history) == 20 and history[9]["probe"] == 10.0 and history[-1]["probe"] == 20.0
    assert all(torch.isfinite(torch.tensor([h["d_loss"], h["g_loss"]])).all() for h in history)
    assert any(not torch.equal(a, b) for a, b in zip(before, lm.parameters()))  # G moved
    key = "reward" if variant == "reinforce" else "tau"
    assert key in history[0]


def test_a_nan_stops_training_and_keeps_the_last_good_weights(tiny_ids):
    data = tiny_ids
    lm = pretrained(data)
    disc = CNNDiscriminator(V, emb=8, filters=8)
    with torch.no_grad():
        disc.out.bias.fill_(float("nan"))
    before = [p.detach().clone() for p in lm.parameters()]
    with pytest.raises(TrainingDiverged, match="discriminator loss became nan at step 1"):
        train_text_gan("gumbel", lm, disc, data, TextGANConfig(steps=5, batch_size=8), show_progress=False)
    assert all(torch.equal(a, b) for a, b in zip(before, lm.parameters()))
    with pytest.raises(ValueError, match="variant='wgan'"):
        train_text_gan("wgan", lm, disc, data, TextGANConfig(steps=1), show_progress=False)


@pytest.mark.parametrize("variant", ["reinforce", "gumbel"])
def test_a_passed_step_factory_is_the_one_that_runs(variant, tiny_ids):
    from ganvae_edu.text.textgan import STEPS

    lm = pretrained(tiny_ids)
    disc = CNNDiscriminator(V, emb=8, filters=8)
    calls = []

    def mine(g, d, train, cfg):
        calls.append((g, d, train, cfg))
        inner = STEPS[variant](g, d, train, cfg)
        return lambda s: {**inner(s), "mine": 1.0}

    cfg = TextGANConfig(steps=3, batch_size=8, max_len=6)
    history = train_text_gan(variant, lm, disc, tiny_ids, cfg, show_progress=False, step=mine).history
    assert len(calls) == 1 and calls[0][0] is lm and calls[0][1] is disc and calls[0][3] is cfg
    assert [h["mine"] for h in history] == [1.0, 1.0, 1.0]
    default = train_text_gan(variant, lm, disc, tiny_ids, cfg, show_progress=False).history
    assert "mine" not in default[0] and "d_real" in default[0]


@pytest.mark.parametrize("variant", ["reinforce", "gumbel"])
def test_steps_agree_tells_an_equal_step_from_a_different_one(variant, tiny_ids):
    from ganvae_edu.text.textgan import STEPS, steps_agree

    lm = pretrained(tiny_ids)
    torch.manual_seed(0)
    disc = CNNDiscriminator(V, emb=8, filters=8)  # dropout 0.25: both runs must draw the same masks
    cfg = TextGANConfig(batch_size=16, max_len=6, g_lr=1e-3, d_lr=1e-3)
    assert steps_agree(variant, STEPS[variant], lm, disc, tiny_ids, cfg) == {
        "d_loss": True, "g_loss": True, "weights": True}
    other = {"reinforce": "gumbel", "gumbel": "reinforce"}[variant]
    verdict = steps_agree(variant, STEPS[other], lm, disc, tiny_ids, cfg)
    assert verdict["weights"] is False and verdict["g_loss"] is False
