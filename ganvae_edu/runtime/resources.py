"""Where the package's own files are: the embedded corpus, the notebooks, committed results, parameter files.

In a source checkout they are the repository's folders ``data/``, ``notebooks/``,
``benchmarks/results/`` and ``params/``. A wheel carries the same files inside the package, as
``ganvae_edu/_data``, ``_notebooks``, ``_results`` and ``_params`` (pyproject.toml maps each
folder to that name), so that after a plain ``pip install`` — Colab, a course's JupyterHub image,
a student's conda environment — the corpus loads and ``ganvae-edu run`` finds its notebooks from
any folder. The installed copy wins when both exist; an editable install has only the checkout.
"""

from __future__ import annotations

from pathlib import Path

PACKAGE_ROOT = Path(__file__).resolve().parents[1]  # the ganvae_edu folder

# kind → (its name inside an installed package, its folder in the source checkout)
SHIPPED = {
    "data": ("_data", "data"),
    "notebooks": ("_notebooks", "notebooks"),
    "results": ("_results", "benchmarks/results"),
    "params": ("_params", "params"),
}


def shipped(kind: str) -> Path:
    """The folder of the package's `kind` of files ("data", "notebooks", "results", "params")."""
    if kind not in SHIPPED:
        raise ValueError(f"no shipped folder {kind!r}; choose one of {', '.join(SHIPPED)}")
    installed, checkout = SHIPPED[kind]
    for folder in (PACKAGE_ROOT / installed, PACKAGE_ROOT.parent / checkout):
        if folder.is_dir():
            return folder
    raise FileNotFoundError(
        f"ganvae-edu's {kind} files are neither in {PACKAGE_ROOT / installed} (an installed package) nor "
        f"in {PACKAGE_ROOT.parent / checkout} (a source checkout); reinstall the package: "
        'pip install --force-reinstall "ganvae-edu @ git+<repository URL>"'
    )


def data_dir() -> Path:
    """The project's own data (the embedded corpus ``scenes/``)."""
    return shipped("data")


def results_dir() -> Path:
    """The committed full-size results (``benchmarks/results`` in the checkout)."""
    return shipped("results")
