r"""The one training loop. A model supplies its *step*; the loop does the rest, the same for every model.

A step is a function of one `Step`: it draws its batch from ``step.rng``, computes its losses and
hands each to ``step.update(player, loss)`` (one optimiser step of that player) — a GAN's step
holds its two players' updates, in the order they happen. It returns the figures to record.

What the loop owns, once for all models:

* the step count and the learning-rate schedule (constant, or linear decay from each optimiser's
  initial rate to 0: lr_k = lr · (1 − (k − 1)/steps) at step k, a function of the step alone);
* gradient clipping (per player) and the **NaN/inf guard**: a non-finite loss (or, when clipped,
  gradient norm) raises `TrainingDiverged` naming the loss and the step, *before* the optimiser
  step, and any player already updated in that step is put back, so every model keeps the
  weights of the last good step;
* the history (one ``dict`` per recorded step), evaluation cadence and the progress bar;
* atomic, weights-only checkpoints (modules, optimisers, the step's generator, torch's global
  generators, CPU and CUDA, history and the step's own carried state) and **exact resume**: a
  run resumed from its last checkpoint continues bit for bit as if it had never stopped.
"""

from __future__ import annotations

import copy
import math
import os
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from torch import Tensor, nn

from ganvae_edu.runtime.files import atomic_write
from ganvae_edu.runtime.progress import progress


class TrainingDiverged(FloatingPointError):
    """The loss or gradient became NaN/inf; the models hold the weights of the last good step."""


def save_checkpoint(path: str | os.PathLike, **state) -> Path:
    """torch.save(state) to `path` atomically (temporary file, fsync, rename)."""
    with atomic_write(path, "wb") as f:
        torch.save(state, f)
    return Path(path)


def load_checkpoint(path: str | os.PathLike, map_location: str | torch.device = "cpu") -> dict:
    """The state saved by `save_checkpoint`, loaded with weights_only=True (no pickled code)."""
    return torch.load(Path(path), map_location=map_location, weights_only=True)


@dataclass(frozen=True)
class Checkpoint:
    """Where a run checkpoints, and how often: every `every` steps (None: every tenth of the run)
    and always at the last step. A plain path passed as ``checkpoint=`` means ``Checkpoint(path)``."""

    path: str | os.PathLike
    every: int | None = None


@dataclass
class TrainResult:
    """What a run leaves besides the trained modules."""

    history: list[dict[str, float]] = field(default_factory=list)
    seconds: float = 0.0
    tokens_per_second: float = 0.0  # when the step counts tokens (`Step.count`)
    resumed_from: int = 0  # the checkpoint's step, 0 for a fresh run
    state: dict[str, Any] = field(default_factory=dict)  # the step's carried state at the end


