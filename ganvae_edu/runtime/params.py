"""Notebook parameters, written once: the ``parameters`` cell gives each its default, and so its type.

A notebook's ``parameters`` cell starts with ``record_defaults()`` and then assigns one literal per
line::

    from ganvae_edu.runtime import record_defaults
    record_defaults()  # the literals below are the defaults; each parameter keeps its default's type
    seed = 0  # random seed
    steps = 2000  # training steps

The next cell states only bounds and choices, and calls `check_parameters`::

    params = check_parameters(globals(), {**RUN, "steps": Param(min=1, max=1_000_000)})

`record_defaults` reads the cell's own source (IPython keeps it for tracebacks), so the types are
known even after papermill's ``injected-parameters`` cell has replaced the values. An unknown
name (a typo passed with ``papermill -p``), a wrong type or an out-of-range value then stops the
notebook with one line naming the parameter, the bad value and what is allowed.

Types, as strict as the default's literal: an int parameter refuses 2.5 (and 2.0), a float
parameter takes an int and gets it as a float, a bool is not a number, a list's items have the
type of the default's items (ints and floats mixed: floats). A parameter whose default is None
("never", "none") states its type in the spec, ``Param(type=int, min=1)``; None or a value of that
type is then allowed.

`RUN` and `CORPUS` (and `TEXT_MODEL`, `TEXT_GAN`) are the specs several notebooks share;
`config_from` builds a config dataclass from the checked parameters whose names are its fields.
"""

from __future__ import annotations

import ast
import dataclasses
import difflib
import linecache
import math
import sys
import types
import typing
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, TypeVar


class ParameterError(ValueError):
    """A notebook parameter is unknown, of the wrong type or out of range."""


@dataclass(frozen=True, kw_only=True)
class Param:
    """Bounds or choices of one notebook parameter; its type is that of its default.

    `min`/`max` bound a number, or each item of a list; `choices` are the values allowed.
    `type` only for a parameter whose default is None: e.g. ``Param(type=int, min=1)`` allows None
    or an integer ≥ 1 (``list[float]`` for a list of numbers). `off` is one more value allowed
    outside the bounds, the one that switches a feature off: ``Param(off=0, min=2)``.
    """

    min: float | None = None
    max: float | None = None
    choices: tuple[Any, ...] | None = None
    type: Any = None
    off: Any = None


@dataclass(frozen=True)
class Rule:
    """What a value of one parameter may be: its default's type (and item type) plus the bounds."""

    type: type
    item: type | None = None  # for a list: the type of its items, which min/max then bound
    min: float | None = None
    max: float | None = None
    choices: tuple[Any, ...] | None = None
    nullable: bool = False  # the default is None: None is allowed too
    off: Any = None  # a value allowed outside min/max: the feature switched off

    def allowed(self) -> str:
        if self.choices is not None:
            text = "one of " + ", ".join(repr(c) for c in self.choices)
        else:
            text = _TYPE_NAMES.get(self.type, f"a {self.type.__name__}")
            if self.item is not None:
                text = f"a non-empty list of {_ITEM_NAMES.get(self.item, self.item.__name__)}"
            if self.min is not None and self.max is not None:
                text += f" in [{self.min}, {self.max}]"
            elif self.min is not None:
                text += f" ≥ {self.min}"
            elif self.max is not None:
                text += f" ≤ {self.max}"
        if self.off is not None:
            text += f", or {self.off!r} for none"
        return text + (", or None" if self.nullable else "")

    def problem(self, value: Any) -> str | None:
        """None if `value` is allowed, else why not."""
        if value is None and self.nullable:
            return None
        if not _is_instance(value, self.type):
            hint = ""
            if self.item is not None and isinstance(value, str):
                hint = ("; on the command line write a list in brackets, -p NAME '[0.2, 1.0]', or put "
                        "it in a -f file as NAME: [0.2, 1.0]")
            return f"is {_a_type(value)}, expected {self.allowed()}{hint}"
        if self.choices is not None and value not in self.choices:
            return f"is not allowed, expected {self.allowed()}"
        if self.item is not None:
            if not value:
                return f"is empty, expected {self.allowed()}"
            inner = Rule(self.item, min=self.min, max=self.max)
            for v in value:
                if inner.problem(v):
                    return f"has item {v!r} that {inner.problem(v)}"
            return None
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            if self.off is not None and value == self.off:
                return None
            if isinstance(value, float) and not math.isfinite(value):
                return f"is not finite, expected {self.allowed()}"
            if self.min is not None and value < self.min:
                return f"is too small, expected {self.allowed()}"
            if self.max is not None and value > self.max:
                return f"is too large, expected {self.allowed()}"
        return None

    def convert(self, value: Any) -> Any:
        """An allowed `value` as the parameter's type: ints given for floats become floats."""
        if self.type is float and isinstance(value, int):
            return float(value)
        if self.item is float and isinstance(value, list):
            return [float(v) for v in value]
        return value


