"""The end-state diagnosis of notebook 05: TV by Monte Carlo against the exact sum, the Bayes
accuracy it gives, a discriminator's held-out accuracy, and the temperature bisection."""

import math

import torch

from ganvae_edu.text.discriminator import CNNDiscriminator
from ganvae_edu.text.gan_diagnosis import discriminator_accuracy, match_temperature, tv_estimate


def test_the_monte_carlo_tv_matches_the_exact_sum_and_counts_impossible_samples_fully():
    p_data = torch.tensor([0.5, 0.3, 0.2, 0.0])
    p_g = torch.tensor([0.2, 0.3, 0.1, 0.4])
    exact = 0.5 * (p_data - p_g).abs().sum().item()  # an independent formula: ½ Σ |p − q|
    x = torch.multinomial(p_g, 200_000, replacement=True, generator=torch.Generator().manual_seed(0))
    tv, se = tv_estimate(p_data[x].log(), p_g[x].log())
    assert abs(tv - exact) < 4 * se and se < 0.002
    assert tv_estimate(torch.full((5,), -math.inf), torch.zeros(5))[0] == 1.0


def test_a_constant_discriminator_is_right_half_the_time():
    torch.manual_seed(0)
    d = CNNDiscriminator(12, emb=4, filters=4)
    with torch.no_grad():
        d.out.weight.zero_()
        d.out.bias.fill_(1.0)  # D = σ(1) > ½ for every sentence: all read as real
    real = [[1, 5, 6, 2], [1, 7, 2]]
    out = discriminator_accuracy(d, real, [[5, 6], [8, 9, 10]], max_len=6, eos_id=2)
    assert out["accuracy"] == 0.5 and abs(out["d_real"] - out["d_fake"]) < 1e-7
    assert d.training  # its mode is put back


def test_match_temperature_finds_the_crossing_and_stops_at_the_ends():
    score = lambda t: 1.0 - t  # noqa: E731 - falls as t rises, as Self-BLEU does
    assert abs(match_temperature(score, 0.25, 0.3, 1.0, iters=20) - 0.75) < 1e-5
    assert match_temperature(score, -1.0, 0.3, 1.0) == 1.0  # already cooler than the target at hi
    assert match_temperature(score, 0.9, 0.3, 1.0) == 0.3


def test_generator_tv_is_zero_against_itself_and_one_against_a_grammar_that_makes_nothing(tiny_ids):
    from ganvae_edu.text.batches import pad
    from ganvae_edu.text.gan_diagnosis import generator_tv
    from ganvae_edu.text.lm import GRULanguageModel

    torch.manual_seed(0)
    lm = GRULanguageModel(12, emb=8, hidden=16).eval()

    class Itself:  # p_data = the model's own p(x, <eos>): TV = 0 but for sentences cut at max_len
        def log_prob(self, ids):
            batch, lengths = pad([[1, *ids, 2]], 0)
            return lm.sentence_log_prob(batch, lengths).item()

    class Nothing:
        def log_prob(self, ids):
            return -math.inf

    same = generator_tv(lm, Itself(), list, 200, max_len=30, generator=torch.Generator().manual_seed(0))
    drawn = lm.sample(200, max_len=30, generator=torch.Generator().manual_seed(0))
    cut = sum(1 for x in drawn if len(x) == 30)
    assert same["tv"] <= cut / 200 + 1e-5 and same["invalid"] == 0.0
    none = generator_tv(lm, Nothing(), list, 50, max_len=30, generator=torch.Generator().manual_seed(0))
    assert none["tv"] == 1.0 and none["invalid"] == 1.0 and none["acc_best"] == 1.0
