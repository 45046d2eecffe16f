"""Instant feedback: run the student's function, compare with the reference, say where it is off."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch


class ExerciseError(AssertionError):
    """The student's answer is missing or wrong; the message says what to fix."""


def call(fn: Callable[..., Any], *args: Any, exercise: str) -> Any:
    """fn(*args), turning a stub's NotImplementedError or a crash into an `ExerciseError`."""
    try:
        return fn(*args)
    except NotImplementedError:
        raise ExerciseError(
            f"{exercise}: not done yet — replace `raise NotImplementedError()` with your code."
        ) from None
    except Exception as e:  # any crash in student code is feedback, not a traceback hunt
        raise ExerciseError(f"{exercise}: your function raised {type(e).__name__}: {e}") from e


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
