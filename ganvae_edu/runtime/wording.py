"""Counts in printed sentences: "1 step", "257 steps" — a figure a parameter sets must read right
at any value a user can give it."""

from __future__ import annotations


def count(n: int, noun: str, plural: str | None = None) -> str:
    """`n` with `noun`, plural unless `n` is 1, thousands separated: ``count(1, "step")`` is
    ``"1 step"``, ``count(1200, "sentence")`` is ``"1,200 sentences"``; give `plural` where
    adding an "s" is wrong."""
    word = noun if n == 1 else (plural if plural is not None else noun + "s")
    return f"{n:,} {word}"
