"""A working copy of the notebooks for students: ``ganvae-edu notebooks [DIR]``.

The committed notebooks are the course's reference (executed, widget state saved). A student
edits and runs a *copy*: ``DIR/NN_name.ipynb`` (solved, with the default run's outputs),
``DIR/student/NN_name.ipynb`` (exercises as stubs, no outputs) and ``DIR/params/*.yaml`` (the
full-size parameter files). They come from the package itself, so this works after a plain
``pip install`` as well as in a checkout.

In the copy, a saved explorer or progress bar keeps only its static final look (text and
figure). A live widget needs its model in the running kernel; JupyterLab would otherwise show
"Error displaying widget: model not found" for a saved one once the notebook is trusted. Running
the cell draws the live widget again.

A file the student has changed is never overwritten without ``force``: ``DIR/.ganvae-notebooks.json``
records a digest of every file as written, so a later call updates the files left untouched
(a newer package's notebooks) and keeps the edited ones, saying which.
"""

from __future__ import annotations

import copy
import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path

import nbformat

from ganvae_edu.runtime import atomic_write, resources, write_json_atomic

DEFAULT_DIR = Path("ganvae-notebooks")
MANIFEST = ".ganvae-notebooks.json"
WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"


@dataclass
class CopyReport:
    folder: Path
    written: list[str] = field(default_factory=list)  # new, or updated because left untouched
    unchanged: list[str] = field(default_factory=list)
    kept: list[str] = field(default_factory=list)  # changed by the student: left as they are
    replaced: list[str] = field(default_factory=list)  # changed by the student, replaced (force)


def without_widget_views(nb: nbformat.NotebookNode) -> nbformat.NotebookNode:
    """A copy of `nb` in which each widget output is its static final look only (text/plain and,
    for an explorer, image/png, as `notebooks.static_fallbacks` wrote them), and no saved state."""
    nb = copy.deepcopy(nb)
    for cell in nb.cells:
        for out in cell.get("outputs", []) if cell.cell_type == "code" else []:
            out.get("data", {}).pop(WIDGET_VIEW, None)
    nb.metadata.pop("widgets", None)
    return nb


def contents() -> dict[str, bytes]:
    """Relative path → bytes of every file of a working copy."""
    source = resources.shipped("notebooks")
    files: dict[str, bytes] = {}
    for path in sorted(source.glob("[0-9][0-9]_*.ipynb")):
        nb = without_widget_views(nbformat.read(path, as_version=4))
        files[path.name] = (nbformat.writes(nb) + "\n").encode()
    for path in sorted((source / "student").glob("[0-9][0-9]_*.ipynb")):
        files[f"student/{path.name}"] = path.read_bytes()
    for path in sorted(resources.shipped("params").glob("*.yaml")):
        files[f"params/{path.name}"] = path.read_bytes()
    if not any(name.endswith(".ipynb") for name in files):
        raise FileNotFoundError(f"no notebooks in {source}; reinstall ganvae-edu")
    return files


def _digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def write_working_copy(folder: str | Path = DEFAULT_DIR, force: bool = False) -> CopyReport:
    """Write the working copy into `folder` (made if missing), keeping a student's edits unless `force`."""
    folder = Path(folder).expanduser()
    if folder.exists() and not folder.is_dir():
        raise NotADirectoryError(f"{folder} is a file; give a folder for the working copy "
                                 f"(default ./{DEFAULT_DIR})")
    files = contents()
    manifest_path = folder / MANIFEST
    try:
        recorded = json.loads(manifest_path.read_text(encoding="utf-8")) if manifest_path.is_file() else {}
    except (OSError, ValueError):
        recorded = {}  # unreadable: treat every existing file as the student's
    report = CopyReport(folder)
    for rel, data in files.items():
        target = folder / rel
        if target.is_dir():
            raise IsADirectoryError(f"{target} is a folder where the working copy puts a file; move it away")
        if target.exists():
            current = target.read_bytes()
            if current == data:
                report.unchanged.append(rel)
                continue
            if recorded.get(rel) != _digest(current):  # not as we wrote it: the student's edits
                if not force:
                    report.kept.append(rel)
                    continue
                report.replaced.append(rel)
            else:
                report.written.append(rel)
        else:
            report.written.append(rel)
        target.parent.mkdir(parents=True, exist_ok=True)
        with atomic_write(target, "wb") as f:
            f.write(data)
    written = {rel: _digest(files[rel]) for rel in files if rel not in report.kept}
    kept = {k: v for k, v in recorded.items() if k in report.kept}
    write_json_atomic({**kept, **written}, manifest_path)
    return report
