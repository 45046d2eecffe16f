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
  run resumed from its last checkpoint continues bit for bit as if it had never stopped, on the
  same machine with the same number of torch threads (a float sum split over two threads rounds
  differently from one on one thread, so with other threads it continues equal to rounding);
* what a checkpoint belongs to: it carries the caller's `fingerprint` (a digest of the training
  data, `data_digest`), every module's parameter names and shapes and the run's `config`, and
  a resume that differs in any of them is refused with `CheckpointError` — one line naming what
  differs — before any weight is loaded. So is a file that cannot be read, and a checkpoint path
  where no file can be written (checked before step 1, not at the first checkpoint).
"""

from __future__ import annotations

import copy
import hashlib
import itertools
import math
import os
import pickle
import sys
import tempfile
import time
from array import array
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


class CheckpointError(ValueError):
    """A checkpoint that cannot be read, written or resumed by this run; the one-line message says
    why and what to do."""


_ZIP = b"PK\x03\x04"  # how every file torch.save writes begins


def save_checkpoint(path: str | os.PathLike, **state) -> Path:
    """torch.save(state) to `path` atomically (temporary file, fsync, rename)."""
    with atomic_write(path, "wb") as f:
        torch.save(state, f)
    return Path(path)


def load_checkpoint(path: str | os.PathLike, map_location: str | torch.device = "cpu") -> dict:
    """The state saved by `save_checkpoint`, loaded with weights_only=True (no pickled code).

    Any file that does not load as a dict (empty, truncated, damaged, not written by torch.save,
    holding code, a folder) raises `CheckpointError` with one line saying which.
    """
    path = Path(path)
    if path.is_dir():
        raise CheckpointError(_folder_message(path))

    def unreadable(why: str, advice: str = "delete it to start afresh") -> CheckpointError:
        return CheckpointError(f"checkpoint {path} cannot be read ({why}); {advice}")

    try:
        with open(path, "rb") as f:
            head = f.read(len(_ZIP))
    except FileNotFoundError:
        raise unreadable("no such file", "check the path") from None
    except OSError as e:
        raise unreadable(_reason(e), "choose another checkpoint file") from None
    if not head:
        raise unreadable("empty file")
    try:
        state = torch.load(path, map_location=map_location, weights_only=True)
    except Exception as e:  # torch's errors here are many and long, and some advise unsafe loading
        if head != _ZIP:
            why = "not a ganvae-edu checkpoint"
        elif isinstance(e, pickle.UnpicklingError) and "global" in str(e).lower():  # a GLOBAL opcode
            why = "not a ganvae-edu checkpoint: it holds code, and checkpoints are loaded as weights only"
        else:
            why = "truncated or damaged"
        raise unreadable(why) from None
    if not isinstance(state, dict):
        raise unreadable("not a ganvae-edu checkpoint")
    return state


def data_digest(*parts: Sequence[Sequence[int]] | Tensor | None) -> str:
    """The sha256 (hex) of the training data, for a checkpoint's ``fingerprint={"data": …}``.

    Each part is a list of token-id sequences (where each sequence ends counts), a tensor (its
    dtype, shape and values) or None (no such part, e.g. no validation set: not the same as an
    empty one). Another corpus, tokenizer level or vocabulary limit gives other ids, so another
    digest.
    """
    h = hashlib.sha256()
    for part in parts:
        if part is None:
            h.update(b"none;")
        elif isinstance(part, Tensor):
            t = part.detach().cpu().contiguous().reshape(-1)
            h.update(f"tensor {t.dtype} {tuple(part.shape)};".encode())
            h.update(t.view(torch.uint8).numpy().tobytes())
        else:
            lengths = array("q", map(len, part))
            ids = array("q", itertools.chain.from_iterable(part))
            if sys.byteorder == "big":  # the same digest on every machine
                lengths.byteswap()
                ids.byteswap()
            h.update(f"sequences {len(lengths)};".encode())
            h.update(lengths.tobytes())
            h.update(ids.tobytes())
    return h.hexdigest()


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
    seconds: float = 0.0  # training time of the whole run, the parts before a resume included
    tokens_per_second: float = 0.0  # of the whole run, when the step counts tokens (`Step.count`)
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
    fingerprint: Mapping[str, Any] | None = None,
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
      and resumed from when it exists. Before step 1, its missing folders are made and a place
      where no file can be written is refused (`CheckpointError`). A resume is refused, before
      any weight is loaded, when the checkpoint's `fingerprint`, module parameter shapes or
      `config` differ from this run's, or when its step is past `steps`; a checkpoint before
      `steps` continues to `steps` (callers that put `steps` in `config` refuse that too), and
      one at `steps` gives the finished run as it was saved, without training or writing.
    * `fingerprint`: what the checkpoint belongs to besides the model and settings (plain values:
      strings, numbers), compared part by part on resume, e.g. ``{"data": data_digest(train,
      valid)}``. Trainers whose data is generated from `config` need none.
    * `state`: a dict the step carries across steps (saved with the checkpoint).
    * `after_step(step)`: called after each step is recorded and checkpointed.
    """
    clips = dict(clip) if isinstance(clip, Mapping) else {n: clip for n in optimizers}
    loop = _Loop(name, optimizers, rng, state if state is not None else {}, clips, hint)
    for opt in optimizers.values():
        for group in opt.param_groups:
            group.setdefault("initial_lr", group["lr"])
    config = dict(config or {})
    fingerprint = dict(fingerprint or {})
    result = TrainResult(state=loop.state)
    start, seconds_before = 0, 0.0
    if checkpoint is not None and not isinstance(checkpoint, Checkpoint):
        checkpoint = Checkpoint(checkpoint)
    if checkpoint is not None:
        every = checkpoint.every or max(1, steps // 10)
        path = Path(checkpoint.path).expanduser()  # "~/runs/lm.pt" is in the home folder, not in "./~"
        if path.is_dir():
            raise CheckpointError(_folder_message(path))
        if path.exists():
            start, seconds_before = _resume(path, steps, config, fingerprint, modules, optimizers, loop,
                                            result)
        if start < steps:  # steps to train, so checkpoints to write: can they be?
            _check_writable(path)

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
            seconds = seconds_before + time.perf_counter() - t0
            save_checkpoint(path, **_snapshot(k, config, fingerprint, modules, optimizers, loop, result,
                                              seconds))
        if after_step is not None:
            after_step(k)
    result.seconds = seconds_before + time.perf_counter() - t0
    result.tokens_per_second = loop.tokens / result.seconds if result.seconds > 0 else 0.0
    return result


def _number(value: Any) -> Any:
    return value.item() if isinstance(value, Tensor) else value


def _snapshot(k, config, fingerprint, modules, optimizers, loop, result, seconds) -> dict[str, Any]:
    return {
        "step": k, "config": config, "fingerprint": fingerprint, "shapes": _shapes(modules),
        "players": sorted(optimizers), "seconds": seconds, "tokens": loop.tokens,
        "history": result.history, "state": loop.state,
        "modules": {n: m.state_dict() for n, m in modules.items()},
        "optimizers": {n: o.state_dict() for n, o in optimizers.items()},
        "rng": loop.rng.get_state(), "torch_rng": torch.get_rng_state(),
        # CUDA's generators too (dropout on a GPU draws from them), when CUDA is in use
        "cuda_rng": torch.cuda.get_rng_state_all() if torch.cuda.is_initialized() else [],
    }


def _shapes(modules: Mapping[str, nn.Module]) -> dict[str, dict[str, list[int]]]:
    """Every module's state (parameters and buffers) by name, as shapes."""
    return {n: {k: list(v.shape) for k, v in m.state_dict().items() if isinstance(v, Tensor)}
            for n, m in modules.items()}


def _reason(e: OSError) -> str:
    return e.strerror or type(e).__name__


def _folder_message(path: Path) -> str:
    return f"checkpoint {path} is a folder, not a file; choose a file name, such as {path / 'checkpoint.pt'}"


def _check_writable(path: Path) -> None:
    """Refuse, before any training, a checkpoint path where `save_checkpoint` could not write;
    make its missing folders."""

    def unwritable(why: str) -> CheckpointError:
        return CheckpointError(f"checkpoint {path} cannot be written ({why}); choose another checkpoint file")

    folder = path.parent
    for above in (folder, *folder.parents):
        if above.exists():
            if not above.is_dir():
                raise unwritable(f"{above} is a file, not a folder")
            break
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise unwritable(f"its folder {folder} cannot be made: {_reason(e)}") from None
    try:  # the way atomic_write will: a temporary file beside the checkpoint
        fd, probe = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".probe", dir=folder)
    except OSError as e:
        raise unwritable(f"no file can be made in {folder}: {_reason(e)}") from None
    os.close(fd)
    os.unlink(probe)


