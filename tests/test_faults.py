"""Faults a class lab hits, reproduced for real: a hung cell, Ctrl-C and SIGTERM, a failed run,
two sweeps at once, another sweep's folder, warnings, bad files and folders.

tests/fixtures/faults.ipynb runs in a second: parameters value, sleep, fail, warn, explorer,
output_dir; each run appends its folder's name to ``output_dir/../executions.log``.
"""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch

from ganvae_edu.runtime import RunWarning, headless
from ganvae_edu.tooling import cli
from ganvae_edu.tooling import notebooks as nbs
from ganvae_edu.ui import widgets
from ganvae_edu.vector.toygan import LearnedNothing, ToyGANConfig, train_toy_gan, verdict

FAULTS = str(Path(__file__).resolve().parent / "fixtures" / "faults.ipynb")
ROOT = hasattr(os, "geteuid") and os.geteuid() == 0


def command(*args: str) -> list[str]:
    script = Path(sys.executable).with_name("ganvae-edu")
    if script.exists():
        return [str(script), *args]
    return [sys.executable, "-m", "ganvae_edu.tooling.cli", *args]


def ganvae(*args: str, timeout: float = 300) -> subprocess.CompletedProcess:
    return subprocess.run(command(*args), capture_output=True, text=True, timeout=timeout)


def _as_in_a_terminal() -> None:
    # A process started in the background of a non-interactive shell (`make test &`, nohup)
    # inherits SIGINT ignored, and so would the command under test: give it a terminal's Ctrl-C.
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def start(*args: str) -> subprocess.Popen:
    return subprocess.Popen(command(*args), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            preexec_fn=_as_in_a_terminal)


def wait_for(path: Path, lines: int = 1, timeout: float = 120) -> None:
    """Until `path` has `lines` lines: the runs have reached their sleeping cell."""
    t0 = time.monotonic()
    while not (path.exists() and len(path.read_text().splitlines()) >= lines):
        assert time.monotonic() - t0 < timeout, f"{path} never got {lines} line(s)"
        time.sleep(0.2)


def executions(folder: Path) -> list[str]:
    log = folder / "executions.log"
    return log.read_text().splitlines() if log.exists() else []


# --------------------------------------------------------------------------- no kernel


def test_headless_explorers_draw_once_and_make_no_widget(monkeypatch, capsys):
    monkeypatch.setenv("GANVAE_HEADLESS", "1")
    assert headless()
    shown = widgets.elbo_explorer(*_linear_gaussian())
    printed = capsys.readouterr().out
    assert "exact posterior mean" in printed  # the note, as text
    assert repr(shown) == ("(ELBO explorer: drawn once at its default values; open the notebook in "
                           "Jupyter to move its controls)")
    import comm

    assert not comm.get_comm_manager().comms
    monkeypatch.setenv("GANVAE_HEADLESS", "0")
    import ipywidgets

    assert isinstance(widgets.minimax_explorer(), ipywidgets.VBox)
    monkeypatch.setenv("GANVAE_HEADLESS", "maybe")
    with pytest.raises(ValueError, match=r"GANVAE_HEADLESS='maybe': set it to 1 \(no widgets\) or 0"):
        headless()


def _linear_gaussian():
    from ganvae_edu.formulas.linear_gaussian import LinearGaussian

    model = LinearGaussian(torch.eye(3, 2, dtype=torch.float64), torch.zeros(3, dtype=torch.float64), 0.5)
    return model, torch.ones(3, dtype=torch.float64)


def test_headless_progress_is_one_text_line_at_the_end(monkeypatch, capsys):
    from ganvae_edu.runtime import progress

    monkeypatch.setenv("GANVAE_HEADLESS", "1")
    seen = []
    for k in progress(range(250), desc="ring8 GAN"):
        seen.append(k)
        assert capsys.readouterr().out == ""  # nothing while it runs
    assert seen == list(range(250))
    out = capsys.readouterr().out
    assert out.startswith("ring8 GAN: 100%") and "250/250" in out and out.count("\n") == 1, out
    assert list(progress(range(3), disable=True)) == [0, 1, 2] and capsys.readouterr().out == ""


def test_a_gan_that_reaches_no_mode_is_a_warning_and_all_of_them_an_error():
    untrained = train_toy_gan(ToyGANConfig(steps=1, eval_samples=200, snapshots=1), show_progress=False)
    assert untrained.metrics["modes"] == 0  # one step from the initialisation: no sample on a mode
    expected = r"all 2 GANs cover no mode: nothing was learned.*lower lr \(now 0.003; the default is 0.003\)"
    with pytest.raises(LearnedNothing, match=expected), pytest.warns(RunWarning):
        verdict({"plain GAN on ring8": untrained, "remedied GAN on ring8": untrained})
    learned = type(untrained)(**{**untrained.__dict__, "metrics": {**untrained.metrics, "modes": 3}})
    with pytest.warns(RunWarning) as caught:
        lines = verdict({"plain GAN on ring8": untrained, "remedied GAN on ring8": learned})
    assert lines == ["the plain GAN on ring8 covers no mode (HQ 0%) after 1 steps at lr=0.003: "
                     "it learned nothing"]
    assert [str(w.message) for w in caught] == lines
    assert verdict({"remedied GAN on ring8": learned}) == []


