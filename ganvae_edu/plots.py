"""Matplotlib figures the notebooks share. Figures are small (modest dpi) so notebooks stay small."""

from __future__ import annotations

from collections.abc import Sequence

import matplotlib.pyplot as plt
import torch
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from torch import Tensor

from .toy import Mixture

DPI = 72


def figure(ncols: int = 1, nrows: int = 1, width: float = 4.0, height: float = 3.2, **kw):
    """plt.subplots with the project's size and dpi."""
    return plt.subplots(nrows, ncols, figsize=(width * ncols, height * nrows), dpi=DPI, **kw)


def densities_1d(
    ax: Axes, x: Tensor, p_data: Tensor, p_g: Tensor, d_star: Tensor | None = None
) -> None:
    """p_data and p_g on a grid, and D* on a second axis when given."""
    ax.plot(x, p_data, label="p_data", color="C0")
    ax.plot(x, p_g, label="p_g", color="C1")
    ax.set_xlabel("x")
    ax.set_ylabel("density")
    if d_star is not None:
        ax2 = ax.twinx()
        ax2.plot(x, d_star, label="D*(x)", color="C2", ls="--")
        ax2.axhline(0.5, color="grey", lw=0.5)
        ax2.set_ylim(-0.02, 1.02)
        ax2.set_ylabel("D*(x)")
        ax2.legend(loc="upper right", fontsize=8)
    ax.legend(loc="upper left", fontsize=8)


def generator_gradients(d: Tensor, saturating: Tensor, nonsaturating: Tensor) -> Figure:
    """|∂L_G/∂logit| of both generator losses against D(G(z))."""
    fig, ax = figure(width=5)
    ax.plot(d, saturating.abs(), label="minimax: log(1 − D(G(z)))")
    ax.plot(d, nonsaturating.abs(), label="non-saturating: −log D(G(z))")
    ax.set_xlabel("D(G(z))  (0 = discriminator sure it is fake)")
    ax.set_ylabel("|gradient wrt the logit|")
    ax.legend(fontsize=8)
    fig.tight_layout()
    return fig


def scatter_2d(ax: Axes, samples: Tensor, mix: Mixture, title: str = "") -> None:
    """Samples as dots, the mixture's means as crosses, with 3σ circles in the same scale."""
    s = samples.detach().cpu()
    ax.scatter(s[:, 0], s[:, 1], s=2, alpha=0.35, color="C0", rasterized=True)
    ax.scatter(mix.means[:, 0], mix.means[:, 1], marker="x", color="C3", s=20)
    lim = float(mix.means.abs().max()) * 1.4 + 0.2
    ax.set_xlim(-lim, lim)
    ax.set_ylim(-lim, lim)
    ax.set_aspect("equal")
    ax.set_xticks([])
    ax.set_yticks([])
    if title:
        ax.set_title(title, fontsize=9)


def snapshots_row(snapshots: Sequence[tuple[int, Tensor]], mix: Mixture, label: str, k: int = 5):
    """k evenly spaced training snapshots of a generator, left to right."""
    idx = torch.linspace(0, len(snapshots) - 1, min(k, len(snapshots))).round().long().tolist()
    fig, axes = figure(ncols=len(idx), width=2.0, height=2.0, squeeze=False)
    for ax, i in zip(axes[0], idx):
        step, samples = snapshots[i]
        scatter_2d(ax, samples, mix, f"{label}: step {step}")
    fig.tight_layout()
    return fig


def loss_curves(history: Sequence[dict[str, float]], title: str = "") -> Figure:
    fig, ax = figure(width=5)
    steps = [h["step"] for h in history]
    ax.plot(steps, [h["d_loss"] for h in history], label="D loss")
    ax.plot(steps, [h["g_loss"] for h in history], label="G loss")
    ax.set_xlabel("step")
    ax.legend(fontsize=8)
    ax.set_title(title, fontsize=9)
    fig.tight_layout()
    return fig
