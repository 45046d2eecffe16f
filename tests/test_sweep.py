"""`ganvae-edu sweep`, run for real through papermill on a notebook that takes a second.

tests/fixtures/tiny_sweep.ipynb has parameters a, b, offset, fail, output_dir; it raises
when ``fail`` and otherwise writes metrics.json {"tiny.sum": a + b + offset, "seconds": 0.0}.
`write_env_probe` writes a notebook whose metrics say what its kernel saw: CUDA_VISIBLE_DEVICES,
OMP_NUM_THREADS, and when it held its cell.
"""

import csv
import itertools
import json
import os
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

from ganvae_edu.tooling import cli, sweep
from ganvae_edu.ui import plots

TINY = str(Path(__file__).resolve().parent / "fixtures" / "tiny_sweep.ipynb")


def ganvae(*args):
    """The real console command, in a subprocess, as a user runs it."""
    script = Path(sys.executable).with_name("ganvae-edu")
    exe = [str(script), *args] if script.exists() else [sys.executable, "-m", "ganvae_edu.tooling.cli", *args]
    return subprocess.run(exe, capture_output=True, text=True, timeout=300)


def read_csv(path: Path) -> tuple[list[str], list[dict[str, str]]]:
    with open(path, newline="", encoding="utf-8") as f:
        reader = csv.DictReader(f)
        return list(reader.fieldnames or []), list(reader)


def write_env_probe(path: Path) -> Path:
    """A notebook (parameters a, hold, output_dir) that holds its cell `hold` seconds and records,
    as its metrics, its kernel's CUDA_VISIBLE_DEVICES and OMP_NUM_THREADS and when it held."""
    parameters = nbformat.v4.new_code_cell(
        'a = 1  # which run\nhold = 0.0  # seconds the run holds its cell (and its GPU)\n'
        'output_dir = "runs/env_probe"  # where metrics.json goes'
    )
    parameters.metadata["tags"] = ["parameters"]
    probe = nbformat.v4.new_code_cell(
        "import json, os, time\n"
        "start = time.time()\n"
        "time.sleep(hold)\n"
        "names = ('CUDA_VISIBLE_DEVICES', 'OMP_NUM_THREADS')\n"
        "seen = {name: os.environ.get(name, 'unset') for name in names}\n"
        "os.makedirs(output_dir, exist_ok=True)\n"
        "with open(os.path.join(output_dir, 'metrics.json'), 'w') as f:\n"
        "    json.dump({**{f'env.{k}': v for k, v in seen.items()}, 'env.start': start,\n"
        "               'env.end': time.time(), 'seconds': 0.0}, f)"
    )
    nb = nbformat.v4.new_notebook(cells=[parameters, probe])
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nbformat.write(nb, path)
    return path


# --------------------------------------------------------------------------- no notebook runs


def test_values_are_split_on_commas_and_read_as_papermill_p_reads_them():
    assert sweep.parse_values("x", "0, 2.5,True,None,abc,1e-3") == [0, 2.5, True, None, "abc", 0.001]
    with pytest.raises(ValueError, match=r"-p seed '0,,1' has an empty value"):
        sweep.parse_values("seed", "0,,1")


def test_the_grid_is_nested_loops_first_parameter_slowest_each_run_in_a_named_folder(tmp_path):
    runs = sweep.plan({"a": [1, 2], "b": [0.5, "x"]}, {"offset": 3.0, "b": 9}, tmp_path)
    assert [r.swept for r in runs] == [
        {"a": 1, "b": 0.5}, {"a": 1, "b": "x"}, {"a": 2, "b": 0.5}, {"a": 2, "b": "x"}
    ]
    assert [r.folder for r in runs] == [
        tmp_path / "a=1,b=0.5", tmp_path / "a=1,b=x", tmp_path / "a=2,b=0.5", tmp_path / "a=2,b=x"
    ]
    assert runs[0].parameters == {"offset": 3.0, "b": 0.5, "a": 1}  # a swept value beats the base
    assert runs[0].papermill_parameters()["output_dir"] == str((tmp_path / "a=1,b=0.5").resolve())


def test_folder_names_are_safe_and_stay_distinct(tmp_path):
    slashed, underscored = sweep.run_name({"data": "../x/y"}), sweep.run_name({"data": ".._x_y"})
    assert "/" not in slashed and slashed.startswith("data=.._x_y-") and slashed != underscored
    assert sweep.run_name({"lr": 1e-05, "amsgrad": True, "init": None}) == "lr=1e-05,amsgrad=True,init=None"
    with pytest.raises(ValueError, match="share the folder 'a=1'"):
        sweep.plan({"a": [1, 1]}, {}, tmp_path)
    with pytest.raises(ValueError, match="output_dir is set by the sweep"):
        sweep.plan({"a": [1]}, {"output_dir": "elsewhere"}, tmp_path)


