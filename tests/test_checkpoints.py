"""Checkpoints that do not belong to the run, or cannot be read or written: one line each, before step 1.

Every file here is real: a checkpoint of another corpus or model, a truncated or empty file,
random bytes, a pickle holding code, a folder, a folder that cannot hold a file.
"""

import os
import re
from pathlib import Path

import pytest
import torch

from ganvae_edu.training import CheckpointError, data_digest, load_checkpoint, run, save_checkpoint

TAIL = "delete it to start afresh, or choose another checkpoint file"


def one_line(excinfo) -> str:
    message = str(excinfo.value)
    assert "\n" not in message, message
    assert "weights_only" not in message, message
    return message


def sentences(seed, n=40, vocab=12):
    g = torch.Generator().manual_seed(seed)
    lengths = [int(torch.randint(2, 6, (1,), generator=g)) for _ in range(n)]
    return [[1, *torch.randint(4, vocab, (k,), generator=g).tolist(), 2] for k in lengths]


def train_tiny_lm(train, ckpt, valid=None, vocab=12, hidden=16, steps=2, **cfg):
    from ganvae_edu.text.fit import TrainConfig
    from ganvae_edu.text.lm import GRULanguageModel, train_lm

    torch.manual_seed(0)
    lm = GRULanguageModel(vocab, emb=8, hidden=hidden)
    cfg = TrainConfig(steps=steps, batch_size=8, checkpoint_every=1, eval_every=None, **cfg)
    return lm, train_lm(lm, train, valid, cfg, checkpoint=ckpt, show_progress=False)


class Counted:
    """A one-parameter run whose steps are counted (to see that a refusal comes before step 1)."""

    def __init__(self, size=1):
        self.m = torch.nn.Linear(size, 1)
        self.calls = 0

    def step(self, s):
        self.calls += 1
        s.update("m", self.m(torch.ones(1, self.m.in_features)).pow(2).sum())
        return {}

    def run(self, ckpt, steps=2, config=None, fingerprint=None):
        return run(self.step, steps=steps, optimizers={"m": torch.optim.SGD(self.m.parameters(), lr=0.1)},
                   modules={"m": self.m}, rng=torch.Generator(), checkpoint=ckpt, config=config or {},
                   fingerprint=fingerprint, show_progress=False)


# --------------------------------------------------------------------------- what a checkpoint belongs to


def test_a_checkpoint_of_another_corpus_tokenizer_or_vocabulary_is_refused(tmp_path):
    from ganvae_edu.text.data import prepare

    text = tmp_path / "tiny.txt"
    text.write_text("the cat sat on the mat\nthe dog sat on the log\na cat and a dog\nthe mat is red\n"
                    "the log is brown\na red cat sat\nthe brown dog ran\na dog ran to the cat\n"
                    "the cat ran\non the mat a dog sat\n")
    other = tmp_path / "other.txt"
    other.write_text(text.read_text().replace("the cat ran", "an owl flew over the red log"))
    runs = {"word": prepare(str(text), level="word"), "char": prepare(str(text), level="char"),
            "max_vocab": prepare(str(text), level="word", max_vocab=8),
            "corpus": prepare(str(other), level="word")}
    vocab = max(len(d.vocab) for d in runs.values())  # one model size: only the data differs
    ckpt = tmp_path / "lm.pt"
    train_tiny_lm(runs["word"].ids["train"], ckpt, runs["word"].ids["validation"], vocab=vocab)
    digest = load_checkpoint(ckpt)["fingerprint"]["data"]
    for name in ("char", "max_vocab", "corpus"):
        with pytest.raises(CheckpointError) as e:
            train_tiny_lm(runs[name].ids["train"], ckpt, runs[name].ids["validation"], vocab=vocab)
        expected = (rf"checkpoint {re.escape(str(ckpt))} belongs to other training data "
                    rf"\(its digest {digest[:8]}…, this run's [0-9a-f]{{8}}…\); {TAIL}")
        assert re.fullmatch(expected, one_line(e)), name
    # the same data resumes
    _, res = train_tiny_lm(runs["word"].ids["train"], ckpt, runs["word"].ids["validation"], vocab=vocab)
    assert res.resumed_from == 2


def test_the_data_digest_covers_the_validation_sentences_too(tmp_path):
    train = sentences(0)
    train_tiny_lm(train, tmp_path / "lm.pt", valid=sentences(1, n=5))
    with pytest.raises(CheckpointError, match="belongs to other training data"):
        train_tiny_lm(train, tmp_path / "lm.pt", valid=sentences(2, n=5))
    assert data_digest(train, None) != data_digest(train, [])  # no validation set is not an empty one
    assert data_digest([[1, 2], [3]]) != data_digest([[1], [2, 3]])  # where sentences end counts


