"""The article's naive listing, the evidence against it, and the fixed vector VAE-GAN."""

import math
from collections import Counter

import pytest
import torch

from ganvae_edu import article as A
from ganvae_edu.training import TrainingDiverged
from ganvae_edu.vector import vaegan as V


@pytest.fixture(autouse=True, scope="module")
def one_thread():
    """Small matrices on a shared, busy CPU run far faster on one thread than on two."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def random_sentences(n, vocab=300, length=12, seed=0):
    g = torch.Generator().manual_seed(seed)
    return [torch.randint(4, vocab, (length,), generator=g).tolist() for _ in range(n)]


def topic_sentences(n, topics=4, words=20, length=10, seed=0):
    """Each sentence draws its `length` words from one of `topics` disjoint sets of `words` ids."""
    g = torch.Generator().manual_seed(seed)
    t = torch.randint(topics, (n,), generator=g)
    return [(4 + int(t[i]) * words + torch.randint(words, (length,), generator=g)).tolist() for i in range(n)]


def test_naive_nets_have_the_articles_shapes_and_ranges():
    z, x = torch.randn(5, 100), torch.rand(5, 1000)
    assert A.NaiveGenerator()(z).shape == (5, 1000)
    assert A.NaiveDiscriminator()(x).shape == (5, 1)  # (B, 1), while the listing's labels are (B,)
    assert A.NaiveEncoder()(x).shape == (5, 100)
    out = A.NaiveDecoder()(z)
    assert out.shape == (5, 1000) and bool(((out > 0) & (out < 1)).all())
    sizes = [p.shape for p in A.NaiveEncoder().parameters()]
    assert sizes == [(500, 1000), (500,), (100, 500), (100,)]


def test_bag_of_words_counts_frequencies_and_loses_order():
    seqs = [[5, 6, 5, 7], [7, 5, 6, 5], [3, 998, 999, 5000], []]
    x = A.bag_of_words(seqs, dim=1000)
    assert x.shape == (4, 1000)
    assert x.min() >= 0 and x.max() <= 1
    assert torch.allclose(x[:3].sum(1), torch.ones(3)) and x[3].sum() == 0
    counts = Counter(seqs[0])
    assert all(math.isclose(x[0, w].item(), c / 4) for w, c in counts.items())
    assert torch.equal(x[0], x[1])  # a different sentence, the same vector
    assert x[2, 998].item() == 0.25 and x[2, 999].item() == 0.5  # 999, 5000: the "other" bucket
    raw = A.bag_of_words(seqs[:1], dim=1000, normalize=False, ignore_ids={7})
    assert raw[0, 5] == 2 and raw[0, 7] == 0 and raw.sum() == 3
    with pytest.raises(ValueError, match="negative id"):
        A.bag_of_words([[1, -2]])


def test_the_listings_label_shape_is_refused_and_the_fix_runs():
    x = A.bag_of_words(random_sentences(128))
    message = r"target size \(torch.Size\(\[64\]\)\) that is different to the input size"
    with pytest.raises(ValueError, match=message):
        A.naive_training(x, steps=1)
    run = A.naive_training(x, steps=3, fix_label_shape=True)
    assert len(run.history) == 3
    assert all(math.isfinite(h[k]) for h in run.history for k in ("d_loss", "g_loss", "e_loss"))


def test_the_vae_part_leaves_the_gan_bit_identical():
    x = A.bag_of_words(random_sentences(128))
    with_vae = A.naive_training(x, steps=4, fix_label_shape=True, train_vae=True)
    without = A.naive_training(x, steps=4, fix_label_shape=True, train_vae=False)
    for a, b in [(with_vae.generator, without.generator), (with_vae.discriminator, without.discriminator)]:
        assert all(torch.equal(p, q) for p, q in zip(a.state_dict().values(), b.state_dict().values()))
    assert not torch.equal(with_vae.encoder.fc1.weight, without.encoder.fc1.weight)  # the VAE did train
    assert math.isnan(without.history[0]["e_loss"])
    assert A.shared_parameters(with_vae.gan(), with_vae.vae()) == 0


def test_vector_vaegan_decoder_is_shared_by_gan_and_vae():
    model = V.VectorVAEGAN(dim=50, code_dim=4, hidden=16)
    assert A.shared_parameters(model.gan(), model.vae()) == len(list(model.decoder.parameters())) == 4
    assert A.shared_parameters(model.encoder, model.discriminator) == 0


def test_sigmoid_then_bceloss_saturates_where_the_logits_loss_does_not():
    wrong_on_fakes = A.sigmoid_bce_vs_logits(torch.tensor([20.0, 40.0]), target=0.0)
    for row in wrong_on_fakes:  # sigmoid rounds to 1.0: log(1 - 1) clamped at -100
        assert row["sigmoid"] == 1.0
        assert row["bce_loss"] == 100.0 and row["bce_grad"] == 0.0
        assert row["logits_loss"] == pytest.approx(row["logit"]) and row["logits_grad"] == pytest.approx(1.0)
    r20, r40, r100 = A.sigmoid_bce_vs_logits(torch.tensor([-20.0, -40.0, -100.0]), target=1.0)
    assert r20["bce_loss"] == pytest.approx(20.0) and r20["bce_grad"] == pytest.approx(-1.0)
    assert r40["bce_loss"] == pytest.approx(40.0) and abs(r40["bce_grad"]) < 1e-5  # p(1-p) < 1e-12
    assert r100["sigmoid"] == 0.0 and r100["bce_loss"] == 100.0 and r100["bce_grad"] == 0.0
    for row in (r20, r40, r100):
        assert row["logits_loss"] == pytest.approx(-row["logit"])
        assert row["logits_grad"] == pytest.approx(-1.0)
    mild = A.sigmoid_bce_vs_logits(torch.tensor([0.0]), target=1.0)[0]
    assert mild["bce_loss"] == pytest.approx(math.log(2)) and mild["bce_grad"] == pytest.approx(-0.5)


def test_relu_then_tanh_is_never_negative_and_half_dead():
    out = A.relu_tanh_outputs(A.NaiveGenerator(), n=256, seed=0)
    assert out["min"] == 0.0 and out["negative_fraction"] == 0.0 and out["max"] < 1.0
    assert 0.3 < out["zero_fraction"] < 0.7


def test_bceloss_refuses_values_outside_the_unit_interval():
    out = A.bce_outside_unit_interval()
    assert out["bce_target"] == "RuntimeError: all elements of target should be between 0 and 1"
    assert out["bce_input"] == "RuntimeError: all elements of input should be between 0 and 1"
    losses = out["logits_loss_target_minus_one"]
    assert losses[0.0] == pytest.approx(math.log(2)) and losses[-100.0] == pytest.approx(-100.0)


def test_mse_with_mismatched_shapes_compares_every_output_with_every_label():
    out = A.broadcast_mse_labels(8)
    assert out["loss_matched"] == 0.0
    assert out["loss_broadcast"] == pytest.approx(0.5) == out["loss_all_pairs"]
    assert "broadcasting" in out["warning"]


def test_the_articles_codes_are_points_not_prior_samples():
    x = A.bag_of_words(random_sentences(256))
    encoder = A.NaiveEncoder()
    assert A.encoder_is_deterministic(encoder, x)
    assert not A.encoder_is_deterministic(V.VectorVAEGAN(dim=1000, code_dim=8, hidden=16).sample_code, x)
    with torch.no_grad():
        assert A.code_statistics(encoder(x))["kl"] > 100  # squeezed codes: std ~ 0.002


def test_code_statistics_against_the_closed_form_kl():
    g = torch.Generator().manual_seed(0)
    prior = torch.randn(20_000, 8, generator=g)
    assert A.code_statistics(prior)["kl"] < 0.01
    shifted = A.code_statistics(prior + 1.5)  # KL(N(c, I) || N(0, I)) = d c² / 2 = 9
    assert shifted["kl"] == pytest.approx(9.0, abs=0.1)
    assert shifted["mean_abs_mean"] == pytest.approx(1.5, abs=0.02)


def test_multinomial_nll_matches_torch_distributions():
    counts = A.bag_of_words(topic_sentences(6), dim=100, normalize=False)
    logits = torch.randn(6, 100, generator=torch.Generator().manual_seed(1))
    log_prob = torch.distributions.Multinomial(10, logits=logits).log_prob(counts)
    log_coef = math.lgamma(11) - torch.lgamma(counts + 1).sum(-1)
    assert torch.allclose(V.multinomial_nll(counts, logits), -(log_prob - log_coef), atol=1e-4)


def test_vector_vaegan_learns_to_reconstruct_and_its_discriminator_learns():
    counts = A.bag_of_words(topic_sentences(1000), dim=100, normalize=False)
    res = V.train_vector_vaegan(counts, steps=300, code_dim=8, hidden=64)
    model, history = res.model, res.history
    first = sum(h["recon"] for h in history[:10]) / 10
    last = sum(h["recon"] for h in history[-30:]) / 30
    assert last < 0.75 * first and last < 10 * math.log(20) + 5  # near the topic-aware 10·log 20
    assert all(math.isfinite(h["kl"]) for h in history) and history[-1]["kl"] > 1  # the code is used
    assert sum(h["d_real"] - h["d_fake"] for h in history[-50:]) > 0
    samples = model.generate(4, torch.Generator().manual_seed(0))
    assert samples.shape == (4, 100) and torch.allclose(samples.sum(1), torch.ones(4))


def test_kl_weight_one_on_frequencies_collapses_the_posterior():
    seqs = topic_sentences(1000)
    # γ = 10⁶: the GAN term is a millionth of the likelihood's, a plain VAE; no free bits
    settings = dict(steps=250, code_dim=8, hidden=64, llike_weight=1e6, free_bits=0.0, lr=1e-3)
    on_freq = V.train_vector_vaegan(A.bag_of_words(seqs, dim=100), **settings).history
    on_counts = V.train_vector_vaegan(A.bag_of_words(seqs, dim=100, normalize=False), **settings).history
    assert on_freq[-1]["kl"] < 0.1 < 1 < on_counts[-1]["kl"]


def test_a_nan_input_stops_training_before_any_step():
    counts = A.bag_of_words(topic_sentences(64), dim=100, normalize=False)
    counts[:, 0] = float("nan")
    with pytest.raises(TrainingDiverged, match="at step 1"):
        V.train_vector_vaegan(counts, steps=5, code_dim=4, hidden=16)
    with pytest.raises(ValueError, match="fakes="):
        V.train_vector_vaegan(counts, steps=1, fakes="both sides")


def test_a_step_factory_passed_to_the_trainer_is_the_one_that_runs():
    counts = A.bag_of_words(topic_sentences(64), dim=100, normalize=False)
    calls = []

    def my_step(model, data, cfg):
        inner = V.vaegan_step(model, data, cfg)

        def step(s):
            calls.append(s.number)
            return inner(s)
        return step

    mine = V.train_vector_vaegan(counts, 3, code_dim=4, hidden=16, step=my_step)
    theirs = V.train_vector_vaegan(counts, 3, code_dim=4, hidden=16)
    assert calls == [1, 2, 3]
    assert all(torch.equal(a, b) for a, b in zip(mine.model.parameters(), theirs.model.parameters()))


def test_relaxed_bags_are_frequency_rows_of_the_right_length():
    logits = torch.randn(5, 30, generator=torch.Generator().manual_seed(0))
    lengths = torch.tensor([1.0, 3.0, 7.0, 2.0, 5.0])
    bag = V.relaxed_bag(logits, lengths, tau=0.1, generator=torch.Generator().manual_seed(1))
    assert bag.shape == (5, 30) and torch.allclose(bag.sum(1), torch.ones(5), atol=1e-5)
    # at a small τ each draw is nearly one-hot: a row of L words has at most L large entries
    assert all(int((row > 0.5 / n).sum()) <= int(n) for row, n in zip(bag, lengths))
    # and the draws follow softmax(ℓ): the mean of many bags is the word distribution
    many = V.relaxed_bag(logits[:1].expand(4000, -1), torch.full((4000,), 4.0), tau=0.1,
                         generator=torch.Generator().manual_seed(2))
    assert (many.mean(0) - logits[0].softmax(-1)).abs().max() < 0.02


def test_code_usage_against_the_linear_gaussian_answer():
    # x ~ N(0, 1), q(z|x) = N(x, s²): q(z) = N(0, 1 + s²), I(x; z) = ½ log((1 + s²)/s²)
    g = torch.Generator().manual_seed(0)
    s2, n = 0.25, 4000
    x = torch.randn(n, 1, generator=g, dtype=torch.float64)
    u = V.code_usage(x, torch.full_like(x, math.log(s2)), torch.Generator().manual_seed(1))
    assert u["mutual_info"] == pytest.approx(0.5 * math.log((1 + s2) / s2), abs=0.05)
    # KL(N(0, 1 + s²) ‖ N(0, 1))
    assert u["marginal_kl"] == pytest.approx(0.5 * (s2 - math.log(1 + s2)), abs=0.05)
    assert u["active_units"] == 1 and u["dims"] == 1
    # a collapsed encoder: every q(z|x) is the prior: codes exactly N(0, I), and they carry nothing
    dead = V.code_usage(torch.zeros(n, 3), torch.zeros(n, 3), torch.Generator().manual_seed(1))
    assert dead["kl"] == 0.0 and abs(dead["mutual_info"]) < 0.05 and dead["active_units"] == 0  # MC noise


def test_health_says_who_won_and_whether_the_code_is_used():
    alive = [{"d_real": 0.6, "d_fake": 0.4}] * 20
    won = [{"d_real": 0.96, "d_fake": 0.03}] * 20
    used = {"mutual_info": 4.0, "active_units": 16, "dims": 16}
    dead = {"mutual_info": 0.1, "active_units": 2, "dims": 16}
    h = V.health(alive, used)
    assert h["game_ok"] and h["code_ok"] and "neither player has won" in h["sentence"]
    h = V.health(won, dead)
    assert not h["game_ok"] and not h["code_ok"]
    assert "discriminator has won" in h["sentence"] and "collapsed" in h["sentence"]
