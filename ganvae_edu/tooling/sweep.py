"""A parameter sweep: one notebook run over every combination of a few parameters' values.

    ganvae-edu sweep 04 -p beta 0.5,1,2 -p seed 0,1 -f quick.yaml --jobs 2

runs notebook 04 six times, (beta, seed) = (0.5, 0), (0.5, 1), (1, 0), …, each in its own
folder ``DIR/04_sentence_vae/beta=0.5,seed=0/`` holding the executed notebook, its
``metrics.json`` and ``params.json``. Then one table, ``DIR/04_sentence_vae/sweep.csv``,
has a row per run: the swept values, ``status`` (ok or failed), ``error`` and every metric.

A run is complete when its folder holds ``metrics.json`` and a ``params.json`` equal to the
parameters it would run with now; ``params.json`` is written only after a successful run.
Running the same sweep again skips complete runs and reruns the others, so a sweep that was
interrupted, or had a failed run, is finished by repeating its command.

``DIR/NAME/sweep.json`` records the sweep's base parameters (``-f``) and swept names: a sweep
with another base or other swept names is refused there (choose another ``--output-dir``), so
it never overwrites another sweep's runs and table. Each run holds its folder's lock while it
runs: two sweeps into one folder at once run each point once (the second waits for the first's
run, then skips it). Ctrl-C kills the running kernels at once and still writes ``sweep.csv`` for
what finished.

On a machine with several GPUs, ``--gpus 0,1`` hands each run, while it runs, a GPU of its own:
its kernel's ``CUDA_VISIBLE_DEVICES`` is that one number, so a notebook's ``device="auto"`` sees
one GPU, and no two runs at once share one. The table's ``gpu`` column says which each run had.
To run the grid on a Slurm cluster instead, see `cluster` (``--slurm``).
"""

from __future__ import annotations

import csv
import hashlib
import itertools
import json
import math
import os
import queue
import re
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ganvae_edu.runtime import atomic_write, parse_cli_value, write_json_atomic

from . import notebooks as nbs

PARAMS_FILE = "params.json"
METRICS_FILE = "metrics.json"
CSV_FILE = "sweep.csv"
PLOT_FILE = "sweep.png"
SWEEP_FILE = "sweep.json"


# --------------------------------------------------------------------------- the grid


def split_top_level(text: str) -> list[str]:
    """'1,[2,3],4' → ['1', '[2,3]', '4']: split on the commas that are not inside brackets."""
    parts, depth, current = [], 0, []
    for ch in text:
        depth += {"[": 1, "]": -1}.get(ch, 0)
        if ch == "," and depth == 0:
            parts.append("".join(current))
            current = []
        else:
            current.append(ch)
    return [*parts, "".join(current)]


def parse_values(name: str, text: str) -> list[Any]:
    """'0.5,1,abc' → [0.5, 1, 'abc']: split on commas, each read as `papermill -p` reads a value;
    a list value in brackets keeps its commas: '[0.2,1],[1,5]' → [[0.2, 1], [1, 5]]."""
    parts = [part.strip() for part in split_top_level(text)]
    if any(part == "" for part in parts):
        raise ValueError(
            f"-p {name} {text!r} has an empty value; write the values separated by single "
            "commas, e.g. -p seed 0,1,2"
        )
    return [parse_cli_value(part) for part in parts]


def expand_grid(axes: dict[str, Sequence[Any]]) -> list[dict[str, Any]]:
    """Every combination of the values, the first parameter changing slowest (as nested loops).

    {'a': [1, 2], 'b': [x, y]} → a=1 b=x, a=1 b=y, a=2 b=x, a=2 b=y.
    """
    names = list(axes)
    return [dict(zip(names, values)) for values in itertools.product(*axes.values())]


def _text(value: Any) -> str:
    """A value as the user typed it on the command line: 0.5, True, None, abc."""
    return value if isinstance(value, str) else repr(value)


