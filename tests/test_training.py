"""The one training loop: its schedule, its guard, and exact resume after a real kill, per model family.

The kill is deterministic: the child process replaces the loop's `save_checkpoint` by one that
writes the checkpoint and then SIGKILLs its own process, so it dies right after the checkpoint of
step `KILL_AT`, mid-run, with nothing flushed or cleaned up — no race with a parent's timing.
The child computes on as many torch threads as this process: a float sum split over two threads
rounds differently from one on one thread, so "bit for bit" holds for the same machine and threads.
"""

import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
import torch

from ganvae_edu.training import (
    Checkpoint,
    CheckpointError,
    TrainingDiverged,
    load_checkpoint,
    run,
    save_checkpoint,
)

ROOT = str(Path(__file__).resolve().parents[1])
KILL_AT = 20


# --------------------------------------------------------------------------- the loop itself


def test_linear_decay_gives_each_step_its_rate_and_records_on_cadence():
    w = torch.nn.Parameter(torch.zeros(()))
    seen = []

    def step(s):
        seen.append(opt.param_groups[0]["lr"])
        s.update("w", (w - 1) ** 2)
        return {"w": w.detach().clone()}

    opt = torch.optim.SGD([w], lr=0.1)
    res = run(step, steps=4, optimizers={"w": opt}, modules={}, rng=torch.Generator(), lr_decay=True,
              record_every=3, show_progress=False)
    assert seen == [0.1, 0.1 * 0.75, 0.1 * 0.5, 0.1 * 0.25]
    assert [h["step"] for h in res.history] == [3, 4]  # every 3rd step and the last
    # plain SGD on (w-1)²: w ← w + 2·lr·(1 − w), by hand
    expect = 0.0
    for lr in seen:
        expect += 2 * lr * (1 - expect)
    assert abs(res.history[-1]["w"] - expect) < 1e-6


def test_a_nan_in_the_second_players_loss_puts_the_first_player_back():
    a, b = torch.nn.Linear(2, 1), torch.nn.Linear(2, 1)
    before = [p.detach().clone() for p in a.parameters()]
    x = torch.ones(4, 2)

    def step(s):
        torch.randn(3, generator=s.rng)  # the step draws …
        s.state["count"] = s.state.get("count", 0) + 1  # … changes what it carries …
        s.update("a", a(x).pow(2).mean())  # … a moves …
        s.update("b", b(x).mean() * float("nan"))  # … then b's loss is NaN
        return {}

    opts = {"a": torch.optim.Adam(a.parameters(), lr=0.5), "b": torch.optim.Adam(b.parameters(), lr=0.5)}
    rng = torch.Generator().manual_seed(0)
    rng_before = rng.get_state()
    expected = r"^toy b loss became nan at step 1; the weights of step 0 are kept"
    with pytest.raises(TrainingDiverged, match=expected):
        run(step, steps=3, optimizers=opts, modules={}, rng=rng, name="toy", show_progress=False)
    assert all(torch.equal(p, q) for p, q in zip(a.parameters(), before))
    assert opts["a"].state_dict()["state"] == {}  # Adam's moments as before the step: none yet
    assert torch.equal(rng.get_state(), rng_before)


def test_an_infinite_gradient_norm_is_refused_before_the_step_when_clipping():
    w = torch.nn.Parameter(torch.ones(2))

    def step(s):
        s.update("w", (w - 1).sqrt().sum())  # the loss is 0 at w = 1, its gradient 1/(2·√0) = inf
        return {}

    with pytest.raises(TrainingDiverged, match="gradient norm became inf at step 1"):
        run(step, steps=1, optimizers={"w": torch.optim.SGD([w], lr=1.0)}, modules={}, rng=torch.Generator(),
            clip=1.0, show_progress=False)
    assert torch.equal(w.detach(), torch.ones(2))


def test_resume_is_refused_for_other_settings_and_for_old_checkpoints(tmp_path):
    w = torch.nn.Parameter(torch.zeros(1))
    mod = torch.nn.Module()
    mod.w = w

    def step(s):
        s.update("w", (w - 1).pow(2).sum())
        return {}

    def go(config):
        return run(step, steps=2, optimizers={"w": torch.optim.SGD([w], lr=0.1)}, modules={"m": mod},
                   rng=torch.Generator(), checkpoint=tmp_path / "c.pt", config=config, show_progress=False)

    go({"lr": 0.1})
    assert load_checkpoint(tmp_path / "c.pt")["step"] == 2
    with pytest.raises(CheckpointError,
                       match=r"was written with other settings \(its lr=0.1; this run's lr=0.2\); delete it"):
        go({"lr": 0.2})
    save_checkpoint(tmp_path / "c.pt", model={}, step=1, config={"lr": 0.1})  # the format before the loop
    with pytest.raises(CheckpointError, match="older ganvae-edu"):
        go({"lr": 0.1})


