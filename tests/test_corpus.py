"""load_corpus: the embedded corpus, local files and folders through `datasets`, and clear errors."""

import os
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
