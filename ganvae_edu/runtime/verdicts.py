"""Loud warnings a runner can find: `warn` issues a `RunWarning`, which the notebook shows on
stderr and ``ganvae-edu run`` / ``sweep`` repeat in their summary (they look for
``RunWarning:`` in the executed notebook), so a run that learned nothing never passes quietly."""

from __future__ import annotations

import warnings


class RunWarning(UserWarning):
    """A figure of this run is not to be trusted (training learned nothing, a metric is undefined)."""


def warn(message: str) -> None:
    """Issue `message` as a `RunWarning` (one line: the runner shows it as it is)."""
    warnings.warn(" ".join(message.split()), RunWarning, stacklevel=2)