def run_name(swept: dict[str, Any]) -> str:
    """The run's folder name, 'a=1,b=0.5'; made safe for any file system when it must be.

    Characters other than letters, digits and ``. _ = , + -`` become ``_``, and then a short
    hash of the full name is appended so that 'x/y' and 'x_y' still get different folders.
    """
    name = ",".join(f"{k}={_text(v)}" for k, v in swept.items())
    safe = re.sub(r"[^A-Za-z0-9._=,+-]", "_", name)
    if safe != name or len(safe) > 120 or safe.startswith("."):
        digest = hashlib.sha1(name.encode()).hexdigest()[:8]
        safe = f"{safe.lstrip('.')[:120]}-{digest}"
    return safe


@dataclass
class Run:
    """One point of the grid: its swept values, its folder and every parameter it runs with."""

    swept: dict[str, Any]
    folder: Path
    parameters: dict[str, Any]  # base, then swept values; without output_dir (the folder)

    @property
    def name(self) -> str:
        return self.folder.name

    def papermill_parameters(self) -> dict[str, Any]:
        """What papermill injects: the parameters, and the folder as ``output_dir``."""
        return {**self.parameters, "output_dir": str(self.folder.resolve())}


def plan(
    axes: dict[str, Sequence[Any]], base: dict[str, Any], sweep_dir: Path
) -> list[Run]:
    """The runs of the grid, in grid order; a swept value overrides the same name in `base`."""
    if "output_dir" in axes or "output_dir" in base:
        raise ValueError(
            "output_dir is set by the sweep for each run (DIR/NOTEBOOK/RUN/); "
            "choose DIR with --output-dir instead"
        )
    runs = [Run(swept, sweep_dir / run_name(swept), {**base, **swept}) for swept in expand_grid(axes)]
    seen: dict[str, Run] = {}
    for run in runs:
        if run.name in seen:
            raise ValueError(
                f"two runs of the grid would share the folder {run.name!r} "
                f"({seen[run.name].swept} and {run.swept}); give each value once"
            )
        seen[run.name] = run
    return runs


def claim(
    sweep_dir: Path, notebook: nbs.Notebook, axes: dict[str, Sequence[Any]], base: dict[str, Any]
) -> None:
    """Record this sweep's base and swept names in ``sweep.json``, or refuse a folder that holds
    a sweep with another base or other swept names (its runs and table would be overwritten)."""
    mine = _as_json({"notebook": notebook.stem, "base": base, "swept": list(axes)})
    path = Path(sweep_dir) / SWEEP_FILE
    if path.is_file():
        try:
            theirs = json.loads(path.read_text(encoding="utf-8"))
        except ValueError:
            theirs = None
        if isinstance(theirs, dict) and theirs != mine:
            what = [f"{k} {theirs.get(k)!r} (this sweep: {mine[k]!r})"
                    for k in mine if theirs.get(k) != mine[k]]
            raise ValueError(
                f"{sweep_dir} holds another sweep, with {'; '.join(what)}; choose another "
                f"--output-dir, or delete {sweep_dir} to start it afresh"
            )
        if isinstance(theirs, dict):
            return
    write_json_atomic(mine, path)


# --------------------------------------------------------------------------- runs


def _as_json(obj: Any) -> Any:
    """`obj` as it reads back from JSON (tuples become lists), to compare with a saved file."""
    return json.loads(json.dumps(obj))


def is_complete(run: Run) -> bool:
    """The run's folder holds metrics.json and a params.json equal to the run's parameters."""
    marker, metrics = run.folder / PARAMS_FILE, run.folder / METRICS_FILE
    if not (marker.is_file() and metrics.is_file()):
        return False
    try:
        return json.loads(marker.read_text(encoding="utf-8")) == _as_json(run.parameters)
    except (ValueError, OSError):
        return False