def test_a_model_of_another_shape_is_refused_before_any_weight_is_loaded(tmp_path):
    train = sentences(0)
    train_tiny_lm(train, tmp_path / "lm.pt", hidden=16)
    with pytest.raises(CheckpointError) as e:
        train_tiny_lm(train, tmp_path / "lm.pt", hidden=20)
    assert one_line(e) == (f"checkpoint {tmp_path / 'lm.pt'} belongs to a model of another shape (its "
                           f"model.rnn.weight_ih_l0 is 48×8, this run's 60×8); {TAIL}")

    a = Counted(1)
    a.run(tmp_path / "c.pt")
    b = Counted(3)
    before = [p.detach().clone() for p in b.m.parameters()]
    with pytest.raises(CheckpointError) as e:
        b.run(tmp_path / "c.pt")
    assert one_line(e) == (f"checkpoint {tmp_path / 'c.pt'} belongs to a model of another shape "
                           f"(its m.weight is 1×1, this run's 1×3); {TAIL}")
    assert b.calls == 0 and all(torch.equal(p, q) for p, q in zip(b.m.parameters(), before))


def test_a_run_with_other_modules_is_refused(tmp_path):
    w = torch.nn.Linear(1, 1)
    Counted().run(tmp_path / "c.pt")
    with pytest.raises(CheckpointError) as e:
        run(lambda s: {}, steps=2, optimizers={"m": torch.optim.SGD(w.parameters(), lr=0.1)},
            modules={"net": w}, rng=torch.Generator(), checkpoint=tmp_path / "c.pt", show_progress=False)
    assert one_line(e) == (f"checkpoint {tmp_path / 'c.pt'} belongs to a model of another shape "
                           f"(its modules are m, this run's net); {TAIL}")


def test_other_settings_are_named_one_by_one(tmp_path):
    train = sentences(0)
    train_tiny_lm(train, tmp_path / "lm.pt", lr=0.01)
    with pytest.raises(CheckpointError) as e:
        train_tiny_lm(train, tmp_path / "lm.pt", lr=0.02, seed=3)
    assert one_line(e) == (f"checkpoint {tmp_path / 'lm.pt'} was written with other settings (its lr=0.01, "
                           "seed=0; this run's lr=0.02, seed=3); delete it to start afresh, or use the same "
                           "settings to resume")


def test_a_caller_fingerprint_is_compared_by_part(tmp_path):
    Counted().run(tmp_path / "c.pt", fingerprint={"data": data_digest([[1, 2]])})
    c = Counted()
    with pytest.raises(CheckpointError, match=r"belongs to other training data \(its digest [0-9a-f]{8}…"):
        c.run(tmp_path / "c.pt", fingerprint={"data": data_digest([[1, 3]])})
    with pytest.raises(CheckpointError, match=r"to another task \(its task unset, this run's 'toy'\)"):
        c.run(tmp_path / "c.pt", fingerprint={"data": data_digest([[1, 2]]), "task": "toy"})
    assert c.calls == 0
    assert c.run(tmp_path / "c.pt", fingerprint={"data": data_digest([[1, 2]])}).resumed_from == 2


def test_a_checkpoint_without_a_fingerprint_is_of_an_older_version(tmp_path):
    m = torch.nn.Linear(1, 1)
    # the format of the loop before fingerprints: modules and optimisers, no data digest or shapes
    save_checkpoint(tmp_path / "c.pt", step=1, config={}, history=[], state={}, modules={"m": m.state_dict()},
                    optimizers={}, rng=torch.Generator().get_state(), torch_rng=torch.get_rng_state())
    with pytest.raises(CheckpointError) as e:
        Counted().run(tmp_path / "c.pt")
    assert one_line(e) == (f"checkpoint {tmp_path / 'c.pt'} was written by an older ganvae-edu and cannot be "
                           "resumed; delete it to start afresh")