def test_checkpoint_round_trip_is_weights_only(tmp_path):
    path = save_checkpoint(tmp_path / "c.pt", model={"w": torch.ones(2)}, step=3, history=[{"a": 1.0}])
    assert load_checkpoint(path)["step"] == 3
    assert [p.name for p in tmp_path.iterdir()] == ["c.pt"]  # no temporary left behind
    torch.save({"f": print}, tmp_path / "evil.pt")  # pickled code is refused, in one line
    with pytest.raises(CheckpointError, match=r"evil\.pt cannot be read \(not a ganvae-edu checkpoint: it "
                       r"holds code, and checkpoints are loaded as weights only\); delete it to "
                       r"start afresh$"):
        load_checkpoint(tmp_path / "evil.pt")


# --------------------------------------------------------------------------- kill and resume, per family


def tiny_corpus():
    g = torch.Generator().manual_seed(0)
    lengths = [int(torch.randint(2, 6, (1,), generator=g)) for _ in range(300)]
    return [[1, *torch.randint(4, 12, (n,), generator=g).tolist(), 2] for n in lengths]


def family_vector_gan(checkpoint):
    from ganvae_edu.vector.toygan import ToyGANConfig, train_toy_gan

    res = train_toy_gan(ToyGANConfig(steps=40, batch_size=64, hidden=16, eval_samples=200, snapshots=4),
                        show_progress=False, checkpoint=checkpoint)
    return [res.generator, res.discriminator], res


def family_text_gan(checkpoint):
    from ganvae_edu.text.discriminator import CNNDiscriminator
    from ganvae_edu.text.lm import GRULanguageModel
    from ganvae_edu.text.textgan import TextGANConfig, train_text_gan

    torch.manual_seed(0)
    lm, disc = GRULanguageModel(12, emb=8, hidden=16), CNNDiscriminator(12, emb=8, filters=8)
    cfg = TextGANConfig(steps=40, batch_size=16, g_lr=1e-3, d_lr=1e-3, max_len=8)
    res = train_text_gan("reinforce", lm, disc, tiny_corpus(), cfg, show_progress=False,
                         checkpoint=checkpoint)
    return [lm, disc], res


def family_vaegan(checkpoint):
    from ganvae_edu.text.discriminator import CNNDiscriminator
    from ganvae_edu.text.sentence_vae import SentenceVAE
    from ganvae_edu.text.vaegan import JointConfig, train_joint

    torch.manual_seed(0)
    model, disc = SentenceVAE(12, emb=8, hidden=16, latent=4), CNNDiscriminator(12, emb=8, filters=8)
    cfg = JointConfig(steps=40, batch_size=16, lr=1e-3, d_lr=1e-3, max_len=8, free_bits=0.1)
    res = train_joint(model, disc, tiny_corpus(), cfg, show_progress=False, checkpoint=checkpoint)
    return [model, disc], res


def family_language_model(checkpoint):
    from ganvae_edu.text.fit import TrainConfig
    from ganvae_edu.text.lm import GRULanguageModel, train_lm

    torch.manual_seed(0)
    lm = GRULanguageModel(12, emb=8, hidden=16, dropout=0.2)  # dropout draws from torch's global RNG
    cfg = TrainConfig(steps=40, batch_size=16, checkpoint_every=KILL_AT, lr_decay=True)
    return [lm], train_lm(lm, tiny_corpus(), None, cfg, checkpoint=checkpoint, show_progress=False)


FAMILIES = {f.__name__.removeprefix("family_"): f for f in
            (family_vector_gan, family_text_gan, family_vaegan, family_language_model)}

CHILD = textwrap.dedent("""
    import os, signal, sys
    sys.path.insert(0, {root!r})
    import ganvae_edu.training.loop as loop
    from tests.test_training import FAMILIES
    from ganvae_edu.training import Checkpoint
    real_save = loop.save_checkpoint
    def save_then_die(path, **state):
        real_save(path, **state)
        if state["step"] == {kill_at}:
            os.kill(os.getpid(), signal.SIGKILL)  # killed right after this checkpoint, mid-run
    loop.save_checkpoint = save_then_die
    FAMILIES[{name!r}](Checkpoint({ckpt!r}, every={kill_at}))
    print("not killed")
""")


@pytest.mark.parametrize("name", list(FAMILIES))
def test_a_killed_run_resumes_from_its_checkpoint_to_bit_identical_weights(name, tmp_path):
    ckpt = tmp_path / f"{name}.pt"
    same_threads = {**os.environ, "OMP_NUM_THREADS": str(torch.get_num_threads())}
    child = subprocess.run([sys.executable, "-c", CHILD.format(root=ROOT, name=name, ckpt=str(ckpt),
                                                              kill_at=KILL_AT)],
                           capture_output=True, text=True, timeout=300, env=same_threads)
    assert child.returncode == -signal.SIGKILL, child.stdout + child.stderr
    assert load_checkpoint(ckpt)["step"] == KILL_AT

    resumed_modules, resumed = FAMILIES[name](Checkpoint(ckpt, every=KILL_AT))
    straight_modules, straight = FAMILIES[name](None)
    assert resumed.resumed_from == KILL_AT and straight.resumed_from == 0
    assert resumed.history == straight.history
    for a, b in zip(resumed_modules, straight_modules):
        for (k, x), y in zip(a.state_dict().items(), b.state_dict().values()):
            assert torch.equal(x, y), f"{name}: {k} differs after resume"