@dataclass
class Outcome:
    """What became of a run: ``status`` is "ok", "skipped" (complete already), "failed" or
    "interrupted" (stopped by Ctrl-C, or never started because of it)."""

    run: Run
    status: str
    error: str | None = None  # one line: where and why it failed
    metrics: dict[str, Any] = field(default_factory=dict)
    seconds: float = 0.0
    output: Path | None = None  # the executed notebook
    warnings: list[str] = field(default_factory=list)  # the run's RunWarning lines
    gpu: str | None = None  # the kernel's CUDA_VISIBLE_DEVICES, when the sweep chose it (--gpus, Slurm)
    job: str | None = None  # the Slurm (or submitit local) job that ran it: its log is named for it

    @property
    def ok(self) -> bool:
        return self.status in ("ok", "skipped")


def skip(run: Run) -> Outcome:
    """A complete run, read back from its folder."""
    metrics = json.loads((run.folder / METRICS_FILE).read_text(encoding="utf-8"))
    return Outcome(run, "skipped", metrics=metrics)


def execute(notebook: nbs.Notebook, run: Run, cell_timeout: float | None = nbs.CELL_TIMEOUT,
            stop: threading.Event | None = None, gpu: str | None = None) -> Outcome:
    """Run the notebook into the run's folder; on success record params.json. Never raises.

    Any error, in a cell or of the kernel itself (it died, a cell timed out), fails this run
    only, so the rest of the sweep goes on. The run holds its folder's lock; when another sweep
    holds it, this one waits, then skips the run if that sweep completed it. `stop` set: a run
    not started yet is not started. `gpu` set: the kernel's CUDA_VISIBLE_DEVICES (--gpus).
    """
    stop = stop or threading.Event()
    marker = run.folder / PARAMS_FILE
    env = None if gpu is None else {"CUDA_VISIBLE_DEVICES": gpu}
    try:
        with nbs.folder_lock(run.folder, wait=lambda: not stop.is_set()):
            if stop.is_set():
                return Outcome(run, "interrupted", "not run: the sweep was interrupted")
            if is_complete(run):  # another sweep ran it while this one waited
                return skip(run)
            marker.unlink(missing_ok=True)  # until this run succeeds, the folder is not complete
            res = nbs.execute(notebook, run.papermill_parameters(), run.folder, progress_bar=False,
                              cell_timeout=cell_timeout, lock=False, env=env)
            if res.error:
                status = "interrupted" if res.interrupted else "failed"
                return Outcome(run, status, res.error, seconds=res.seconds, output=res.output,
                               warnings=res.warnings, gpu=gpu)
            write_json_atomic(run.parameters, marker)
    except nbs.FolderBusy:
        return Outcome(run, "interrupted", "not run: the sweep was interrupted")
    except Exception as e:  # one run's failure must not stop the others
        return Outcome(run, "failed", f"{type(e).__name__}: {e}".splitlines()[0])
    return Outcome(run, "ok", metrics=res.metrics, seconds=res.seconds, output=res.output,
                   warnings=res.warnings, gpu=gpu)


def skip_complete(runs: Sequence[Run], log: Callable[[str], None] = print
                  ) -> tuple[dict[int, Outcome], list[int]]:
    """The outcomes of the runs complete already (by grid index), and the indices of the others."""
    outcomes: dict[int, Outcome] = {}
    todo = []
    for i, run in enumerate(runs):
        if is_complete(run):
            outcomes[i] = skip(run)
            log(f"skipped (complete): {run.name}")
        else:
            todo.append(i)
    return outcomes, todo


def progress_line(done: int, total: int, out: Outcome) -> str:
    """'[2/4] a=1,b=0.5: ok (3.2 s)', with the GPU it ran on when the sweep chose one."""
    verdict = {"ok": "ok", "skipped": "completed by another sweep"}.get(out.status, f"FAILED at {out.error}")
    where = f" on GPU {out.gpu}" if out.gpu else ""
    return f"[{done}/{total}] {out.run.name}: {verdict} ({out.seconds:.1f} s){where}"


