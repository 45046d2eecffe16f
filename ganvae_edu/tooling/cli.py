"""The ``ganvae-edu`` command: list, run and refresh the notebooks; write student copies;
benchmark this machine.

    ganvae-edu list
    ganvae-edu run [NOTEBOOK ...] [-p NAME VALUE]... [-f params.yaml] [--output-dir DIR]
                   [--cell-timeout SECONDS]
    ganvae-edu sweep NOTEBOOK -p NAME V1,V2,... [-p NAME2 A,B ...] [-f base.yaml] [--jobs N] [--gpus 0,1]
                     [--slurm [--cluster auto|slurm|local] [--partition P] [--time MIN]
                      [--cpus-per-task N] [--gpus-per-task N]]
                     [--output-dir DIR] [--plot METRIC]... [--cell-timeout SECONDS]
    ganvae-edu bench [--smoke] [--steps N] [--device DEV] [--data DIR]
                     [--notebooks 01,03 | --no-notebooks] [--output FILE]
    ganvae-edu notebooks [DIR] [--force]     (a working copy to edit: notebooks, student copies, params)
    ganvae-edu student [NOTEBOOK ...]
    ganvae-edu refresh [NOTEBOOK ...]        (maintainers: re-execute the committed notebooks)

Every problem found before a run (a bad file, folder or parameter) is one ``ganvae-edu: error:``
line and exit 2; a failed run ends with its ``FAILED: NAME at cell N …`` line and exit 1, an
interrupted one (Ctrl-C, SIGTERM) with the same line and exit 130.
"""

from __future__ import annotations

import argparse
import dataclasses
import difflib
import os
import signal
import sys
import tempfile
from pathlib import Path
from typing import Any

from ganvae_edu.runtime import colab, parse_cli_value
from ganvae_edu.runtime.files import write_notebook_atomic