def test_the_data_fingerprint_reaches_every_trainer_that_takes_data(tmp_path):
    from ganvae_edu.text.discriminator import CNNDiscriminator
    from ganvae_edu.text.lm import GRULanguageModel
    from ganvae_edu.text.textgan import TextGANConfig, train_text_gan
    from ganvae_edu.vector.toyvae import ToyVAEConfig, train_toy_vae

    cfg = ToyVAEConfig(steps=2, batch_size=8, hidden=8)
    def points(seed):
        return torch.randn(32, 2, generator=torch.Generator().manual_seed(seed))

    train_toy_vae(points(0), cfg, False, tmp_path / "v.pt")
    with pytest.raises(CheckpointError, match="belongs to other training data"):
        train_toy_vae(points(1), cfg, False, tmp_path / "v.pt")

    def gan(train):
        torch.manual_seed(0)
        lm, disc = GRULanguageModel(12, emb=8, hidden=16), CNNDiscriminator(12, emb=8, filters=8)
        return train_text_gan("reinforce", lm, disc, train, TextGANConfig(steps=2, batch_size=8, max_len=8),
                              show_progress=False, checkpoint=tmp_path / "g.pt")

    gan(sentences(0))
    with pytest.raises(CheckpointError, match="belongs to other training data"):
        gan(sentences(1))

    from ganvae_edu.vector.latent_gan import LatentGANConfig, train_latent_gan
    from ganvae_edu.vector.vaegan import train_vector_vaegan

    lcfg = LatentGANConfig(steps=2, batch_size=8, hidden=8, noise_dim=2)
    train_latent_gan(points(0), lcfg, False, tmp_path / "l.pt")
    with pytest.raises(CheckpointError, match="belongs to other training data"):
        train_latent_gan(points(1), lcfg, False, tmp_path / "l.pt")

    def rows(seed):
        return torch.softmax(torch.randn(32, 20, generator=torch.Generator().manual_seed(seed)), dim=1)

    small = {"steps": 2, "batch_size": 8, "code_dim": 2, "hidden": 8, "checkpoint": tmp_path / "b.pt"}
    train_vector_vaegan(rows(0), **small)
    with pytest.raises(CheckpointError, match="belongs to other training data"):
        train_vector_vaegan(rows(1), **small)


# --------------------------------------------------------------------------- files that cannot be read


@pytest.fixture
def good(tmp_path) -> Path:
    Counted().run(tmp_path / "good.pt")
    return tmp_path / "good.pt"