def parse_gpus(text: str) -> list[str]:
    """'0,1' → ['0', '1']: the GPUs (CUDA's numbers, as nvidia-smi -L lists them) that a sweep on
    this machine hands out, one to each run while it runs. Not checked against the machine."""
    parts = [part.strip() for part in text.split(",")]
    if not all(part.isdigit() for part in parts):
        raise ValueError(
            f"--gpus {text!r} is not a list of GPU numbers; write CUDA's numbers separated by "
            "commas, e.g. --gpus 0,1 (nvidia-smi -L lists them)"
        )
    gpus = [str(int(part)) for part in parts]
    twice = sorted({g for g in gpus if gpus.count(g) > 1}, key=int)
    if twice:
        raise ValueError(f"--gpus {text!r} lists GPU {twice[0]} twice; two runs at once would "
                         "share it: list each GPU once")
    return gpus


def check_gpus(jobs: int, gpus: Sequence[str]) -> None:
    """Refuse more runs at a time than GPUs: each running run needs a GPU of its own."""
    if gpus and jobs > len(gpus):
        raise ValueError(
            f"--jobs {jobs} with --gpus {','.join(gpus)}: each run at a time needs a GPU of its own "
            f"and {len(gpus)} are listed; give --jobs {len(gpus)} or fewer, or list more GPUs"
        )


def run_all(
    notebook: nbs.Notebook,
    runs: Sequence[Run],
    jobs: int = 1,
    log: Callable[[str], None] = print,
    cell_timeout: float | None = nbs.CELL_TIMEOUT,
    gpus: Sequence[str] = (),
) -> list[Outcome]:
    """Skip the complete runs, execute the others `jobs` at a time; outcomes in grid order.

    Each job is a thread that waits on its own papermill kernel, a separate process, so the
    runs do execute in parallel. With `gpus`, a run takes a free GPU when it starts and gives it
    back when it ends; `jobs` ≤ len(gpus), so one is always free. Ctrl-C (or SIGTERM) kills the
    running kernels at once: those runs and the ones not started end "interrupted", and the
    outcomes are returned as usual.
    """
    check_gpus(jobs, gpus)
    outcomes, todo = skip_complete(runs, log)
    if todo:
        mine = f", each on a GPU of its own of {','.join(gpus)} (CUDA_VISIBLE_DEVICES)" if gpus else ""
        log(f"running {len(todo)} of {len(runs)} runs, {min(jobs, len(todo))} at a time{mine}")
    restore = share_cores(min(jobs, len(todo)), log)
    stop = threading.Event()
    free: queue.SimpleQueue[str] = queue.SimpleQueue()
    for gpu in gpus:
        free.put(gpu)

    def on_a_free_gpu(run: Run) -> Outcome:
        gpu = free.get() if gpus else None
        try:
            return execute(notebook, run, cell_timeout, stop, gpu)
        finally:
            if gpu is not None:
                free.put(gpu)

    pool = ThreadPoolExecutor(max_workers=max(1, jobs))
    futures = {pool.submit(on_a_free_gpu, runs[i]): i for i in todo}
    try:
        for done, future in enumerate(as_completed(futures), 1):
            i = futures[future]
            out = outcomes[i] = future.result()
            log(progress_line(done, len(todo), out))
    except KeyboardInterrupt as e:  # start no more runs and stop the running ones now
        why = f"interrupted ({e.args[0] if e.args else 'Ctrl-C'})"
        stop.set()
        killed = nbs.stop_all_kernels(why)
        log(f"{why}: stopped {killed} running notebook(s); writing the table of what finished")
        for future, i in futures.items():
            if future.cancel() or i in outcomes:
                outcomes.setdefault(i, Outcome(runs[i], "interrupted", "not run: the sweep was interrupted"))
                continue
            outcomes[i] = future.result()
    finally:
        stop.set()
        pool.shutdown(wait=True, cancel_futures=True)
        restore()
    return [outcomes[i] for i in range(len(runs))]