from . import notebooks as nbs


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="ganvae-edu", description="Run the ganvae-edu notebook sequence."
    )
    sub = parser.add_subparsers(dest="command", required=True)

    sub.add_parser("list", help="the notebooks in order, with their parameters")

    run = sub.add_parser("run", help="execute notebooks with papermill (all when none named)")
    run.add_argument("notebooks", nargs="*", help="number (01 or 1), name or path")
    run.add_argument(
        "-p", "--parameter", nargs=2, action="append", default=[], metavar=("NAME", "VALUE"),
        help="override a parameter (repeatable); values are read as papermill -p reads them",
    )
    run.add_argument("-f", "--parameters-file", type=Path, help="YAML file NAME: VALUE")
    run.add_argument("--output-dir", type=Path, default=Path("runs"),
                     help="each notebook's executed copy and metrics.json go to DIR/NAME/")
    run.add_argument("--no-progress", action="store_true", help="no cell progress bar")
    _add_cell_timeout(run)

    sweep = sub.add_parser(
        "sweep", help="run one notebook over every combination of some parameters' values"
    )
    sweep.add_argument("notebook", help="number (01 or 1), name or path")
    sweep.add_argument(
        "-p", "--parameter", nargs=2, action="append", default=[], metavar=("NAME", "VALUES"),
        help="a swept parameter and its values separated by commas, e.g. -p seed 0,1,2 "
        "(repeatable: every combination runs)",
    )
    sweep.add_argument("-f", "--parameters-file", type=Path, metavar="FILE",
                       help="YAML file NAME: VALUE, fixed for every run")
    sweep.add_argument("--jobs", type=_positive_int, default=None, metavar="N",
                       help="runs at a time (default 1; with --gpus one per GPU; with --slurm as many "
                       "as Slurm starts)")
    sweep.add_argument("--gpus", metavar="0,1,...",
                       help="on this machine: each run at a time gets one of these GPUs to itself (its "
                       "kernel's CUDA_VISIBLE_DEVICES; the table's gpu column); --jobs defaults to "
                       "their number")
    sweep.add_argument("--output-dir", type=Path, default=Path("runs"), metavar="DIR",
                       help="each run goes to DIR/NAME/RUN/; the table to DIR/NAME/sweep.csv")
    sweep.add_argument(
        "--plot", action="append", default=[], metavar="METRIC",
        help="plot this metric against the first swept parameter (repeatable; default: the "
        "first ...nll_per_token metric that varies between runs, else seconds)",
    )
    _add_cell_timeout(sweep)
    array = sweep.add_argument_group("Slurm: the runs as one job array, through submitit "
                                     '(pip install "ganvae-edu[cluster]")')
    array.add_argument("--slurm", action="store_true",
                       help="submit the runs not complete yet as one job array and wait for it; logs in "
                       "DIR/NAME/slurm/; Ctrl-C cancels the array")
    array.add_argument("--cluster", choices=("auto", "slurm", "local"), default=None,
                       help="where the array runs: slurm, local (submitit's local executor, on this machine, "
                       "--jobs at a time: to try the command) or auto: slurm where sbatch is found, else "
                       "local, saying so (default auto)")
    array.add_argument("--partition", metavar="NAME", help="Slurm partition (default: the cluster's)")
    array.add_argument("--time", type=_positive_int, metavar="MINUTES",
                       help="each run's time limit (default 60 on Slurm, none with --cluster local)")
    array.add_argument("--cpus-per-task", type=_positive_int, metavar="N",
                       help="CPUs of each run (its kernel's OMP_NUM_THREADS; default: the cluster's)")
    array.add_argument("--gpus-per-task", type=_positive_int, metavar="N",
                       help="GPUs of each run, chosen by Slurm (default none)")

    bench = sub.add_parser(
        "bench", help="time notebooks, text-model training and BLEU on this machine (CPU and GPU)"
    )
    bench.add_argument("--output", type=Path, default=Path("runs/bench.json"), metavar="FILE",
                       help="the results as JSON (default %(default)s; the committed figures are "
                       "benchmarks/results/bench.json: name it to replace them)")
    bench.add_argument("--smoke", action="store_true",
                       help="tiny sizes, for CI: no notebooks unless --notebooks names some, "
                       "20 training steps, BLEU on 200 sentences")
    bench.add_argument("--steps", type=_positive_int, metavar="N",
                       help="timed training steps of each model (default 200; --smoke: 20)")
    bench.add_argument("--device", default="auto",
                       help="the GPU measured besides the CPU: auto (CUDA, then MPS, if any), "
                       "cuda, cuda:N, mps, or cpu for none (default auto)")
    bench.add_argument("--data", default=_bench_default_data(), metavar="DIR",
                       help="corpus for the text benchmarks (default %(default)s; when it does not "
                       "exist the embedded corpus 'scenes' is used and the output says so)")
    which = bench.add_mutually_exclusive_group()
    which.add_argument("--notebooks", metavar="01,03",
                       help="time these notebooks only (numbers, names or .ipynb paths, commas "
                       "between); default: all, or none with --smoke")
    which.add_argument("--no-notebooks", action="store_true",
                       help="skip the notebooks (their default runs take about 10 minutes on 2 cores)")

    work = sub.add_parser(
        "notebooks", help="write a working copy of the notebooks to edit and run (never over your edits)"
    )
    work.add_argument("folder", nargs="?", type=Path, default=Path("ganvae-notebooks"), metavar="DIR",
                      help="where (default ./%(default)s); files you have changed there are kept")
    work.add_argument("--force", action="store_true",
                      help="replace the files you have changed too (your edits are lost)")

    student = sub.add_parser("student", help="write student copies (solutions stubbed)")
    student.add_argument("notebooks", nargs="*")

    refresh = sub.add_parser(
        "refresh", help="maintainers: re-execute notebooks on their defaults, in place"
    )
    refresh.add_argument("notebooks", nargs="*")
    _add_cell_timeout(refresh)

    args = parser.parse_args(argv)
    previous = _sigterm_as_interrupt()
    try:
        if args.command == "list":
            return cmd_list()
        if args.command == "run":
            return cmd_run(args)
        if args.command == "sweep":
            return cmd_sweep(args)
        if args.command == "bench":
            return cmd_bench(args)
        if args.command == "notebooks":
            return cmd_notebooks(args)
        if args.command == "student":
            for path in _student_copies(nbs.select(args.notebooks)):
                print(f"wrote {path}")
            return 0
        if args.command == "refresh":
            return cmd_refresh(args)
    except (ValueError, OSError, nbs.FolderBusy) as e:
        print(f"ganvae-edu: error: {_one_line(e)}", file=sys.stderr)
        return 2
    except KeyboardInterrupt as e:  # outside a notebook run (those end with their FAILED: line)
        print(f"ganvae-edu: interrupted ({e.args[0] if e.args else 'Ctrl-C'})", file=sys.stderr)
        return 130
    finally:
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)
    return 1  # pragma: no cover - argparse rejects other commands


