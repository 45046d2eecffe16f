"""`ganvae-edu sweep --slurm`: the runs as one job array through submitit, run for real.

With submitit's local executor (what ``--slurm`` does on a machine without Slurm), and with a
stand-in Slurm: ``sbatch``, ``srun`` and ``sacct`` scripts on the PATH that start the array's
tasks on this machine with the environment Slurm gives them (SLURM_ARRAY_TASK_ID,
SLURM_CPUS_PER_TASK, CUDA_VISIBLE_DEVICES), so that submitit's own Slurm path is what runs.
"""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from test_sweep import TINY, read_csv, write_env_probe

from ganvae_edu.tooling import cli, cluster

FAULTS = str(Path(__file__).resolve().parent / "fixtures" / "faults.ipynb")


def command(*args: str) -> list[str]:
    script = Path(sys.executable).with_name("ganvae-edu")
    if script.exists():
        return [str(script), *args]
    return [sys.executable, "-m", "ganvae_edu.tooling.cli", *args]


def _as_in_a_terminal() -> None:
    # A process started in the background of a non-interactive shell inherits SIGINT ignored,
    # and so would the command under test: give it a terminal's Ctrl-C (as tests/test_faults.py).
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def no_slurm_path(monkeypatch, tmp_path: Path) -> None:
    """A PATH without sbatch and srun, whatever this machine has."""
    empty = tmp_path / "no-slurm"
    empty.mkdir()
    monkeypatch.setenv("PATH", f"{empty}{os.pathsep}{Path(sys.executable).parent}")


# --------------------------------------------------------------------------- no notebook runs


def test_without_submitit_slurm_says_how_to_install_it(tmp_path, monkeypatch, capsys):
    monkeypatch.setitem(sys.modules, "submitit", None)  # `import submitit` raises ImportError
    out = tmp_path / "out"
    assert cli.main(["sweep", TINY, "-p", "a", "1,2", "--slurm", "--output-dir", str(out)]) == 2
    assert capsys.readouterr().err.strip() == (
        "ganvae-edu: error: --slurm submits through submitit, which is not installed here; install "
        'it with: pip install "ganvae-edu[cluster]"')
    assert not out.exists()


def test_auto_is_slurm_only_where_slurm_is_and_slurm_is_refused_elsewhere(tmp_path, monkeypatch, capsys):
    no_slurm_path(monkeypatch, tmp_path)
    cluster_, note = cluster.resolve_cluster("auto")
    assert cluster_ == "local" and note.startswith("no Slurm here (no sbatch and srun on the PATH)")
    assert cluster.resolve_cluster("local") == ("local", None)
    out = tmp_path / "out"
    argv = ["sweep", TINY, "-p", "a", "1", "--slurm", "--cluster", "slurm", "--output-dir", str(out)]
    assert cli.main(argv) == 2
    assert capsys.readouterr().err.strip() == (
        "ganvae-edu: error: --cluster slurm: Slurm's sbatch and srun are not on this machine's PATH; "
        "run the command on the cluster's login node, or try it here with --cluster local")
    assert not out.exists()
    fake = tmp_path / "slurm-bin"
    fake.mkdir()
    for name in ("sbatch", "srun"):
        (fake / name).write_text("#!/bin/sh\nexit 1\n")
        (fake / name).chmod(0o755)
    monkeypatch.setenv("PATH", f"{fake}{os.pathsep}{os.environ['PATH']}")
    assert cluster.resolve_cluster("auto") == ("slurm", None)