def share_cores(jobs: int, log: Callable[[str], None] = print) -> Callable[[], None]:
    """Give each of `jobs` parallel kernels its share of the CPU cores (OMP_NUM_THREADS).

    PyTorch uses every core in each process by default; two such processes on the same cores
    spend their time waiting on each other's threads (on 2 cores a sweep with --jobs 2 ran
    several times slower than one job at a time). Kernels inherit the environment, so setting
    it here before they start is enough. A value the user set is kept. Returns a function that
    restores the previous environment.
    """
    if jobs <= 1 or "OMP_NUM_THREADS" in os.environ:
        return lambda: None
    threads = max(1, (os.cpu_count() or 1) // jobs)
    os.environ["OMP_NUM_THREADS"] = str(threads)
    log(f"each run uses {threads} CPU thread(s) (OMP_NUM_THREADS; set it yourself to override)")
    return lambda: os.environ.pop("OMP_NUM_THREADS", None)


# --------------------------------------------------------------------------- the table


def table(outcomes: Sequence[Outcome]) -> tuple[list[str], list[dict[str, Any]]]:
    """Columns and rows of the sweep table: swept parameters, status, error, metrics (sorted).

    A skipped run counts as ok; ``warnings`` holds a run's RunWarning lines. ``gpu`` (the kernel's
    CUDA_VISIBLE_DEVICES) and ``job`` (the Slurm job) are there when some run of this sweep had
    one; a run skipped as complete leaves them empty. A metric named like a swept parameter
    (notebooks record their seed, for one) is shown once, in its column.
    """
    swept = list(outcomes[0].run.swept) if outcomes else []
    where = [c for c in ("gpu", "job") if any(getattr(out, c) for out in outcomes)]
    fixed = [*swept, "status", "error", "warnings", *where]
    metrics = sorted({k for out in outcomes for k in out.metrics} - set(fixed))
    rows = []
    for out in outcomes:
        row: dict[str, Any] = dict(out.run.swept)
        row["status"] = "ok" if out.ok else out.status
        row["error"] = out.error
        row["warnings"] = "; ".join(out.warnings) or None
        row.update({c: getattr(out, c) for c in where})
        row.update({k: v for k, v in out.metrics.items() if k in metrics})
        rows.append(row)
    return [*fixed, *metrics], rows


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, (dict, list)):
        return json.dumps(value)
    return str(value)


def write_csv(columns: Sequence[str], rows: Sequence[dict[str, Any]], path: Path) -> Path:
    """Write the table as CSV through a temporary file and an atomic rename; None → empty cell."""
    with atomic_write(path) as f:
        writer = csv.writer(f, lineterminator="\n")
        writer.writerow(columns)
        for row in rows:
            writer.writerow([_cell(row.get(c)) for c in columns])
    return Path(path)


# --------------------------------------------------------------------------- the plot


def is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def default_metric(columns: Sequence[str], rows: Sequence[dict[str, Any]]) -> str | None:
    """The metric to plot when none is asked for: the first ``…nll_per_token`` that changes from
    run to run, else the first ``…nll_per_token``, else ``seconds``; ``corpus.…`` figures,
    properties of the data rather than of a run, are never chosen."""
    numeric = [c for c in columns if any(is_number(r.get(c)) for r in rows)]
    nll = [c for c in numeric if c.endswith("nll_per_token") and not c.startswith("corpus.")]
    varying = [c for c in nll if len({r[c] for r in rows if is_number(r.get(c))}) > 1]
    for choice in (varying, nll, [c for c in numeric if c == "seconds"]):
        if choice:
            return choice[0]
    return None


def write_plot(
    rows: Sequence[dict[str, Any]], swept: Sequence[str], metrics: Sequence[str], path: Path
) -> Path:
    """Each metric against the first swept parameter, a line per combination of the others."""
    import matplotlib.pyplot as plt

    from ganvae_edu.ui.plots import sweep_plot

    fig = sweep_plot([r for r in rows if r["status"] == "ok"], swept[0], metrics, swept[1:])
    try:
        with atomic_write(path, "wb") as f:
            fig.savefig(f, format="png", dpi=100)
    finally:
        plt.close(fig)
    return path