def _one_line(e: BaseException) -> str:
    """An error as one line: OSError's own wording when it has no message of ours."""
    if isinstance(e, OSError) and not isinstance(e, FileNotFoundError) and e.filename:
        return f"{e.filename}: {e.strerror}"
    text = str(e).strip() or type(e).__name__
    return " ".join(text.split())


def _add_cell_timeout(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--cell-timeout", type=_seconds, default=nbs.CELL_TIMEOUT, metavar="SECONDS",
        help="fail a run whose cell gives no result for this long (default %(default)s s; the "
        "default runs' cells take seconds; 0 for no limit, e.g. for full-size trainings)",
    )


def _seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = -1
    if not value >= 0 or value == float("inf"):
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of seconds ≥ 0 (0: no limit)")
    return value


class _Terminated(KeyboardInterrupt):
    pass


def _sigterm_as_interrupt():
    """SIGTERM (a job scheduler, ``kill``) stops a run as Ctrl-C does: the kernel is killed, the
    partial notebook kept as NAME.interrupted.ipynb, the last complete results left in place.
    Returns the previous handler (None when this is not the main thread)."""
    def handler(signum, frame):
        raise _Terminated("SIGTERM")

    try:
        return signal.signal(signal.SIGTERM, handler)
    except ValueError:  # not the main thread (a test calling main() from a thread)
        return None


def check_writable_dir(path: Path, what: str = "--output-dir") -> None:
    """Refuse, before any work, an output folder that cannot be made or written: one line each."""
    _check_can_make(Path(path), what, "a folder")


def check_writable_file(path: Path, what: str = "--output") -> None:
    """Refuse, before any work, an output file that is a folder, or whose folder cannot be made
    or written: one line each."""
    path = Path(path)
    if path.is_dir():
        raise ValueError(f"{what} {path} is a folder; name a file, e.g. {path / 'bench.json'}")
    if path.exists():
        if not os.access(path, os.W_OK):
            raise ValueError(f"{what} {path} is not writable (permission denied); choose another file")
        return
    _check_can_make(path, what, "a file")


def _check_can_make(path: Path, what: str, kind: str) -> None:
    existing = path
    while not existing.exists() and existing.parent != existing:
        existing = existing.parent
    if kind == "a folder" and existing == path and not path.is_dir():
        raise ValueError(f"{what} {path} is a file, not a folder; choose a folder")
    if existing != path and not existing.is_dir():
        raise ValueError(f"{what} {path} is under {existing}, which is a file; choose {kind} elsewhere")
    if not os.access(existing, os.W_OK | os.X_OK):
        raise ValueError(f"{what} {path}: cannot write in {existing} (permission denied); "
                         f"choose {kind} where you can write")


def cmd_list() -> int:
    for nb in nbs.catalog():
        print(f"{nb.number}  {nb.stem}  —  {nb.title}")
        for name, p in nb.parameters.items():
            help_ = f"  # {p['help']}" if p.get("help") else ""
            type_ = f": {p['type']}" if p.get("type") else ""
            print(f"      {name}{type_} = {p['default']}{help_}")
    return 0


def collect_parameters(pairs: list[list[str]], file: Path | None) -> dict[str, Any]:
    """-f file first, then each -p on top of it."""
    params: dict[str, Any] = {}
    if file is not None:
        params.update(read_parameters_file(file))
    for name, value in pairs:
        params[name] = parse_cli_value(value)
    return params


