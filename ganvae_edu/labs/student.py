"""Student copies: every ``### BEGIN SOLUTION`` … ``### END SOLUTION`` region becomes a stub.

Inside a function the stub is ``raise NotImplementedError()``, which the checker reports as not
done yet. At the top of a cell (an answer such as ``prediction = 0.5``) each name the region
assigns becomes ``name = None``, which the checker reports the same way: so a student copy run
top to bottom never stops at an exercise.
"""

from __future__ import annotations

import ast
import copy
import re
from collections.abc import Iterable
from pathlib import Path

import nbformat

from ganvae_edu.runtime import colab
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
        if not ind:
            names = _assigned(m.group(0))
            if names:
                return "".join(f"{n} = None  # YOUR ANSWER HERE\n" for n in names)
        return f"{ind}# YOUR CODE HERE\n{ind}raise NotImplementedError()\n"

    return _REGION.sub(stub, source)


def _assigned(region: str) -> list[str]:
    """The names a top-level solution region assigns, in order (none if it defines anything else)."""
    try:
        tree = ast.parse(region)
    except SyntaxError:
        return []
    names: list[str] = []
    for node in tree.body:
        targets = node.targets if isinstance(node, ast.Assign) else [node.target] if isinstance(
            node, ast.AnnAssign) else None
        if targets is None:
            return []
        for t in targets:
            for n in ast.walk(t):
                if isinstance(n, ast.Name) and n.id not in names:
                    names.append(n.id)
    return names


def student_notebook(nb: nbformat.NotebookNode, name: str | None = None) -> nbformat.NotebookNode:
    """A copy of `nb` for students: solutions stubbed, every output and count cleared; given the
    notebook's file `name`, its Colab badge opens the student copy, not the solved one."""
    nb = copy.deepcopy(nb)
    if name is not None:
        nb = colab.with_colab_cells(nb, f"notebooks/student/{name}")
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
        write_notebook_atomic(student_notebook(nbformat.read(path, as_version=4), out.name), out)
        written.append(out)
    return written
