"""What every notebook needs before the math: a device, seeds, checked parameters, safe files.

* `resolve_device`: "auto" (CUDA, then MPS, then CPU), "cpu", "cuda", "cuda:N", "mps".
* `seed_everything`: one call makes a CPU run repeatable.
* `check_parameters`: called right after a notebook's ``parameters`` cell; an unknown name
  (a typo passed with ``papermill -p``), a wrong type or an out-of-range value stops the
  notebook with one line naming the parameter, the bad value and what is allowed.
* `write_json_atomic` / `write_metrics`: a killed run never leaves a truncated file.
"""

from __future__ import annotations

import difflib
import json
import math
import os
import random
import sys
import tempfile
import types
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

# --------------------------------------------------------------------------- devices


def resolve_device(device: str | torch.device = "auto") -> torch.device:
    """The torch.device for `device`, or a ValueError that says what to use instead."""
    if isinstance(device, torch.device):
        device = str(device)
    if not isinstance(device, str):
        raise ValueError(f"device={device!r} must be a string such as 'auto', 'cpu' or 'cuda:0'")
    name = device.strip().lower()
    if name == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        if _mps_available():
            return torch.device("mps")
        return torch.device("cpu")
    if name == "cpu":
        return torch.device("cpu")
    if name == "mps":
        if not _mps_available():
            raise ValueError(
                "device='mps' was asked for, but no Apple MPS device is available; "
                "use device='auto' or 'cpu'."
            )
        return torch.device("mps")
    if name == "cuda" or name.startswith("cuda:"):
        if not torch.cuda.is_available():
            raise ValueError(
                f"device={device!r} was asked for, but no CUDA GPU is visible; "
                "use device='auto' or 'cpu'."
            )
        if name == "cuda":
            return torch.device("cuda")
        index = name.removeprefix("cuda:")
        if not index.isdigit():
            raise ValueError(f"device={device!r}: write a GPU index as 'cuda:N', e.g. 'cuda:0'.")
        count = torch.cuda.device_count()
        if int(index) >= count:
            raise ValueError(
                f"device={device!r} was asked for, but only {count} CUDA GPU(s) are visible "
                f"(cuda:0 .. cuda:{count - 1}); use one of those or device='auto'."
            )
        return torch.device(name)
    raise ValueError(
        f"device={device!r} is not a device; use 'auto', 'cpu', 'cuda', 'cuda:N' or 'mps'."
    )


def _mps_available() -> bool:
    mps = getattr(torch.backends, "mps", None)
    return bool(mps is not None and mps.is_available())


# --------------------------------------------------------------------------- seeds


def seed_everything(seed: int) -> torch.Generator:
    """Seed Python's, NumPy's (if installed) and torch's global generators with `seed`.

    Returns a fresh CPU `torch.Generator` seeded the same way, for code that prefers an
    explicit generator. Same seed, same machine, same thread count: same numbers on the CPU.
    (CUDA kernels may still be non-deterministic; see torch.use_deterministic_algorithms.)
    """
    random.seed(seed)
    try:
        import numpy as np

        np.random.seed(seed % 2**32)
    except ImportError:  # pragma: no cover - numpy comes with torch in practice
        pass
    torch.manual_seed(seed)
    return torch.Generator().manual_seed(seed)


# --------------------------------------------------------------------------- parameters


class ParameterError(ValueError):
    """A notebook parameter is unknown, of the wrong type or out of range."""


@dataclass(frozen=True)
class Param:
    """What a notebook parameter may be: a type, optional bounds or choices, one-line help."""

    type: type | tuple[type, ...]
    min: float | None = None
    max: float | None = None
    choices: tuple[Any, ...] | None = None
    item: type | None = None  # for a list: the type of its items, which min/max then bound

    def allowed(self) -> str:
        if self.choices is not None:
            return "one of " + ", ".join(repr(c) for c in self.choices)
        types_ = self.type if isinstance(self.type, tuple) else (self.type,)
        text = " or ".join(_TYPE_NAMES.get(t, t.__name__) for t in types_)
        if self.item is not None:
            text = f"a non-empty list of {_ITEM_NAMES.get(self.item, self.item.__name__)}"
        if self.min is not None and self.max is not None:
            text += f" in [{self.min}, {self.max}]"
        elif self.min is not None:
            text += f" ≥ {self.min}"
        elif self.max is not None:
            text += f" ≤ {self.max}"
        return text

    def problem(self, value: Any) -> str | None:
        """None if `value` is allowed, else why not."""
        types_ = self.type if isinstance(self.type, tuple) else (self.type,)
        ok_type = any(_is_instance(value, t) for t in types_)
        if not ok_type:
            return f"is a {type(value).__name__}, expected {self.allowed()}"
        if self.choices is not None and value not in self.choices:
            return f"is not allowed, expected {self.allowed()}"
        if self.item is not None:
            if not value:
                return f"is empty, expected {self.allowed()}"
            inner = Param(self.item, self.min, self.max)
            for v in value:
                if inner.problem(v):
                    return f"has item {v!r} that {inner.problem(v)}"
            return None
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            if isinstance(value, float) and not math.isfinite(value):
                return f"is not finite, expected {self.allowed()}"
            if self.min is not None and value < self.min:
                return f"is too small, expected {self.allowed()}"
            if self.max is not None and value > self.max:
                return f"is too large, expected {self.allowed()}"
        return None


