"""The numbers the explorers show come from plain functions; check them, then build the widgets."""

import math

import pytest
import torch

from ganvae_edu.formulas.linear_gaussian import LinearGaussian
from ganvae_edu.ui import widgets
from ganvae_edu.vector import toy


def test_minimax_state_obeys_the_jsd_identity_and_its_minimum():
    s = widgets.minimax_state(0.3, 1.1)
    assert abs(s["C"] - s["identity"]) < 1e-10
    assert 0 < s["jsd"] < math.log(2)
    # with p_g = p_data the game's value is -log 4 and D* = ½
    same = widgets.minimax_state(0.0, 1.0, p_data_fn=lambda x: toy.normal_density(x, 0.0, 1.0))
    assert abs(same["C"] + math.log(4)) < 1e-10 and abs(same["jsd"]) < 1e-12
    assert torch.allclose(same["d_star"], torch.tensor(0.5, dtype=torch.float64))


def test_elbo_state_gap_is_the_kl_and_closes_at_the_posterior():
    Q, _ = torch.linalg.qr(torch.randn(4, 2, generator=torch.Generator().manual_seed(0), dtype=torch.float64))
    model = LinearGaussian(Q * 1.5, torch.zeros(4, dtype=torch.float64), 0.5)
    x = model.sample(1, torch.Generator().manual_seed(1))[0]
    s = widgets.elbo_state(model, x, torch.tensor([0.3, -0.2]), torch.tensor([-1.0, -1.0]))
    assert s["gap"] > 0 and abs(s["gap"] - s["kl_to_posterior"]) < 1e-9
    m, S = model.posterior(x[None])
    best = widgets.elbo_state(model, x, m[0], 0.5 * torch.diagonal(S).log())
    assert abs(best["gap"]) < 1e-9


def test_explorers_build_without_a_frontend():
    import ipywidgets as w

    assert isinstance(widgets.minimax_explorer(), w.VBox)
    snaps = [(1, torch.zeros(5, 2)), (2, torch.ones(5, 2))]
    assert isinstance(widgets.snapshot_explorer({"ring8": snaps}, {"ring8": toy.ring8()}), w.VBox)
    model = LinearGaussian(torch.eye(3, 2, dtype=torch.float64), torch.zeros(3, dtype=torch.float64), 0.5)
    assert isinstance(widgets.elbo_explorer(model, torch.ones(3, dtype=torch.float64)), w.VBox)


def test_sampling_state_scores_samples_under_the_true_grammar_and_builds():
    import ipywidgets as w

    from ganvae_edu.text.lm import GRULanguageModel
    from ganvae_edu.text.scenes import SceneGrammar
    from ganvae_edu.text.tokenize import Vocabulary

    vocab = Vocabulary.build([["a", "chef", "cuts", "pizza", "."]])
    torch.manual_seed(0)
    model = GRULanguageModel(len(vocab), emb=4, hidden=8)
    rows = widgets.sampling_state(model, vocab, 1.0, 0, 1.0, n=5, seed=1, grammar=SceneGrammar())
    again = widgets.sampling_state(model, vocab, 1.0, 0, 1.0, n=5, seed=1, grammar=SceneGrammar())
    assert rows == again and len(rows) == 5  # same seed, same samples
    # an untrained model strings the words at random: none is a sentence the grammar can produce
    assert all(score == -math.inf for _, score in rows)
    assert isinstance(widgets.sampling_explorer(model, vocab), w.VBox)


def test_latent_state_decodes_along_principal_directions_and_builds():
    import ipywidgets as w

    from ganvae_edu.text.scenes import SceneGrammar
    from ganvae_edu.text.sentence_vae import SentenceVAE
    from ganvae_edu.text.tokenize import Vocabulary

    g = torch.Generator().manual_seed(0)
    mu = torch.randn(200, 2, generator=g) * torch.tensor([3.0, 0.5])  # spread mostly along axis 0
    centre, directions, stds = widgets.latent_directions(mu, k=2)
    assert abs(abs(directions[0, 0].item()) - 1) < 0.05 and stds[0] > stds[1]
    vocab = Vocabulary.build([["a", "chef", "cuts", "a", "pizza", "."]])
    torch.manual_seed(0)
    model = SentenceVAE(len(vocab), emb=4, hidden=8, latent=2, enc_hidden=4)
    # it decodes centre + Σ_i c_i · std_i · direction_i: (0, 0) + 1 · 2 · e₁ − 1 · 3 · e₂ = (2, −3)
    axes, spread = torch.eye(2), torch.tensor([2.0, 3.0])
    text, post = widgets.latent_state(model, vocab, torch.zeros(2), axes, spread, [1.0, -1.0], SceneGrammar())
    at = " ".join(vocab.decode(model.decode(torch.tensor([[2.0, -3.0]]), greedy=True)[0]))
    opposite, _ = widgets.latent_state(model, vocab, torch.zeros(2), axes, spread, [-1.0, 1.0])
    assert text == at != opposite
    assert post is None  # an untrained decoder's words are no sentence of the grammar: no posterior
    assert isinstance(widgets.latent_explorer(model, vocab, mu), w.VBox)


def test_combined_state_samples_the_chosen_source_and_interpolation_keeps_the_ends():
    import ipywidgets as w

    from ganvae_edu.text.scenes import SceneGrammar
    from ganvae_edu.text.sentence_vae import SentenceVAE
    from ganvae_edu.text.tokenize import Vocabulary

    vocab = Vocabulary.build([["a", "chef", "cuts", "a", "pizza", "."]])
    chef = vocab.encode(["a", "chef", "cuts", "a", "pizza", "."], eos=False)
    class Fixed:  # a sentence generator that always says the same thing
        def __init__(self, ids):
            self.ids, self.calls = ids, []

        def sample(self, n, *, max_len=40, generator=None, temperature=1.0):
            self.calls.append((n, max_len, temperature))
            return [self.ids] * n

    sources = {"fixed": Fixed(chef), "empty": Fixed([])}
    rows = widgets.combined_state(sources, vocab, "fixed", 0.5, n=3, grammar=SceneGrammar(), max_len=7)
    assert [text for text, _ in rows] == ["a chef cuts a pizza ."] * 3
    assert all(-math.inf < score < 0 for _, score in rows)  # a sentence the true grammar can produce
    assert sources["fixed"].calls == [(3, 7, 0.5)]
    with pytest.raises(ValueError, match="source='prior'"):
        widgets.combined_state(sources, vocab, "prior", 1.0)
    torch.manual_seed(0)
    model = SentenceVAE(len(vocab), emb=4, hidden=8, latent=2, enc_hidden=4).eval()
    z_a, z_b = torch.tensor([3.0, 0.0]), torch.tensor([-3.0, 1.0])
    line = widgets.interpolation_state(model, vocab, z_a, z_b, steps=4)
    ends = widgets.interpolation_state(model, vocab, torch.stack([z_a, z_b])[0], z_b, steps=2)
    assert len(line) == 4 and line[0] == ends[0] and line[-1] == ends[-1]
    codes = torch.stack([z_a, z_b])
    assert isinstance(widgets.combined_explorer({**sources, "vae": model}, model, vocab, codes), w.VBox)
