"""Safe files: `atomic_write`, the one way the package writes a file, and the JSON files built on it.

A killed run never leaves a truncated file: checkpoints, metrics.json, notebooks, CSV tables and
plots are all written through `atomic_write`.
"""

from __future__ import annotations

import json
import math
import os
import tempfile
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any

import torch

_UMASK = os.umask(0o022)  # read once, at import (os.umask can only be read by setting it)
os.umask(_UMASK)


@contextmanager
def atomic_write(path: str | os.PathLike, mode: str = "w") -> Iterator[IO]:
    """A file to write `path` through: a hidden temporary beside it, fsynced and renamed on success.

    A reader (or a killed run) sees either the old file or the complete new one, never a
    truncated file; on an error the temporary is removed and the old file stays as it was.
    `mode` is "w" (text, UTF-8, newlines as written) or "wb".
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        # mkstemp makes the file private (0600); give it the mode a plain open() would: the old
        # file's, or what the umask allows
        os.chmod(tmp, path.stat().st_mode & 0o7777 if path.exists() else 0o666 & ~_UMASK)
        text = "b" not in mode
        with os.fdopen(fd, mode, **({"encoding": "utf-8", "newline": ""} if text else {})) as f:
            yield f
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_json_atomic(obj: Any, path: str | os.PathLike) -> Path:
    """Write `obj` as JSON to `path` with `atomic_write` (NaN/inf refused: JSON has none)."""
    text = json.dumps(obj, indent=2, sort_keys=True, allow_nan=False) + "\n"
    with atomic_write(path) as f:
        f.write(text)
    return Path(path)


def write_notebook_atomic(nb: Any, path: str | os.PathLike) -> Path:
    """Write the nbformat notebook `nb` to `path` with `atomic_write`."""
    import nbformat

    with atomic_write(path) as f:
        nbformat.write(nb, f)
    return Path(path)


def model_key(model: str, temperature: float = 1.0) -> str:
    """The name a model sampled at `temperature` has in metrics.json: ``MODEL`` at T = 1,
    ``MODEL_tT`` otherwise (T written with ``:g``, e.g. ``lm_t0.7``)."""
    return model if temperature == 1.0 else f"{model}_t{temperature:g}"


def metric_key(model: str, metric: str, temperature: float = 1.0) -> str:
    """The metrics.json key of `metric` (e.g. ``bleu.4``) of `model` sampled at `temperature`:
    ``model_key(model, temperature) + "." + metric``, e.g. ``lm_t0.7.bleu.4``."""
    return f"{model_key(model, temperature)}.{metric}"


def write_metrics(metrics: Mapping[str, Any], output_dir: str | os.PathLike) -> Path:
    """Write the notebook's headline figures as ``output_dir/metrics.json``.

    The schema every notebook shares: one flat JSON object, keys ``model.metric[.n]``
    (`metric_key`; plus ``seconds``), values numbers, strings, booleans or null. A non-finite float
    (say a reverse KL of +inf when no sample was good) is written as null.
    """
    flat: dict[str, Any] = {}
    for key, value in metrics.items():
        if not isinstance(key, str) or not key:
            raise ValueError(f"metrics key {key!r} must be a non-empty string")
        if isinstance(value, torch.Tensor):
            value = value.item()
        if isinstance(value, float) and not math.isfinite(value):
            value = None
        if value is not None and not isinstance(value, (int, float, str, bool)):
            raise ValueError(
                f"metrics[{key!r}] = {value!r} is a {type(value).__name__}; metrics.json is "
                "flat: use numbers, strings, booleans or None"
            )
        flat[key] = value
    return write_json_atomic(flat, Path(output_dir) / "metrics.json")