class Step:
    """What a step function gets: its number, the run's generator, carried state, and `update`."""

    def __init__(self, loop: _Loop, number: int) -> None:
        self._loop = loop
        self.number = number
        self.rng: torch.Generator = loop.rng
        self.state: dict[str, Any] = loop.state  # carried across steps and checkpointed
        # what a divergence puts back: the state and generators as this step found them, and
        # (filled as players move) their weights and optimiser states
        self._before = ({k: copy.copy(v) for k, v in loop.state.items()}, loop.rng.get_state(),
                        torch.get_rng_state())
        self._undo: list[tuple[torch.optim.Optimizer, list[Tensor], dict]] = []

    def update(self, players: str | Sequence[str], loss: Tensor) -> None:
        """One optimiser step of `players` (one name, or several moved by the same loss) on `loss`.

        Refused with `TrainingDiverged` when the loss (or the clipped gradient norm) is NaN/inf;
        the players already updated in this step are then put back as they were (weights and
        optimiser state), and so are the step's carried state and the generators.
        """
        names = [players] if isinstance(players, str) else list(players)
        self._guard(loss, " and ".join(names))
        opts = [self._loop.optimizers[n] for n in names]
        for opt in opts:
            opt.zero_grad(set_to_none=True)
        loss.backward()
        for name, opt in zip(names, opts):
            self._clip(name, opt)
        for opt in opts:
            self._remember(opt)
            opt.step()

    def update_together(self, losses: Mapping[str, Tensor]) -> None:
        """Simultaneous updates: every player's gradient of its own loss first, then every step.

        Each player's gradient is computed on the graph as it is before anyone moves
        (``torch.autograd.grad``), so the order of the players does not matter.
        """
        for name, loss in losses.items():
            self._guard(loss, name)
        grads = [torch.autograd.grad(loss, _params(self._loop.optimizers[n]), retain_graph=True)
                 for n, loss in losses.items()]
        for name, player_grads in zip(losses, grads):
            opt = self._loop.optimizers[name]
            for p, g in zip(_params(opt), player_grads):
                p.grad = g
            self._clip(name, opt)
            self._remember(opt)
            opt.step()
            opt.zero_grad(set_to_none=True)

    def count(self, tokens: int) -> None:
        """Add `tokens` to the run's token count (for tokens per second)."""
        self._loop.tokens += tokens

    # -- the guard -------------------------------------------------------------------------
    def _guard(self, loss: Tensor, who: str) -> None:
        if not torch.isfinite(loss):
            self._rollback()
            raise TrainingDiverged(self._message(f"{self._who(who)} loss", loss.item()))

    def _who(self, player: str) -> str:
        return self._loop.name if len(self._loop.optimizers) == 1 else f"{self._loop.name} {player}"

    def _clip(self, name: str, opt: torch.optim.Optimizer) -> None:
        clip = self._loop.clip.get(name)
        if clip is None:
            return
        norm = nn.utils.clip_grad_norm_(_params(opt), clip)
        if not math.isfinite(norm.item()):
            opt.zero_grad(set_to_none=True)
            self._rollback()
            raise TrainingDiverged(self._message(f"{self._who(name)} gradient norm", norm.item()))

    def _message(self, what: str, value: float) -> str:
        hint = f" {self._loop.hint}" if self._loop.hint else ""
        return (f"{what} became {value} at step {self.number}; the weights of step {self.number - 1} "
                f"are kept.{hint}")

    def _remember(self, opt: torch.optim.Optimizer) -> None:
        # A step with several players may fail after the first has moved: keep what it moves.
        if len(self._loop.optimizers) > 1:
            params = _params(opt)
            with torch.no_grad():
                weights = [p.clone() for p in params]
                moments = [{k: v.clone() if isinstance(v, Tensor) else v for k, v in opt.state[p].items()}
                           for p in params]
            self._undo.append((opt, weights, moments))

    def _rollback(self) -> None:
        """Put the run back as it was after the last good step: weights, optimisers, state, generators."""
        with torch.no_grad():
            for opt, weights, moments in reversed(self._undo):
                for p, w, m in zip(_params(opt), weights, moments):
                    p.copy_(w)
                    if m:
                        opt.state[p] = m
                    else:
                        opt.state.pop(p, None)
        self._undo.clear()
        state, rng, torch_rng = self._before
        self._loop.state.clear()
        self._loop.state.update(state)
        self._loop.rng.set_state(rng)
        torch.set_rng_state(torch_rng)


def _params(opt: torch.optim.Optimizer) -> list[Tensor]:
    return [p for group in opt.param_groups for p in group["params"]]


@dataclass
class _Loop:
    name: str
    optimizers: Mapping[str, torch.optim.Optimizer]
    rng: torch.Generator
    state: dict[str, Any]
    clip: dict[str, float | None]
    hint: str
    tokens: int = 0