def test_the_options_become_the_arrays_sbatch_lines(tmp_path, monkeypatch):
    import submitit
    from submitit.slurm.slurm import _make_sbatch_string  # what submitit hands to sbatch

    fake = tmp_path / "bin"
    fake.mkdir()
    (fake / "srun").write_text("#!/bin/sh\nexit 1\n")  # submitit's Slurm executor looks for srun
    (fake / "srun").chmod(0o755)
    monkeypatch.setenv("PATH", f"{fake}{os.pathsep}{os.environ['PATH']}")

    def sbatch_lines(options: cluster.ArrayOptions) -> list[str]:
        executor = submitit.AutoExecutor(folder=tmp_path / "slurm", cluster="slurm")
        executor.update_parameters(**cluster.executor_parameters(options, "slurm", "ganvae-04_sentence_vae"))
        text = _make_sbatch_string(command="RUN", folder=tmp_path / "slurm", map_count=3,
                                   **executor._executor.parameters)
        return [line for line in text.splitlines() if line.startswith("#SBATCH")]

    lines = sbatch_lines(cluster.ArrayOptions("slurm", "gpu", 30, 4, 1, at_once=2))
    for line in ("--array=0-2%2", "--partition=gpu", "--time=30", "--cpus-per-task=4",
                 "--gpus-per-node=1", "--job-name=ganvae-04_sentence_vae", "--signal=USR2@90"):
        assert f"#SBATCH {line}" in lines, (line, lines)
    defaults = sbatch_lines(cluster.ArrayOptions("slurm"))
    assert "#SBATCH --time=60" in defaults and "#SBATCH --array=0-2%3" in defaults  # all 3 at once
    assert not [line for line in defaults if "partition" in line or "gpus" in line or "cpus" in line]


# --------------------------------------------------------------------------- real runs


@pytest.mark.slow  # two papermill runs, each in a submitit local job, then a rerun that skips both
def test_a_slurm_sweep_without_slurm_runs_as_local_jobs_and_a_rerun_skips_both(tmp_path, monkeypatch, capsys):
    no_slurm_path(monkeypatch, tmp_path)
    out = tmp_path / "out"
    argv = ["sweep", TINY, "-p", "a", "1,2", "--slurm", "--jobs", "2", "--output-dir", str(out)]
    assert cli.main(argv) == 0, capsys.readouterr()
    printed = capsys.readouterr().out
    assert ("no Slurm here (no sbatch and srun on the PATH): the job array runs on this machine, "
            "through submitit's local executor") in printed
    assert "running 2 of 2 runs as local jobs, 2 at a time (no time limit per run)" in printed
    columns, rows = read_csv(out / "tiny_sweep" / "sweep.csv")
    assert columns == ["a", "status", "error", "warnings", "job", "seconds", "tiny.sum"]
    assert [(r["a"], r["status"], r["error"], r["tiny.sum"]) for r in rows] == [
        ("1", "ok", "", "1.5"), ("2", "ok", "", "2.5")]
    logs = out / "tiny_sweep" / "slurm"
    for r in rows:  # each run was its own job, logged under DIR/NAME/slurm/
        assert (logs / f"{r['job']}_0_log.out").exists()
        assert (out / "tiny_sweep" / f"a={r['a']}" / "params.json").exists()
    metrics = {a: (out / "tiny_sweep" / f"a={a}" / "metrics.json").stat().st_mtime_ns for a in (1, 2)}

    assert cli.main(argv) == 0
    printed = capsys.readouterr().out
    assert "skipped (complete): a=1" in printed and "skipped (complete): a=2" in printed
    assert "running" not in printed and "no Slurm here" not in printed  # nothing to submit
    assert "0 ran ok, 2 skipped (complete), 0 failed" in printed
    assert {a: (out / "tiny_sweep" / f"a={a}" / "metrics.json").stat().st_mtime_ns for a in (1, 2)} == metrics
    _, rows = read_csv(out / "tiny_sweep" / "sweep.csv")
    assert [(r["a"], r["status"], r["tiny.sum"]) for r in rows] == [("1", "ok", "1.5"), ("2", "ok", "2.5")]