def read_parameters_file(file: Path) -> dict[str, Any]:
    """The mapping NAME: VALUE of a YAML parameters file; every problem is one line naming it."""
    import yaml

    if not file.exists():
        raise FileNotFoundError(f"parameters file {file} does not exist")
    if file.is_dir():
        raise ValueError(f"parameters file {file} is a folder; give a YAML file (NAME: VALUE a line)")
    try:
        text = file.read_text(encoding="utf-8")
    except UnicodeDecodeError as e:
        raise ValueError(f"parameters file {file} is not UTF-8 text ({e.reason}); save it as UTF-8") from None
    try:
        loaded = yaml.safe_load(text)
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        where = f", line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = getattr(e, "problem", None) or str(e).splitlines()[0]
        raise ValueError(f"parameters file {file}{where} is not valid YAML ({problem}); write one "
                         "NAME: VALUE a line, e.g. steps: 500") from None
    if loaded is None:
        return {}
    if not isinstance(loaded, dict):
        raise ValueError(f"parameters file {file} must hold a mapping NAME: VALUE, one a line, "
                         f"not {_a_kind(loaded)}")
    bad = [k for k in loaded if not isinstance(k, str)]
    if bad:
        raise ValueError(f"parameters file {file}: {bad[0]!r} is not a parameter name")
    return loaded


def _a_kind(value: Any) -> str:
    return {list: "a list", str: "a single string"}.get(type(value), f"a {type(value).__name__}")


def split_parameters(
    chosen: list[nbs.Notebook], params: dict[str, Any]
) -> dict[str, dict[str, Any]]:
    """Each notebook gets the parameters it declares; a name no chosen notebook has is an error."""
    known = {name for nb in chosen for name in nb.parameters}
    for name, value in params.items():
        if name not in known:
            close = difflib.get_close_matches(name, sorted(known), n=1)
            hint = f"did you mean {close[0]!r}? " if close else ""
            where = ", ".join(nb.stem for nb in chosen)
            raise ValueError(
                f"unknown parameter {name!r} (= {value!r}) for {where}; {hint}"
                f"known parameters: {', '.join(sorted(known))}"
            )
    return {nb.stem: {k: v for k, v in params.items() if k in nb.parameters} for nb in chosen}


def cmd_run(args: argparse.Namespace) -> int:
    chosen = nbs.select(args.notebooks)
    per_nb = split_parameters(chosen, collect_parameters(args.parameter, args.parameters_file))
    check_writable_dir(args.output_dir)
    results: list[nbs.RunResult] = []
    for i, nb in enumerate(chosen, 1):
        out = args.output_dir / nb.stem
        shown = " ".join(f"{k}={v!r}" for k, v in per_nb[nb.stem].items())
        print(f"[{i}/{len(chosen)}] {nb.stem} {shown}".rstrip(), flush=True)
        params = {"output_dir": str(out.resolve()), **per_nb[nb.stem]}
        res = nbs.execute(nb, params, out, progress_bar=not args.no_progress,
                          cell_timeout=args.cell_timeout)
        results.append(res)
        if res.error:
            break
    print_summary(results)
    for r in results:
        for line in r.warnings:
            print(f"WARNING: {r.notebook.stem} {line}", file=sys.stderr)
    failed = [r for r in results if r.error]
    if failed:
        r = failed[0]
        skipped = [nb.stem for nb in chosen[len(results):]]
        print(f"FAILED: {r.notebook.stem} at {r.error}", file=sys.stderr)
        print(f"        executed notebook: {r.output}", file=sys.stderr)
        if (r.output.parent / "metrics.json").is_file():
            print(f"        kept: the last complete run's {r.output.parent / r.notebook.path.name} "
                  "and metrics.json", file=sys.stderr)
        if skipped:
            print(f"        not run: {', '.join(skipped)}", file=sys.stderr)
        return 130 if r.interrupted else 1
    return 0


def _positive_int(text: str) -> int:
    if not text.isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number ≥ 1")
    return int(text)