def test_a_run_is_complete_with_metrics_and_the_same_recorded_parameters(tmp_path):
    (run,) = sweep.plan({"a": [1]}, {"b": 2.0}, tmp_path)
    run.folder.mkdir()
    (run.folder / "metrics.json").write_text('{"tiny.sum": 3.0}')
    assert not sweep.is_complete(run), "no params.json: the run never finished"
    (run.folder / "params.json").write_text(json.dumps({"a": 1, "b": 2.0}))
    assert sweep.is_complete(run)
    (changed,) = sweep.plan({"a": [1]}, {"b": 3.0}, tmp_path)  # same folder, other base value
    assert changed.folder == run.folder and not sweep.is_complete(changed)
    (run.folder / "params.json").write_text('{"a": 1, "b": 2.')  # truncated
    assert not sweep.is_complete(run)
    (run.folder / "params.json").write_text(json.dumps({"a": 1, "b": 2.0}))
    (run.folder / "metrics.json").unlink()
    assert not sweep.is_complete(run)


def test_sweep_plot_draws_a_panel_per_metric_and_a_line_per_group():
    rows = [
        {"a": a, "b": b, "m": a + b if a != 2 else None, "seconds": 1.0}
        for a in (1, 2, 3) for b in (0.5, 10)
    ]
    fig = plots.sweep_plot(rows, "a", ["m", "seconds"], ["b"])
    ax_m, ax_s = fig.axes
    assert [line.get_label() for line in ax_m.get_lines()] == ["b=0.5", "b=10"]
    assert list(ax_m.get_lines()[1].get_xdata()) == [1, 3]  # the None metric is left out
    assert list(ax_m.get_lines()[1].get_ydata()) == [11, 13]
    assert ax_m.get_xlabel() == "a" and ax_s.get_ylabel() == "seconds"


def test_the_default_plot_is_a_per_token_nll_that_varies_else_seconds():
    columns = ["seed", "status", "error", "corpus.true_nll_per_token", "lm.test_nll_per_token",
               "seconds", "vae.test_nll_per_token"]
    rows = [{"corpus.true_nll_per_token": 2.0, "lm.test_nll_per_token": 2.5, "seconds": s,
             "vae.test_nll_per_token": v} for s, v in ((1.0, 2.7), (2.0, 2.6), (3.0, None))]
    assert sweep.default_metric(columns, rows) == "vae.test_nll_per_token"
    assert sweep.default_metric(columns, rows[:1]) == "lm.test_nll_per_token"
    assert sweep.default_metric(["a", "seconds", "tiny.sum"], [{"seconds": 0.0, "tiny.sum": 1}]) == "seconds"
    assert sweep.default_metric(["a", "tiny.sum"], [{"tiny.sum": 1}]) is None


def test_unknown_parameter_is_refused_before_anything_runs(tmp_path, capsys):
    out = tmp_path / "out"
    assert cli.main(["sweep", TINY, "-p", "offest", "1,2", "--output-dir", str(out)]) == 2
    assert capsys.readouterr().err.strip().splitlines() == [
        "ganvae-edu: error: unknown parameter 'offest' (= [1, 2]) for tiny_sweep; did you mean "
        "'offset'? known parameters: a, b, fail, offset, output_dir"
    ]
    (tmp_path / "base.yaml").write_text("bb: 1\n")
    argv = ["sweep", TINY, "-p", "a", "1,2", "-f", str(tmp_path / "base.yaml"), "--output-dir", str(out)]
    assert cli.main(argv) == 2
    assert "unknown parameter 'bb' (= 1) for tiny_sweep" in capsys.readouterr().err
    assert not out.exists()


# --------------------------------------------------------------------------- real runs


