"""One entry point for text data: `load_corpus(source)` → a `datasets.DatasetDict` with a "text" column.

`source` may be

* ``"scenes"``: the embedded corpus in the project's ``data/scenes``, which an installed package
  carries as ``ganvae_edu/_data/scenes`` (`runtime.resources`), with its latent factors
  ``scene`` and ``style`` as extra columns;
* a ``.txt`` file, one sentence a line, or a ``.csv`` / ``.tsv`` table with a header and a
  ``text_column``: split deterministically (seeded) into train / validation / test;
* a folder with ``train.txt``, ``valid.txt`` (or ``validation.txt`` or ``dev.txt``) and
  ``test.txt``; a missing validation file is carved from train (a missing test file is an error);
* any other string: a Hugging Face hub dataset name, for users who are online (its
  ``text_column`` is renamed "text"; no test here needs the network).

Local files are checked before `datasets` reads them, so a missing path, an empty file or bytes
that are not UTF-8 (the file and line are named) give an error that says what to fix. A UTF-8
byte-order mark is dropped and Windows line endings (\\r\\n) are read as line ends.

Tables are read with the same rules by Python's `csv` module (the check) and by `datasets`:

* ``.csv``: standard CSV quoting. A field that contains a comma is put in double quotes, and a
  double quote inside such a field is doubled (``"she said ""hi"", then left"``); a quote inside
  an unquoted field is text. A quoted field must close on the line where it opens.
* ``.tsv``: no quoting (like the embedded corpus): quotes are text, so a field cannot contain a
  tab.

Every row must have as many fields as the header, whose column names must be distinct and not
empty, and no field may be longer than 131072 characters; blank lines are skipped; all fields are
read as text ("NA" or "null" stay sentences), and a ``text_column`` that holds only numbers is
refused. Files that would be misread as lines of text (.json, .jsonl, .parquet, compressed
files) are refused with what to do instead. Any other error while `datasets` reads a local file
is shown in one line with the file and its underlying cause.

A `source` that does not exist is taken for a local path, not a hub name ("name" or
"owner/name"), when it starts with ".", "/" or "~", ends with a path separator, has more than one
"/", has a file suffix (.txt, .tsv, .csv, .jsonl, .json, .gz), or is "folder/name" where the
folder exists here; offline, also when it is a bare name close to an entry of the current folder
(online, such a name is tried on the hub first). The error then suggests a close existing path,
and so does a failed hub load.
"""

from __future__ import annotations

import csv
import difflib
import os
from pathlib import Path

from ganvae_edu.runtime.resources import data_dir

# How each kind of table is read: (delimiter, quoting), by the csv module and by `datasets` alike.
_TABLES = {".csv": (",", csv.QUOTE_MINIMAL), ".tsv": ("\t", csv.QUOTE_NONE)}
# The files of a corpus folder, by split; the first one present is used.
_FOLDER_FILES = {"train": ["train.txt"], "validation": ["valid.txt", "validation.txt", "dev.txt"],
                 "test": ["test.txt"]}
# File kinds that would otherwise be read as lines of text: what to do instead.
_NOT_READ = {".json": "convert it to a .tsv with a header and a text column",
             ".jsonl": "convert it to a .tsv with a header and a text column",
             ".parquet": "convert it to a .tsv with a header and a text column",
             ".gz": "decompress it first (gunzip -k FILE)", ".bz2": "decompress it first (bunzip2 -k FILE)",
             ".xz": "decompress it first (unxz -k FILE)", ".zip": "unzip it first"}
# Suffixes that mark a missing `source` as a local file rather than a hub name.
_PATH_SUFFIXES = (".txt", ".tsv", ".csv", ".jsonl", ".json", ".gz")
_CLOSE = 0.75  # difflib ratio from which a name counts as a likely misspelling of another


class CorpusError(ValueError):
    """A corpus source that cannot be used as given; the message says why and what to do."""


def _one_line(text) -> str:
    return " ".join(str(text).split())


def _close_name(folder: Path, name: str) -> str | None:
    """The entry of `folder` closest to `name` (ignoring case), if one is close enough."""
    try:
        entries = [entry.name for entry in folder.iterdir()]
    except OSError:
        return None
    if len(entries) > 10_000:  # too many to compare quickly
        return None
    by_lower = {}
    for entry in entries:
        by_lower.setdefault(entry.lower(), entry)
    hits = difflib.get_close_matches(name.lower(), list(by_lower), n=1, cutoff=_CLOSE)
    return by_lower[hits[0]] if hits else None


