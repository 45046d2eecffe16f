"""Notebook parameters, checked: an unknown name, a wrong type or an out-of-range value stops the run.

`check_parameters` is called right after a notebook's ``parameters`` cell; an unknown name
(a typo passed with ``papermill -p``), a wrong type or an out-of-range value stops the
notebook with one line naming the parameter, the bad value and what is allowed.
"""

from __future__ import annotations

import difflib
import math
import types
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any


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
