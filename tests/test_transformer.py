"""The transformer decoder: causal attention against a hand computation, causality of the whole
model, the KV cache against the full computation, and a real (small) training."""

import math

import pytest
import torch

from ganvae_edu.formulas.attention import causal_attention
from ganvae_edu.text.transformer import TransformerLanguageModel


def test_causal_attention_matches_a_hand_computation():
    # d_h = 1, two positions: q = (1, 2), k = (1, 0), v = (10, 20)
    q, k, v = torch.tensor([[1.0], [2.0]]), torch.tensor([[1.0], [0.0]]), torch.tensor([[10.0], [20.0]])
    o = causal_attention(q, k, v)
    # position 0 sees only itself; position 1 weighs scores (2·1, 2·0) = (2, 0) by softmax
    a = math.exp(2) / (math.exp(2) + 1)
    assert o[0, 0].item() == pytest.approx(10.0)
    assert o[1, 0].item() == pytest.approx(10 * a + 20 * (1 - a), rel=1e-6)


def test_causal_attention_with_earlier_keys_and_padding():
    torch.manual_seed(0)
    q, k, v = torch.randn(1, 4), torch.randn(3, 4), torch.randn(3, 4)
    # one query after two earlier keys sees all three: plain softmax attention
    expected = torch.softmax(q @ k.T / 2.0, -1) @ v
    assert torch.allclose(causal_attention(q, k, v), expected, atol=1e-6)
    # a padded key gets no weight
    hidden = torch.tensor([False, True, False])
    kept = torch.tensor([0, 2])
    expected = torch.softmax(q @ k[kept].T / 2.0, -1) @ v[kept]
    assert torch.allclose(causal_attention(q, k, v, hidden), expected, atol=1e-6)
    with pytest.raises(ValueError, match=r"2 keys for 3 queries"):
        causal_attention(torch.randn(3, 4), k[:2], v[:2])


def model(**kw):
    torch.manual_seed(0)
    return TransformerLanguageModel(12, d=16, heads=2, layers=2, max_len=16, **kw).eval()


def test_no_position_reads_a_later_token():
    m = model()
    x = torch.randint(3, 12, (2, 8))
    y = x.clone()
    y[:, 5] = (x[:, 5] + 1 - 3) % 9 + 3  # another word at position 5
    a, _ = m(x)
    b, _ = m(y)
    assert torch.equal(a[:, :5], b[:, :5])
    assert not torch.allclose(a[:, 5:], b[:, 5:])


def test_the_kv_cache_gives_the_full_computations_logits():
    m = model()
    x = torch.randint(3, 12, (3, 9))
    full, _ = m(x)
    state, steps = None, []
    for t in range(x.shape[1]):
        logits, state = m(x[:, t:t + 1], state=state)
        steps.append(logits)
    assert torch.allclose(torch.cat(steps, 1), full, atol=1e-5)
    # and in two chunks, 4 then 5
    first, state = m(x[:, :4])
    rest, _ = m(x[:, 4:], state=state)
    assert torch.allclose(torch.cat([first, rest], 1), full, atol=1e-5)


def test_limits_are_refused_with_the_fix():
    with pytest.raises(ValueError, match=r"width 10 is not divisible by heads=4"):
        TransformerLanguageModel(12, d=10, heads=4)
    with pytest.raises(ValueError, match=r"17 positions, but this model has embeddings for max_len=16"):
        model()(torch.ones(1, 17, dtype=torch.long))
    samples = model().sample(4, max_len=100, generator=torch.Generator().manual_seed(0))
    assert all(len(s) <= 15 for s in samples)  # <bos> takes one of the 16 positions


def test_it_trains_as_the_language_model_and_learns(tiny_ids):
    from ganvae_edu.text.evaluate import evaluate_nll
    from ganvae_edu.text.fit import TrainConfig
    from ganvae_edu.text.lm import train_lm

    m = model().train()
    before = evaluate_nll(m, tiny_ids[250:])
    train_lm(m, tiny_ids[:250], tiny_ids[250:], TrainConfig(steps=150, batch_size=32, lr=3e-3),
             show_progress=False)
    after = evaluate_nll(m, tiny_ids[250:])
    # 2–5 words uniform over 8: the true entropy is (log 4 + 3.5 log 8) / 4.5 = 1.93 nats a token
    # (<eos> counted); untrained it is near log 12 = 2.48. Measured: 2.59 before, 2.04 after.
    truth = (math.log(4) + 3.5 * math.log(8)) / 4.5
    assert before > 2.3 and after < truth + 0.2, (before, after)
    samples = m.sample(20, generator=torch.Generator().manual_seed(1))
    assert all(all(4 <= t < 12 for t in s) for s in samples)  # words only: no <pad>, <bos>, <unk>
