"""One entry point for text data: `load_corpus(source)` → a `datasets.DatasetDict` with a "text" column.

`source` may be

* ``"scenes"``: the embedded corpus in the project's ``data/scenes`` (with its latent factors
  ``scene`` and ``style`` as extra columns);
* a ``.txt`` file, one sentence a line, or a ``.csv`` / ``.tsv`` table with a header and a
  ``text_column``: split deterministically (seeded) into train / validation / test;
* a folder with ``train.txt``, ``valid.txt`` (or ``validation.txt``) and ``test.txt``; a missing
  validation file is carved from train (a missing test file is an error);
* any other string: a Hugging Face hub dataset name, for users who are online (its
  ``text_column`` is renamed "text"; no test here needs the network).

Local files are checked before `datasets` reads them, so a missing path, an empty file or bytes
that are not UTF-8 (the file and line are named) give an error that says what to fix.
"""

from __future__ import annotations

from pathlib import Path

DATA_DIR = Path(__file__).resolve().parents[2] / "data"


class CorpusError(ValueError):
    """A corpus source that cannot be used as given; the message says why and what to do."""


def _check_text_file(path: Path) -> None:
    if not path.is_file():
        raise FileNotFoundError(f"corpus file {path} does not exist")
    data = path.read_bytes()
    if not data.strip():
        raise CorpusError(f"corpus file {path} is empty; give a file with one sentence a line")
    for number, line in enumerate(data.split(b"\n"), 1):
        try:
            line.decode("utf-8")
        except UnicodeDecodeError as e:
            raise CorpusError(
                f"{path}, line {number}: bytes that are not UTF-8 ({e.reason} at byte {e.start}); "
                "re-encode the file as UTF-8 (e.g. iconv -t UTF-8)"
            ) from None


def _drop_blank(ds):
    return ds.filter(lambda row: bool(row["text"] and row["text"].strip()))


def _select_text(ds, text_column: str, name: str):
    """Keep only `text_column`, renamed "text", or say which columns there are."""
    columns = next(iter(ds.values())).column_names
    if text_column not in columns:
        raise CorpusError(
            f"{name} has no column {text_column!r}; its columns are {columns}; "
            "pass text_column=... (papermill: -p text_column NAME)"
        )
    if text_column != "text":
        ds = ds.rename_column(text_column, "text")
    return _drop_blank(ds.select_columns(["text"]))


def _split_train(ds, fraction: float, seed: int, name: str):
    """Carve `fraction` of ds["train"] out as split `name`, deterministically."""
    parts = ds["train"].train_test_split(test_size=fraction, seed=seed, shuffle=True)
    ds["train"], ds[name] = parts["train"], parts["test"]
    return ds


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
        folder = DATA_DIR / "scenes"
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
    # Hub names look like "name" or "owner/name"; anything else path-like is a local path.
    looks_local = (path.exists() or path.suffix in (".txt", ".tsv", ".csv")
                   or text.startswith((".", "/", "~")) or text.count("/") > 1)
    if looks_local and not path.exists():
        raise FileNotFoundError(
            f"corpus path {path} does not exist; give 'scenes', a .txt file (one sentence a line), "
            "a folder with train.txt / valid.txt / test.txt, or a hub dataset name"
        )
    if path.is_file():
        _check_text_file(path)
        if path.suffix in (".csv", ".tsv"):  # a table with a header row and a text column
            table = datasets.load_dataset("csv", data_files={"train": str(path)},
                                          delimiter="\t" if path.suffix == ".tsv" else ",")
            ds = _select_text(table, text_column, str(path))
        else:
            ds = _drop_blank(datasets.load_dataset("text", data_files={"train": str(path)}))
        if len(ds["train"]) < 3:
            raise CorpusError(f"{path} has {len(ds['train'])} sentences; at least 3 are needed to split it")
        ds = _split_train(ds, test_fraction, seed, "test")
        return _split_train(ds, valid_fraction / (1 - test_fraction), seed + 1, "validation")
    if path.is_dir():
        found = {}
        for split, names in {"train": ["train.txt"], "validation": ["valid.txt", "validation.txt"],
                             "test": ["test.txt"]}.items():
            hits = [path / n for n in names if (path / n).is_file()]
            if hits:
                found[split] = hits[0]
        for required in ("train", "test"):
            if required not in found:
                raise FileNotFoundError(f"corpus folder {path} has no {required}.txt")
        for file in found.values():
            _check_text_file(file)
        ds = _drop_blank(datasets.load_dataset("text", data_files={k: str(v) for k, v in found.items()}))
        if "validation" not in ds:
            ds = _split_train(ds, valid_fraction, seed, "validation")
        return ds

    # A hub dataset, for users who are online.
    try:
        ds = datasets.load_dataset(text)
    except Exception as e:  # offline, misspelt, private: say which and what to do
        raise CorpusError(
            f"could not load hub dataset {text!r} ({type(e).__name__}: {e}). Offline "
            "(HF_HUB_OFFLINE=1) only 'scenes' and local files work; check the name otherwise"
        ) from None
    ds = _select_text(ds, text_column, text)
    if "validation" not in ds and "valid" in ds:
        ds["validation"] = ds.pop("valid")
    if "test" not in ds:
        ds = _split_train(ds, test_fraction, seed, "test")
    if "validation" not in ds:
        ds = _split_train(ds, valid_fraction / (1 - test_fraction), seed + 1, "validation")
    return ds
