"""Progress bars that do not disturb nbval (stdout, not stderr)."""

from __future__ import annotations

import sys
from collections.abc import Iterable
from typing import Any


def progress(iterable: Iterable, desc: str = "", disable: bool = False, **kwargs: Any):
    """A tqdm progress bar: a widget in Jupyter, else on stdout (not stderr, which nbval compares)."""
    from tqdm.auto import tqdm

    return tqdm(iterable, desc=desc, disable=disable, file=sys.stdout, leave=False, mininterval=1.0, **kwargs)
