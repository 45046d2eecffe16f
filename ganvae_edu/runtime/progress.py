"""Progress bars that do not disturb nbval (stdout, not stderr) and open no widget when headless."""

from __future__ import annotations

import sys
import time
from collections.abc import Iterable, Iterator
from typing import Any

from .frontend import headless


class OneLine:
    """Headless progress: nothing while it runs, one tqdm-style line when the loop completes.

    A papermill run's output is read after the fact (a saved notebook, a log), where a text bar
    redrawn every second would leave dozens of frames behind it.
    """

    def __init__(self, iterable: Iterable, desc: str = "", disable: bool = False) -> None:
        self.iterable, self.desc, self.disable = iterable, desc, disable

    def __len__(self) -> int:
        return len(self.iterable)  # type: ignore[arg-type]

    def __iter__(self) -> Iterator:
        from tqdm.std import tqdm

        t0, n = time.perf_counter(), 0
        for item in self.iterable:
            yield item
            n += 1
        if not self.disable:
            total = len(self.iterable) if hasattr(self.iterable, "__len__") else None  # type: ignore[arg-type]
            print(tqdm.format_meter(n, total, time.perf_counter() - t0, prefix=self.desc), file=sys.stdout)


def progress(iterable: Iterable, desc: str = "", disable: bool = False, **kwargs: Any):
    """A tqdm progress bar on stdout (not stderr, which nbval compares): a widget in Jupyter that
    stays at its last frame (its state is saved with the notebook, so a committed notebook shows
    the finished bar), and a single line at the end when `headless` (papermill, sweeps)."""
    if headless():
        return OneLine(iterable, desc=desc, disable=disable)
    from tqdm.auto import tqdm

    return tqdm(iterable, desc=desc, disable=disable, file=sys.stdout, leave=True, mininterval=1.0, **kwargs)