@pytest.mark.slow  # a two-point sweep as local jobs, interrupted
def test_ctrl_c_cancels_the_local_jobs_and_still_writes_the_table(tmp_path):
    import psutil  # installed with ipykernel

    out = tmp_path / "out"
    env = {**os.environ, "PATH": f"{tmp_path}{os.pathsep}{Path(sys.executable).parent}"}  # no Slurm
    proc = subprocess.Popen(command("sweep", FAULTS, "-p", "sleep", "600,601", "--slurm", "--jobs", "2",
                                    "--output-dir", str(out)),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
                            preexec_fn=_as_in_a_terminal)
    log = out / "faults" / "executions.log"
    t0 = time.monotonic()
    while not (log.exists() and len(log.read_text().splitlines()) >= 2):  # both runs are sleeping
        assert time.monotonic() - t0 < 120 and proc.poll() is None, proc.stderr.read() if proc.poll() else ""
        time.sleep(0.2)
    tree = psutil.Process(proc.pid).children(recursive=True)  # controllers, tasks, kernels
    assert any("ipykernel_launcher" in " ".join(p.cmdline()) for p in tree)
    t0 = time.perf_counter()
    proc.send_signal(signal.SIGINT)
    stdout, err = proc.communicate(timeout=90)
    assert time.perf_counter() - t0 < 30, "stops within seconds, not after the sleeping cell"
    assert proc.returncode == 130, stdout + err
    assert "interrupted (Ctrl-C): cancelled the 2 local job(s) not finished" in stdout
    assert "Traceback" not in err and "KeyboardInterrupt" not in err
    _, rows = read_csv(out / "faults" / "sweep.csv")
    assert [r["status"] for r in rows] == ["interrupted", "interrupted"]
    assert rows[0]["error"] == "cell 4 (In [3]): interrupted (the job was cancelled)"
    assert (out / "faults" / "sleep=600" / "faults.interrupted.ipynb").exists()
    assert "repeat the command to finish the sweep" in err
    _, alive = psutil.wait_procs(tree, timeout=15)
    assert not alive, f"left running: {[' '.join(p.cmdline()) for p in alive]}"


SBATCH = '''#!{python}
"""sbatch, as far as a submitit array needs it: start each task of --array=0-N%P here, at once,
with the environment Slurm gives a task; record the script; print the job id as sbatch does."""
import os, re, subprocess, sys
script = open(sys.argv[-1]).read()
with open(os.environ["FAKE_SLURM_RECORD"], "a") as f:
    f.write(script)
options = dict(re.findall(r"^#SBATCH --([a-z-]+)=(\\S+)$", script, re.M))
if options.get("partition") == "nope":
    sys.exit("sbatch: error: invalid partition specified: nope")
first, last = map(int, re.match(r"(\\d+)-(\\d+)", options["array"]).groups())
job = "4242"
for index in range(first, last + 1):
    env = {{k: v for k, v in os.environ.items() if k != "OMP_NUM_THREADS"}}  # a fresh node's
    env.update(SLURM_ARRAY_JOB_ID=job, SLURM_ARRAY_TASK_ID=str(index), SLURM_JOB_ID=str(5000 + index),
               SLURM_NTASKS="1", SLURM_PROCID="0", SLURM_LOCALID="0", SLURM_NODEID="0",
               SLURM_JOB_NUM_NODES="1", SLURM_JOB_NODELIST="localhost",
               SLURM_CPUS_PER_TASK=options.get("cpus-per-task", "1"))
    if "gpus-per-node" in options:  # Slurm gives each task GPUs of its own
        n = int(options["gpus-per-node"])
        env["CUDA_VISIBLE_DEVICES"] = ",".join(str(index * n + k) for k in range(n))
    subprocess.Popen(["bash", sys.argv[-1]], env=env, start_new_session=True,
                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
print(f"Submitted batch job {{job}}")
'''

SRUN = '''#!{python}
"""srun inside the stand-in job: its --output/--error (with %A %a %t), then the command."""
import os, sys
args, files = sys.argv[1:], {{}}
while args[0].startswith("--"):
    option = args.pop(0)
    if option in ("--output", "--error"):
        files[option] = (args.pop(0).replace("%A", os.environ["SLURM_ARRAY_JOB_ID"])
                         .replace("%a", os.environ["SLURM_ARRAY_TASK_ID"]).replace("%t", "0"))
for option, fd in (("--output", 1), ("--error", 2)):
    os.dup2(os.open(files[option], os.O_WRONLY | os.O_CREAT | os.O_APPEND), fd)
os.execvp(args[0], args)
'''

