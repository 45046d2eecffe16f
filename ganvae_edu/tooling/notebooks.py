"""The notebook sequence: find the notebooks, read their parameters, execute them with papermill.

A notebook is ``notebooks/NN_name.ipynb``. Its first code cell is the guarded set-up cell of
`runtime.colab` (it installs the package where it is missing, and does nothing elsewhere); the
next one is tagged ``parameters``:
it calls `runtime.record_defaults` and then holds literals only, one per line, each with a
``# help`` comment; each default's literal gives its parameter's type. The cell after it calls
`runtime.check_parameters` with the bounds and choices. Every notebook declares
``output_dir``, where it writes ``metrics.json``.
"""

from __future__ import annotations

import ast
import copy
import json
import os
import platform
import re
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import nbformat

from ganvae_edu.runtime import atomic_write, resources

KERNEL = "python3"


def notebooks_dir() -> Path:
    """Where the notebooks are: $GANVAE_NOTEBOOKS; else the current folder when it holds them (a
    working copy from ``ganvae-edu notebooks``); else ./notebooks (a checkout's top folder); else
    the package's own (the checkout's, or those an installed wheel carries)."""
    env = os.environ.get("GANVAE_NOTEBOOKS")
    if env:
        return Path(env)
    for here in (Path.cwd(), Path.cwd() / "notebooks"):
        if any(here.glob("[0-9][0-9]_*.ipynb")):
            return here
    return resources.shipped("notebooks")


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

    Drops papermill's and Jupyter's timing metadata and the Python patch version; keeps
    outputs, execution counts and the saved widget state (``metadata.widgets``, which nbclient
    stores), without which GitHub, nbviewer and exported HTML show an explorer as ``VBox(...)``
    and a progress bar as its first frame.
    """
    nb = copy.deepcopy(nb)
    nb.metadata.pop("papermill", None)
    nb.metadata.get("language_info", {}).pop("version", None)
    for cell in nb.cells:
        for key in ("papermill", "execution", "collapsed", "scrolled"):
            cell.metadata.pop(key, None)
        if cell.cell_type == "code":
            for out in cell.get("outputs", []):
                out.get("metadata", {}).pop("papermill", None)
    return nb


WIDGET_STATE = "application/vnd.jupyter.widget-state+json"
WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"


def static_fallbacks(nb: nbformat.NotebookNode) -> nbformat.NotebookNode:
    """A copy of `nb` whose widget outputs also carry their *final* look for viewers without widgets.

    A widget output's ``text/plain`` is what the kernel printed when the widget first appeared
    (``VBox(...)``, a progress bar at 0 %). From the saved widget state this writes what the
    widget showed last: a progress bar's final line, an explorer's control values and the text
    of its output, and its figure as ``image/png``. JupyterLab and nbviewer still draw the live
    widget from the state; GitHub and other viewers without widget support show this instead.
    """
    nb = copy.deepcopy(nb)
    state = nb.metadata.get("widgets", {}).get(WIDGET_STATE, {}).get("state", {})
    for cell in nb.cells:
        for out in cell.get("outputs", []) if cell.cell_type == "code" else []:
            view = out.get("data", {}).get(WIDGET_VIEW)
            if not view or view.get("model_id") not in state:
                continue
            text, images = _widget_look(view["model_id"], state)
            out.data["text/plain"] = text or out.data.get("text/plain", "")
            if images:
                out.data["image/png"] = images[0]
    return nb


def _widget_look(model_id: str, state: dict) -> tuple[str, list[str]]:
    """(text, PNG images) of one widget as it was saved, children included."""
    import html
    import re

    model = state.get(model_id, {})
    name, s = model.get("model_name", ""), model.get("state", {})

    def plain(markup: str) -> str:
        return html.unescape(re.sub(r"<[^>]+>", "", markup or "")).replace("\u2007", " ")  # tqdm's spaces

    if name == "OutputModel":
        texts, images = [], []
        for o in s.get("outputs", []):
            if o.get("output_type") == "stream":
                texts.append(o.get("text", ""))
            data = o.get("data", {})
            if "image/png" in data:
                images.append(data["image/png"])
            elif "text/plain" in data:
                texts.append(data["text/plain"])
        return "".join(t if t.endswith("\n") else t + "\n" for t in texts).rstrip("\n"), images
    kids = [c.removeprefix("IPY_MODEL_") for c in s.get("children", [])]
    if kids:
        parts = [_widget_look(k, state) for k in kids]
        models = [state.get(k, {}).get("model_name", "") for k in kids]
        images = [i for _, ims in parts for i in ims]
        if "FloatProgressModel" in models or "IntProgressModel" in models:  # a tqdm bar: one line
            return "".join(t for t, _ in parts), images
        sep = ", " if name == "HBoxModel" else "\n"
        return sep.join(t for t, _ in parts if t), images
    if name in ("FloatProgressModel", "IntProgressModel"):
        share = (s.get("value") or 0) / (s.get("max") or 1)
        full = round(10 * min(max(share, 0.0), 1.0))
        return "|" + "█" * full + " " * (10 - full) + "|", []
    if name in ("HTMLModel", "LabelModel", "HTMLMathModel"):
        return plain(s.get("value", "")), []
    if "value" in s and s.get("description") is not None:  # a control: slider, dropdown, checkbox …
        value = s["value"]
        if "index" in s and s.get("_options_labels"):  # a choice: its label, not its index
            value = s["_options_labels"][s["index"]] if s["index"] is not None else None
        return f"{plain(s.get('description', ''))} = {value}", []
    return "", []


# --------------------------------------------------------------------------- execution

CELL_TIMEOUT = 1800  # seconds a cell may run before the run fails; None or 0: no limit
FAILED_SUFFIX = ".failed.ipynb"  # NAME.failed.ipynb: the last run that stopped at an error
INTERRUPTED_SUFFIX = ".interrupted.ipynb"  # NAME.interrupted.ipynb: the last run stopped by a signal


@dataclass
class RunResult:
    notebook: Notebook
    output: Path  # the executed notebook: NAME.ipynb, or NAME.failed / NAME.interrupted .ipynb
    seconds: float
    error: str | None = None  # one line: where and why it failed
    metrics: dict[str, Any] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)  # RunWarning lines, metrics with no value
    interrupted: bool = False  # stopped by Ctrl-C or SIGTERM (the caller should stop too)


class FolderBusy(RuntimeError):
    """Another run holds this output folder's lock."""


