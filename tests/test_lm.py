"""The GRU language model, sampling filters, and the safe training loop (resume, NaN guard)."""

import math
import subprocess
import sys
import textwrap

import pytest
import torch

from ganvae_edu.text.evaluate import evaluate_nll
from ganvae_edu.text.fit import TrainConfig
from ganvae_edu.text.lm import GRULanguageModel, train_lm
from ganvae_edu.text.sampling import filter_logits, sample_next
from ganvae_edu.training import TrainingDiverged, load_checkpoint, save_checkpoint


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
    samples = model.sample(20, bos_id=1, eos_id=2, generator=torch.Generator().manual_seed(0), top_k=1)
    assert all(s == list(range(4, 4 + len(s))) for s in samples)  # its best guesses count upwards


def test_checkpoint_round_trip_is_weights_only(tmp_path):
    path = save_checkpoint(tmp_path / "c.pt", model={"w": torch.ones(2)}, step=3, history=[{"a": 1.0}])
    assert load_checkpoint(path)["step"] == 3
    torch.save({"f": print}, tmp_path / "evil.pt")  # pickled code is refused
    with pytest.raises(Exception, match="[Ww]eights only"):
        load_checkpoint(tmp_path / "evil.pt")


RUN = textwrap.dedent("""
    import sys, torch
    sys.path.insert(0, {root!r})
    from tests.test_lm import toy_data
    from ganvae_edu.text.lm import GRULanguageModel
    from ganvae_edu.text.fit import TrainConfig
    from ganvae_edu.text.lm import train_lm
    import ganvae_edu.training.loop as T
    real_save = T.save_checkpoint
    def save_and_report(path, **state):
        real_save(path, **state)
        print("saved", state["step"], flush=True)
    T.save_checkpoint = save_and_report
    torch.manual_seed(0)
    model = GRULanguageModel(16, emb=16, hidden=32)
    cfg = TrainConfig(steps=60, batch_size=16, checkpoint_every=20, lr_decay=True)
    train_lm(model, toy_data(), None, cfg, checkpoint={ckpt!r}, show_progress=False)
""")


def test_a_killed_run_resumes_from_its_last_checkpoint_exactly(tmp_path):
    from pathlib import Path

    root = str(Path(__file__).resolve().parents[1])
    ckpt = tmp_path / "lm.pt"
    proc = subprocess.Popen([sys.executable, "-c", RUN.format(root=root, ckpt=str(ckpt))],
                            stdout=subprocess.PIPE, text=True)
    for line in proc.stdout:
        if line.strip() == "saved 20":
            proc.kill()  # killed mid-run, right after its first checkpoint
            break
    proc.wait()
    assert load_checkpoint(ckpt)["step"] == 20

    cfg = TrainConfig(steps=60, batch_size=16, checkpoint_every=20, lr_decay=True)
    torch.manual_seed(0)
    resumed = GRULanguageModel(16, emb=16, hidden=32)
    res = train_lm(resumed, toy_data(), None, cfg, checkpoint=ckpt, show_progress=False)
    assert res.resumed_from == 20 and len(res.history) == 60
    torch.manual_seed(0)
    straight = GRULanguageModel(16, emb=16, hidden=32)
    train_lm(straight, toy_data(), None, cfg, show_progress=False)
    for a, b in zip(resumed.state_dict().values(), straight.state_dict().values()):
        assert torch.equal(a, b)


def test_divergence_stops_with_a_clear_message_and_keeps_the_last_good_weights():
    data = toy_data()
    model = GRULanguageModel(16, emb=16, hidden=32)
    train_lm(model, data, None, TrainConfig(steps=5, batch_size=16), show_progress=False)
    with torch.no_grad():
        model.out.bias[5] = float("nan")  # poison: the next loss is NaN
    poisoned = {k: v.clone() for k, v in model.state_dict().items()}
    with pytest.raises(TrainingDiverged, match=r"loss became nan at step 1; the model keeps the weights"):
        train_lm(model, data, None, TrainConfig(steps=5, batch_size=16), show_progress=False)
    for k, v in model.state_dict().items():  # no update was applied after the bad loss
        assert torch.equal(v.nan_to_num(), poisoned[k].nan_to_num())
