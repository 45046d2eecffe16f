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
from kernel_cells import run_cells
from papermill.exceptions import PapermillExecutionError

from ganvae_edu import runtime
from ganvae_edu.runtime import ParameterError, colab
from ganvae_edu.runtime.params import type_name
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
    assert "seed: int = 0  # random seed" in out
    assert "device: str = 'auto'  # " in out or 'device: str = "auto"  # ' in out
    assert "temperatures: list[float] = [0.5, 0.7, 1.0, 1.3]  # " in out
    assert "record_defaults" not in out  # papermill skips the call that starts the parameters cell


@pytest.mark.parametrize("nb", NOTEBOOKS, ids=lambda nb: nb.stem)
def test_committed_notebooks_follow_the_conventions(nb):
    book = nbformat.read(nb.path, as_version=4)
    setup, *code = [c for c in book.cells if c.cell_type == "code"]
    # first the guarded set-up cell and the Colab badge, both made from pyproject's repository URL
    assert setup.source == colab.setup_source(llm="pretrained" in nb.parameters)
    assert setup.metadata.get("tags") == [colab.SETUP_TAG]
    assert colab.badge(f"notebooks/{nb.path.name}") in book.cells[0].source
    assert "parameters" in code[0].metadata.get("tags", []), "the code cell after set-up must be `parameters`"
    assert code[0].source.count("record_defaults()") == 1, "parameters cell must record its defaults"
    assert "check_parameters(globals()" in code[1].source, "the cell after it must check them"
    assert "output_dir" in nb.parameters and "seed" in nb.parameters and "device" in nb.parameters
    assert any("NBVAL_CHECK_OUTPUT" in c.source for c in code)
    assert all(c.get("outputs") or not c.source.strip() for c in code[2:3]), "commit it executed"
    assert "papermill" not in book.metadata
    # every widget output has its saved state, or GitHub and nbviewer show `VBox(...)` and 0 % bars
    state = book.metadata.get("widgets", {}).get("application/vnd.jupyter.widget-state+json", {})
    views = [o.data["application/vnd.jupyter.widget-view+json"]["model_id"] for c in code
             for o in c.get("outputs", []) if "application/vnd.jupyter.widget-view+json" in o.get("data", {})]
    missing = [v for v in views if v not in state.get("state", {})]
    # and, for viewers without widgets, what each showed last: not `VBox(...)`, not a bar at 0 %
    first_frames = [o.data["text/plain"] for c in code for o in c.get("outputs", [])
                    if "application/vnd.jupyter.widget-view+json" in o.get("data", {})
                    and re.search(r"Box\(children=| 0%\|", o.data.get("text/plain", ""))]
    assert not first_frames, f"widget outputs show their first frame: {first_frames[:2]}"
    assert not missing, f"{len(missing)} widget outputs without saved state; `ganvae-edu refresh {nb.number}`"
    assert all("execution" not in c.metadata and "papermill" not in c.metadata for c in book.cells)
    assert nb.path.stat().st_size < 1_500_000




def first_cells(nb):
    code = [c.source for c in nbformat.read(nb.path, as_version=4).cells if c.cell_type == "code"]
    return code[1], code[2]  # after the set-up cell


def spread_specs(check_source):
    """The names of the shared specs spread into the check (``**CORPUS``) and its own keys."""
    call = next(n for n in ast.walk(ast.parse(check_source))
                if isinstance(n, ast.Call) and getattr(n.func, "id", "") == "check_parameters")
    spec = call.args[1]
    return ([v.id for k, v in zip(spec.keys, spec.values) if k is None],
            [k.value for k in spec.keys if k is not None])


@pytest.mark.parametrize("nb", NOTEBOOKS, ids=lambda nb: nb.stem)
def test_check_cell_takes_types_from_the_parameters_cell_as_papermill_reads_it(nb):
    params_cell, check_cell = first_cells(nb)
    params = run_cells(params_cell, check_cell)["params"]
    assert list(params) == list(nb.parameters)  # the kernel's parameters are papermill's
    for name, value in params.items():
        assert type_name(value) == nb.parameters[name]["type"], name
    # papermill's injected cell comes between the two: a value of another type is refused
    with pytest.raises(ParameterError, match=r"^parameter seed=2\.5 is a float, expected an integer ≥ 0$"):
        run_cells(params_cell, "seed = 2.5\n", check_cell)
    with pytest.raises(ParameterError, match=r"^unknown parameter 'sede' \(= 3\); did you mean 'seed'\?"):
        run_cells(params_cell, "sede = 3\n", check_cell)
    int_param = next(n for n, p in nb.parameters.items() if p["type"] == "int" and n != "seed")
    with pytest.raises(ParameterError, match=rf"^parameter {int_param}=2\.5 is a float, expected "):
        run_cells(params_cell, f"{int_param} = 2.5\n", check_cell)
    whole = [n for n, p in nb.parameters.items() if p["type"] == "float" and float(p["default"]).is_integer()]
    for name in whole[:1]:  # an int is a fine float, and is converted: dropout = 0 → 0.0
        value = int(float(nb.parameters[name]["default"]))
        got = run_cells(params_cell, f"{name} = {value}\n", check_cell)["params"][name]
        assert type(got) is float and got == value


