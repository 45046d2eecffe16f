"""Instant feedback: run the student's answer, compare with the reference, say where it is off.

A checker is a function decorated with `exercise`: it raises `ExerciseError` (or `NotDone`)
with a one-line message, or returns the detail of a pass. In the notebook the decorated
checker never raises: it shows a box with the message alone — no traceback, so nothing of
the checker's own reference computation is printed — and returns None (so a cell that ends
with it shows no ``Out[...]``): "Run All" on a student copy goes on past an unanswered or wrong
exercise. ``checker.strict(...)`` is the undecorated checker, which raises: for tests and
graders.
"""

from __future__ import annotations

import functools
import html
import linecache
import sys
import traceback
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import torch


class ExerciseError(AssertionError):
    """The student's answer is wrong; the message says what to fix."""


class NotDone(ExerciseError):
    """The exercise is not answered yet (a stub that raises NotImplementedError, or None)."""


_PACKAGE = str(Path(__file__).resolve().parents[1])  # .../ganvae_edu: frames here are not the student's


def not_done(exercise: str, what: str = "replace `raise NotImplementedError()` with your code") -> NotDone:
    return NotDone(f"{exercise}: not done yet — {what}.")


def answer(value: Any, *, exercise: str) -> Any:
    """`value` unless it is None, the student copy's stub for a top-level answer."""
    if value is None:
        raise not_done(exercise, "replace None with your answer")
    return value


def _where_in_student_code(tb) -> str:
    """' (line N of your cell: `code`)' for the last frame outside the package, or ''."""
    frames = [f for f in traceback.extract_tb(tb) if not str(Path(f.filename).resolve()).startswith(_PACKAGE)
              and f.filename != __file__]
    if not frames:
        return ""
    f = frames[-1]
    line = (f.line or linecache.getline(f.filename, f.lineno)).strip()
    return f" (line {f.lineno} of your code: `{line}`)" if line else f" (line {f.lineno} of your code)"


def _name(fn: Callable) -> str:
    return f"{getattr(fn, '__module__', '?')}.{getattr(fn, '__qualname__', getattr(fn, '__name__', '?'))}"


def call(fn: Callable[..., Any], *args: Any, exercise: str, forbid: Iterable[Callable] = ()) -> Any:
    """fn(*args), turning a stub's NotImplementedError into `NotDone` and a crash into `ExerciseError`.

    `forbid`: package functions that compute the answer itself. A student function that calls
    one of them (under any name, through any alias) is refused: it would pass by transcription.
    """
    forbidden = {getattr(f, "__code__", None): f for f in forbid}
    forbidden.pop(None, None)
    used: list[Callable] = []

    def watch(frame, event, arg):  # a profile hook: sees every Python call made while fn runs
        if event == "call" and frame.f_code in forbidden and not used:
            used.append(forbidden[frame.f_code])

    if forbidden:
        previous = sys.getprofile()
        sys.setprofile(watch)
    try:
        result = fn(*args)
    except NotImplementedError:
        raise not_done(exercise) from None
    except Exception as e:  # any crash in student code is feedback, not a traceback hunt
        raise ExerciseError(
            f"{exercise}: your code raised {type(e).__name__}: {e}{_where_in_student_code(e.__traceback__)}"
        ) from None
    finally:
        if forbidden:
            sys.setprofile(previous)
    if used:
        name = _name(used[0])
        whose = "the package's " if name.startswith("ganvae_edu.") else ""
        raise ExerciseError(
            f"{exercise}: your code calls {whose}`{name}`, which computes the answer itself; "
            "work it out yourself — that is the exercise"
        )
    return result


def assert_close(
    got: Any,
    expected: torch.Tensor,
    *,
    exercise: str,
    where: Callable[[int], str],
    atol: float = 1e-6,
    rtol: float = 1e-5,
) -> None:
    """Raise `ExerciseError` naming the worst point if `got` differs from `expected`."""
    if not isinstance(got, torch.Tensor):
        raise ExerciseError(f"{exercise}: expected a torch.Tensor, got {type(got).__name__}")
    if got.shape != expected.shape:
        raise ExerciseError(
            f"{exercise}: expected shape {tuple(expected.shape)}, got {tuple(got.shape)}"
        )
    got = got.detach().double().reshape(-1)
    expected = expected.double().reshape(-1)
    if not torch.isfinite(got).all():
        i = int((~torch.isfinite(got)).nonzero()[0])
        raise ExerciseError(
            f"{exercise}: your value is {got[i].item()} at {where(i)} (expected "
            f"{expected[i].item():.6g}); compute it in a numerically stable way"
        )
    err = (got - expected).abs()
    bad = err > atol + rtol * expected.abs()
    if bad.any():
        i = int(err.argmax())
        raise ExerciseError(
            f"{exercise}: your value is off by {err[i].item():.3g} at {where(i)} "
            f"(expected {expected[i].item():.6g}, got {got[i].item():.6g})"
        )


def passed(exercise: str, detail: str) -> None:
    print(f"✓ {exercise}: {detail}")


# --------------------------------------------------------------------------- what the student sees

_STYLE = {  # kind: (mark, border colour, background)
    "wrong": ("✗", "#c62828", "#fdecea"),
    "todo": ("…", "#8d6e00", "#fff8e1"),
}


class Feedback:
    """A box in a notebook (HTML), one marked line anywhere else (text/plain)."""

    def __init__(self, kind: str, message: str) -> None:
        self.kind, self.message = kind, message

    def __repr__(self) -> str:
        return f"{_STYLE[self.kind][0]} {self.message}"

    def _repr_html_(self) -> str:
        mark, border, background = _STYLE[self.kind]
        return (f'<div style="border:2px solid {border};background:{background};color:#000;'
                f'padding:0.5em 0.8em;border-radius:4px;font-family:sans-serif;white-space:pre-wrap">'
                f"<b>{mark}</b> {html.escape(self.message)}</div>")


def show(kind: str, message: str) -> None:
    """Show a feedback box (in IPython) or print its line (elsewhere)."""
    try:
        from IPython import get_ipython
        from IPython.display import display
    except ImportError:  # pragma: no cover - IPython ships with every Jupyter install
        get_ipython = None
    if get_ipython is not None and get_ipython() is not None:
        display(Feedback(kind, message))
    else:
        print(repr(Feedback(kind, message)))


def exercise(check: Callable[..., None]) -> Callable[..., None]:
    """Decorate a checker: in the notebook it shows ✓, a not-done box or a wrong-answer box.

    The checker raises `NotDone` / `ExerciseError` or prints its own ✓ line (`passed`); the
    decorated one shows the message and never raises.
    """

    @functools.wraps(check)
    def shown(*args: Any, **kwargs: Any) -> None:
        try:
            check(*args, **kwargs)
        except NotDone as e:
            show("todo", str(e))
        except ExerciseError as e:
            show("wrong", str(e))

    shown.strict = check  # raises: for tests and graders
    return shown
