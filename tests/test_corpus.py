"""load_corpus: the embedded corpus, local files and folders through `datasets`, and clear errors."""

import os
import re
from pathlib import Path

import pytest

from ganvae_edu.text.corpus import CorpusError, load_corpus

COCO = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "coco_captions"


def test_offline_environment_is_set():
    # tests/conftest.py and the Makefile set these: the hub must never be needed by a test
    assert os.environ.get("HF_DATASETS_OFFLINE") == "1" and os.environ.get("HF_HUB_OFFLINE") == "1"


def test_embedded_corpus_has_three_splits_and_its_latent_factors():
    ds = load_corpus("scenes")
    assert {k: len(v) for k, v in ds.items()} == {"train": 20_000, "validation": 2_000, "test": 2_000}
    assert ds["train"].column_names == ["text", "scene", "style"]
    assert ds["test"][0]["text"].endswith(" .")


def test_single_file_is_split_deterministically(tmp_path):
    f = tmp_path / "lines.txt"
    f.write_text("".join(f"sentence number {i} .\n" for i in range(200)) + "\n\n", encoding="utf-8")
    a, b = load_corpus(f, seed=3), load_corpus(f, seed=3)
    assert {k: len(v) for k, v in a.items()} == {"train": 180, "validation": 10, "test": 10}
    assert a["test"]["text"] == b["test"]["text"]
    assert set(a["train"]["text"]).isdisjoint(a["test"]["text"])
    assert load_corpus(f, seed=4)["test"]["text"] != a["test"]["text"]


def test_folder_without_validation_carves_it_from_train(tmp_path):
    (tmp_path / "train.txt").write_text("".join(f"train {i}\n" for i in range(100)), encoding="utf-8")
    (tmp_path / "test.txt").write_text("test a\ntest b\n", encoding="utf-8")
    ds = load_corpus(tmp_path)
    assert len(ds["test"]) == 2 and len(ds["validation"]) == 5 and len(ds["train"]) == 95


@pytest.mark.skipif(not COCO.is_dir(), reason=f"reference corpus not found at {COCO}")
def test_coco_captions_folder():
    ds = load_corpus(COCO)
    assert len(ds["test"]) == 10_000 and len(ds["train"]) + len(ds["validation"]) == 10_000


def test_missing_path_names_it_and_the_choices(tmp_path):
    with pytest.raises(FileNotFoundError, match=r"corpus path .*nope\.txt does not exist; give 'scenes'"):
        load_corpus(tmp_path / "nope.txt")


def test_empty_file_is_refused(tmp_path):
    f = tmp_path / "empty.txt"
    f.write_text("\n  \n", encoding="utf-8")
    with pytest.raises(CorpusError, match="empty.txt is empty"):
        load_corpus(f)


def test_file_with_only_a_byte_order_mark_and_blank_lines_is_empty(tmp_path):
    f = tmp_path / "bom_only.txt"
    f.write_bytes(b"\xef\xbb\xbf\r\n\r\n")
    with pytest.raises(CorpusError, match="bom_only.txt is empty"):
        load_corpus(f)


def test_non_utf8_bytes_name_the_file_and_line(tmp_path):
    f = tmp_path / "latin1.txt"
    f.write_bytes("fine line\nsecond line\ncaf\xe9 au lait\n".encode("latin-1"))
    with pytest.raises(CorpusError, match=r"latin1\.txt, line 3: bytes that are not UTF-8"):
        load_corpus(f)


def test_missing_column_lists_the_columns(tmp_path):
    f = tmp_path / "table.tsv"
    f.write_text("caption\tid\n" + "".join(f"a cat {i}\t{i}\n" for i in range(30)), encoding="utf-8")
    with pytest.raises(CorpusError, match=r"has no column 'text'; its columns are \['caption', 'id'\]"):
        load_corpus(f)
    assert len(load_corpus(f, text_column="caption")["train"]) == 26  # 30 - 2 test - 2 validation


def test_unknown_hub_name_offline_says_what_works():
    with pytest.raises(CorpusError, match="only 'scenes' and local files work"):
        load_corpus("no-such-user/no-such-dataset")


# --- tables: checked with the csv module before `datasets` reads them -----------------------------


def _write(path, text):
    """Write `text` exactly as given (no newline translation), as UTF-8."""
    path.write_bytes(text.encode("utf-8"))
    return path


def _all_text(ds):
    """Every sentence of every split, sorted."""
    return sorted(t for split in ds.values() for t in split["text"])