def test_bad_parameter_files_and_folders_are_one_line_errors_before_anything_runs(tmp_path, capsys):
    bad_yaml = tmp_path / "bad.yaml"
    bad_yaml.write_text("steps: 5\nlr: [0.1\n")
    a_file = tmp_path / "file.txt"
    a_file.write_text("x")
    cases = {
        ("-f", str(bad_yaml)): f"parameters file {bad_yaml}, line 3, column 1 is not valid YAML",
        ("-f", str(tmp_path)): f"parameters file {tmp_path} is a folder; give a YAML file",
        ("-f", str(tmp_path / "nope.yaml")): f"parameters file {tmp_path / 'nope.yaml'} does not exist",
        ("--output-dir", str(a_file)): f"--output-dir {a_file} is a file, not a folder",
        ("--output-dir", str(a_file / "sub")):
            f"--output-dir {a_file / 'sub'} is under {a_file}, which is a file",
    }
    for args, expected in cases.items():
        assert cli.main(["run", FAULTS, *args]) == 2, args
        err = capsys.readouterr().err.strip().splitlines()
        assert len(err) == 1 and err[0].startswith(f"ganvae-edu: error: {expected}"), (args, err)
    (tmp_path / "list.yaml").write_text("- 1\n- 2\n")
    assert cli.main(["sweep", FAULTS, "-p", "value", "1,2", "-f", str(tmp_path / "list.yaml")]) == 2
    assert "must hold a mapping NAME: VALUE, one a line, not a list" in capsys.readouterr().err
    assert executions(tmp_path) == []


@pytest.mark.skipif(ROOT, reason="root may write anywhere: no folder is unwritable to it")
def test_an_unwritable_output_folder_is_refused_before_running(tmp_path, capsys):
    locked = tmp_path / "locked"
    locked.mkdir(mode=0o500)
    try:
        assert cli.main(["run", FAULTS, "--output-dir", str(locked / "out")]) == 2
        assert "cannot write in" in capsys.readouterr().err
    finally:
        locked.chmod(0o700)


def test_bench_refuses_a_bad_output_at_once_and_never_overwrites_the_committed_figures(tmp_path, capsys):
    a_file = tmp_path / "file.txt"
    a_file.write_text("x")
    t0 = time.perf_counter()
    assert cli.main(["bench", "--smoke", "--output", str(a_file / "bench.json")]) == 2
    assert time.perf_counter() - t0 < 5, "refused before measuring anything"
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "is under" in err[0] and "which is a file" in err[0]
    assert cli.main(["bench", "--smoke", "--output", str(tmp_path)]) == 2
    assert f"--output {tmp_path} is a folder; name a file" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        cli.main(["bench", "--help"])
    assert "(default runs/bench.json;" in " ".join(capsys.readouterr().out.split())


def test_a_list_can_be_given_with_p_and_a_wrong_one_points_to_f():
    from ganvae_edu.runtime import Param, ParameterError, check_parameters
    from ganvae_edu.runtime.params import DEFAULTS_NAME
    from ganvae_edu.tooling import sweep

    assert cli.collect_parameters([["betas", "[0.2, 1]"]], None) == {"betas": [0.2, 1]}
    assert sweep.parse_values("betas", "[0.2,1],[5]") == [[0.2, 1], [5]]
    with pytest.raises(ValueError, match=r"'\[0.2, 1' is not a list: .* or put it in a -f file"):
        cli.collect_parameters([["betas", "[0.2, 1"]], None)
    with pytest.raises(ParameterError, match=r"in brackets, -p NAME '\[0.2, 1.0\]', or put it in a -f file"):
        check_parameters({"betas": "0.2", DEFAULTS_NAME: {"betas": [1.0]}}, {"betas": Param(min=0)})


