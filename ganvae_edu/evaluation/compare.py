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


# --------------------------------------------------------------------------- verdicts with their noise

Curve = Sequence[tuple[float, float, float]]


def margin(point: tuple[float, float], curve: Curve) -> float | None:
    """BLEU(point) − BLEU of the curve at the point's Self-BLEU (`curve_at`); None outside it."""
    ref = curve_at(curve, point[0])
    return None if ref is None else point[1] - ref


def dominance(point: tuple[float, float], curve: Curve) -> tuple[list[float], list[float]]:
    """(temperatures of the curve's points that `point` beats on both axes, those that beat it).

    A (Self-BLEU, BLEU) point beats another when its BLEU is at least as high and its Self-BLEU
    at least as low, one of them strictly: better quality *and* diversity, no interpolation.
    """
    sb, b = point
    beats = [t for t, s, q in curve if b >= q and sb <= s and (b > q or sb < s)]
    beaten = [t for t, s, q in curve if q >= b and s <= sb and (q > b or s < sb)]
    return beats, beaten


def point_and_errors(samples: Sequence[Sequence[str]], references: Sequence[Sequence[str]],
                     n: int = 5) -> tuple[tuple[float, float], tuple[float, float]]:
    """((Self-BLEU-n, BLEU-n), (their standard errors)) of the point that `samples` make.

    The point is the mean of the sentence scores (`metrics.self_bleu_per_sentence`,
    `metrics.bleu_per_sentence`: the same as `self_bleu`, `bleu`); each SE is sd / √N of those
    scores. It treats them as independent, which they are for BLEU (fixed references) and nearly
    are for Self-BLEU (each scored against all the others): an approximation of what two points
    of N sentences from one distribution differ by, by chance alone (√2·SE).
    """
    from ganvae_edu.text.metrics import bleu_per_sentence, self_bleu_per_sentence

    def mean_se(values: list[float]) -> tuple[float, float]:
        mean = sum(values) / len(values)
        return mean, math.sqrt(sum((v - mean) ** 2 for v in values) / (len(values) - 1) / len(values))

    sb, se_sb = mean_se(self_bleu_per_sentence(samples, n))
    b, se_b = mean_se(bleu_per_sentence(samples, references, n))
    return (sb, b), (se_sb, se_b)


def standard_errors(samples: Sequence[Sequence[str]], references: Sequence[Sequence[str]],
                    n: int = 5) -> tuple[float, float]:
    """(SE of Self-BLEU-n, SE of BLEU-n) of the point `samples` make (`point_and_errors`)."""
    return point_and_errors(samples, references, n)[1]


def margin_noise(curve: Curve, sd_self_bleu: float, sd_bleu: float) -> float:
    r"""σ of a `margin` when each point (the model's and the curve's) has independent sampling
    errors sd_self_bleu and sd_bleu on its two axes:

        σ² ≈ 2·sd_bleu² + 2·(slope · sd_self_bleu)²,

    the model's point and the curve's at it (a BLEU error, and a Self-BLEU error moved through
    the curve's slope, for each). `slope`: the steepest segment of the curve (0 for one point).
    """
    pts = sorted((sb, b) for _, sb, b in curve)
    slopes = [abs((y1 - y0) / (x1 - x0)) for (x0, y0), (x1, y1) in zip(pts, pts[1:]) if x1 != x0]
    slope = max(slopes, default=0.0)
    return math.sqrt(2 * sd_bleu**2 + 2 * (slope * sd_self_bleu) ** 2)


def verdict(point: tuple[float, float], curve: Curve, sd_self_bleu: float, sd_bleu: float,
            z: float = 2.0) -> tuple[str, str]:
    """(kind, sentence): where a (Self-BLEU, BLEU) point lies against a curve, and whether the
    sampling noise (per-point sds of the two axes, e.g. `standard_errors`) resolves it.

    Inside the curve's Self-BLEU range: "above" / "below" when |margin| > z·σ (σ from
    `margin_noise`), else "within noise". Beyond it there is nothing to interpolate: "above" /
    "below" when the point beats / is beaten by a point of the curve on both axes (`dominance`)
    by more than z·√2·sd on one axis (the sd of a difference of two points), "within noise" when
    by less, else "not comparable" — the sweep would have to be extended to say.
    """
    m = margin(point, curve)
    if m is not None:
        band = z * margin_noise(curve, sd_self_bleu, sd_bleu)
        if abs(m) <= band:
            return "within noise", f"{m:+.3f} BLEU at its Self-BLEU, inside the noise (±{band:.3f})"
        return ("above" if m > 0 else "below"), f"{m:+.3f} BLEU at its Self-BLEU (noise ±{band:.3f})"
    beats, beaten = dominance(point, curve)
    for kind, temps, sign in (("above", beats, 1), ("below", beaten, -1)):
        if not temps:
            continue
        t = temps[0]
        _, s, q = next(p for p in curve if p[0] == t)
        db, dsb = sign * (point[1] - q), sign * (s - point[0])  # the winner's lead on each axis, ≥ 0
        resolved = db > z * math.sqrt(2) * sd_bleu or dsb > z * math.sqrt(2) * sd_self_bleu
        what = "beats the curve's" if kind == "above" else "is beaten by the curve's"
        text = f"{what} T = {t:g} point on both axes (by {db:.3f} BLEU, {dsb:.3f} Self-BLEU)"
        return (kind if resolved else "within noise"), text + ("" if resolved else ", inside the noise")
    sbs = [sb for _, sb, _ in curve]
    return "not comparable", (f"Self-BLEU {point[0]:.3f} is beyond the swept {min(sbs):.3f}–{max(sbs):.3f} "
                              "and no point beats the other on both axes")