_TYPE_NAMES = {int: "an integer", float: "a number", str: "a string", bool: "True/False"}
_ITEM_NAMES = {int: "integers", float: "numbers", str: "strings", bool: "booleans"}


def _is_instance(value: Any, t: type) -> bool:
    if t is float:  # an int is a fine float; a bool is not a number here
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    if t is int:
        return isinstance(value, int) and not isinstance(value, bool)
    return isinstance(value, t)


# Names IPython and Jupyter put into a kernel's namespace by themselves.
_KERNEL_NAMES = {"In", "Out", "get_ipython", "exit", "quit", "open"}


def check_parameters(namespace: Mapping[str, Any], spec: Mapping[str, Param]) -> dict[str, Any]:
    """Validate a notebook's parameters; return them as a dict (floats given as ints converted).

    Call it as ``params = check_parameters(globals(), SPEC)`` in the cell right after the
    ``parameters`` cell, before other definitions: every public, non-module, non-callable
    name then in the namespace must be a declared parameter, so a typo passed with
    ``papermill -p sede 3`` is caught instead of silently ignored.
    """
    unknown = [
        name
        for name, value in namespace.items()
        if not name.startswith("_")
        and name not in spec
        and name not in _KERNEL_NAMES
        and not isinstance(value, (types.ModuleType, type))
        and not callable(value)
    ]
    if unknown:
        name = sorted(unknown)[0]
        close = difflib.get_close_matches(name, list(spec), n=1)
        hint = f"did you mean {close[0]!r}? " if close else ""
        raise ParameterError(
            f"unknown parameter {name!r} (= {namespace[name]!r}); {hint}"
            f"known parameters: {', '.join(spec)}"
        )
    values: dict[str, Any] = {}
    for name, rule in spec.items():
        if name not in namespace:
            raise ParameterError(f"parameter {name!r} is missing from the parameters cell")
        value = namespace[name]
        why = rule.problem(value)
        if why:
            raise ParameterError(f"parameter {name}={value!r} {why}")
        if rule.type is float and isinstance(value, int):
            value = float(value)
        values[name] = value
    return values


def parse_cli_value(text: str) -> Any:
    """Turn a command-line string into a value the way `papermill -p` does.

    'True'/'False'/'None' → bool/None, integers → int, decimals → float, else the string.
    """
    if text in ("True", "False"):
        return text == "True"
    if text == "None":
        return None
    for conv in (int, float):
        try:
            return conv(text)
        except ValueError:
            pass
    return text


# --------------------------------------------------------------------------- files


def write_json_atomic(obj: Any, path: str | os.PathLike) -> Path:
    """Write `obj` as JSON to `path` via a temporary file and an atomic rename.

    A reader sees either the old file or the complete new one, never a truncated file.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    text = json.dumps(obj, indent=2, sort_keys=True, allow_nan=False) + "\n"
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def write_metrics(metrics: Mapping[str, Any], output_dir: str | os.PathLike) -> Path:
    """Write the notebook's headline figures as ``output_dir/metrics.json``.

    The schema every notebook shares: one flat JSON object, keys ``model.metric[.n]``
    (plus ``seconds``), values numbers, strings, booleans or null. A non-finite float
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


def progress(iterable: Iterable, desc: str = "", disable: bool = False, **kwargs: Any):
    """A tqdm progress bar: a widget in Jupyter, else on stdout (not stderr, which nbval compares)."""
    from tqdm.auto import tqdm

    return tqdm(iterable, desc=desc, disable=disable, file=sys.stdout, leave=False, mininterval=1.0, **kwargs)