def test_tsv_row_with_more_fields_than_the_header_is_refused(tmp_path):
    # pandas took the first column for the index and the sentences were lost without an error
    f = _write(tmp_path / "shifted.tsv",
               "text\tid\n" + "".join(f"sentence {i}\t{i}\textra\n" for i in range(300)))
    with pytest.raises(CorpusError, match=r"shifted\.tsv, line 2: 3 fields where the header has 2; "
                                          r".*remove the extra tab"):
        load_corpus(f)


def test_later_ragged_row_names_its_line_not_a_generation_error(tmp_path):
    rows = [f"sentence {i}\t{i}\n" for i in range(40)]
    rows[19] = "a sentence\twith a tab\t19\n"  # line 21 of the file
    f = _write(tmp_path / "ragged.tsv", "text\tid\n" + "".join(rows))
    with pytest.raises(CorpusError, match=r"ragged\.tsv, line 21: 3 fields where the header has 2") as e:
        load_corpus(f)
    assert "\n" not in str(e.value)


def test_row_with_fewer_fields_than_the_header_is_refused(tmp_path):
    f = _write(tmp_path / "short.csv", "text,id\n" + "".join(f"s {i},{i}\n" for i in range(9)) + "lost id\n")
    with pytest.raises(CorpusError, match=r"short\.csv, line 11: 1 field where the header has 2; add"):
        load_corpus(f)


def test_csv_quote_that_is_not_closed_names_the_line_where_it_opens(tmp_path):
    rows = [f"sentence {i},{i}\n" for i in range(30)]
    rows[5] = '"he said hi,5\n'  # line 7; the quote is never closed
    f = _write(tmp_path / "open_quote.csv", "text,id\n" + "".join(rows))
    with pytest.raises(CorpusError, match=r"open_quote\.csv, line 7: a quoted field is not closed"):
        load_corpus(f)
    f = _write(tmp_path / "last.csv", "text,id\n" + "".join(rows[:6]).rstrip("\n"))  # open at the end
    with pytest.raises(CorpusError, match=r"last\.csv, line 7: a quoted field is not closed"):
        load_corpus(f)
    rows[9] = 'she "said" so,9\n'  # a quote inside an unquoted field is text ...
    rows[12] = '"it ends here",12\n'  # ... so this closes nothing: line 7 still opens a field
    f = _write(tmp_path / "open_quote.csv", "text,id\n" + "".join(rows))
    with pytest.raises(CorpusError, match=r"open_quote\.csv, line 7: a quoted field is not closed"):
        load_corpus(f)


def test_csv_text_after_a_closing_quote_is_refused(tmp_path):
    f = _write(tmp_path / "stray.csv",
               "text,id\n" + "".join(f"s {i},{i}\n" for i in range(5)) + '"hi" she said,5\n')
    with pytest.raises(CorpusError, match=r'stray\.csv, line 7: text after the closing quote .*""'):
        load_corpus(f)


def test_overlong_field_names_its_line(tmp_path):
    f = _write(tmp_path / "long.tsv", "text\tid\n" + "".join(f"s {i}\t{i}\n" for i in range(5))
               + "word " * 30_000 + "\t5\n")
    with pytest.raises(CorpusError, match=r"long\.tsv, line 7: field larger than field limit .*split"):
        load_corpus(f)


def test_csv_quoting_is_standard_and_tsv_quotes_are_text(tmp_path):
    csv_file = _write(tmp_path / "q.csv", 'text,id\n"a cat, a dog",0\n"she said ""hi""",1\nplain,2\n')
    assert _all_text(load_corpus(csv_file)) == [
        "a cat, a dog", "plain", 'she said "hi"']
    tsv_file = _write(tmp_path / "q.tsv", 'text\tid\n"hello" he said .\t0\nshe said "hi"\t1\nplain\t2\n')
    assert _all_text(load_corpus(tsv_file)) == [
        '"hello" he said .', "plain", 'she said "hi"']


def test_blank_lines_in_a_table_are_skipped(tmp_path):
    f = _write(tmp_path / "blank.tsv", "\ntext\tid\n\n" + "".join(f"s {i}\t{i}\n  \n" for i in range(20)))
    ds = load_corpus(f)
    assert sum(len(v) for v in ds.values()) == 20


def test_table_suffix_in_capitals_is_still_a_table(tmp_path):
    f = _write(tmp_path / "LOUD.TSV", "text\tid\n" + "".join(f"s {i}\t{i}\n" for i in range(20)))
    assert _all_text(load_corpus(f)) == sorted(f"s {i}" for i in range(20))


