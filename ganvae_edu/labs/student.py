"""Student copies: every ``### BEGIN SOLUTION`` … ``### END SOLUTION`` region becomes a stub."""

from __future__ import annotations

import copy
import re
from collections.abc import Iterable
from pathlib import Path

import nbformat

from ganvae_edu.runtime.files import write_notebook_atomic

BEGIN = "### BEGIN SOLUTION"
END = "### END SOLUTION"
_REGION = re.compile(
    rf"^(?P<indent>[ \t]*){re.escape(BEGIN)}[^\n]*\n.*?^[ \t]*{re.escape(END)}[^\n]*(\n|$)",
    re.M | re.S,
)


def has_solution(source: str) -> bool:
    return BEGIN in source


def student_source(source: str) -> str:
    """`source` with each solution region replaced by a stub at the region's indentation."""
    if source.count(BEGIN) != source.count(END):
        raise ValueError(f"unbalanced solution markers in cell:\n{source}")

    def stub(m: re.Match) -> str:
        ind = m.group("indent")
        return f"{ind}# YOUR CODE HERE\n{ind}raise NotImplementedError()\n"

    return _REGION.sub(stub, source)


def student_notebook(nb: nbformat.NotebookNode) -> nbformat.NotebookNode:
    """A copy of `nb` for students: solutions stubbed, every output and count cleared."""
    nb = copy.deepcopy(nb)
    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        cell.source = student_source(cell.source)
        cell.outputs = []
        cell.execution_count = None
    return nb


def student_path(notebook: Path) -> Path:
    return notebook.parent / "student" / notebook.name


def write_student_copies(notebooks: Iterable[Path]) -> list[Path]:
    """Write ``notebooks/student/NAME.ipynb`` for each notebook; return the paths written."""
    written = []
    for path in notebooks:
        out = student_path(Path(path))
        out.parent.mkdir(parents=True, exist_ok=True)
        write_notebook_atomic(student_notebook(nbformat.read(path, as_version=4)), out)
        written.append(out)
    return written