def unreadable(tmp_path, good):
    raw = good.read_bytes()
    files = {"empty": b"", "truncated": raw[: len(raw) // 2], "random": os.urandom(3000),
             "damaged": raw[:200] + bytes(len(raw) - 400) + raw[-200:]}
    paths = {}
    for name, data in files.items():
        (tmp_path / f"{name}.pt").write_bytes(data)
        paths[name] = tmp_path / f"{name}.pt"
    torch.save({"f": print}, tmp_path / "code.pt")  # a pickle that would call code
    paths["code"] = tmp_path / "code.pt"
    return paths


WHY = {"empty": "empty file", "truncated": "truncated or damaged", "damaged": "truncated or damaged",
       "random": "not a ganvae-edu checkpoint",
       "code": "not a ganvae-edu checkpoint: it holds code, and checkpoints are loaded as weights only"}


@pytest.mark.parametrize("name", list(WHY))
def test_an_unreadable_checkpoint_is_one_line_and_never_suggests_unsafe_loading(name, tmp_path, good):
    path = unreadable(tmp_path, good)[name]
    expected = f"checkpoint {path} cannot be read ({WHY[name]}); delete it to start afresh"
    with pytest.raises(CheckpointError) as e:
        load_checkpoint(path)
    assert one_line(e) == expected
    c = Counted()
    with pytest.raises(CheckpointError) as e:
        c.run(path)
    assert one_line(e) == expected and c.calls == 0
    assert e.value.__context__ is None or e.value.__suppress_context__  # no torch error shown under it


def test_a_file_that_loads_but_is_no_checkpoint_is_refused(tmp_path):
    torch.save(torch.ones(3), tmp_path / "tensor.pt")
    torch.save(torch.nn.Linear(1, 1).state_dict(), tmp_path / "weights.pt")
    for name in ("tensor", "weights"):
        path = tmp_path / f"{name}.pt"
        with pytest.raises(CheckpointError) as e:
            Counted().run(path)
        assert one_line(e) == (f"checkpoint {path} cannot be read (not a ganvae-edu checkpoint); "
                               "delete it to start afresh")


def test_a_folder_as_checkpoint_is_refused_before_step_1(tmp_path):
    c = Counted()
    with pytest.raises(CheckpointError) as e:
        c.run(tmp_path)
    assert one_line(e) == (f"checkpoint {tmp_path} is a folder, not a file; choose a file name, "
                           f"such as {tmp_path / 'checkpoint.pt'}")
    assert c.calls == 0
    with pytest.raises(CheckpointError, match="is a folder, not a file"):
        load_checkpoint(tmp_path)


# ------------------------------------------------------------------------- where no checkpoint can be written


def test_missing_folders_of_a_checkpoint_are_made_before_step_1(tmp_path):
    path = tmp_path / "runs" / "new" / "c.pt"
    seen = []
    c = Counted()
    inner = c.step
    c.step = lambda s: (seen.append(path.parent.is_dir()), inner(s))[1]
    c.run(path)
    assert seen == [True, True] and load_checkpoint(path)["step"] == 2


def test_a_checkpoint_in_the_home_folder_is_written_there(tmp_path, monkeypatch):
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.chdir(tmp_path)
    Counted().run("~/runs/c.pt")
    assert load_checkpoint(tmp_path / "home" / "runs" / "c.pt")["step"] == 2
    assert not (tmp_path / "~").exists()
    assert Counted().run("~/runs/c.pt").resumed_from == 2


def test_a_checkpoint_under_a_file_is_refused_before_step_1(tmp_path):
    (tmp_path / "notes").write_text("not a folder")
    path = tmp_path / "notes" / "sub" / "c.pt"
    c = Counted()
    with pytest.raises(CheckpointError) as e:
        c.run(path, steps=50)
    assert one_line(e) == (f"checkpoint {path} cannot be written ({tmp_path / 'notes'} is a file, not a "
                           "folder); choose another checkpoint file")
    assert c.calls == 0


@pytest.mark.skipif(not Path("/proc/self").is_dir(), reason="needs Linux's /proc")
def test_a_checkpoint_where_no_file_can_be_made_is_refused_before_step_1():
    c = Counted()
    with pytest.raises(CheckpointError) as e:  # /proc takes no files, not even root's
        c.run("/proc/ganvae-edu-test.pt", steps=50)
    assert re.fullmatch(r"checkpoint /proc/ganvae-edu-test\.pt cannot be written \(no file can be made in "
                        r"/proc: [^;]+\); choose another checkpoint file", one_line(e))
    assert c.calls == 0


def test_a_read_only_folder_is_refused_before_step_1_unless_the_run_is_finished(tmp_path):
    folder = tmp_path / "ro"
    folder.mkdir()
    Counted().run(folder / "done.pt", steps=2)
    folder.chmod(0o500)
    try:
        try:
            (folder / "probe").touch()
            pytest.skip("this process writes in read-only folders (root, with its capabilities)")
        except PermissionError:
            pass
        c = Counted()
        with pytest.raises(CheckpointError) as e:
            c.run(folder / "c.pt", steps=50)
        assert one_line(e) == (f"checkpoint {folder / 'c.pt'} cannot be written (no file can be made in "
                               f"{folder}: Permission denied); choose another checkpoint file")
        with pytest.raises(CheckpointError, match="cannot be written"):
            c.run(folder / "done.pt", steps=3)  # steps to train: checkpoints to write
        assert c.calls == 0
        assert c.run(folder / "done.pt", steps=2).resumed_from == 2  # finished: only read
        assert c.calls == 0
    finally:
        folder.chmod(0o700)


# --------------------------------------------------------------------------- the steps asked for


def test_a_checkpoint_past_the_last_step_is_refused(tmp_path):
    Counted().run(tmp_path / "c.pt", steps=5)
    c = Counted()
    with pytest.raises(CheckpointError) as e:
        c.run(tmp_path / "c.pt", steps=3)
    assert one_line(e) == (f"checkpoint {tmp_path / 'c.pt'} is at step 5, past this run's last step 3; "
                           "delete it to start afresh, or ask for at least 5 steps")
    assert c.calls == 0
    assert c.run(tmp_path / "c.pt", steps=7).resumed_from == 5  # more steps continue the run


def test_a_finished_run_resumed_reports_its_own_figures(tmp_path):
    train = sentences(0)
    lm, first = train_tiny_lm(train, tmp_path / "lm.pt", steps=4)
    again_lm, again = train_tiny_lm(train, tmp_path / "lm.pt", steps=4)
    assert again.resumed_from == 4 and again.history == first.history
    assert all(torch.equal(a, b) for a, b in zip(lm.state_dict().values(), again_lm.state_dict().values()))
    # the time and token rate of the whole run, not of the zero steps this call ran
    assert again.seconds == pytest.approx(first.seconds, rel=0.5)
    assert again.tokens_per_second == pytest.approx(first.tokens_per_second, rel=0.5)
    assert again.tokens_per_second > 0