_TYPE_NAMES = {int: "an integer", float: "a number", str: "a string", bool: "True/False"}
_ITEM_NAMES = {int: "integers", float: "numbers", str: "strings", bool: "booleans"}
_SCALARS = (bool, int, float, str)


def _a_type(value: Any) -> str:
    """'None', 'a str', 'an int': what a value is, in an error message."""
    if value is None:
        return "None"
    name = type(value).__name__
    return f"{'an' if name[0] in 'aeiou' else 'a'} {name}"


def _is_instance(value: Any, t: type) -> bool:
    if t is float:  # an int is a fine float; a bool is not a number here
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    if t is int:
        return isinstance(value, int) and not isinstance(value, bool)
    return isinstance(value, t)


def infer_type(default: Any) -> tuple[type | None, type | None]:
    """The type a parameter takes from its default: (type, item type of a list); (None, None) for None.

    3 → int, 3.0 → float, True → bool, "a" → str, [0.5, 1] → list of float, [1, 2] → list of int.
    """
    if default is None:
        return None, None
    if isinstance(default, list):
        kinds = {type(v) for v in default}
        if kinds == {int, float}:
            kinds = {float}
        if len(kinds) != 1 or not kinds <= set(_SCALARS):
            raise ParameterError(
                f"a list default must be non-empty, its items all numbers, all strings or all "
                f"True/False, not {default!r}"
            )
        return list, kinds.pop()
    return type(default), None


def type_name(default: Any) -> str:
    """The type of a parameter with this default, as a student writes it: int, float, list[float]."""
    t, item = infer_type(default)
    if t is None:
        return "None"
    return f"list[{item.__name__}]" if item is not None else t.__name__


def make_rule(name: str, default: Any, param: Param | None = None) -> Rule:
    """The `Rule` of parameter `name`: the type of `default`, the bounds and choices of `param`."""
    param = param or Param()
    if not isinstance(param, Param):
        raise ParameterError(f"the check of {name!r} must be a Param(...), not {param!r}")
    if default is None:
        if param.type is None:
            raise ParameterError(
                f"parameter {name!r} defaults to None, so its check must state its type, "
                f"e.g. Param(type=int)"
            )
        t, item = param.type, None
        if typing.get_origin(t) is list:
            t, item = list, typing.get_args(t)[0] if typing.get_args(t) else None
        if not isinstance(t, type):
            raise ParameterError(f"the type of {name!r} must be a class such as int, not {t!r}")
        return Rule(t, item, param.min, param.max, param.choices, nullable=True, off=param.off)
    if param.type is not None:
        raise ParameterError(
            f"the check of {name!r} states type={param.type!r}, but the type comes from its "
            f"default {default!r}; state a type only for a None default"
        )
    try:
        t, item = infer_type(default)
    except ParameterError as e:
        raise ParameterError(f"parameter {name!r}: {e}") from None
    return Rule(t, item, param.min, param.max, param.choices, off=param.off)


# --------------------------------------------------------------------------- the defaults

# Where `record_defaults` leaves the defaults in the notebook's namespace (a private name, so
# `check_parameters` does not take it for a parameter).
DEFAULTS_NAME = "__parameter_defaults__"


