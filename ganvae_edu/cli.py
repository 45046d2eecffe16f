"""The ``ganvae-edu`` command: list, run and refresh the notebooks; write student copies.

    ganvae-edu list
    ganvae-edu run [NOTEBOOK ...] [-p NAME VALUE]... [-f params.yaml] [--output-dir DIR]
    ganvae-edu student [NOTEBOOK ...]
    ganvae-edu refresh [NOTEBOOK ...]        (maintainers: re-execute the committed notebooks)
"""

from __future__ import annotations

import argparse
import difflib
import os
import sys
import tempfile
from pathlib import Path
from typing import Any

from . import notebooks as nbs
from .runtime import parse_cli_value


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

    student = sub.add_parser("student", help="write student copies (solutions stubbed)")
    student.add_argument("notebooks", nargs="*")

    refresh = sub.add_parser(
        "refresh", help="maintainers: re-execute notebooks on their defaults, in place"
    )
    refresh.add_argument("notebooks", nargs="*")

    args = parser.parse_args(argv)
    try:
        if args.command == "list":
            return cmd_list()
        if args.command == "run":
            return cmd_run(args)
        if args.command == "student":
            for path in _student_copies(nbs.select(args.notebooks)):
                print(f"wrote {path}")
            return 0
        if args.command == "refresh":
            return cmd_refresh(args.notebooks)
    except (ValueError, FileNotFoundError) as e:
        print(f"ganvae-edu: error: {e}", file=sys.stderr)
        return 2
    return 1  # pragma: no cover - argparse rejects other commands


def cmd_list() -> int:
    for nb in nbs.catalog():
        print(f"{nb.number}  {nb.stem}  —  {nb.title}")
        for name, p in nb.parameters.items():
            help_ = f"  # {p['help']}" if p.get("help") else ""
            print(f"      {name} = {p['default']}{help_}")
    return 0


def collect_parameters(pairs: list[list[str]], file: Path | None) -> dict[str, Any]:
    """-f file first, then each -p on top of it."""
    params: dict[str, Any] = {}
    if file is not None:
        import yaml

        if not file.exists():
            raise FileNotFoundError(f"parameters file {file} does not exist")
        loaded = yaml.safe_load(file.read_text(encoding="utf-8")) or {}
        if not isinstance(loaded, dict):
            raise ValueError(f"{file} must hold a mapping NAME: VALUE, not {type(loaded).__name__}")
        params.update(loaded)
    for name, value in pairs:
        params[name] = parse_cli_value(value)
    return params


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
    results: list[nbs.RunResult] = []
    for i, nb in enumerate(chosen, 1):
        out = args.output_dir / nb.stem
        shown = " ".join(f"{k}={v!r}" for k, v in per_nb[nb.stem].items())
        print(f"[{i}/{len(chosen)}] {nb.stem} {shown}".rstrip(), flush=True)
        params = {"output_dir": str(out.resolve()), **per_nb[nb.stem]}
        res = nbs.execute(nb, params, out, progress_bar=not args.no_progress)
        results.append(res)
        if res.error:
            break
    print_summary(results)
    failed = [r for r in results if r.error]
    if failed:
        r = failed[0]
        skipped = [nb.stem for nb in chosen[len(results):]]
        print(f"FAILED: {r.notebook.stem} at {r.error}", file=sys.stderr)
        print(f"        executed notebook: {r.output}", file=sys.stderr)
        if skipped:
            print(f"        not run: {', '.join(skipped)}", file=sys.stderr)
        return 1
    return 0


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


def _student_copies(chosen: list[nbs.Notebook]) -> list[Path]:
    from .labs import write_student_copies

    return write_student_copies(nb.path for nb in chosen)


def cmd_refresh(names: list[str]) -> int:
    """Execute each notebook on its defaults in its own folder, strip volatile metadata,
    replace the committed copy, and rewrite its student copy."""
    import nbformat

    for nb in nbs.select(names):
        with tempfile.TemporaryDirectory() as tmp:
            print(f"refreshing {nb.path}", flush=True)
            res = nbs.execute(nb, {}, Path(tmp), cwd=nb.path.parent)
            if res.error:
                print(f"FAILED: {nb.stem} at {res.error}; {nb.path} left as it was",
                      file=sys.stderr)
                return 1
            clean = nbs.strip_volatile(nbformat.read(res.output, as_version=4))
            nbs.write_notebook_atomic(clean, nb.path)
            size = os.path.getsize(nb.path) / 1e6
            print(f"  {res.seconds:.1f} s, {size:.2f} MB")
    for path in _student_copies(nbs.select(names)):
        print(f"wrote {path}")
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
