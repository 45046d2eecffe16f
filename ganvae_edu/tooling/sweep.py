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
"""

from __future__ import annotations

import csv
import hashlib
import itertools
import json
import math
import os
import re
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


# --------------------------------------------------------------------------- the grid


def parse_values(name: str, text: str) -> list[Any]:
    """'0.5,1,abc' → [0.5, 1, 'abc']: split on commas, each read as `papermill -p` reads a value."""
    parts = [part.strip() for part in text.split(",")]
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
    """What became of a run: ``status`` is "ok", "skipped" (complete already) or "failed"."""

    run: Run
    status: str
    error: str | None = None  # one line: where and why it failed
    metrics: dict[str, Any] = field(default_factory=dict)
    seconds: float = 0.0
    output: Path | None = None  # the executed notebook

    @property
    def ok(self) -> bool:
        return self.status != "failed"


def skip(run: Run) -> Outcome:
    """A complete run, read back from its folder."""
    metrics = json.loads((run.folder / METRICS_FILE).read_text(encoding="utf-8"))
    return Outcome(run, "skipped", metrics=metrics)


def execute(notebook: nbs.Notebook, run: Run) -> Outcome:
    """Run the notebook into the run's folder; on success record params.json. Never raises.

    Any error, in a cell or of the kernel itself (it died, a cell timed out), fails this run
    only, so the rest of the sweep goes on.
    """
    marker = run.folder / PARAMS_FILE
    try:
        marker.unlink(missing_ok=True)  # until this run succeeds, the folder is not complete
        res = nbs.execute(notebook, run.papermill_parameters(), run.folder, progress_bar=False)
        if res.error:
            return Outcome(run, "failed", res.error, seconds=res.seconds, output=res.output)
        if not (run.folder / METRICS_FILE).is_file():
            error = f"the notebook finished but wrote no {METRICS_FILE} in its output_dir"
            return Outcome(run, "failed", error, seconds=res.seconds, output=res.output)
        write_json_atomic(run.parameters, marker)
    except Exception as e:  # one run's failure must not stop the others
        return Outcome(run, "failed", f"{type(e).__name__}: {e}".splitlines()[0])
    return Outcome(run, "ok", metrics=res.metrics, seconds=res.seconds, output=res.output)


def run_all(
    notebook: nbs.Notebook,
    runs: Sequence[Run],
    jobs: int = 1,
    log: Callable[[str], None] = print,
) -> list[Outcome]:
    """Skip the complete runs, execute the others `jobs` at a time; outcomes in grid order.

    Each job is a thread that waits on its own papermill kernel, a separate process, so the
    runs do execute in parallel.
    """
    outcomes: dict[int, Outcome] = {}
    todo = []
    for i, run in enumerate(runs):
        if is_complete(run):
            outcomes[i] = skip(run)
            log(f"skipped (complete): {run.name}")
        else:
            todo.append(i)
    if todo:
        log(f"running {len(todo)} of {len(runs)} runs, {min(jobs, len(todo))} at a time")
    restore = share_cores(min(jobs, len(todo)), log)
    pool = ThreadPoolExecutor(max_workers=max(1, jobs))
    try:
        futures = {pool.submit(execute, notebook, runs[i]): i for i in todo}
        for done, future in enumerate(as_completed(futures), 1):
            i = futures[future]
            out = outcomes[i] = future.result()
            verdict = "ok" if out.ok else f"FAILED at {out.error}"
            log(f"[{done}/{len(todo)}] {out.run.name}: {verdict} ({out.seconds:.1f} s)")
    finally:  # on Ctrl-C, start no more runs; the ones running end with their kernels
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

    A skipped run counts as ok. A metric named like a swept parameter (notebooks record their
    seed, for one) is shown once, in the parameter's column.
    """
    swept = list(outcomes[0].run.swept) if outcomes else []
    fixed = [*swept, "status", "error"]
    metrics = sorted({k for out in outcomes for k in out.metrics} - set(fixed))
    rows = []
    for out in outcomes:
        row: dict[str, Any] = dict(out.run.swept)
        row["status"] = "ok" if out.ok else "failed"
        row["error"] = out.error
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