def defaults_from_source(source: str, after_line: int = 0) -> dict[str, Any]:
    """The literal assignments ``name = literal`` of `source` after line `after_line`, in order.

    They run until the first statement that is neither an assignment nor an import (the end of
    a notebook cell in practice). A default that is not a literal is refused: papermill reads
    defaults as text, so ``10**9`` or ``2 * steps`` would not mean what they say there.
    """
    defaults: dict[str, Any] = {}
    for node in ast.parse(source).body:
        if node.lineno <= after_line or isinstance(node, (ast.Import, ast.ImportFrom)):
            continue
        if isinstance(node, ast.Assign) and len(node.targets) == 1:
            target, value = node.targets[0], node.value
        elif isinstance(node, ast.AnnAssign) and node.value is not None:
            target, value = node.target, node.value
        else:
            break
        if not isinstance(target, ast.Name):
            break
        try:
            defaults[target.id] = ast.literal_eval(value)
        except ValueError:
            raise ParameterError(
                f"the default of parameter {target.id!r} must be a literal (a number, string, "
                f"True/False, None or a list), not {ast.unparse(value)!r}"
            ) from None
    return defaults


def record_defaults() -> dict[str, Any]:
    """Call at the top of a notebook's ``parameters`` cell: the literals assigned after it are
    the parameters and their defaults, which `check_parameters` then compares values against.

    The cell's source is read as IPython (Jupyter, papermill, nbval) keeps it for tracebacks, so
    the defaults stay known after papermill's injected cell has assigned other values. Returns
    the defaults and also keeps them in the caller's namespace.
    """
    frame = sys._getframe(1)
    lines = linecache.getlines(frame.f_code.co_filename)
    source = "".join(lines)
    if not source.strip():  # no source on record: IPython's own copy of the running cell
        history = frame.f_globals.get("In")
        source = history[-1] if isinstance(history, list) and history else ""
    if not source.strip():
        raise ParameterError(
            "record_defaults() cannot read the source of its cell; run the notebook in Jupyter, "
            "IPython or papermill"
        )
    defaults = defaults_from_source(source, after_line=frame.f_lineno)
    frame.f_globals[DEFAULTS_NAME] = defaults
    return defaults


# --------------------------------------------------------------------------- the check


def _is_spec(value: Any) -> bool:
    """A `Param`, or a spec such as `CORPUS`: a non-empty mapping of names to `Param`s."""
    if isinstance(value, Param):
        return True
    return isinstance(value, Mapping) and bool(value) and all(isinstance(v, Param) for v in value.values())


# Names IPython and Jupyter put into a kernel's namespace by themselves.
_KERNEL_NAMES = {"In", "Out", "get_ipython", "exit", "quit", "open"}


