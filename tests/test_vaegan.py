"""The text VAE-GAN in both readings, trained for real on a tiny corpus."""

import math

import pytest
import torch

from ganvae_edu.text.discriminator import CNNDiscriminator
from ganvae_edu.text.fit import TrainConfig, fit
from ganvae_edu.text.sentence_vae import SentenceVAE, VAEObjective
from ganvae_edu.text.vaegan import (
    JointConfig,
    TwoStageVAEGAN,
    posterior_codes,
    soft_decode,
    train_joint,
    train_two_stage,
)
from ganvae_edu.training import TrainingDiverged
from ganvae_edu.vector.latent_gan import LatentGANConfig

V = 12  # the vocabulary of the tiny_ids fixture (conftest.py)


def trained_vae(data, steps=60):
    torch.manual_seed(0)
    model = SentenceVAE(V, emb=8, hidden=16, latent=4)
    fit(model, data, VAEObjective(free_bits=0.1).step_loss, TrainConfig(steps=steps, batch_size=32, lr=1e-2),
        show_progress=False)
    return model.eval()


def test_step_vectors_with_one_hots_match_the_teacher_forced_decoder(tiny_ids):
    model = trained_vae(tiny_ids, steps=5)
    seq = torch.tensor([[1, 5, 7, 2]])
    z = torch.randn(1, 4, generator=torch.Generator().manual_seed(0))
    logits = model.teacher_forced_logits(seq[:, :-1], z)
    state, steps = None, []
    for t in range(3):
        out, state = model.step_vectors(model.embed.weight[seq[:, t]], z, state)
        steps.append(out)
    assert torch.allclose(torch.stack(steps, 1), logits, atol=1e-5)


def test_soft_decodings_are_padded_distributions(tiny_ids):
    model = trained_vae(tiny_ids, steps=5)
    z = torch.randn(30, 4, generator=torch.Generator().manual_seed(1))
    y = soft_decode(model, z, max_len=6, tau=0.5, generator=torch.Generator().manual_seed(0))
    assert y.shape == (30, 7, V) and torch.allclose(y.sum(-1), torch.ones(30, 7), atol=1e-5)


@pytest.mark.slow  # a VAE fit, then 20 joint steps with soft decodings: about 20 s on 2 cores
def test_joint_training_moves_the_decoder_keeps_the_vae_finite_and_records_history(tiny_ids):
    data = tiny_ids
    model = trained_vae(data)
    torch.manual_seed(0)
    disc = CNNDiscriminator(V, emb=8, filters=8)
    before = [p.detach().clone() for p in model.decoder.parameters()]
    cfg = JointConfig(steps=20, batch_size=32, lr=1e-3, d_lr=1e-3, max_len=8, feature_weight=0.1)
    history = train_joint(model, disc, data, cfg, show_progress=False,
                          on_eval=lambda step: {"probe": float(step)}, eval_every=10).history
    assert len(history) == 20 and history[9]["probe"] == 10.0 and history[-1]["probe"] == 20.0
    assert all(math.isfinite(h[k]) for h in history for k in ("d_loss", "enc_loss", "dec_loss", "rec", "kl"))
    assert any(not torch.equal(a, b) for a, b in zip(before, model.decoder.parameters()))
    assert not model.training


def test_a_nan_stops_joint_training_and_keeps_the_last_good_weights(tiny_ids):
    data = tiny_ids
    model = trained_vae(data)
    disc = CNNDiscriminator(V, emb=8, filters=8)
    with torch.no_grad():
        disc.out.bias.fill_(float("nan"))
    before = {k: v.clone() for k, v in model.state_dict().items()}
    with pytest.raises(TrainingDiverged, match="discriminator loss became nan at step 1"):
        train_joint(model, disc, data, JointConfig(steps=5, batch_size=16, max_len=8), show_progress=False)
    assert all(torch.equal(before[k], v) for k, v in model.state_dict().items())


@pytest.mark.slow  # a VAE fit, then 300 latent-GAN steps: about 35 s on 2 cores
def test_two_stage_learns_the_aggregate_posterior_and_samples_sentences(tiny_ids):
    data = tiny_ids
    model = trained_vae(data)
    codes = posterior_codes(model, data, draws=2, seed=0)
    assert codes.shape == (600, 4)
    res = train_two_stage(model, data, LatentGANConfig(steps=300, batch_size=128, noise_dim=4),
                          draws=2, show_progress=False)
    two, history = res.model, res.history
    assert isinstance(two, TwoStageVAEGAN) and history[-1]["step"] == 300
    fake = two.codes.sample(4000, torch.Generator().manual_seed(0))
    # the generated codes sit where the posterior codes are: means within 0.25 of theirs
    assert (fake.mean(0) - codes.mean(0)).abs().max() < 0.25
    sents = two.sample(10, max_len=6, generator=torch.Generator().manual_seed(0))
    assert len(sents) == 10 and all(len(s) <= 6 and all(4 <= t < V or t == 3 for t in s) for s in sents)


def test_joint_training_has_three_players_and_runs_a_passed_step_factory(tiny_ids):
    from ganvae_edu.text.vaegan import joint_players, joint_step

    model = trained_vae(tiny_ids, steps=5)
    players = joint_players(model)
    assert len(players["encoder"]) + len(players["decoder"]) == len(list(model.parameters()))
    calls = []

    def my_step(m, d, train, cfg):
        inner = joint_step(m, d, train, cfg)

        def step(s):
            calls.append(s.number)
            return inner(s)
        return step

    cfg = JointConfig(steps=2, batch_size=8, max_len=6, llike_weight=2.0)
    torch.manual_seed(0)
    history = train_joint(model, CNNDiscriminator(V, emb=8, filters=8), tiny_ids, cfg, show_progress=False,
                          step=my_step).history
    assert calls == [1, 2] and {"d_loss", "enc_loss", "dec_loss"} <= set(history[-1])
