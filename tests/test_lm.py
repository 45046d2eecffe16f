"""The GRU language model, sampling filters, and the safe training loop (resume, NaN guard)."""

import math

import pytest
import torch

from ganvae_edu.text.evaluate import evaluate_nll
from ganvae_edu.text.fit import TrainConfig
from ganvae_edu.text.lm import GRULanguageModel, train_lm
from ganvae_edu.text.sampling import filter_logits, sample_next
from ganvae_edu.training import TrainingDiverged


def toy_data(n=400, seed=0):
    g = torch.Generator().manual_seed(seed)
    # <bos>=1, <eos>=2; "sentences" 4 5 6 ... counting up, of random length
    return [[1, *range(4, 4 + int(torch.randint(2, 8, (1,), generator=g))), 2] for _ in range(n)]


def test_top_k_top_p_and_temperature():
    logits = torch.log(torch.tensor([[0.5, 0.3, 0.15, 0.05]]))
    assert torch.isinf(filter_logits(logits, top_k=2)[0, 2:]).all()
    kept = torch.isfinite(filter_logits(logits, top_p=0.8))[0].tolist()
    assert kept == [True, True, False, False]  # 0.5 + 0.3 reaches 0.8
    assert torch.isfinite(filter_logits(logits, top_p=0.81))[0].tolist() == [True, True, True, False]
    hot = filter_logits(logits, temperature=0.5).softmax(-1)
    assert torch.allclose(hot, torch.tensor([[0.25, 0.09, 0.0225, 0.0025]]) / 0.365)
    draws = torch.stack([sample_next(logits, torch.Generator().manual_seed(s), top_k=1) for s in range(5)])
    assert (draws == 0).all()
    with pytest.raises(ValueError, match="temperature=0"):
        filter_logits(logits, temperature=0)


def test_nll_counts_eos_and_ignores_padding():
    torch.manual_seed(0)
    model = GRULanguageModel(10, emb=8, hidden=8)
    seqs = [[1, 4, 5, 2], [1, 6, 2]]
    total, n = 0.0, 0
    for s in seqs:  # one at a time, no padding
        loss, k = model.nll(torch.tensor([s]), torch.tensor([len(s)]))
        total, n = total + loss.item(), n + k
    assert n == 5  # 3 + 2 predicted tokens, each sentence's <eos> included
    assert math.isclose(evaluate_nll(model, seqs), total / n, rel_tol=1e-5)


def test_training_learns_and_samples_are_sentences():
    data = toy_data()
    model = GRULanguageModel(16, emb=16, hidden=32)
    before = evaluate_nll(model, data)
    train_lm(model, data, None, TrainConfig(steps=150, batch_size=32, lr=1e-2), show_progress=False)
    after = evaluate_nll(model, data)
    assert after < before / 3
    samples = model.sample(20, generator=torch.Generator().manual_seed(0), top_k=1)
    assert all(s == list(range(4, 4 + len(s))) for s in samples)  # its best guesses count upwards


def test_divergence_stops_with_a_clear_message_and_keeps_the_last_good_weights():
    data = toy_data()
    model = GRULanguageModel(16, emb=16, hidden=32)
    train_lm(model, data, None, TrainConfig(steps=5, batch_size=16), show_progress=False)
    with torch.no_grad():
        model.out.bias[5] = float("nan")  # poison: the next loss is NaN
    poisoned = {k: v.clone() for k, v in model.state_dict().items()}
    expected = r"^LM loss became nan at step 1; the weights of step 0 are kept"
    with pytest.raises(TrainingDiverged, match=expected):
        train_lm(model, data, None, TrainConfig(steps=5, batch_size=16), show_progress=False)
    for k, v in model.state_dict().items():  # no update was applied after the bad loss
        assert torch.equal(v.nan_to_num(), poisoned[k].nan_to_num())