@contextmanager
def folder_lock(folder: Path, wait: Callable[[], bool] | None = None) -> Iterator[None]:
    """Hold ``folder/.lock`` for one run: a second run into the same folder is refused at once
    (`FolderBusy`), or, with `wait`, waits while ``wait()`` is true. The operating system drops
    the lock when its process ends, however it ends, so a killed run leaves none behind."""
    folder.mkdir(parents=True, exist_ok=True)
    handle = open(folder / ".lock", "a+")
    try:
        while not _try_lock(handle):
            if wait is None or not wait():
                handle.seek(0)
                owner = handle.read().strip() or "another process"
                raise FolderBusy(f"{folder} is in use by another run ({owner}); wait for it to end, "
                                 "or choose another --output-dir")
            time.sleep(0.5)
        handle.seek(0)
        handle.truncate()
        handle.write(f"pid {os.getpid()} on {platform.node()}")
        handle.flush()
        yield
    finally:
        handle.close()  # releases the lock


def _try_lock(handle) -> bool:
    try:
        import fcntl
    except ImportError:  # Windows
        import msvcrt

        try:
            handle.seek(0)
            msvcrt.locking(handle.fileno(), msvcrt.LK_NBLCK, 1)
            return True
        except OSError:
            return False
    try:
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        return True
    except BlockingIOError:
        return False


_kernels: dict[Any, str | None] = {}  # the kernels running now → why they were stopped (None: not)
_kernels_lock = threading.Lock()


def stop_all_kernels(reason: str = "interrupted") -> int:
    """Kill every kernel `execute` is running now (a sweep's Ctrl-C); each of those runs then
    ends at once, failed with `reason`. Returns how many were killed."""
    with _kernels_lock:
        kms = list(_kernels)
        for km in kms:
            _kernels[km] = reason
    for km in kms:
        _kill(km)
    return len(kms)


def _kill(km) -> None:
    process = getattr(getattr(km, "provisioner", None), "process", None)
    if process is not None and process.poll() is None:
        process.kill()
        process.wait(timeout=30)


# The committed outputs are computed on one torch thread (`ganvae-edu refresh`), and `make test`
# runs nbval on one: a float sum split over two threads rounds differently, so a model trained on
# two samples other sentences than the committed cells show.
RECORD_ENV = {"OMP_NUM_THREADS": "1"}


