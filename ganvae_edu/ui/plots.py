"""Matplotlib figures the notebooks share. Figures are small (modest dpi) so notebooks stay small."""

from __future__ import annotations

from collections.abc import Sequence

import matplotlib.pyplot as plt
import torch
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from torch import Tensor

from ganvae_edu.vector.toy import Mixture

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


def lm_curves(history: Sequence[dict[str, float]], floor: float | None = None, title: str = "") -> Figure:
    """Training and validation NLL per token over steps, with the true entropy as a floor."""
    fig, ax = figure(width=5)
    steps = [h["step"] for h in history]
    train = [h["train_nll"] for h in history]
    window = max(1, len(train) // 50)  # a running mean: single batches are noisy
    smooth = [sum(train[max(0, i - window + 1): i + 1]) / len(train[max(0, i - window + 1): i + 1])
              for i in range(len(train))]
    ax.plot(steps, smooth, label="train (running mean)", lw=1)
    valid = [(h["step"], h["valid_nll"]) for h in history if "valid_nll" in h]
    if valid:
        ax.plot(*zip(*valid), "o-", label="validation", ms=3)
    if floor is not None:
        ax.axhline(floor, color="k", ls="--", lw=1, label="true entropy")
    ax.set_xlabel("step")
    ax.set_ylabel("NLL (nats / token)")
    ax.set_ylim(top=min(max(train), (floor or min(train)) * 3))
    ax.legend(fontsize=8)
    ax.set_title(title, fontsize=9)
    fig.tight_layout()
    return fig


def quality_diversity(
    curves: dict[str, Sequence[tuple[float, float, str]]],
    points: dict[str, tuple[float, float]] | None = None,
    n: int = 5,
) -> Figure:
    """BLEU-n (quality, up) against Self-BLEU-n (diversity, left is more diverse).

    `curves`: name → [(self_bleu, bleu, label)] over a sweep (e.g. temperatures); `points`:
    name → (self_bleu, bleu), such as the real data's own point, the target.
    """
    fig, ax = figure(width=4.6, height=3.6)
    for name, rows in curves.items():
        xs, ys, labels = zip(*rows)
        ax.plot(xs, ys, "o-", ms=3, label=name)
        for x, y, label in rows:
            ax.annotate(label, (x, y), fontsize=7, xytext=(3, 3), textcoords="offset points")
    for name, (x, y) in (points or {}).items():
        ax.plot([x], [y], "*", ms=12, label=name)
    ax.set_xlabel(f"Self-BLEU-{n} (lower: more diverse)")
    ax.set_ylabel(f"BLEU-{n} (higher: closer to real text)")
    ax.legend(fontsize=8)
    fig.tight_layout()
    return fig


def vae_curves(histories: dict[str, Sequence[dict[str, float]]]) -> Figure:
    """Reconstruction NLL per token and KL per sentence over training steps, one line per run."""
    fig, (ax_rec, ax_kl) = figure(ncols=2, width=4.2)
    for name, history in histories.items():
        steps = [h["step"] for h in history]
        for ax, key in ((ax_rec, "train_rec"), (ax_kl, "train_kl")):
            values = [h[key] for h in history]
            window = max(1, len(values) // 40)
            smooth = [sum(values[max(0, i - window + 1): i + 1]) / len(values[max(0, i - window + 1): i + 1])
                      for i in range(len(values))]
            ax.plot(steps, smooth, label=name, lw=1)
    ax_rec.set_ylabel("reconstruction NLL (nats / token)")
    ax_kl.set_ylabel("KL (nats / sentence)")
    for ax in (ax_rec, ax_kl):
        ax.set_xlabel("step")
        ax.legend(fontsize=8)
    fig.tight_layout()
    return fig


def sweep_plot(
    rows: Sequence[dict], x: str, ys: Sequence[str], group: Sequence[str] = ()
) -> Figure:
    """A parameter sweep: each metric in `ys` against the parameter `x`, one panel per metric,
    one line per combination of the `group` parameters' values.

    `rows` are the sweep table's rows (dicts name → value). A numeric `x` is placed by value,
    on a log axis when it spans two decades or more; any other `x` (strings, booleans) in
    order of first appearance. Rows whose metric is not a number are left out.
    """

    def number(v) -> bool:
        return isinstance(v, (int, float)) and not isinstance(v, bool) and v == v

    xs_all = [r[x] for r in rows]
    numeric_x = bool(xs_all) and all(number(v) for v in xs_all)
    order = list(dict.fromkeys(xs_all))
    fig, axes = figure(ncols=max(1, len(ys)), width=4.4, squeeze=False)
    for ax, y in zip(axes[0], ys):
        lines: dict[tuple, list[tuple]] = {}
        for r in rows:
            if number(r.get(y)):
                key = tuple(r[g] for g in group)
                lines.setdefault(key, []).append((r[x] if numeric_x else order.index(r[x]), r[y]))
        for key, points in lines.items():
            points.sort()
            label = ", ".join(f"{g}={v}" for g, v in zip(group, key)) or None
            ax.plot(*zip(*points), "o-", ms=3, label=label)
        if numeric_x and min(xs_all) > 0 and max(xs_all) >= 100 * min(xs_all):
            ax.set_xscale("log")
        if not numeric_x:
            ax.set_xticks(range(len(order)), [str(v) for v in order])
        ax.set_xlabel(x)
        ax.set_ylabel(y)
        if group and lines:
            ax.legend(fontsize=8)
    fig.tight_layout()
    return fig
