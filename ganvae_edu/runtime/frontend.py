"""Whether a person is looking: `headless()` is true when a notebook runs with no browser to draw
widgets in (papermill, a sweep, a test), as ``ganvae-edu run`` and ``sweep`` tell it by setting
``GANVAE_HEADLESS=1`` for their kernels.

Headless, the explorers draw once, at their default values, as plain output, and progress bars
are text: nothing opens a widget comm, which nbclient (under papermill) can wait on forever.
Set ``GANVAE_HEADLESS=1`` yourself when you run the notebooks with papermill or nbconvert directly.
"""

from __future__ import annotations

import os

ENV = "GANVAE_HEADLESS"


def headless() -> bool:
    """True when ``GANVAE_HEADLESS`` is 1, true or yes (any case); false when unset or 0."""
    value = os.environ.get(ENV, "").strip().lower()
    if value in ("", "0", "false", "no"):
        return False
    if value in ("1", "true", "yes"):
        return True
    raise ValueError(f"{ENV}={os.environ[ENV]!r}: set it to 1 (no widgets) or 0, or unset it")