def test_a_stopped_run_names_the_cell_papermill_began_even_before_the_kernel_numbered_it(tmp_path):
    import nbformat

    def saved(*cells) -> Path:  # (source, execution count, began?) as papermill saves them
        nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_markdown_cell("# title")])
        for source, count, began in cells:
            cell = nbformat.v4.new_code_cell(source, execution_count=count)
            cell.metadata["papermill"] = {"start_time": "2026-12-03T00:00:00" if began else None}
            nb.cells.append(cell)
        nbformat.write(nb, tmp_path / "nb.ipynb")
        return tmp_path / "nb.ipynb"

    # a Ctrl-C that lands before the kernel's execute_input reply reaches papermill
    assert nbs._where(saved(("a = 1", 1, True), ("", None, True), ("b = 2", 2, True),
                            ("sleep()", None, True), ("c = 3", None, False))) == "cell 5 (In [3])"
    numbered = saved(("a = 1", 1, True), ("sleep()", 2, True), ("c = 3", None, False))
    assert nbs._where(numbered) == "cell 3 (In [2])"
    assert nbs._where(saved(("a = 1", None, True))) == "cell 2 (In [1])"
    assert nbs._where(saved(("a = 1", None, False))) == "the first cell"
    assert nbs._where(tmp_path / "missing.ipynb") == "a cell"


# --------------------------------------------------------------------------- real runs


@pytest.mark.slow  # one papermill run with a hung cell
def test_a_hung_cell_fails_at_the_cell_timeout_naming_the_cell(tmp_path):
    t0 = time.perf_counter()
    res = ganvae("run", FAULTS, "-p", "sleep", "600", "--cell-timeout", "3", "--output-dir", str(tmp_path),
                 "--no-progress")
    assert res.returncode == 1, res.stderr
    assert time.perf_counter() - t0 < 60
    assert ("FAILED: faults at cell 4 (In [3]): no result after 3 s (the cell timeout; for longer "
            "cells pass --cell-timeout SECONDS, or 0 for none)") in res.stderr
    assert (tmp_path / "faults" / "faults.failed.ipynb").exists()


@pytest.mark.slow  # two papermill runs, one interrupted
@pytest.mark.parametrize("signum, name", [(signal.SIGINT, "Ctrl-C"), (signal.SIGTERM, "SIGTERM")])
def test_an_interrupted_run_keeps_the_last_complete_results_and_says_failed(tmp_path, signum, name):
    out = tmp_path / "out"
    assert ganvae("run", FAULTS, "-p", "value", "7", "--output-dir", str(out)).returncode == 0
    folder = out / "faults"
    kept = {p: (folder / p).read_bytes() for p in ("faults.ipynb", "metrics.json")}

    proc = start("run", FAULTS, "-p", "value", "8", "-p", "sleep", "600", "--output-dir", str(out),
                 "--no-progress")
    wait_for(out / "executions.log", lines=2)
    t0 = time.perf_counter()
    proc.send_signal(signum)
    _, err = proc.communicate(timeout=60)
    assert time.perf_counter() - t0 < 30, "stops at once, not after the sleeping cell"
    assert proc.returncode == 130, err
    assert f"FAILED: faults at cell 4 (In [3]): interrupted ({name})" in err
    assert "Traceback" not in err and "KeyboardInterrupt" not in err
    assert {p: (folder / p).read_bytes() for p in kept} == kept  # the value=7 run, untouched
    assert json.loads(kept["metrics.json"])["faults.value"] == 7
    assert (folder / "faults.interrupted.ipynb").exists()
    assert not list(folder.glob(".*.partial.ipynb"))
    # a later complete run clears the marker
    assert ganvae("run", FAULTS, "-p", "value", "9", "--output-dir", str(out)).returncode == 0
    assert not (folder / "faults.interrupted.ipynb").exists()
    assert json.loads((folder / "metrics.json").read_text())["faults.value"] == 9


@pytest.mark.slow  # a dead kernel
def test_a_dead_kernel_is_one_failed_line(tmp_path):
    proc = start("run", FAULTS, "-p", "sleep", "600", "--output-dir", str(tmp_path), "--no-progress")
    wait_for(tmp_path / "executions.log")
    import psutil  # installed with ipykernel

    children = psutil.Process(proc.pid).children()
    kernels = [c for c in children if "ipykernel_launcher" in " ".join(c.cmdline())]
    assert kernels, "the kernel is a child of the run"
    for kernel in kernels:
        kernel.kill()
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 1
    assert "FAILED: faults at cell 4 (In [3]): the kernel died (out of memory, or killed)" in err
    assert "Traceback" not in err