def check_parameters(
    namespace: Mapping[str, Any],
    spec: Mapping[str, Param] | None = None,
    *,
    defaults: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """Validate a notebook's parameters; return them as a dict (floats given as ints converted).

    Call it as ``params = check_parameters(globals(), SPEC)`` in the cell right after the
    ``parameters`` cell, before other definitions. The parameters are those `record_defaults`
    found in the parameters cell (or `defaults`), each of its default's type; `spec` gives some
    of them bounds or choices. Every other public, non-module, non-callable name then in the
    namespace is refused, so a typo passed with ``papermill -p sede 3`` is caught instead of
    silently ignored.
    """
    spec = dict(spec or {})
    if defaults is None:
        defaults = namespace.get(DEFAULTS_NAME)
        if defaults is None:
            raise ParameterError(
                "no parameter defaults on record: the parameters cell must start with "
                "`from ganvae_edu.runtime import record_defaults` and `record_defaults()`"
            )
    stray = [name for name in spec if name not in defaults]
    if stray:
        raise ParameterError(
            f"the check names {stray[0]!r}, which the parameters cell does not set; "
            f"its parameters: {', '.join(defaults)}"
        )
    rules = {name: make_rule(name, default, spec.get(name)) for name, default in defaults.items()}
    unknown = [
        name
        for name, value in namespace.items()
        if not name.startswith("_")
        and name not in rules
        and name not in _KERNEL_NAMES
        and not isinstance(value, (types.ModuleType, type))
        and not callable(value)
        and not _is_spec(value)  # RUN, CORPUS, ... imported for the check
    ]
    if unknown:
        name = sorted(unknown)[0]
        close = difflib.get_close_matches(name, list(rules), n=1)
        hint = f"did you mean {close[0]!r}? " if close else ""
        raise ParameterError(
            f"unknown parameter {name!r} (= {namespace[name]!r}); {hint}"
            f"known parameters: {', '.join(rules)}"
        )
    values: dict[str, Any] = {}
    for name, rule in rules.items():
        if name not in namespace:
            raise ParameterError(f"parameter {name!r} is missing from the parameters cell")
        value = namespace[name]
        why = rule.problem(value)
        if why:
            raise ParameterError(f"parameter {name}={value!r} {why}")
        values[name] = rule.convert(value)
    return values


T = TypeVar("T")


def config_from(params: Mapping[str, Any], cls: type[T], **overrides: Any) -> T:
    """``cls(...)`` from the checked parameters: each field of the dataclass `cls` that is also a
    parameter gets the parameter's value; `overrides` set other fields or replace a value.

    ``config_from(params, TrainConfig, steps=plain_steps)`` is ``TrainConfig(steps=plain_steps,
    batch_size=batch_size, lr=lr, ...)`` for every field the notebook has a parameter of.
    """
    if not (isinstance(cls, type) and dataclasses.is_dataclass(cls)):
        raise TypeError(f"config_from needs a dataclass, not {cls!r}")
    fields = [f.name for f in dataclasses.fields(cls) if f.init]
    extra = [name for name in overrides if name not in fields]
    if extra:
        raise TypeError(f"{cls.__name__} has no field {extra[0]!r}; its fields: {', '.join(fields)}")
    kwargs = {name: params[name] for name in fields if name in params}
    kwargs.update(overrides)
    return cls(**kwargs)


def parse_cli_value(text: str) -> Any:
    """Turn a command-line string into a value the way `papermill -p` does.

    'True'/'False'/'None' → bool/None, integers → int, decimals → float, else the string; and,
    beyond papermill, a list in brackets, '[0.2, 1.0]' or '[a, b]', → a list (read as YAML).
    """
    stripped = text.strip()
    if stripped.startswith("[") or stripped.endswith("]"):
        import yaml

        try:
            value = yaml.safe_load(stripped)
        except yaml.YAMLError:
            value = None
        if not isinstance(value, list):
            raise ValueError(f"{text!r} is not a list: write it as [0.2, 1.0] (quoted in the shell, "
                             "items between commas), or put it in a -f file as NAME: [0.2, 1.0]")
        return value
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


# --------------------------------------------------------------------------- shared specs
# The bounds several notebooks share, stated once: ``check_parameters(globals(), {**RUN, ...})``.
# ``Param()`` means any value of the default's type; listing it makes the name required.

# Every notebook (01–08).
RUN: dict[str, Param] = {
    "seed": Param(min=0),
    "device": Param(),  # resolve_device checks the name
    "show_progress": Param(),
    "output_dir": Param(),
}

# The corpus and its tokenizer, as text.data.prepare takes them (notebooks 03–06 and 08).
CORPUS: dict[str, Param] = {
    "data": Param(),
    "text_column": Param(),
    "level": Param(choices=("word", "char")),
    "max_vocab": Param(min=0),  # 0: no limit
    "min_freq": Param(min=1),
    "max_len": Param(min=1, max=10_000),
}

# The GRU text models' sizes (notebooks 03–06 and 08).
TEXT_MODEL: dict[str, Param] = {
    "emb": Param(min=1, max=4096),
    "hidden": Param(min=1, max=8192),
    "dropout": Param(min=0, max=0.9),
}

# The external judge, the pretrained LLM's NLL per word of each model's samples (05, 06, 08).
JUDGE: dict[str, Param] = {
    "pretrained": Param(),  # llm.load_pretrained checks the name
    # 0: no judge (and no LLM loaded); else at least 2, for the standard error
    "judge_samples": Param(off=0, min=2, max=1_000_000),
}

# Adversarial training of the token-level text GANs (notebooks 05 and 06).
TEXT_GAN: dict[str, Param] = {
    "g_lr": Param(min=1e-7, max=1.0),
    "d_lr": Param(min=1e-7, max=1.0),
    "d_filters": Param(min=1, max=4096),
    "tau_start": Param(min=1e-3, max=100),
    "tau_end": Param(min=1e-3, max=100),
}