def test_header_only_table_is_refused(tmp_path):
    f = _write(tmp_path / "header.tsv", "text\tid\n\n")
    with pytest.raises(CorpusError, match=r"header\.tsv has a header line but no rows"):
        load_corpus(f)


def test_table_with_an_empty_text_column_needs_three_sentences(tmp_path):
    f = _write(tmp_path / "no_text.tsv", "text\tid\n" + "".join(f"\t{i}\n" for i in range(10)))
    with pytest.raises(CorpusError, match=r"no_text\.tsv has 0 sentences; at least 3 are needed"):
        load_corpus(f)


def test_sentences_that_pandas_would_read_as_missing_are_kept(tmp_path):
    f = _write(tmp_path / "na.csv", "text,id\nNA,0\nnull,1\nNone,2\nnan,3\n,4\n")
    assert _all_text(load_corpus(f)) == ["NA", "None", "nan", "null"]


def test_text_column_other_than_text_when_a_text_column_exists(tmp_path):
    f = _write(tmp_path / "two.tsv", "text\tcaption\n" + "".join(f"t {i}\tc {i}\n" for i in range(20)))
    ds = load_corpus(f, text_column="caption")
    assert all(t.startswith("c ") for t in ds["train"]["text"])


def test_text_column_of_numbers_is_refused(tmp_path):
    f = _write(tmp_path / "ids.tsv", "text\tid\n" + "".join(f"s {i}\t{i}\n" for i in range(20)))
    with pytest.raises(CorpusError, match=r"ids\.tsv: column 'id' holds only numbers \(line 2: '0'\)"):
        load_corpus(f, text_column="id")


def test_hub_style_column_of_numbers_is_refused():
    import datasets

    from ganvae_edu.text.corpus import _select_text

    table = datasets.Dataset.from_dict({"label": [0, 1, 2], "s": ["a", "b", "c"]})
    ds = datasets.DatasetDict({"train": table})
    with pytest.raises(CorpusError, match=r"some/hub: column 'label' holds int64 values, not text"):
        _select_text(ds, "label", "some/hub")


def test_duplicated_header_name_is_refused(tmp_path):
    f = _write(tmp_path / "dup.tsv", "text\ttext\n" + "".join(f"a {i}\tb {i}\n" for i in range(20)))
    with pytest.raises(CorpusError, match=r"dup\.tsv, line 1: the header names column 'text' twice"):
        load_corpus(f)


def test_header_with_an_unnamed_column_is_refused(tmp_path):
    f = _write(tmp_path / "trailing.csv", "text,id,\n" + "".join(f"a {i},{i},\n" for i in range(20)))
    with pytest.raises(CorpusError, match=r"trailing\.csv, line 1: the header's column 3 has no name"):
        load_corpus(f)


def test_tab_separated_file_named_csv_says_so(tmp_path):
    f = _write(tmp_path / "tabs.csv", "text\tid\n" + "".join(f"a {i}\t{i}\n" for i in range(20)))
    with pytest.raises(CorpusError, match=r"has no column 'text'.*the header line contains tabs.*\.tsv"):
        load_corpus(f)


def test_byte_order_mark_and_windows_line_endings(tmp_path):
    txt = tmp_path / "win.txt"
    txt.write_bytes(b"\xef\xbb\xbf" + "".join(f"sentence {i}\r\n" for i in range(20)).encode())
    assert _all_text(load_corpus(txt)) == sorted(f"sentence {i}" for i in range(20))
    tsv = tmp_path / "win.tsv"
    rows = "text\tid\r\n" + "".join(f"s {i}\t{i}\r\n" for i in range(20))
    tsv.write_bytes(b"\xef\xbb\xbf" + rows.encode())
    assert _all_text(load_corpus(tsv)) == sorted(f"s {i}" for i in range(20))
    folder = tmp_path / "win"
    folder.mkdir()
    for name in ("train.txt", "test.txt"):
        (folder / name).write_bytes(b"\xef\xbb\xbf" + "".join(f"{name} {i}\r\n" for i in range(20)).encode())
    assert not [t for t in _all_text(load_corpus(folder)) if "\ufeff" in t or "\r" in t]


