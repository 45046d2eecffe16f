"""A sweep beyond one machine: its runs as one Slurm job array, submitted through submitit.

    ganvae-edu sweep 04 -p seed 0,1,2 --slurm --partition gpu --time 30 --gpus-per-task 1

submits the runs that are not complete yet as ONE job array, a task per run, and waits for it.
Each task runs what a run on this machine runs, `sweep.execute`: into the same folder, under the
same folder lock, checking again that the run is not complete (another sweep may have finished
it meanwhile), with the same outcome. The command then writes ``sweep.csv`` and ``sweep.png`` as
a sweep on one machine does. submitit's files, among them each task's log ``JOB_0_log.out``
and ``.err``, go to ``DIR/NAME/slurm/``, which is no run's folder.

Where the array runs is ``--cluster``: ``slurm`` needs Slurm's ``sbatch`` and ``srun``; ``local``
runs the very same tasks on this machine through submitit's local executor, ``--jobs`` at a
time (a way to try a ``--slurm`` command before taking it to the cluster); ``auto``, the
default, is ``slurm`` where Slurm is found and ``local`` elsewhere, and says so.

Ctrl-C (or SIGTERM) while the command waits cancels the tasks that have not finished, as Ctrl-C
stops the notebooks of a sweep on one machine: nothing goes on running, or waits in the queue,
behind the user's back. The table is still written, those runs marked interrupted; repeating
the command submits them again and skips the complete ones. If the command ends any other way
(the connection to the login node drops), the array goes on without it: once it has ended
(``squeue --me`` no longer lists it), repeating the command collects its runs.

submitit is an optional dependency (``pip install "ganvae-edu[cluster]"``), imported only here.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from . import notebooks as nbs
from . import sweep

CLUSTERS = ("auto", "slurm", "local")
LOG_DIR = "slurm"  # DIR/NAME/slurm/: submitit's scripts, pickles and the tasks' logs
DEFAULT_MINUTES = 60  # a Slurm task's time limit when --time is not given (submitit's own is 5)
NO_LIMIT_MINUTES = 60 * 24 * 365  # the local executor's limit when --time is not given: none, in effect
CANCEL_WAIT = 20.0  # seconds Ctrl-C waits for cancelled tasks to return their interrupted outcome


@dataclass
class ArrayOptions:
    """What the job array asks for: where it runs and, for each task (= one run), its resources."""

    cluster: str = "auto"  # auto, slurm or local
    partition: str | None = None  # None: the cluster's default partition
    minutes: int | None = None  # each task's time limit; None: DEFAULT_MINUTES on Slurm, none locally
    cpus_per_task: int | None = None  # None: the cluster's default (often 1)
    gpus_per_task: int | None = None  # None: no GPU
    at_once: int | None = None  # tasks running at a time (--jobs); None: Slurm's choice, 1 locally


def import_submitit() -> Any:
    """The submitit module, or a one-line error that says how to install it."""
    try:
        import submitit
    except ImportError:
        raise ValueError('--slurm submits through submitit, which is not installed here; install it '
                         'with: pip install "ganvae-edu[cluster]"') from None
    return submitit


def has_slurm() -> bool:
    """Slurm's commands are on the PATH: this is a cluster's login (or compute) node."""
    return all(shutil.which(command) for command in ("sbatch", "srun"))


def resolve_cluster(choice: str) -> tuple[str, str | None]:
    """('slurm' or 'local', the line to print or None) for ``--cluster choice``."""
    if choice not in CLUSTERS:
        raise ValueError(f"--cluster {choice!r} is not one of {', '.join(CLUSTERS)}")
    if choice == "slurm" and not has_slurm():
        raise ValueError("--cluster slurm: Slurm's sbatch and srun are not on this machine's PATH; "
                         "run the command on the cluster's login node, or try it here with --cluster local")
    if choice == "auto":
        if has_slurm():
            return "slurm", None
        return "local", ("no Slurm here (no sbatch and srun on the PATH): the job array runs on this "
                         "machine, through submitit's local executor")
    return choice, None


def executor_parameters(options: ArrayOptions, cluster: str, name: str) -> dict[str, Any]:
    """submitit's AutoExecutor parameters for `options`: on Slurm, the ``#SBATCH`` lines of the array.

    One task per job, so the task's GPUs are its node's (``--gpus-per-node``). The local executor
    reads the time limit and the GPUs (it gives each task GPUs 0..N-1) and ignores the rest.
    """
    local = cluster == "local"
    parameters = {
        "name": name,
        "timeout_min": options.minutes or (NO_LIMIT_MINUTES if local else DEFAULT_MINUTES),
        "cpus_per_task": options.cpus_per_task,
        "gpus_per_node": options.gpus_per_task,
        "slurm_partition": options.partition,
        "slurm_array_parallelism": options.at_once,
    }
    return {key: value for key, value in parameters.items() if value is not None}


# --------------------------------------------------------------------------- one task, on its node


def array_task(notebook: nbs.Notebook, run: sweep.Run, cell_timeout: float | None,
               minutes: int) -> sweep.Outcome:
    """What one task of the array runs: `sweep.execute`, the code path of a run on one machine.

    A stop from the cluster ends the run as Ctrl-C ends a local one (its kernel killed, the
    partial notebook kept as NAME.interrupted.ipynb, an "interrupted" outcome returned): SIGTERM
    (scancel, the sweep's Ctrl-C) and USR2, which submitit asks Slurm to send shortly before
    the time limit. The kernel computes on the task's CPUs (OMP_NUM_THREADS, unless set).
    """
    stops = {signal.SIGTERM: "the job was cancelled",
             signal.SIGUSR2: f"the time limit of --time {minutes} min is near; repeat with a longer --time"}
    for signum, why in stops.items():
        signal.signal(signum, _interrupt_with(why))
    cpus = os.environ.get("SLURM_CPUS_PER_TASK")
    if cpus and "OMP_NUM_THREADS" not in os.environ:
        os.environ["OMP_NUM_THREADS"] = cpus
    outcome = sweep.execute(notebook, run, cell_timeout)
    outcome.gpu = os.environ.get("CUDA_VISIBLE_DEVICES") or None  # what the cluster gave this task
    return outcome


def _interrupt_with(why: str) -> Callable[[int, Any], None]:
    def handler(signum: int, frame: Any) -> None:
        raise KeyboardInterrupt(why)

    return handler


# --------------------------------------------------------------------------- the array, from here


def run_array(
    notebook: nbs.Notebook,
    runs: Sequence[sweep.Run],
    options: ArrayOptions,
    log: Callable[[str], None] = print,
    cell_timeout: float | None = nbs.CELL_TIMEOUT,
    poll: float | None = None,
) -> list[sweep.Outcome]:
    """Skip the complete runs, run the others as one job array and wait; outcomes in grid order.

    On Slurm every task is submitted at once (``--jobs`` caps how many run at a time); the local
    executor has no queue, so here `run_array` starts ``--jobs`` tasks and the next as one ends.
    A task that ends without an outcome (killed, its node lost) fails its run, with its log's
    path. Ctrl-C or SIGTERM cancels the tasks not finished; see the module's docstring.
    """
    submitit = import_submitit()
    cluster, note = resolve_cluster(options.cluster)
    outcomes, todo = sweep.skip_complete(runs, log)
    if not todo:
        return [outcomes[i] for i in range(len(runs))]
    if note:
        log(note)
    folder = Path(runs[0].folder).parent / LOG_DIR
    parameters = executor_parameters(options, cluster, f"ganvae-{notebook.stem}")
    executor = submitit.AutoExecutor(folder=folder, cluster=cluster)
    executor.update_parameters(**parameters)
    minutes = parameters["timeout_min"]
    # The task reads the notebook and the run's folder wherever it starts: give it absolute paths.
    task_notebook = replace(notebook, path=Path(notebook.path).resolve())

    def task_args(i: int) -> tuple:
        return task_notebook, replace(runs[i], folder=Path(runs[i].folder).resolve()), cell_timeout, minutes

    at_once = options.at_once or (len(todo) if cluster == "slurm" else 1)
    poll = poll or (5.0 if cluster == "slurm" else 0.5)
    pending, running = list(todo), {}
    restore = sweep.share_cores(min(at_once, len(todo)), log) if cluster == "local" else (lambda: None)
    try:
        if cluster == "slurm":
            try:
                jobs = executor.map_array(array_task, *zip(*(task_args(i) for i in todo)))
            except Exception as e:  # noqa: BLE001 - sbatch said no (submitit's FailedJobError: its stderr)
                said = [line for line in str(e).splitlines() if line.strip()] or [type(e).__name__]
                raise ValueError(f"sbatch refused the job array: {said[-1].strip()}; change the option "
                                 "it names (--partition, --time, ...) and repeat the command") from None
            running, pending = dict(zip(todo, jobs)), []
            log(f"submitted {len(todo)} of {len(runs)} runs as Slurm job array {_array_id(jobs)} "
                f"({_asks(options, minutes)}); waiting for it. Ctrl-C cancels it; the tasks' logs "
                f"are in {folder}/")
        else:
            log(f"running {len(todo)} of {len(runs)} runs as local jobs, {min(at_once, len(todo))} at "
                f"a time ({_asks(options, minutes)}); their logs are in {folder}/")
            if options.gpus_per_task and min(at_once, len(todo)) > 1:
                log(f"note: the local executor gives every job GPUs 0..{options.gpus_per_task - 1}, so the "
                    "jobs at a time share them; without --slurm, --gpus gives each run GPUs of its own")
        finished = 0
        while pending or running:
            while pending and len(running) < at_once:
                i = pending.pop(0)
                with _jobs_ignore_terminal_ctrl_c():
                    running[i] = executor.submit(array_task, *task_args(i))
            ended = [i for i, job in running.items() if job.done()]
            for i in ended:
                outcomes[i] = collect(running.pop(i), runs[i])
                finished += 1
                log(sweep.progress_line(finished, len(todo), outcomes[i]))
            if not ended:
                time.sleep(poll)
    except KeyboardInterrupt as e:
        why = f"interrupted ({e.args[0] if e.args else 'Ctrl-C'})"
        if running:
            cancel(list(running.values()), cluster)
        log(f"{why}: cancelled the {len(running)} {'Slurm task(s)' if cluster == 'slurm' else 'local job(s)'}"
            f" not finished{f' and did not start {len(pending)} more' if pending else ''}; writing the "
            "table of what finished")
        deadline = time.monotonic() + CANCEL_WAIT  # let them hand back their interrupted outcomes
        while running and time.monotonic() < deadline:
            for i in [i for i, job in running.items() if job.done()]:
                outcomes[i] = collect(running.pop(i), runs[i], cancelled=why)
            time.sleep(0.2)
        for i, job in running.items():
            outcomes[i] = replace(sweep.Outcome(runs[i], "interrupted", f"cancelled: the sweep was {why}"),
                                  job=job.job_id)
        for i in pending:
            outcomes[i] = sweep.Outcome(runs[i], "interrupted", "not run: the sweep was interrupted")
    finally:
        restore()
    return [outcomes[i] for i in range(len(runs))]


def collect(job: Any, run: sweep.Run, cancelled: str | None = None) -> sweep.Outcome:
    """The outcome a finished task returned, for `run` (this side's copy); a task that ended
    without one fails its run (or, `cancelled`, was interrupted), with the path of its log."""
    try:
        outcome = job.result()
    except Exception:  # noqa: BLE001 - submitit's UncompletedJobError: killed, out of time, node lost
        status, why = ("interrupted", f"cancelled: the sweep was {cancelled}") if cancelled else (
            "failed", f"job {job.job_id} ended without a result ({job.state}); see its log "
            f"{job.paths.stderr} (and .out)")
        outcome = sweep.Outcome(run, status, why)
    return replace(outcome, run=run, job=job.job_id)


def cancel(jobs: Sequence[Any], cluster: str) -> None:
    """Stop these tasks now: on Slurm ``scancel`` (their SIGTERM, then SIGKILL), locally SIGTERM to
    each job's controller (its job id is its process id), which passes it on to the task."""
    if cluster == "slurm":
        arrays = sorted({str(job.job_id).split("_")[0] for job in jobs})
        subprocess.run(["scancel", *arrays], check=False)
        return
    for job in jobs:
        try:
            os.kill(int(job.job_id), signal.SIGTERM)
        except ProcessLookupError:  # it had just ended
            pass


@contextmanager
def _jobs_ignore_terminal_ctrl_c() -> Iterator[None]:
    """Start a local job with SIGINT ignored, which it inherits: a terminal's Ctrl-C goes to the
    whole foreground process group, and would stop each job's controller with a traceback of its
    own; this process then cancels the jobs itself, cleanly (`cancel`)."""
    try:
        previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    except ValueError:  # not the main thread: no handler to swap, and no terminal Ctrl-C here
        yield
        return
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)


def _array_id(jobs: Sequence[Any]) -> str:
    return str(jobs[0].job_id).split("_")[0] if jobs else "?"


def _asks(options: ArrayOptions, minutes: int) -> str:
    """'partition gpu, ≤ 30 min, 4 CPUs and 1 GPU per run': what each task asked for."""
    parts = [f"partition {options.partition}" if options.partition else None,
             f"≤ {minutes} min" if minutes != NO_LIMIT_MINUTES else "no time limit",
             f"{options.cpus_per_task} CPUs" if options.cpus_per_task else None,
             f"{options.gpus_per_task} GPU(s)" if options.gpus_per_task else None]
    return ", ".join(p for p in parts if p) + " per run"