def cmd_sweep(args: argparse.Namespace) -> int:
    from . import sweep

    array_options = [f"--{name.replace('_', '-')}" for name in
                     ("cluster", "partition", "time", "cpus_per_task", "gpus_per_task")
                     if getattr(args, name) is not None]
    if array_options and not args.slurm:
        raise ValueError(f"{array_options[0]} is an option of a --slurm sweep (a job array); add "
                         "--slurm, or leave it out")
    if args.slurm and args.gpus is not None:
        raise ValueError("--gpus hands out this machine's GPUs; with --slurm, Slurm gives each run its "
                         "GPUs: use --gpus-per-task N instead")
    gpus = sweep.parse_gpus(args.gpus) if args.gpus is not None else []
    jobs = args.jobs or len(gpus) or 1
    sweep.check_gpus(jobs, gpus)
    if args.slurm:  # refused now, before anything is written: no submitit, or --cluster slurm without Slurm
        from . import cluster

        cluster.import_submitit()
        cluster.resolve_cluster(args.cluster or "auto")
    chosen = nbs.select([args.notebook])
    if len(chosen) != 1:  # pragma: no cover - a number or stem names one notebook
        raise ValueError(f"{args.notebook!r} names {len(chosen)} notebooks; a sweep runs one")
    nb = chosen[0]
    if not args.parameter:
        raise ValueError("a sweep needs at least one -p NAME V1,V2,... (for one run, use run)")
    axes: dict[str, list[Any]] = {}
    for name, text in args.parameter:
        if name in axes:
            raise ValueError(f"-p {name} is given twice; list all its values in one -p {name} A,B")
        axes[name] = sweep.parse_values(name, text)
    base = collect_parameters([], args.parameters_file)
    split_parameters([nb], {**base, **axes})  # every name must be one the notebook declares
    if "output_dir" not in nb.parameters:
        raise ValueError(f"{nb.stem} has no output_dir parameter, so its metrics.json cannot be found")
    check_writable_dir(args.output_dir)
    sweep_dir = args.output_dir / nb.stem
    runs = sweep.plan(axes, base, sweep_dir)
    sweep.claim(sweep_dir, nb, axes, base)  # the folder belongs to one base and one set of axes
    sizes = " × ".join(str(len(v)) for v in axes.values())
    print(f"sweep {nb.stem}: {len(runs)} runs ({sizes}) -> {sweep_dir}/", flush=True)

    def log(line: str) -> None:
        print(line, flush=True)

    if args.slurm:
        options = cluster.ArrayOptions(args.cluster or "auto", args.partition, args.time,
                                       args.cpus_per_task, args.gpus_per_task, args.jobs)
        outcomes = cluster.run_array(nb, runs, options, log=log, cell_timeout=args.cell_timeout)
    else:
        outcomes = sweep.run_all(nb, runs, jobs=jobs, log=log, cell_timeout=args.cell_timeout, gpus=gpus)
    columns, rows = sweep.table(outcomes)
    print(f"wrote {sweep.write_csv(columns, rows, sweep_dir / sweep.CSV_FILE)}")
    plotted = args.plot or [m for m in [sweep.default_metric(columns, rows)] if m]
    numeric = [m for m in plotted if any(sweep.is_number(r.get(m)) for r in rows)]
    for m in sorted(set(plotted) - set(numeric)):
        print(f"not plotted: no run has a number for {m!r}", file=sys.stderr)
    if numeric:
        print(f"wrote {sweep.write_plot(rows, list(axes), numeric, sweep_dir / sweep.PLOT_FILE)}")
    failed = [out for out in outcomes if not out.ok]
    done = sum(out.status == "ok" for out in outcomes)
    skipped = sum(out.status == "skipped" for out in outcomes)
    stopped = sum(out.status == "interrupted" for out in outcomes)
    print(f"\nSummary: {done} ran ok, {skipped} skipped (complete), {len(failed) - stopped} failed"
          + (f", {stopped} interrupted or not run" if stopped else ""))
    for out in outcomes:
        shown = " ".join(f"{k}={v!r}" for k, v in out.run.swept.items())
        for line in out.warnings:
            print(f"WARNING: {shown} {line}", file=sys.stderr)
    for out in failed:
        shown = " ".join(f"{k}={v!r}" for k, v in out.run.swept.items())
        print(f"FAILED: {shown} at {out.error}", file=sys.stderr)
        if out.output:
            print(f"        executed notebook: {out.output}", file=sys.stderr)
    if stopped:
        print("        repeat the command to finish the sweep: complete runs are skipped", file=sys.stderr)
        return 130
    return 1 if failed else 0