def _kernel_manager(env: dict[str, str]):
    """A kernel manager whose kernel gets `env` on top of this process's environment."""
    from jupyter_client.manager import AsyncKernelManager

    class Manager(AsyncKernelManager):
        async def start_kernel(self, **kw):  # type: ignore[override]
            kw["env"] = {**os.environ, **kw.get("env", {}), **env}
            return await super().start_kernel(**kw)

    return Manager(kernel_name=KERNEL)


def _where(nb_path: Path) -> str:
    """'cell N (In [k])' of the cell that was running when a run stopped: the last code cell
    papermill began (its start time, saved when the cell starts; papermill marks even that one
    completed when the run is cut short). A stop that comes before the kernel's reply names its
    execution count finds none on the cell: it is then the previous one's plus one, as the kernel
    counts each cell papermill sends it (an empty cell is not sent)."""
    try:
        nb = nbformat.read(nb_path, as_version=4)
    except Exception:  # noqa: BLE001 - no saved notebook: say what we can
        return "a cell"
    code = [(i, c) for i, c in enumerate(nb.cells) if c.cell_type == "code" and c.source.strip()]
    begun = [(i, c) for i, c in code
             if c.get("metadata", {}).get("papermill", {}).get("start_time") or c.get("execution_count")]
    if not begun:
        return "the first cell"
    i, cell = begun[-1]
    count = cell.get("execution_count")
    if not count:
        before = [c.get("execution_count") for j, c in code if j < i and c.get("execution_count")]
        count = (before[-1] if before else 0) + 1
    return f"cell {i + 1} (In [{count}])"


def run_warnings(nb_path: Path) -> list[str]:
    """The `runtime.RunWarning` lines in an executed notebook's stderr, as 'cell N: message'."""
    nb = nbformat.read(nb_path, as_version=4)
    found = []
    for i, cell in enumerate(nb.cells):
        for out in cell.get("outputs", []) if cell.cell_type == "code" else []:
            if out.get("output_type") == "stream" and out.get("name") == "stderr":
                for line in out.get("text", "").splitlines():
                    if "RunWarning: " in line:
                        found.append(f"cell {i + 1}: {line.split('RunWarning: ', 1)[1].strip()}")
    return found


def execute(
    notebook: Notebook,
    parameters: dict[str, Any],
    output_dir: Path,
    progress_bar: bool = True,
    cwd: Path | None = None,
    cell_timeout: float | None = CELL_TIMEOUT,
    headless: bool = True,
    lock: bool = True,
    env: dict[str, str] | None = None,
) -> RunResult:
    """Execute `notebook` with papermill into ``output_dir``; never raises on a notebook error.

    Pass ``output_dir`` among `parameters` too (as `ganvae-edu run` does) to have the
    notebook's metrics.json written beside the executed notebook and read back.

    What a reader finds in ``output_dir`` is always a finished run: papermill saves the running
    notebook as a hidden ``.NAME.partial.ipynb``, renamed ``NAME.ipynb`` when the run succeeds.
    A run stopped by Ctrl-C or SIGTERM becomes ``NAME.interrupted.ipynb``; one that stops any
    other way (an error, a dead kernel, a cell running longer than `cell_timeout` seconds)
    ``NAME.failed.ipynb``; ``NAME.ipynb`` and ``metrics.json`` stay those of the last complete run.

    `headless` sets ``GANVAE_HEADLESS=1`` for the kernel (explorers draw once, progress bars are
    text: no widget comm, which papermill can wait on forever). `lock` holds the folder's lock,
    so that a second run into the same folder is refused (`FolderBusy`) instead of mixing files.
    `env` is added to the kernel's environment (a sweep's --gpus sets CUDA_VISIBLE_DEVICES).
    A KeyboardInterrupt (Ctrl-C; the CLI turns SIGTERM into one) kills the kernel and returns an
    interrupted result with its error line.
    """
    output_dir = Path(output_dir)
    with folder_lock(output_dir) if lock else nullcontext():
        return _execute(notebook, parameters, output_dir, progress_bar, cwd, cell_timeout, headless, env)