SACCT = '''#!/bin/sh
# sacct that knows no job yet: submitit then goes by the result files the tasks write
echo "JobID|State|NodeList"
'''


def stand_in_slurm(folder: Path) -> Path:
    folder.mkdir()
    for name, text in (("sbatch", SBATCH), ("srun", SRUN), ("sacct", SACCT)):
        (folder / name).write_text(text.format(python=sys.executable))
        (folder / name).chmod(0o755)
    return folder


@pytest.mark.slow  # two papermill runs, as the tasks of one (stand-in) Slurm job array
def test_on_slurm_the_runs_are_one_array_whose_tasks_get_what_slurm_gives(tmp_path, monkeypatch, capsys):
    slurm = stand_in_slurm(tmp_path / "slurm-bin")
    monkeypatch.setenv("PATH", f"{slurm}{os.pathsep}{os.environ['PATH']}")
    monkeypatch.setenv("FAKE_SLURM_RECORD", str(tmp_path / "sbatch-scripts.txt"))
    probe = str(write_env_probe(tmp_path / "env_probe.ipynb"))
    out = tmp_path / "out"
    argv = ["sweep", probe, "-p", "a", "1,2", "--slurm", "--partition", "debug", "--time", "5",
            "--cpus-per-task", "2", "--gpus-per-task", "1", "--output-dir", str(out)]
    assert cli.main(argv) == 0, capsys.readouterr()
    printed = capsys.readouterr().out
    assert ("submitted 2 of 2 runs as Slurm job array 4242 (partition debug, ≤ 5 min, 2 CPUs, 1 GPU(s) "
            "per run); waiting for it. Ctrl-C cancels it") in printed
    scripts = (tmp_path / "sbatch-scripts.txt").read_text()
    assert scripts.count("#!/bin/bash") == 1, "one sbatch: one job array"
    for line in ("--array=0-1%2", "--partition=debug", "--time=5", "--cpus-per-task=2", "--gpus-per-node=1"):
        assert f"#SBATCH {line}\n" in scripts
    columns, rows = read_csv(out / "env_probe" / "sweep.csv")
    assert [(r["a"], r["status"], r["job"]) for r in rows] == [("1", "ok", "4242_0"), ("2", "ok", "4242_1")]
    assert [(r["gpu"], r["env.CUDA_VISIBLE_DEVICES"]) for r in rows] == [("0", "0"), ("1", "1")]
    assert [r["env.OMP_NUM_THREADS"] for r in rows] == ["2", "2"]  # the kernel computes on its CPUs
    assert (out / "env_probe" / "slurm" / "4242_0_0_log.out").exists()


def test_a_job_array_that_sbatch_refuses_is_one_error_line(tmp_path, monkeypatch, capsys):
    slurm = stand_in_slurm(tmp_path / "slurm-bin")
    monkeypatch.setenv("PATH", f"{slurm}{os.pathsep}{os.environ['PATH']}")
    monkeypatch.setenv("FAKE_SLURM_RECORD", str(tmp_path / "sbatch-scripts.txt"))
    out = tmp_path / "out"
    argv = ["sweep", TINY, "-p", "a", "1,2", "--slurm", "--partition", "nope", "--output-dir", str(out)]
    assert cli.main(argv) == 2
    assert capsys.readouterr().err.strip().splitlines()[-1] == (
        "ganvae-edu: error: sbatch refused the job array: sbatch: error: invalid partition specified: "
        "nope; change the option it names (--partition, --time, ...) and repeat the command")
    assert not (out / "tiny_sweep" / "sweep.csv").exists() and not list((out / "tiny_sweep").glob("a=*"))
