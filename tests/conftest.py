"""Test-wide settings: no test may need the network or a display."""

import math
import os

# Must be set before `datasets` / `huggingface_hub` are imported anywhere.
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("HF_DATASETS_OFFLINE", "1")
os.environ.setdefault("MPLBACKEND", "agg")


import pytest  # noqa: E402
import torch  # noqa: E402

TINY_VOCAB = 12  # ids 0-3 are <pad> <bos> <eos> <unk>; words are 4 … 11


@pytest.fixture
def tiny_ids():
    """300 random sentences of 2–5 words over `TINY_VOCAB`, as <bos> … <eos> id lists (seeded)."""
    g = torch.Generator().manual_seed(0)
    out = []
    for _ in range(300):
        length = int(torch.randint(2, 6, (1,), generator=g))
        out.append([1] + torch.randint(4, TINY_VOCAB, (length,), generator=g).tolist() + [2])
    return out


TWO_SCENES_NLL = (math.log(2) + 5 * math.log(3)) / 6  # a scene (1 bit), 5 words of 3, over 6 tokens


@pytest.fixture
def two_scenes_nll():
    """`TWO_SCENES_NLL`, as a fixture: tests take it by name, since `from conftest import` finds
    whichever conftest module comes first on sys.path (tests/fixtures has one too)."""
    return TWO_SCENES_NLL


@pytest.fixture
def two_scenes():
    """400 sentences of 5 words, alternately about words 4/5/6 and about 7/8/9 (seeded): a VAE's
    code can carry the scene (1 bit); the true NLL is `TWO_SCENES_NLL` nats a token, <eos> counted."""
    g = torch.Generator().manual_seed(0)
    data = []
    for i in range(400):
        words = [4, 5, 6] if i % 2 else [7, 8, 9]
        data.append([1] + [words[int(torch.randint(3, (1,), generator=g))] for _ in range(5)] + [2])
    return data


# New variables that change what later tests' processes compute or read (libraries set others of
# their own, torch's TORCHINDUCTOR_CACHE_DIR for one); any variable that was set must stay as it was.
WATCHED = ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "CUDA_VISIBLE_DEVICES", "GANVAE_", "HF_", "MPLBACKEND",
           "SLURM_", "PYTHONPATH")


@pytest.fixture(autouse=True)
def _environment_left_as_found():
    """A test that changes os.environ puts it back (monkeypatch does): a variable left behind
    reaches every later test's subprocesses — an OMP_NUM_THREADS left at 1 once gave the child
    of the resume test one torch thread and its parent two, and their floats parted."""
    before = dict(os.environ)
    yield
    changed = sorted(k for k in set(before) | set(os.environ)
                     if before.get(k) != os.environ.get(k) and k != "PYTEST_CURRENT_TEST"  # pytest's own
                     and (k in before or k.startswith(WATCHED)))
    assert not changed, f"the test left os.environ changed: {changed}; use monkeypatch.setenv"