def _execute(notebook, parameters, output_dir, progress_bar, cwd, cell_timeout, headless,
             env=None) -> RunResult:
    import papermill
    from papermill.exceptions import PapermillExecutionError

    final = output_dir / notebook.path.name
    partial = output_dir / f".{notebook.stem}.partial.ipynb"
    params = dict(parameters)
    # The notebook writes metrics.json to its `output_dir` parameter, when it is given one: the last
    # complete run's file is kept aside, to be put back if this run does not complete.
    metrics_file = Path(params["output_dir"]) / "metrics.json" if "output_dir" in params else None
    for path in (final, metrics_file):
        if path is not None and path.is_dir():  # found now, not when the run's last cell writes it
            raise ValueError(f"{path} is a folder, so the run could not write it; remove it or choose "
                             "another --output-dir")
    previous = metrics_file.read_bytes() if metrics_file and metrics_file.is_file() else None
    before = _stamp(metrics_file)
    km = _kernel_manager({**(env or {}), "GANVAE_HEADLESS": "1" if headless else "0"})
    with _kernels_lock:
        _kernels[km] = None
    t0 = time.perf_counter()
    error, interrupted = None, False
    try:
        papermill.execute_notebook(
            str(notebook.path),
            str(partial),
            parameters=params,
            kernel_name=KERNEL,
            progress_bar=progress_bar,
            cwd=str(cwd) if cwd else None,
            execution_timeout=cell_timeout or None,
            km=km,
        )
    except PapermillExecutionError as e:
        # Cells counted from 1 as a reader counts them, Markdown included, in the executed copy.
        error = f"cell {e.cell_index + 1} (In [{e.exec_count}]): {e.ename}: {e.evalue}"
    except KeyboardInterrupt as e:
        interrupted = True
        error = f"{_where(partial)}: interrupted ({e.args[0] if e.args else 'Ctrl-C'})"
    except Exception as e:  # noqa: BLE001 - the kernel died, a cell timed out: one line
        stopped = _kernels.get(km)
        if stopped:
            interrupted, why = True, stopped
        elif type(e).__name__ == "CellTimeoutError":
            why = (f"no result after {cell_timeout:g} s (the cell timeout; for longer cells pass "
                   "--cell-timeout SECONDS, or 0 for none)")
        elif type(e).__name__ == "DeadKernelError":
            why = "the kernel died (out of memory, or killed)"
        else:
            why = f"{type(e).__name__}: {str(e).strip().splitlines()[0] if str(e).strip() else ''}"
        error = f"{_where(partial)}: {why}"
    finally:
        with _kernels_lock:
            _kernels.pop(km, None)
        _kill(km)
        try:
            km.cleanup_connection_file()
        except Exception:  # noqa: BLE001, S110 - a connection file left in the runtime folder
            pass
    seconds = time.perf_counter() - t0
    output = final
    if error is None:
        if partial.exists():
            os.replace(partial, final)
        for suffix in (FAILED_SUFFIX, INTERRUPTED_SUFFIX):
            (output_dir / f"{notebook.stem}{suffix}").unlink(missing_ok=True)
    else:
        output = output_dir / f"{notebook.stem}{INTERRUPTED_SUFFIX if interrupted else FAILED_SUFFIX}"
        if partial.exists():
            os.replace(partial, output)
        if metrics_file and _stamp(metrics_file) != before:  # written by this incomplete run
            if previous is None:
                metrics_file.unlink(missing_ok=True)
            else:
                with atomic_write(metrics_file, "wb") as f:
                    f.write(previous)
    metrics: dict[str, Any] = {}
    warnings: list[str] = []
    if error is None and metrics_file:
        if _stamp(metrics_file) == before or not metrics_file.is_file():
            error = f"the notebook finished but wrote no metrics.json in {metrics_file.parent}"
        else:
            metrics = json.loads(metrics_file.read_text(encoding="utf-8"))
            empty = sorted(k for k, v in metrics.items() if v is None)
            if empty:
                warnings.append(f"no value (null in metrics.json) for {', '.join(empty)}")
    if output.exists():  # a failed run's warnings say what went wrong before it stopped
        warnings = run_warnings(output) + warnings
    return RunResult(notebook, output, seconds, error, metrics, warnings, interrupted)


def _stamp(path: Path | None) -> tuple[int, int, int] | None:
    """What tells a rewritten file from the old one: inode, size, modification time (ns)."""
    if path is None or not path.exists():
        return None
    st = path.stat()
    return (st.st_ino, st.st_size, st.st_mtime_ns)