def _bench_default_data() -> str:
    from .bench import DEFAULT_DATA

    return DEFAULT_DATA


def cmd_bench(args: argparse.Namespace) -> int:
    from ganvae_edu.runtime import write_json_atomic

    from . import bench

    check_writable_file(args.output)  # before minutes of measuring, not after
    sizes = bench.SMOKE if args.smoke else bench.FULL
    if args.steps is not None:
        sizes = dataclasses.replace(sizes, steps=args.steps)
    if args.no_notebooks or (args.smoke and args.notebooks is None):
        chosen: list[nbs.Notebook] = []
    else:
        names = [n.strip() for n in (args.notebooks or "").split(",") if n.strip()]
        if args.notebooks is not None and not names:
            raise ValueError(f"--notebooks {args.notebooks!r} names no notebook; e.g. --notebooks 01,03")
        chosen = nbs.select(names)  # a typo stops here, before anything is timed

    def log(line: str) -> None:
        print(line, flush=True)

    report = bench.run_benchmarks(data=args.data, sizes=sizes, device=args.device,
                                  notebooks=chosen, smoke=args.smoke, log=log)
    path = write_json_atomic(report, args.output)
    print()
    print(bench.format_report(report))
    print(f"\nwrote {path}")
    found = bench.problems(report)
    for line in found:
        print(f"FAILED: {line}", file=sys.stderr)
    return 1 if found else 0


def _fmt(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)


def print_summary(results: list[nbs.RunResult]) -> None:
    print("\nSummary")
    for r in results:
        status = "FAILED" if r.error else "ok"
        print(f"  {r.notebook.stem}: {status} in {r.seconds:.1f} s -> {r.output.parent}")
        if r.metrics:
            width = max(len(k) for k in r.metrics)
            for key in sorted(r.metrics):
                print(f"      {key:<{width}}  {_fmt(r.metrics[key])}")


def cmd_notebooks(args: argparse.Namespace) -> int:
    """Write the working copy; say what was written and which of the student's files were kept."""
    from .workcopy import write_working_copy

    r = write_working_copy(args.folder, force=args.force)
    print(f"{r.folder}/: {len(r.written)} files written, {len(r.unchanged)} already up to date"
          + (f", {len(r.replaced)} of your changed files replaced (--force)" if r.replaced else ""))
    for rel in r.kept:
        print(f"  kept {r.folder / rel}: it has your changes (--force replaces it)")
    print(f"open them: jupyter lab {r.folder}   (as root add --allow-root; or: make lab in a checkout)")
    return 0


def _student_copies(chosen: list[nbs.Notebook]) -> list[Path]:
    from ganvae_edu.labs import write_student_copies

    return write_student_copies(nb.path for nb in chosen)


def cmd_refresh(args: argparse.Namespace) -> int:
    """Execute each notebook on its defaults in its own folder, strip volatile metadata,
    replace the committed copy, and rewrite its student copy."""
    import nbformat

    names = args.notebooks
    for nb in nbs.select(names):
        with tempfile.TemporaryDirectory() as tmp:
            print(f"refreshing {nb.path}", flush=True)
            # Not headless: the committed copies keep their live explorers.
            res = nbs.execute(nb, {}, Path(tmp), cwd=nb.path.parent, headless=False,
                              cell_timeout=args.cell_timeout, env=nbs.RECORD_ENV)
            if res.error:
                print(f"FAILED: {nb.stem} at {res.error}; {nb.path} left as it was",
                      file=sys.stderr)
                return 130 if res.interrupted else 1
            clean = nbs.static_fallbacks(nbs.strip_volatile(nbformat.read(res.output, as_version=4)))
            clean = colab.with_colab_cells(clean, f"notebooks/{nb.path.name}")  # badge, set-up cell
            write_notebook_atomic(clean, nb.path)
            size = os.path.getsize(nb.path) / 1e6
            print(f"  {res.seconds:.1f} s, {size:.2f} MB")
    for path in _student_copies(nbs.select(names)):
        print(f"wrote {path}")
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