@pytest.mark.slow  # four papermill runs
def test_a_2x2_sweep_with_two_jobs_tabulates_every_run(tmp_path, capsys):
    (tmp_path / "base.yaml").write_text("offset: 100.0\n")
    out = tmp_path / "out"
    argv = ["sweep", TINY, "-p", "a", "1,2", "-p", "b", "0.5,10", "-f", str(tmp_path / "base.yaml"),
            "--jobs", "2", "--output-dir", str(out)]
    assert cli.main(argv) == 0, capsys.readouterr()
    assert "running 4 of 4 runs, 2 at a time" in capsys.readouterr().out
    columns, rows = read_csv(out / "tiny_sweep" / "sweep.csv")
    assert columns == ["a", "b", "status", "error", "warnings", "seconds", "tiny.sum"]
    assert [(r["a"], r["b"], r["status"], r["error"]) for r in rows] == [
        ("1", "0.5", "ok", ""), ("1", "10", "ok", ""), ("2", "0.5", "ok", ""), ("2", "10", "ok", "")
    ]
    for r in rows:
        assert float(r["tiny.sum"]) == int(r["a"]) + float(r["b"]) + 100.0
    folder = out / "tiny_sweep" / "a=2,b=10"
    assert json.loads((folder / "params.json").read_text()) == {"a": 2, "b": 10, "offset": 100.0}
    assert (folder / "tiny_sweep.ipynb").exists()
    assert (out / "tiny_sweep" / "sweep.png").stat().st_size > 1000


@pytest.mark.slow  # the CLI in a subprocess, two papermill runs
def test_a_failing_run_is_reported_the_others_complete_and_the_status_is_1(tmp_path):
    out = tmp_path / "out"
    res = ganvae("sweep", TINY, "-p", "fail", "True,False", "-p", "a", "3", "--output-dir", str(out))
    assert res.returncode == 1, res.stdout + res.stderr
    assert ("FAILED: fail=True a=3 at cell 4 (In [3]): ValueError: asked to fail with a=3, b=0.5"
            in res.stderr)
    assert "1 ran ok, 0 skipped (complete), 1 failed" in res.stdout
    _, rows = read_csv(out / "tiny_sweep" / "sweep.csv")
    assert [(r["fail"], r["status"], r["tiny.sum"]) for r in rows] == [
        ("True", "failed", ""), ("False", "ok", "3.5")
    ]
    assert rows[0]["error"].startswith("cell 4 (In [3]): ValueError: asked to fail")
    assert not (out / "tiny_sweep" / "fail=True,a=3" / "params.json").exists()


@pytest.mark.slow  # three sweeps through papermill
def test_a_rerun_skips_complete_runs_and_reruns_one_whose_metrics_are_gone(tmp_path, capsys):
    out = tmp_path / "out"
    argv = ["sweep", TINY, "-p", "a", "1,2", "--output-dir", str(out)]
    assert cli.main(argv) == 0
    capsys.readouterr()
    metrics = {a: out / "tiny_sweep" / f"a={a}" / "metrics.json" for a in (1, 2)}
    mtimes = {a: m.stat().st_mtime_ns for a, m in metrics.items()}

    assert cli.main(argv) == 0
    printed = capsys.readouterr().out
    assert "skipped (complete): a=1" in printed and "skipped (complete): a=2" in printed
    assert "running" not in printed and "0 ran ok, 2 skipped (complete), 0 failed" in printed
    assert {a: m.stat().st_mtime_ns for a, m in metrics.items()} == mtimes

    metrics[2].unlink()
    assert cli.main(argv) == 0
    printed = capsys.readouterr().out
    assert "skipped (complete): a=1" in printed and "skipped (complete): a=2" not in printed
    assert "[1/1] a=2: ok" in printed
    assert metrics[1].stat().st_mtime_ns == mtimes[1] and metrics[2].exists()
    _, rows = read_csv(out / "tiny_sweep" / "sweep.csv")
    assert [(r["a"], r["status"], r["tiny.sum"]) for r in rows] == [("1", "ok", "1.5"), ("2", "ok", "2.5")]


def test_parallel_runs_share_the_cores_and_the_environment_is_restored(monkeypatch):
    from ganvae_edu.tooling.sweep import share_cores

    monkeypatch.delenv("OMP_NUM_THREADS", raising=False)
    monkeypatch.setattr(os, "cpu_count", lambda: 8)
    messages = []
    restore = share_cores(3, messages.append)
    assert os.environ["OMP_NUM_THREADS"] == "2"  # 8 cores, 3 jobs: 2 threads each
    assert "OMP_NUM_THREADS" in messages[0]
    restore()
    assert "OMP_NUM_THREADS" not in os.environ
    monkeypatch.setattr(os, "cpu_count", lambda: None)  # unknown: at least one thread each
    restore = share_cores(2, messages.append)
    assert os.environ["OMP_NUM_THREADS"] == "1"
    restore()
    assert "OMP_NUM_THREADS" not in os.environ
    monkeypatch.setenv("OMP_NUM_THREADS", "3")  # the user's choice wins
    share_cores(2, messages.append)()
    assert os.environ["OMP_NUM_THREADS"] == "3"
    share_cores(1, messages.append)()  # one job: nothing to share
    assert len(messages) == 2