@pytest.mark.parametrize("nb", NOTEBOOKS, ids=lambda nb: nb.stem)
def test_shared_specs_are_used_not_restated(nb):
    params_cell, check_cell = first_cells(nb)
    spread, own = spread_specs(check_cell)
    text = int(nb.number) in (3, 4, 5, 6, 8)
    assert spread[:2] == (["RUN", "CORPUS"] if text else ["RUN"])
    for group in spread:
        shared = getattr(runtime, group)
        assert not set(shared) & set(own), f"{group} restated in the check cell"
        assert set(shared) <= set(nb.parameters)
    if text:  # the corpus bounds are CORPUS's: max_len in [1, 10000], level a choice
        with pytest.raises(ParameterError, match=re.escape("parameter max_len=0 is too small, expected "
                                                           "an integer in [1, 10000]")):
            run_cells(params_cell, "max_len = 0\n", check_cell)
        with pytest.raises(ParameterError, match="parameter level='bpe' is not allowed, expected one of"):
            run_cells(params_cell, "level = 'bpe'\n", check_cell)


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
        # no partial notebook left; .lock is the folder's lock file (empty of meaning once released)
        assert sorted(p.name for p in folder.iterdir()) == [".lock", "01_gan_minimax.ipynb", "metrics.json"]
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
    # cell 5 of the executed copy: title, set-up, parameters, papermill's injected cell, the check
    assert (
        "FAILED: 01_gan_minimax at cell 5 (In [4]): ParameterError: parameter seed='abc' is a "
        "str, expected an integer ≥ 0" in res.stderr
    )
    assert not (tmp_path / "01_gan_minimax" / "metrics.json").exists()
    # the failed run is kept visibly beside (never in place of) the last complete one
    assert (tmp_path / "01_gan_minimax" / "01_gan_minimax.failed.ipynb").exists()
    assert not (tmp_path / "01_gan_minimax" / "01_gan_minimax.ipynb").exists()
    assert f"executed notebook: {tmp_path / '01_gan_minimax' / '01_gan_minimax.failed.ipynb'}" in res.stderr


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
    nb.metadata["widgets"] = {"application/vnd.jupyter.widget-state+json": {"state": {}}}
    assert "widgets" in notebooks.strip_volatile(nb).metadata  # the saved widget state stays
    assert clean.cells[0].metadata == {} and clean.cells[0].outputs[0].text == "1\n"
    assert "papermill" in nb.metadata  # the original is untouched


def test_static_fallbacks_show_a_widget_as_it_ended():
    view = "application/vnd.jupyter.widget-view+json"
    state = {  # a tqdm bar (HTML, progress, HTML) and an explorer (slider over an Output with a figure)
        "bar": {"model_name": "HBoxModel",
                "state": {"children": ["IPY_MODEL_l", "IPY_MODEL_p", "IPY_MODEL_r"]}},
        "l": {"model_name": "HTMLModel", "state": {"value": "ring8\u2007GAN:\u2007100%"}},
        "p": {"model_name": "FloatProgressModel", "state": {"value": 2500.0, "max": 2500.0}},
        "r": {"model_name": "HTMLModel", "state": {"value": "\u20072500/2500\u2007[00:09&lt;00:00]"}},
        "ex": {"model_name": "VBoxModel", "state": {"children": ["IPY_MODEL_s", "IPY_MODEL_o"]}},
        "s": {"model_name": "IntSliderModel", "state": {"description": "snapshot", "value": 9}},
        "o": {"model_name": "OutputModel", "state": {"outputs": [
            {"output_type": "stream", "name": "stdout", "text": "step 2500\n"},
            {"output_type": "display_data", "data": {"image/png": "iVBOR", "text/plain": "<Figure>"}}]}},
    }
    nb = nbformat.v4.new_notebook()
    nb.metadata["widgets"] = {"application/vnd.jupyter.widget-state+json": {"state": state}}
    cell = nbformat.v4.new_code_cell("train()")
    cell.outputs = [nbformat.v4.new_output("display_data", data={
        view: {"model_id": m, "version_major": 2, "version_minor": 0}, "text/plain": first})
        for m, first in (("bar", "ring8 GAN:   0%|          | 0/2500"), ("ex", "VBox(children=(IntSlider(…"))]
    nb.cells.append(cell)
    bar, explorer = notebooks.static_fallbacks(nb).cells[0].outputs
    assert bar.data["text/plain"] == "ring8 GAN: 100%|██████████| 2500/2500 [00:09<00:00]"
    assert explorer.data["text/plain"] == "snapshot = 9\nstep 2500" and explorer.data["image/png"] == "iVBOR"
    assert view in explorer.data  # the live widget stays for JupyterLab and nbviewer
    assert cell.outputs[0].data["text/plain"].endswith("0/2500")  # the original is untouched


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