def test_datasets_errors_show_their_cause_in_one_line(tmp_path):
    from ganvae_edu.text.corpus import _load_local

    # a file the checks above would refuse, given straight to `datasets`
    f = _write(tmp_path / "raw.tsv", "text\tid\n" + "".join(f"s {i}\t{i}\n" for i in range(19)) + "a\tb\tc\n")
    with pytest.raises(CorpusError) as e:
        _load_local("csv", {"train": f}, str(f), delimiter="\t")
    message = str(e.value)
    assert "raw.tsv" in message and "Expected 2 fields in line 21, saw 3" in message
    assert "An error occurred while generating the dataset" not in message and "\n" not in message


def test_unsupported_file_kinds_are_refused(tmp_path):
    for name in ("lines.jsonl", "lines.txt.gz"):
        f = _write(tmp_path / name, '{"text": "a"}\n{"text": "b"}\n{"text": "c"}\n')
        with pytest.raises(CorpusError, match=rf"{name.replace('.', r'[.]')}: .* files are not read"):
            load_corpus(f)


# --- folders ----------------------------------------------------------------------------------------


def test_folder_whose_train_txt_is_a_folder(tmp_path):
    (tmp_path / "train.txt").mkdir()
    (tmp_path / "test.txt").write_text("a\nb\n", encoding="utf-8")
    with pytest.raises(CorpusError, match=r"train\.txt is a folder, not a file"):
        load_corpus(tmp_path)


def test_folder_with_a_misspelt_file_name_says_which(tmp_path):
    (tmp_path / "Train.txt").write_text("a\nb\nc\n", encoding="utf-8")
    (tmp_path / "test.txt").write_text("a\nb\n", encoding="utf-8")
    with pytest.raises(FileNotFoundError, match=r"no train\.txt; it has Train\.txt: rename it to train\.txt"):
        load_corpus(tmp_path)
    (tmp_path / "Train.txt").rename(tmp_path / "train.tsv")  # renaming a table would be wrong advice
    with pytest.raises(FileNotFoundError, match=r"it has train\.tsv, but .*give the table itself"):
        load_corpus(tmp_path)


def test_folder_with_too_few_training_sentences_to_carve_validation(tmp_path):
    (tmp_path / "train.txt").write_text("the only one\n\n", encoding="utf-8")
    (tmp_path / "test.txt").write_text("a\nb\n", encoding="utf-8")
    with pytest.raises(CorpusError, match=r"train\.txt has 1 sentence\(s\); at least 2 are needed"):
        load_corpus(tmp_path)


def test_folder_with_dev_txt_uses_it_for_validation(tmp_path):
    for name, n in (("train.txt", 50), ("dev.txt", 7), ("test.txt", 3)):
        (tmp_path / name).write_text("".join(f"{name} {i}\n" for i in range(n)), encoding="utf-8")
    assert {k: len(v) for k, v in load_corpus(tmp_path).items()} == {"train": 50, "validation": 7, "test": 3}


# --- local path or hub name --------------------------------------------------------------------------


def _corpus_folder(parent):
    folder = parent / "corpus_dir"
    folder.mkdir()
    (folder / "train.txt").write_text("a\nb\nc\n", encoding="utf-8")
    (folder / "test.txt").write_text("d\ne\n", encoding="utf-8")
    return folder


def test_misspelt_local_names_are_not_taken_for_hub_names(tmp_path, monkeypatch):
    _corpus_folder(tmp_path)
    monkeypatch.chdir(tmp_path)
    for source, suggestion in (("corpus_dri", "corpus_dir"), ("corpus_dri/", "corpus_dir"),
                               (tmp_path / "corpus_dri", tmp_path / "corpus_dir"),
                               ("corpus_dir/trian.txt", "corpus_dir/train.txt")):
        expected = rf"corpus path \S+ does not exist \(did you mean {re.escape(str(suggestion))}\?\)"
        with pytest.raises(FileNotFoundError, match=expected):
            load_corpus(source)
    for source in ("corpus_dir/nope", "missing.jsonl", "missing.txt.gz"):
        with pytest.raises(FileNotFoundError, match=r"corpus path .* does not exist; give 'scenes'"):
            load_corpus(source)


def test_hub_failure_points_at_a_close_local_path(tmp_path, monkeypatch):
    _corpus_folder(tmp_path)
    monkeypatch.chdir(tmp_path)
    with pytest.raises(CorpusError, match=r"only 'scenes' and local files work.*"
                                          r"did you mean the local path corpus_dir\?"):
        load_corpus("corpsu_dir/train")
    with pytest.raises(CorpusError, match=r"only 'scenes' and local files work.*did you mean 'scenes'\?"):
        load_corpus("secnes")