_FORMAT = ("step", "config", "fingerprint", "shapes", "players", "seconds", "tokens", "history", "state",
           "modules", "optimizers", "rng", "torch_rng")


_UNSET = object()  # a fingerprint part or setting that one side lacks


def _short(value: Any) -> str:
    if isinstance(value, str) and len(value) == 64 and all(c in "0123456789abcdef" for c in value):
        return value[:8] + "…"  # a sha256 digest
    return "unset" if value is _UNSET else repr(value)


def _shape(shape: list[int] | None) -> str:
    return "a scalar" if shape == [] else "×".join(map(str, shape))


def _refusal(path, saved: dict, steps: int, config: dict, fingerprint: dict,
             modules: Mapping[str, nn.Module], optimizers: Mapping[str, Any]) -> str | None:
    """Why the checkpoint `saved` does not belong to this run (one line), or None when it does."""
    tail = "delete it to start afresh, or choose another checkpoint file"
    for key in sorted(set(saved["fingerprint"]) | set(fingerprint), key=lambda k: (k != "data", k)):
        theirs, ours = saved["fingerprint"].get(key, _UNSET), fingerprint.get(key, _UNSET)
        if theirs != ours:
            if key == "data":
                what = f"other training data (its digest {_short(theirs)}, this run's {_short(ours)})"
            else:
                what = f"another {key} (its {key} {_short(theirs)}, this run's {_short(ours)})"
            return f"checkpoint {path} belongs to {what}; {tail}"
    theirs_shapes, ours_shapes = saved["shapes"], _shapes(modules)
    if sorted(theirs_shapes) != sorted(ours_shapes) or saved["players"] != sorted(optimizers):
        if sorted(theirs_shapes) != sorted(ours_shapes):
            what = (f"its modules are {', '.join(sorted(theirs_shapes))}, "
                    f"this run's {', '.join(sorted(ours_shapes))}")
        else:
            what = (f"its players are {', '.join(saved['players'])}, "
                    f"this run's {', '.join(sorted(optimizers))}")
        return f"checkpoint {path} belongs to a model of another shape ({what}); {tail}"
    for n, ours_m in ours_shapes.items():
        theirs_m = theirs_shapes[n]
        for k in [*ours_m, *(k for k in theirs_m if k not in ours_m)]:
            if theirs_m.get(k) != ours_m.get(k):
                if k not in theirs_m:
                    what = f"its {n} has no {k}, this run's {n}.{k} is {_shape(ours_m[k])}"
                elif k not in ours_m:
                    what = f"its {n}.{k} is {_shape(theirs_m[k])}, this run's {n} has none"
                else:
                    what = f"its {n}.{k} is {_shape(theirs_m[k])}, this run's {_shape(ours_m[k])}"
                return f"checkpoint {path} belongs to a model of another shape ({what}); {tail}"
    if saved["config"] != config:
        keys = [k for k in [*config, *(k for k in saved["config"] if k not in config)]
                if saved["config"].get(k, _UNSET) != config.get(k, _UNSET)]

        def listed(settings: dict) -> str:
            return ", ".join(f"{k} unset" if settings.get(k, _UNSET) is _UNSET else f"{k}={settings[k]!r}"
                             for k in keys)

        return (f"checkpoint {path} was written with other settings (its {listed(saved['config'])}; "
                f"this run's {listed(config)}); delete it to start afresh, or use the same settings "
                "to resume")
    if saved["step"] > steps:
        return (f"checkpoint {path} is at step {saved['step']}, past this run's last step {steps}; "
                f"delete it to start afresh, or ask for at least {saved['step']} steps")
    return None


def _resume(path, steps, config, fingerprint, modules, optimizers, loop, result) -> tuple[int, float]:
    """Load the checkpoint at `path` into the run, after checking that it belongs to it; returns
    its step and the training seconds before it."""
    # on the CPU: load_state_dict puts weights and optimiser state where the parameters are
    saved = load_checkpoint(path, map_location="cpu")
    if any(key not in saved for key in _FORMAT):
        if "step" in saved and ("modules" in saved or "model" in saved):
            raise CheckpointError(f"checkpoint {path} was written by an older ganvae-edu and cannot be "
                                  "resumed; delete it to start afresh")
        raise CheckpointError(f"checkpoint {path} cannot be read (not a ganvae-edu checkpoint); "
                              "delete it to start afresh")
    why = _refusal(path, saved, steps, config, fingerprint, modules, optimizers)
    if why is not None:
        raise CheckpointError(why)
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
    loop.tokens = int(saved["tokens"])
    result.history = list(saved["history"])
    result.resumed_from = int(saved["step"])
    return result.resumed_from, float(saved["seconds"])