def _suggest(path: Path) -> Path | None:
    """An existing path close to the missing `path`, each missing part replaced by a close entry.

    Where a later part has no close entry, the corrected folder above it; None when nothing is close.
    """
    anchor = next((parent for parent in path.parents if parent.exists()), None)
    if anchor is None:
        return None
    fixed, changed = anchor, False
    for part in path.relative_to(anchor).parts:
        if (fixed / part).exists():
            fixed = fixed / part
            continue
        hit = _close_name(fixed, part)
        if hit is None:
            return fixed if changed else None
        fixed, changed = fixed / hit, True
    return fixed if changed else None


def _looks_local(text: str, path: Path, offline: bool) -> bool:
    """Whether a `source` that does not exist was meant as a local path rather than a hub name."""
    seps = tuple(s for s in (os.sep, os.altsep) if s)
    if text.startswith((".", "~", *seps)) or text.endswith(seps) or text.count("/") > 1:
        return True
    if path.suffix.lower() in _PATH_SUFFIXES:
        return True
    if any(s in text for s in seps):  # "owner/name": local when `owner` is a local folder
        return path.parent.is_dir()
    # A bare name: offline the hub cannot have it, so a close local entry means a misspelling.
    return offline and _close_name(path.parent, path.name) is not None


def _check_text_file(path: Path) -> None:
    if not path.is_file():
        raise FileNotFoundError(f"corpus file {path} does not exist")
    data = path.read_bytes()
    if not data.removeprefix(b"\xef\xbb\xbf").strip():  # a UTF-8 byte-order mark alone is empty too
        raise CorpusError(f"corpus file {path} is empty; give a file with one sentence a line")
    for number, line in enumerate(data.split(b"\n"), 1):
        try:
            line.decode("utf-8")
        except UnicodeDecodeError as e:
            raise CorpusError(
                f"{path}, line {number}: bytes that are not UTF-8 ({e.reason} at byte {e.start}); "
                "re-encode the file as UTF-8 (e.g. iconv -t UTF-8)"
            ) from None


def _is_number(value: str) -> bool:
    try:
        float(value)
    except ValueError:
        return False
    return True


def _no_column(name: str, text_column: str, columns: list[str], hint: str = "") -> str:
    return (f"{name} has no column {text_column!r}; its columns are {columns}{hint}; "
            "pass text_column=... (papermill: -p text_column NAME)")


def _check_table(path: Path, text_column: str) -> list[str]:
    """Read the table at `path` with the csv module as `datasets` will read it; return its header.

    Refuses, naming the line (1-based) and the fix: a row whose field count differs from the
    header's, a quoted field that does not close on its line, text after a closing quote, an
    empty or repeated column name, a missing `text_column` or one that holds only numbers, and a
    table without rows. Blank lines are skipped, as `datasets` (pandas) skips them.
    """
    delimiter, quoting = _TABLES[path.suffix.lower()]
    sep = "tab" if delimiter == "\t" else "comma"
    header, column, rows, first, numbers, end = None, 0, 0, None, True, 0
    with path.open(encoding="utf-8-sig", newline="") as f:
        reader = csv.reader(f, delimiter=delimiter, quoting=quoting, strict=True)
        while True:
            start = end + 1  # the line on which the next row starts
            try:
                row = next(reader, None)
            except csv.Error as e:
                if reader.line_num > start or "unexpected end of data" in str(e):
                    raise CorpusError(_unclosed_quote(path, start)) from None
                if "expected after" in str(e):
                    raise CorpusError(
                        f"{path}, line {start}: text after the closing quote of a quoted field ({e}); "
                        'a quote inside a quoted field is written twice, e.g. "she said ""hi"""'
                    ) from None
                else:  # a field longer than csv.field_size_limit() (131072 characters)
                    raise CorpusError(f"{path}, line {start}: {e}; no sentence is that long, so a line "
                                      "break is probably missing: split that line") from None
            if row is None:
                break
            end = reader.line_num
            if end > start:  # a quoted field ran on over a line break
                raise CorpusError(_unclosed_quote(path, start))
            if not row or (len(row) == 1 and not row[0].strip()):
                continue  # a blank line
            if header is None:
                _check_header(path, start, row, sep)
                header = row
                if text_column not in header:
                    other, kind = ("tabs", ".tsv") if sep == "comma" else ("commas", ".csv")
                    hint = ""
                    if len(header) == 1 and ("\t" if sep == "comma" else ",") in header[0]:
                        hint = f" (the header line contains {other}: such a table must be named {kind})"
                    raise CorpusError(_no_column(str(path), text_column, header, hint))
                column = header.index(text_column)
                continue
            if len(row) != len(header):
                raise CorpusError(_field_count(path, start, len(row), len(header), sep))
            rows += 1
            value = row[column].strip()
            if value:
                first = first or (start, row[column])
                numbers = numbers and _is_number(value)
    if header is None:
        raise CorpusError(f"corpus file {path} is empty; give a table with a header line and one row a line")
    if rows == 0:
        raise CorpusError(f"{path} has a header line but no rows below it; "
                          "add one row a line under the header")
    if first is not None and numbers:
        raise CorpusError(
            f"{path}: column {text_column!r} holds only numbers (line {first[0]}: {first[1]!r}), not "
            f"sentences; pass text_column=... with the column of sentences; its columns are {header}"
        )
    return header