@pytest.mark.slow  # a two-point sweep, interrupted
def test_ctrl_c_stops_a_sweeps_kernels_at_once_and_still_writes_the_table(tmp_path):
    out = tmp_path / "out"
    proc = start("sweep", FAULTS, "-p", "sleep", "0,600,601", "--jobs", "2", "--output-dir", str(out))
    wait_for(out / "faults" / "executions.log", lines=3)  # sleep=0 done, then two runs sleeping
    t0 = time.perf_counter()
    proc.send_signal(signal.SIGINT)
    stdout, err = proc.communicate(timeout=60)
    assert time.perf_counter() - t0 < 30
    assert proc.returncode == 130, err
    assert "interrupted (Ctrl-C): stopped 2 running notebook(s)" in stdout
    rows = (out / "faults" / "sweep.csv").read_text().splitlines()
    assert rows[0].startswith("sleep,status,error")
    assert [r.split(",")[1] for r in rows[1:]] == ["ok", "interrupted", "interrupted"]
    assert rows[2].split(",")[2] == "cell 4 (In [3]): interrupted (Ctrl-C)"
    assert "repeat the command to finish the sweep" in err
    assert (out / "faults" / "sleep=600" / "faults.interrupted.ipynb").exists()


@pytest.mark.slow  # two sweeps at once
def test_two_sweeps_into_one_folder_run_each_point_once(tmp_path):
    out = tmp_path / "out"
    args = ("sweep", FAULTS, "-p", "value", "1,2", "-p", "sleep", "2", "--output-dir", str(out))
    first, second = start(*args), start(*args)
    results = [p.communicate(timeout=240) for p in (first, second)]
    assert first.returncode == 0 and second.returncode == 0, results
    assert sorted(executions(out / "faults")) == ["value=1,sleep=2", "value=2,sleep=2"]
    printed = results[0][0] + results[1][0]
    assert printed.count(": ok (") == 2  # each point ran once; the other sweep found it complete


@pytest.mark.slow  # two sweeps, one papermill run
def test_a_sweep_with_another_base_is_refused_in_the_folder(tmp_path):
    out = tmp_path / "out"
    (tmp_path / "a.yaml").write_text("sleep: 0.0\n")
    (tmp_path / "b.yaml").write_text("sleep: 0.5\n")
    assert ganvae("sweep", FAULTS, "-p", "value", "1", "-f", str(tmp_path / "a.yaml"),
                  "--output-dir", str(out)).returncode == 0
    res = ganvae("sweep", FAULTS, "-p", "value", "1", "-f", str(tmp_path / "b.yaml"),
                 "--output-dir", str(out))
    assert res.returncode == 2
    assert res.stderr.strip() == (
        f"ganvae-edu: error: {out / 'faults'} holds another sweep, with base {{'sleep': 0.0}} (this sweep: "
        f"{{'sleep': 0.5}}); choose another --output-dir, or delete {out / 'faults'} to start it afresh")
    assert executions(out / "faults") == ["value=1"]


@pytest.mark.slow  # two papermill runs
def test_run_warnings_are_repeated_by_run_and_sweep(tmp_path):
    res = ganvae("run", FAULTS, "-p", "warn", "True", "--output-dir", str(tmp_path / "run"), "--no-progress")
    assert res.returncode == 0
    assert "WARNING: faults cell 5: value=1 learned nothing" in res.stderr
    res = ganvae("sweep", FAULTS, "-p", "warn", "True,False", "--output-dir", str(tmp_path / "sweep"))
    assert res.returncode == 0
    rows = (tmp_path / "sweep" / "faults" / "sweep.csv").read_text().splitlines()
    assert rows[1].startswith("True,ok,,cell 5: value=1 learned nothing,")
    assert rows[2].startswith("False,ok,,,")


@pytest.mark.slow  # one papermill run of the explorer, headless
def test_a_headless_run_opens_no_widget_comm(tmp_path):
    res = ganvae("run", FAULTS, "-p", "explorer", "True", "--output-dir", str(tmp_path), "--no-progress")
    assert res.returncode == 0, res.stderr
    metrics = json.loads((tmp_path / "faults" / "metrics.json").read_text())
    assert metrics["faults.comms"] == 0
    executed = (tmp_path / "faults" / "faults.ipynb").read_text()
    assert "minimax explorer: drawn once at its default values" in executed
    assert "image/png" in executed  # the explorer's figure, drawn once


def test_a_second_run_into_a_busy_folder_is_refused(tmp_path, capsys):
    with nbs.folder_lock(tmp_path / "faults"):
        assert cli.main(["run", FAULTS, "--output-dir", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert f"{tmp_path / 'faults'} is in use by another run (pid {os.getpid()} on " in err
    assert "wait for it to end, or choose another --output-dir" in err


def test_an_output_path_that_is_a_folder_is_refused_before_the_run(tmp_path, capsys):
    (tmp_path / "faults" / "metrics.json").mkdir(parents=True)
    assert cli.main(["run", FAULTS, "--output-dir", str(tmp_path)]) == 2
    assert (f"{tmp_path / 'faults' / 'metrics.json'} is a folder, so the run could not write it"
            in capsys.readouterr().err)
    assert executions(tmp_path) == []
