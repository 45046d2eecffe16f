"""The notebook sequence: find the notebooks, read their parameters, execute them with papermill.

A notebook is ``notebooks/NN_name.ipynb``. Its first code cell is tagged ``parameters``:
it calls `runtime.record_defaults` and then holds literals only, one per line, each with a
``# help`` comment; each default's literal gives its parameter's type. The cell after it calls
`runtime.check_parameters` with the bounds and choices. Every notebook declares
``output_dir``, where it writes ``metrics.json``.
"""

from __future__ import annotations

import ast
import copy
import os
import re
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import nbformat

PACKAGE_ROOT = Path(__file__).resolve().parents[1]  # the ganvae_edu folder
KERNEL = "python3"


def notebooks_dir() -> Path:
    """Where the notebooks are: $GANVAE_NOTEBOOKS, else ./notebooks, else the source checkout's."""
    env = os.environ.get("GANVAE_NOTEBOOKS")
    if env:
        return Path(env)
    here = Path.cwd() / "notebooks"
    if any(here.glob("[0-9][0-9]_*.ipynb")):
        return here
    return PACKAGE_ROOT.parent / "notebooks"


@dataclass
class Notebook:
    path: Path
    number: str  # "01"
    title: str
    parameters: dict[str, dict[str, Any]] = field(default_factory=dict)

    @property
    def stem(self) -> str:
        return self.path.stem


def read_notebook(path: Path) -> Notebook:
    """A `Notebook` with its title (first Markdown heading) and parameters (name → default, help)."""
    import papermill

    nb = nbformat.read(path, as_version=4)
    title = path.stem
    for cell in nb.cells:
        if cell.cell_type == "markdown":
            m = re.search(r"^#+\s*(.+)$", cell.source, re.M)
            if m:
                title = m.group(1).strip()
                break
    params = papermill.inspect_notebook(str(path))
    for p in params.values():
        p["type"] = parameter_type(p)
    return Notebook(path, path.stem.split("_", 1)[0], title, params)


def parameter_type(parameter: dict[str, Any]) -> str | None:
    """The type papermill's view of a parameter implies: its annotation, else its default's
    literal (`runtime.params.type_name`: int, float, list[float], ...); None when neither says."""
    from ganvae_edu.runtime.params import ParameterError, type_name

    annotation = parameter.get("inferred_type_name")
    if annotation and annotation != "None":
        return annotation
    try:
        default = ast.literal_eval(parameter.get("default", ""))
    except (ValueError, SyntaxError):
        return None
    if default is None:
        return None  # its check cell states the type
    try:
        return type_name(default)
    except ParameterError:
        return None


def catalog(directory: Path | None = None) -> list[Notebook]:
    """All notebooks of the sequence, in order."""
    directory = Path(directory) if directory else notebooks_dir()
    paths = sorted(directory.glob("[0-9][0-9]_*.ipynb"))
    if not paths:
        raise FileNotFoundError(
            f"no notebooks (NN_name.ipynb) in {directory}; run from the project folder or set "
            "GANVAE_NOTEBOOKS to the notebooks folder"
        )
    return [read_notebook(p) for p in paths]


def select(names: list[str], directory: Path | None = None) -> list[Notebook]:
    """The notebooks named by number ('1', '01'), stem ('01_gan_minimax') or path; all if none."""
    if names and all(Path(n).suffix == ".ipynb" and Path(n).exists() for n in names):
        return [read_notebook(Path(n)) for n in names]
    nbs = catalog(directory)
    if not names:
        return nbs
    chosen = []
    for name in names:
        key = Path(name).stem
        hits = [
            nb
            for nb in nbs
            if key in (nb.stem, nb.number) or (key.isdigit() and int(key) == int(nb.number))
        ]
        if not hits:
            known = ", ".join(nb.stem for nb in nbs)
            raise ValueError(f"no notebook {name!r}; known notebooks: {known}")
        chosen.extend(hits)
    return chosen


# --------------------------------------------------------------------------- clean-up


def strip_volatile(nb: nbformat.NotebookNode) -> nbformat.NotebookNode:
    """A copy of `nb` without what changes from run to run and means nothing to a reader.

    Drops papermill's and Jupyter's timing metadata, saved widget state and the Python
    patch version; keeps outputs and execution counts.
    """
    nb = copy.deepcopy(nb)
    for key in ("papermill", "widgets"):
        nb.metadata.pop(key, None)
    nb.metadata.get("language_info", {}).pop("version", None)
    for cell in nb.cells:
        for key in ("papermill", "execution", "collapsed", "scrolled"):
            cell.metadata.pop(key, None)
        if cell.cell_type == "code":
            for out in cell.get("outputs", []):
                out.get("metadata", {}).pop("papermill", None)
    return nb


# --------------------------------------------------------------------------- execution


@dataclass
class RunResult:
    notebook: Notebook
    output: Path  # the executed notebook
    seconds: float
    error: str | None = None  # one line: where and why it failed
    metrics: dict[str, Any] = field(default_factory=dict)


def execute(
    notebook: Notebook,
    parameters: dict[str, Any],
    output_dir: Path,
    progress_bar: bool = True,
    cwd: Path | None = None,
) -> RunResult:
    """Execute `notebook` with papermill into ``output_dir``; never raises on a notebook error.

    Pass ``output_dir`` among `parameters` too (as `ganvae-edu run` does) to have the
    notebook's metrics.json written beside the executed notebook and read back.

    Papermill saves the notebook while it runs; it writes to a hidden ``.NAME.partial.ipynb`` file that
    is renamed when the run ends, so ``NAME.ipynb`` is always a finished run (successful
    or failed at a named cell).
    """
    import json

    import papermill
    from papermill.exceptions import PapermillExecutionError

    output_dir = Path(output_dir)
    output_dir.mkdir(parents=True, exist_ok=True)
    final = output_dir / notebook.path.name
    partial = output_dir / f".{notebook.stem}.partial.ipynb"
    params = dict(parameters)
    # The notebook writes metrics.json to its `output_dir` parameter, when it is given one.
    metrics_file = Path(params["output_dir"]) / "metrics.json" if "output_dir" in params else None
    if metrics_file:
        metrics_file.unlink(missing_ok=True)  # a stale file would pass for this run's figures
    t0 = time.perf_counter()
    error = None
    try:
        papermill.execute_notebook(
            str(notebook.path),
            str(partial),
            parameters=params,
            kernel_name=KERNEL,
            progress_bar=progress_bar,
            cwd=str(cwd) if cwd else None,
        )
    except PapermillExecutionError as e:
        # Cells counted from 1 as a reader counts them, Markdown included, in the executed copy.
        error = f"cell {e.cell_index + 1} (In [{e.exec_count}]): {e.ename}: {e.evalue}"
    seconds = time.perf_counter() - t0
    if partial.exists():
        os.replace(partial, final)
    metrics: dict[str, Any] = {}
    if error is None and metrics_file and metrics_file.exists():
        metrics = json.loads(metrics_file.read_text())
    return RunResult(notebook, final, seconds, error, metrics)