def _unclosed_quote(path: Path, line: int) -> str:
    return (f"{path}, line {line}: a quoted field is not closed on the line where it opens; close the "
            'quote on that line, or write a quote that belongs to the sentence twice inside a quoted '
            'field ("she said ""hi""")')


def _check_header(path: Path, line: int, header: list[str], sep: str) -> None:
    seen = {}
    for number, name in enumerate(header, 1):
        if not name.strip():
            raise CorpusError(f"{path}, line {line}: the header's column {number} has no name; "
                              f"name it, or remove the extra {sep}")
        if name in seen:
            raise CorpusError(f"{path}, line {line}: the header names column {name!r} twice "
                              f"(columns {seen[name]} and {number}); give each column its own name")
        seen[name] = number


def _field_count(path: Path, line: int, found: int, expected: int, sep: str) -> str:
    what = f"{path}, line {line}: {found} field{'s' * (found != 1)} where the header has {expected}; "
    if found < expected:
        return what + f"add the missing field (after a {sep}, even when it is empty), or remove the line"
    if sep == "tab":
        return what + ("a .tsv is read without quoting, so a sentence cannot contain a tab: "
                       "replace the tab in the sentence with a space, or remove the extra tab")
    return what + ('a sentence that contains a comma must be in double quotes ("a, b"): '
                   "quote the field, or remove the extra comma")


def _load_local(builder: str, files: dict, name: str, **options):
    """`datasets.load_dataset(builder, ...)` on local files; its errors as one-line CorpusErrors.

    The message shows the innermost cause (a DatasetGenerationError only says that "an error
    occurred"), e.g. pandas' "Expected 2 fields in line 21, saw 3", with `name`.
    """
    import datasets

    try:
        return datasets.load_dataset(builder, data_files={k: str(v) for k, v in files.items()}, **options)
    except Exception as e:
        cause = e
        while True:
            inner = cause.__cause__ or (None if cause.__suppress_context__ else cause.__context__)
            if inner is None:
                break
            cause = inner
        raise CorpusError(
            f"{name}: datasets could not read it ({type(cause).__name__}: {_one_line(cause)})"
        ) from e


def _drop_blank(ds):
    return ds.filter(lambda row: bool(row["text"] and row["text"].strip()))


def _select_text(ds, text_column: str, name: str):
    """Keep only `text_column`, renamed "text", or say which columns there are."""
    first = next(iter(ds.values()))
    columns = first.column_names
    if text_column not in columns:
        raise CorpusError(_no_column(name, text_column, columns))
    dtype = getattr(first.features[text_column], "dtype", type(first.features[text_column]).__name__)
    if dtype not in ("string", "large_string"):
        raise CorpusError(f"{name}: column {text_column!r} holds {dtype} values, not text; pass "
                          f"text_column=... with the column of sentences; its columns are {columns}")
    ds = ds.select_columns([text_column])
    if text_column != "text":
        ds = ds.rename_column(text_column, "text")
    return _drop_blank(ds)


def _split_train(ds, fraction: float, seed: int, name: str):
    """Carve `fraction` of ds["train"] out as split `name`, deterministically."""
    parts = ds["train"].train_test_split(test_size=fraction, seed=seed, shuffle=True)
    ds["train"], ds[name] = parts["train"], parts["test"]
    return ds