def run(
    step: Callable[[Step], Mapping[str, Any] | None],
    *,
    steps: int,
    optimizers: Mapping[str, torch.optim.Optimizer],
    modules: Mapping[str, nn.Module],
    rng: torch.Generator,
    lr_decay: bool = False,
    clip: float | Mapping[str, float | None] | None = None,
    record_every: int | None = 1,
    evaluate: Callable[[int], Mapping[str, float]] | None = None,
    eval_every: int | None = None,
    checkpoint: str | os.PathLike | Checkpoint | None = None,
    config: Mapping[str, Any] | None = None,
    state: dict[str, Any] | None = None,
    after_step: Callable[[int], None] | None = None,
    name: str = "train",
    hint: str = "",
    show_progress: bool = True,
) -> TrainResult:
    """Run `step` for steps 1 … `steps` (or resume from `checkpoint`) and return the `TrainResult`.

    * `optimizers`: the players by name; `modules`: what a checkpoint saves. `clip`: a
      gradient-norm clip for every player, or per name. Train/eval modes are the step's business.
    * `lr_decay`: each optimiser's rate falls linearly from its initial value to 0.
    * `record_every`: the step's returned figures (floats or 0-d tensors) are recorded with its
      number every that many steps and at the last; None records only the last step.
    * `evaluate(step)`: every `eval_every` steps and at the last (None: only at the last step,
      when given); its figures join that step's record.
    * `checkpoint`: a file (or a `Checkpoint` with its cadence) written atomically as the run goes
      and resumed from when it exists. Its `config` must equal this run's, else the resume is
      refused. `state`: a dict the step carries across steps (saved with the checkpoint).
    * `after_step(step)`: called after each step is recorded and checkpointed.
    """
    clips = dict(clip) if isinstance(clip, Mapping) else {n: clip for n in optimizers}
    loop = _Loop(name, optimizers, rng, state if state is not None else {}, clips, hint)
    for opt in optimizers.values():
        for group in opt.param_groups:
            group.setdefault("initial_lr", group["lr"])
    config = dict(config or {})
    result = TrainResult(state=loop.state)
    start = 0
    if checkpoint is not None and not isinstance(checkpoint, Checkpoint):
        checkpoint = Checkpoint(checkpoint)
    if checkpoint is not None:
        every = checkpoint.every or max(1, steps // 10)
        if Path(checkpoint.path).exists():
            start = _resume(checkpoint.path, config, modules, optimizers, loop, result)

    t0 = time.perf_counter()
    for k in progress(range(start + 1, steps + 1), desc=name, disable=not show_progress):
        if lr_decay:
            for opt in optimizers.values():
                for group in opt.param_groups:
                    group["lr"] = group["initial_lr"] * (1 - (k - 1) / steps)
        figures = step(Step(loop, k)) or {}
        last = k == steps
        evaluating = evaluate is not None and (last or (eval_every is not None and k % eval_every == 0))
        if last or evaluating or (record_every is not None and k % record_every == 0):
            record = {"step": k, **{key: _number(v) for key, v in figures.items()}}
            if evaluating:
                record.update(evaluate(k))
            result.history.append(record)
        if checkpoint is not None and (last or k % every == 0):
            save_checkpoint(checkpoint.path, **_snapshot(k, config, modules, optimizers, loop, result))
        if after_step is not None:
            after_step(k)
    result.seconds = time.perf_counter() - t0
    result.tokens_per_second = loop.tokens / result.seconds if result.seconds > 0 else 0.0
    return result


def _number(value: Any) -> Any:
    return value.item() if isinstance(value, Tensor) else value


def _snapshot(k, config, modules, optimizers, loop, result) -> dict[str, Any]:
    return {
        "step": k, "config": config, "history": result.history, "state": loop.state,
        "modules": {n: m.state_dict() for n, m in modules.items()},
        "optimizers": {n: o.state_dict() for n, o in optimizers.items()},
        "rng": loop.rng.get_state(), "torch_rng": torch.get_rng_state(),
        # CUDA's generators too (dropout on a GPU draws from them), when CUDA is in use
        "cuda_rng": torch.cuda.get_rng_state_all() if torch.cuda.is_initialized() else [],
    }


def _resume(path, config, modules, optimizers, loop, result) -> int:
    # on the CPU: load_state_dict puts weights and optimiser state where the parameters are
    saved = load_checkpoint(path, map_location="cpu")
    if "modules" not in saved:
        raise ValueError(f"checkpoint {path} was written by an older ganvae-edu and cannot be resumed; "
                         "delete it to start afresh")
    if saved["config"] != config:
        raise ValueError(f"checkpoint {path} was written with {saved['config']}, not {config}; "
                         "delete it to start afresh or use the same settings to resume")
    for n, m in modules.items():
        m.load_state_dict(saved["modules"][n])
    for n, o in optimizers.items():
        o.load_state_dict(saved["optimizers"][n])
    loop.rng.set_state(saved["rng"])
    torch.set_rng_state(saved["torch_rng"])
    if torch.cuda.is_available():  # as many GPUs as both the run and this machine have
        for i, s in enumerate(saved.get("cuda_rng", [])[: torch.cuda.device_count()]):
            torch.cuda.set_rng_state(s, i)
    loop.state.clear()
    loop.state.update(saved["state"])
    result.history = list(saved["history"])
    result.resumed_from = int(saved["step"])
    return result.resumed_from
