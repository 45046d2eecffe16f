"""Test-wide settings: no test may need the network or a display."""

import os

# Must be set before `datasets` / `huggingface_hub` are imported anywhere.
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("HF_DATASETS_OFFLINE", "1")
os.environ.setdefault("MPLBACKEND", "agg")