def _read_folder(path: Path):
    found = {}
    for split, names in _FOLDER_FILES.items():
        for name in names:
            if (path / name).exists() and not (path / name).is_file():
                raise CorpusError(f"{path / name} is a folder, not a file; a corpus folder holds {name} "
                                  "as a file, one sentence a line")
        hits = [path / n for n in names if (path / n).is_file()]
        if hits:
            found[split] = hits[0]
    for required in ("train", "test"):
        if required not in found:
            close = _close_name(path, f"{required}.txt")
            hint = f"; it has {close}: rename it to {required}.txt" if close else ""
            if close and Path(close).suffix.lower() in _TABLES:
                hint = (f"; it has {close}, but a corpus folder holds .txt files, one sentence a line: "
                        f"give the table itself as the source, or write its sentences to {required}.txt")
            raise FileNotFoundError(f"corpus folder {path} has no {required}.txt{hint}")
    for file in found.values():
        _check_text_file(file)
    return _drop_blank(_load_local("text", found, str(path), encoding="utf-8-sig"))


def load_corpus(
    source: str | Path,
    *,
    text_column: str = "text",
    seed: int = 0,
    valid_fraction: float = 0.05,
    test_fraction: float = 0.05,
):
    """train / validation / test text from `source` (see the module docstring) as a DatasetDict."""
    import datasets

    text = str(source)
    if text == "scenes":
        folder = data_dir() / "scenes"  # the checkout's data/scenes, or the installed copy
        files = {split: folder / f"{name}.tsv"
                 for split, name in (("train", "train"), ("validation", "valid"), ("test", "test"))}
        for path in files.values():
            _check_text_file(path)
        return datasets.load_dataset(
            "csv",
            data_files={k: str(v) for k, v in files.items()},
            delimiter="\t",
            column_names=["text", "scene", "style"],
            quoting=3,  # csv.QUOTE_NONE: quotes in sentences are text
        )

    path = Path(source).expanduser()
    if not path.exists() and _looks_local(text, path, bool(datasets.config.HF_HUB_OFFLINE)):
        close = _suggest(path)
        raise FileNotFoundError(
            f"corpus path {path} does not exist{f' (did you mean {close}?)' if close else ''}; give "
            "'scenes', a .txt file (one sentence a line), a folder with train.txt / valid.txt / "
            "test.txt, or a hub dataset name"
        )
    if path.is_file():
        suffix = path.suffix.lower()
        if suffix in _NOT_READ:
            raise CorpusError(f"{path}: {suffix} files are not read; {_NOT_READ[suffix]}, or give a .txt "
                              "file (one sentence a line) or a .csv / .tsv table")
        _check_text_file(path)
        if suffix in _TABLES:  # a table with a header row and a text column
            header = _check_table(path, text_column)
            delimiter, quoting = _TABLES[suffix]
            table = _load_local(
                "csv", {"train": path}, str(path), delimiter=delimiter, quoting=quoting,
                encoding="utf-8-sig", keep_default_na=False,  # "NA", "null", ... are sentences
                features=datasets.Features({name: datasets.Value("string") for name in header}),
            )
            ds = _select_text(table, text_column, str(path))
        else:
            ds = _drop_blank(_load_local("text", {"train": path}, str(path), encoding="utf-8-sig"))
        if len(ds["train"]) < 3:
            raise CorpusError(f"{path} has {len(ds['train'])} sentences; at least 3 are needed to split it")
        ds = _split_train(ds, test_fraction, seed, "test")
        return _split_train(ds, valid_fraction / (1 - test_fraction), seed + 1, "validation")
    if path.is_dir():
        ds = _read_folder(path)
        if "validation" not in ds and len(ds["train"]) < 2:
            raise CorpusError(f"{path / 'train.txt'} has {len(ds['train'])} sentence(s); at least 2 are "
                              "needed to carve a validation split from it; add sentences, or add valid.txt")
        if "validation" not in ds:
            ds = _split_train(ds, valid_fraction, seed, "validation")
        return ds

    # A hub dataset, for users who are online.
    try:
        ds = datasets.load_dataset(text)
    except Exception as e:  # offline, misspelt, private: say which and what to do
        if difflib.SequenceMatcher(None, text.lower(), "scenes").ratio() >= _CLOSE:
            hint = "; did you mean 'scenes'?"
        else:
            close = _suggest(path)
            hint = f"; did you mean the local path {close}?" if close else ""
        raise CorpusError(
            f"could not load hub dataset {text!r} ({type(e).__name__}: {_one_line(e)}). Offline "
            f"(HF_HUB_OFFLINE=1) only 'scenes' and local files work; check the name otherwise{hint}"
        ) from None
    ds = _select_text(ds, text_column, text)
    if "validation" not in ds and "valid" in ds:
        ds["validation"] = ds.pop("valid")
    if "test" not in ds:
        ds = _split_train(ds, test_fraction, seed, "test")
    if "validation" not in ds:
        ds = _split_train(ds, valid_fraction / (1 - test_fraction), seed + 1, "validation")
    return ds
