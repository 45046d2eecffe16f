"""The `ganvae-edu` command and the notebooks, run for real through papermill."""

import ast
import json
import re
import subprocess
import sys
from pathlib import Path

import nbformat
import papermill
import pytest
from papermill.exceptions import PapermillExecutionError

from ganvae_edu.tooling import cli, notebooks

NOTEBOOKS = notebooks.catalog()
# Small, fast settings for notebook 01 (its defaults are what nbval runs).
QUICK_01 = {"steps": 150, "batch_size": 64, "show_progress": False}


def ganvae(*args, cwd=None):
    """The real console command, in a subprocess, as a user runs it."""
    script = Path(sys.executable).with_name("ganvae-edu")  # the installed entry point
    exe = [str(script), *args] if script.exists() else [sys.executable, "-m", "ganvae_edu.tooling.cli", *args]
    return subprocess.run(exe, capture_output=True, text=True, cwd=cwd, timeout=900)


def test_list_shows_each_notebook_with_parameters_defaults_and_help(capsys):
    assert cli.main(["list"]) == 0
    out = capsys.readouterr().out
    assert "01  01_gan_minimax  —  01 · The GAN minimax game" in out
    assert "seed = 0  # random seed" in out
    assert "device = 'auto'  # " in out or 'device = "auto"  # ' in out


@pytest.mark.parametrize("nb", NOTEBOOKS, ids=lambda nb: nb.stem)
def test_committed_notebooks_follow_the_conventions(nb):
    book = nbformat.read(nb.path, as_version=4)
    code = [c for c in book.cells if c.cell_type == "code"]
    assert "parameters" in code[0].metadata.get("tags", []), "first code cell must be `parameters`"
    assert "check_parameters(globals()" in code[1].source, "second code cell must check them"
    assert "output_dir" in nb.parameters and "seed" in nb.parameters and "device" in nb.parameters
    assert any("NBVAL_CHECK_OUTPUT" in c.source for c in code)
    assert all(c.get("outputs") or not c.source.strip() for c in code[2:3]), "commit it executed"
    assert "papermill" not in book.metadata and "widgets" not in book.metadata
    assert all("execution" not in c.metadata and "papermill" not in c.metadata for c in book.cells)
    assert nb.path.stat().st_size < 1_500_000


@pytest.mark.slow
def test_run_with_overridden_parameters_writes_metrics_and_repeats(tmp_path):
    (tmp_path / "quick.yaml").write_text("\n".join(f"{k}: {v}" for k, v in QUICK_01.items()))
    figures = []
    for name in ("a", "b"):
        out = tmp_path / name
        res = ganvae("run", "01", "-p", "seed", "3", "-f", str(tmp_path / "quick.yaml"),
                     "--output-dir", str(out), "--no-progress")
        assert res.returncode == 0, res.stdout + res.stderr
        folder = out / "01_gan_minimax"
        assert sorted(p.name for p in folder.iterdir()) == ["01_gan_minimax.ipynb", "metrics.json"]
        metrics = json.loads((folder / "metrics.json").read_text())
        for key in ("ring8.modes", "ring8.hq_fraction", "ring8.reverse_kl", "grid25.modes",
                    "grid25.hq_fraction", "grid25.reverse_kl", "seconds"):
            assert key in metrics, key
        assert metrics["seed"] == 3
        assert "grid25.modes" in res.stdout and "Summary" in res.stdout
        figures.append({k: v for k, v in metrics.items() if not k.endswith("seconds")})
    assert figures[0] == figures[1], "same seed twice on the CPU must give identical figures"


def test_unknown_parameter_is_refused_before_running(tmp_path):
    res = ganvae("run", "01", "-p", "sede", "3", "--output-dir", str(tmp_path))
    assert res.returncode == 2
    lines = res.stderr.strip().splitlines()
    assert len(lines) == 1
    assert lines[0].startswith(
        "ganvae-edu: error: unknown parameter 'sede' (= 3) for 01_gan_minimax; did you mean "
        "'seed'? known parameters: batch_size, device, "
    )
    assert not any(tmp_path.iterdir())


@pytest.mark.slow
def test_wrong_type_stops_the_notebook_naming_parameter_value_and_cell(tmp_path):
    res = ganvae("run", "1", "-p", "seed", "abc", "--output-dir", str(tmp_path), "--no-progress")
    assert res.returncode == 1
    # cell 4 of the executed copy: title, parameters, papermill's injected cell, the check
    assert (
        "FAILED: 01_gan_minimax at cell 4 (In [3]): ParameterError: parameter seed='abc' is a "
        "str, expected an integer ≥ 0" in res.stderr
    )
    assert not (tmp_path / "01_gan_minimax" / "metrics.json").exists()
    assert (tmp_path / "01_gan_minimax" / "01_gan_minimax.ipynb").exists()


@pytest.mark.slow
@pytest.mark.parametrize("nb", NOTEBOOKS, ids=lambda nb: nb.stem)
def test_a_typo_passed_to_papermill_directly_stops_the_notebook(nb, tmp_path):
    with pytest.raises(PapermillExecutionError) as info:
        papermill.execute_notebook(
            str(nb.path), str(tmp_path / "out.ipynb"), parameters={"sede": 3},
            kernel_name="python3", progress_bar=False, cwd=str(tmp_path),
        )
    assert info.value.ename == "ParameterError"
    assert info.value.evalue.startswith("unknown parameter 'sede' (= 3); did you mean 'seed'?")


def test_strip_volatile_drops_timings_and_keeps_outputs():
    nb = nbformat.v4.new_notebook()
    nb.metadata["papermill"] = {"duration": 1.0}
    cell = nbformat.v4.new_code_cell("print(1)")
    cell.metadata["papermill"] = {"duration": 0.1}
    cell.metadata["execution"] = {"iopub.status.busy": "2026-01-01"}
    cell.outputs = [nbformat.v4.new_output("stream", text="1\n")]
    nb.cells.append(cell)
    clean = notebooks.strip_volatile(nb)
    assert "papermill" not in clean.metadata
    assert clean.cells[0].metadata == {} and clean.cells[0].outputs[0].text == "1\n"
    assert "papermill" in nb.metadata  # the original is untouched


def test_select_by_number_stem_and_bad_name():
    assert [n.stem for n in notebooks.select(["1"])] == ["01_gan_minimax"]
    assert [n.stem for n in notebooks.select(["01_gan_minimax"])] == ["01_gan_minimax"]
    with pytest.raises(ValueError, match="no notebook '99'; known notebooks: 01_gan_minimax"):
        notebooks.select(["99"])


@pytest.mark.parametrize("path", sorted(Path(__file__).resolve().parents[1].glob("params/*.yaml")),
                         ids=lambda p: p.name)
def test_documented_parameter_sets_name_real_parameters_of_their_notebook(path):
    numbers = re.match(r"((?:\d\d_)+)", path.name).group(1).split("_")[:-1]  # 05_06_full.yaml → 05, 06
    chosen = notebooks.select(numbers)
    per_nb = cli.split_parameters(chosen, cli.collect_parameters([], path))  # raises on a typo
    for nb in chosen:
        for name, value in per_nb[nb.stem].items():
            default = ast.literal_eval(nb.parameters[name]["default"])
            assert type(value) is type(default), f"{name}: {value!r} is not a {type(default).__name__}"
