"""Test-wide settings: no test may need the network or a display."""

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
