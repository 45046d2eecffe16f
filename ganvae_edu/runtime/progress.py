"""Progress bars that do not disturb nbval (stdout, not stderr) and open no widget when headless."""

from __future__ import annotations

import sys
from collections.abc import Iterable
from typing import Any

from .frontend import headless


def progress(iterable: Iterable, desc: str = "", disable: bool = False, **kwargs: Any):
    """A tqdm progress bar on stdout (not stderr, which nbval compares): a widget in Jupyter,
    text when `headless` (papermill, sweeps) or outside a notebook."""
    if headless():
        from tqdm.std import tqdm
    else:
        from tqdm.auto import tqdm

    return tqdm(iterable, desc=desc, disable=disable, file=sys.stdout, leave=False, mininterval=1.0, **kwargs)
