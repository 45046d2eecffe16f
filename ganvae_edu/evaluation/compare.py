r"""Comparing models the way Caccia et al. (2020) ask: on quality–diversity curves, from real runs.

A model sampled at temperature T gives one point (Self-BLEU-n, BLEU-n): diversity (left is more
diverse) against quality (up is closer to real text). Sweeping T traces a curve; lowering T moves
every model up and to the right. A single-temperature table therefore says little: a GAN that
sits above the MLE model's T = 1 point may still lie *below the MLE model's curve*, i.e. the LM at
a lower temperature is better on both axes at once.

The notebooks write their figures to ``metrics.json`` under ``MODEL.bleu.n`` /
``MODEL.self_bleu.n`` at T = 1 and ``MODEL_tT.bleu.n`` at the other temperatures (the names
`runtime.metric_key` gives); this module reads them back into curves and compares a point with a
curve. No plotting here.
"""

from __future__ import annotations

import json
import math
import os
import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from ganvae_edu.runtime import metric_key

# Published rows on COCO captions (../shared/data/README.md): BLEU-2..5, NLL_gen, Self-BLEU-4.
PUBLISHED_COCO: dict[str, dict[str, float | None]] = {
    "MLE (Texygen)": {"bleu.2": 0.731, "bleu.3": 0.497, "bleu.4": 0.305, "bleu.5": 0.189, "nll_gen": 0.718,
                      "self_bleu.4": 0.583},
    "SeqGAN": {"bleu.2": 0.745, "bleu.3": 0.498, "bleu.4": 0.294, "bleu.5": 0.180, "nll_gen": 1.082,
               "self_bleu.4": 0.670},
    "LeakGAN": {"bleu.2": 0.746, "bleu.3": 0.528, "bleu.4": 0.355, "bleu.5": 0.230, "nll_gen": 0.679,
                "self_bleu.4": 0.848},
    "RelGAN(100)": {"bleu.2": 0.849, "bleu.3": 0.687, "bleu.4": 0.502, "bleu.5": 0.331, "nll_gen": 0.756,
                    "self_bleu.4": None},
}


def load_metrics(path: str | os.PathLike) -> dict[str, Any]:
    """One run's ``metrics.json`` (a flat object), with a clear error when it is not one."""
    path = Path(path)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise FileNotFoundError(f"{path} does not exist; run the notebook first (ganvae-edu run)") from None
    except json.JSONDecodeError as e:
        raise ValueError(f"{path} is not valid JSON ({e}); rerun the notebook that wrote it") from None
    if not isinstance(data, dict):
        raise ValueError(f"{path} must hold one JSON object, not {type(data).__name__}")
    return data


def temperatures(metrics: Mapping[str, Any], model: str) -> list[float]:
    """The temperatures at which `model` was scored (1.0 is the plain ``MODEL.`` prefix)."""
    found = {1.0} if metric_key(model, "bleu.2") in metrics else set()
    pattern = re.compile(rf"^{re.escape(model)}_t([0-9.]+)\.bleu\.")  # metric_key's MODEL_tT.bleu.
    for key in metrics:
        m = pattern.match(key)
        if m:
            found.add(float(m.group(1)))
    return sorted(found)


def temperature_curve(metrics: Mapping[str, Any], model: str, n: int = 5) -> list[tuple[float, float, float]]:
    """[(T, Self-BLEU-n, BLEU-n)] of `model`, by rising temperature (points with a null skipped)."""
    out = []
    for t in temperatures(metrics, model):
        sb = metrics.get(metric_key(model, f"self_bleu.{n}", t))
        b = metrics.get(metric_key(model, f"bleu.{n}", t))
        if isinstance(sb, (int, float)) and isinstance(b, (int, float)):
            out.append((t, float(sb), float(b)))
    return out


def curve_at(curve: Sequence[tuple[float, float, float]], self_bleu: float) -> float | None:
    """BLEU of the curve at a given Self-BLEU, by linear interpolation between its points.

    None outside the curve's Self-BLEU range: we do not extrapolate a sweep we did not run.
    """
    pts = sorted((sb, b) for _, sb, b in curve)
    for (x0, y0), (x1, y1) in zip(pts, pts[1:]):
        if x0 <= self_bleu <= x1:
            return y0 if x1 == x0 else y0 + (y1 - y0) * (self_bleu - x0) / (x1 - x0)
    if len(pts) == 1 and math.isclose(pts[0][0], self_bleu):
        return pts[0][1]
    return None


def position(point: tuple[float, float], curve: Sequence[tuple[float, float, float]],
             tol: float = 0.005) -> str:
    """Where a (Self-BLEU, BLEU) point lies against a curve: "above", "on", "below" (within
    `tol` of it counts as "on") or "outside" (its Self-BLEU is beyond the curve's range)."""
    ref = curve_at(curve, point[0])
    if ref is None:
        return "outside"
    if abs(point[1] - ref) <= tol:
        return "on"
    return "above" if point[1] > ref else "below"
