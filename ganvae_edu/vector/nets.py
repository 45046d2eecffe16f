"""Small network builders shared by the toy models."""

from __future__ import annotations

from collections.abc import Callable

from torch import nn


def mlp(n_in: int, hidden: int, layers: int, n_out: int, act: Callable[[], nn.Module]) -> nn.Sequential:
    """`layers` hidden layers of width `hidden` with activation `act`, then a linear output.

    ``layers=0`` is a single linear map n_in → n_out.
    """
    mods: list[nn.Module] = []
    width = n_in
    for _ in range(layers):
        mods += [nn.Linear(width, hidden), act()]
        width = hidden
    mods.append(nn.Linear(width, n_out))
    return nn.Sequential(*mods)