# --------------------------------------------------------------------------- --gpus


def test_gpus_are_cuda_numbers_each_once_and_at_least_one_per_run_at_a_time():
    assert sweep.parse_gpus("0, 1,3") == ["0", "1", "3"]
    with pytest.raises(ValueError, match=r"--gpus 'a,b' is not a list of GPU numbers; .* e.g. --gpus 0,1"):
        sweep.parse_gpus("a,b")
    with pytest.raises(ValueError, match=r"lists GPU 1 twice"):
        sweep.parse_gpus("1,0,01")
    sweep.check_gpus(2, ["0", "1"])
    with pytest.raises(ValueError, match=r"--jobs 3 with --gpus 0,1: .* give --jobs 2 or fewer"):
        sweep.check_gpus(3, ["0", "1"])


def test_the_gpu_column_is_there_only_when_a_run_was_given_one(tmp_path):
    one, two = sweep.plan({"a": [1, 2]}, {}, tmp_path)
    plain = [sweep.Outcome(one, "ok"), sweep.Outcome(two, "ok")]
    assert sweep.table(plain)[0] == ["a", "status", "error", "warnings"]
    columns, rows = sweep.table([sweep.Outcome(one, "ok", gpu="1"), sweep.Outcome(two, "skipped")])
    assert columns == ["a", "status", "error", "warnings", "gpu"]
    assert [r["gpu"] for r in rows] == ["1", None]  # a skipped run ran with nothing now


@pytest.mark.slow  # three papermill runs, two at a time
def test_each_run_at_a_time_gets_its_own_gpu_and_its_kernel_sees_it(tmp_path, capsys):
    probe = str(write_env_probe(tmp_path / "env_probe.ipynb"))
    out = tmp_path / "out"
    argv = ["sweep", probe, "-p", "a", "1,2,3", "-p", "hold", "3", "--gpus", "0,1", "--output-dir", str(out)]
    assert cli.main(argv) == 0, capsys.readouterr()
    printed = capsys.readouterr().out
    assert "running 3 of 3 runs, 2 at a time, each on a GPU of its own of 0,1" in printed  # --jobs: 2 GPUs
    columns, rows = read_csv(out / "env_probe" / "sweep.csv")
    assert "gpu" in columns and {r["gpu"] for r in rows} == {"0", "1"}
    for r in rows:  # what the sweep says it gave is what the kernel saw
        assert r["env.CUDA_VISIBLE_DEVICES"] == r["gpu"], r
        (line,) = [line for line in printed.splitlines() if f"] a={r['a']},hold=3: ok (" in line]
        assert line.endswith(f" on GPU {r['gpu']}"), line
    held = {r["a"]: (float(r["env.start"]), float(r["env.end"])) for r in rows}
    overlapping = [(x, y) for x, y in itertools.combinations(rows, 2)
                   if held[x["a"]][0] < held[y["a"]][1] and held[y["a"]][0] < held[x["a"]][1]]
    assert overlapping, "two runs held their cells at once"
    assert all(x["gpu"] != y["gpu"] for x, y in overlapping), "two runs at once shared a GPU"


def test_gpu_and_slurm_options_are_refused_where_they_do_not_apply(tmp_path, capsys):
    out = tmp_path / "out"
    cases = {
        ("--gpus", "a,b"): "--gpus 'a,b' is not a list of GPU numbers",
        ("--gpus", "0,1", "--jobs", "3"): "--jobs 3 with --gpus 0,1: each run at a time needs a GPU",
        ("--gpus", "0", "--slurm"): "with --slurm, Slurm gives each run its GPUs: use --gpus-per-task N",
        ("--partition", "gpu"): "--partition is an option of a --slurm sweep (a job array); add --slurm",
        ("--time", "30"): "--time is an option of a --slurm sweep",
        ("--cluster", "local"): "--cluster is an option of a --slurm sweep",
    }
    for extra, message in cases.items():
        assert cli.main(["sweep", TINY, "-p", "a", "1", "--output-dir", str(out), *extra]) == 2, extra
        err = capsys.readouterr().err.strip().splitlines()
        assert len(err) == 1 and err[0].startswith("ganvae-edu: error: ") and message in err[0], (extra, err)
    for extra in (("--time", "0"), ("--cpus-per-task", "-1"), ("--cluster", "pbs")):
        with pytest.raises(SystemExit) as stop:  # argparse's own one-line error
            cli.main(["sweep", TINY, "-p", "a", "1", "--slurm", *extra])
        assert stop.value.code == 2
        assert f"argument {extra[0]}:" in capsys.readouterr().err
    assert not out.exists()
