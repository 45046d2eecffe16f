"""`ganvae-edu bench`, run for real at its --smoke sizes (this is the CI smoke benchmark).

The BLEU comparison is checked here against NLTK called by the test itself; the notebook
timing uses tests/fixtures/tiny_sweep.ipynb, which runs in a second.
"""

import contextlib
import io
import json
import math
from pathlib import Path

import pytest
import torch
from nltk.translate.bleu_score import SmoothingFunction, sentence_bleu

from ganvae_edu.text.data import prepare
from ganvae_edu.text.metrics import bleu
from ganvae_edu.tooling import bench, cli

TINY = str(Path(__file__).resolve().parent / "fixtures" / "tiny_sweep.ipynb")
HAS_GPU = bench.gpu_device("auto") is not None


@pytest.fixture(scope="module")
def smoke(tmp_path_factory):
    """`ganvae-edu bench --smoke` on the default data: (exit code, JSON report, printout)."""
    out = tmp_path_factory.mktemp("bench") / "x.json"
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        code = cli.main(["bench", "--smoke", "--output", str(out)])
    return code, json.loads(out.read_text()), printed.getvalue()


@pytest.mark.slow  # the smoke benchmark itself: 4 trainings and BLEU, about 35 s
def test_smoke_bench_writes_every_figure_and_prints_a_table(smoke):
    code, report, printed = smoke
    assert code == 0
    assert set(report) >= {"schema_version", "smoke", "sizes", "machine", "gpu", "gpu_note", "data",
                           "training", "bleu", "notebooks"}
    assert report["smoke"] is True and report["notebooks"] is None  # --smoke: no notebooks unless asked
    m = report["machine"]
    assert set(m) >= {"date", "platform", "python", "torch", "cpu_count", "torch_threads", "devices"}
    assert m["torch"] == torch.__version__ and m["torch_threads"] == torch.get_num_threads()
    assert m["cpu_count"] >= 1 and m["devices"]["cpu"]

    t = report["training"]
    assert t["steps"] == bench.SMOKE.steps and t["batch_size"] == 64
    assert set(t["models"]) == {"lm", "sentence_vae"}
    for per_device in t["models"].values():
        cpu = per_device["cpu"]
        assert cpu["packed_tokens_per_second"] > 0 and cpu["padded_tokens_per_second"] > 0
        assert cpu["speedup"] == pytest.approx(
            cpu["packed_tokens_per_second"] / cpu["padded_tokens_per_second"])
        assert (per_device["gpu"] is not None) == HAS_GPU

    b = report["bleu"]
    assert b["n_hypotheses"] == b["n_references"] == bench.SMOKE.bleu_sentences
    assert b["package_hypotheses_per_second"] > 0 and b["nltk"]["hypotheses_per_second"] > 0
    assert b["nltk"]["seconds_extrapolated"] > b["nltk"]["sample_seconds"] > 0

    # Default data: COCO when the shared folder is there, else the fallback, said so.
    coco_there = Path(bench.DEFAULT_DATA).exists()
    assert report["data"]["fallback"] is (not coco_there)
    assert "Training, tokens/s" in printed and "BLEU-2..5" in printed
    assert "sentence_vae" in printed and "hypotheses/s" in printed
    if HAS_GPU:
        assert report["gpu"]["device"] in printed
    else:
        assert report["gpu"] is None and "no GPU found" in printed


@pytest.mark.slow  # shares the smoke benchmark's run
def test_smoke_bench_package_bleu_equals_nltk_on_the_timed_hypotheses(smoke):
    nltk = smoke[1]["bleu"]["nltk"]
    assert nltk["equal"] and nltk["max_abs_difference"] < 1e-9
    assert len(nltk["sample_indices"]) == bench.SMOKE.nltk_sample
    for n in ("2", "3", "4", "5"):
        scores = nltk["sample_scores"][n]
        assert math.fsum(scores) / len(scores) == pytest.approx(nltk["package_sample_mean"][n], abs=1e-12)


def test_bleu_speed_agrees_with_nltk_called_here_hypothesis_by_hypothesis():
    corpus = prepare("scenes")
    hyps, refs = corpus.tokens["train"][:40], corpus.tokens["test"][:60]
    r = bench.bleu_speed(hyps, refs, nltk_sample=5, with_self_bleu=False)
    smooth = SmoothingFunction().method1

    def nltk_bleu(h, n):
        return sentence_bleu(refs, h, tuple(1.0 / n for _ in range(n)), smoothing_function=smooth)

    for n in (2, 3, 4, 5):
        # every hypothesis, not only the timed ones: the package's full result is NLTK's mean
        expected = math.fsum(nltk_bleu(h, n) for h in hyps) / len(hyps)
        assert r["scores"][str(n)] == pytest.approx(expected, abs=1e-12)
        for i, timed in zip(r["nltk"]["sample_indices"], r["nltk"]["sample_scores"][str(n)]):
            assert timed == pytest.approx(nltk_bleu(hyps[i], n), abs=1e-12)
            assert bleu([hyps[i]], refs, (n,))[n] == pytest.approx(timed, abs=1e-12)


@pytest.mark.slow  # trains, and runs a notebook through papermill
def test_a_missing_data_folder_falls_back_to_scenes_and_notebooks_are_timed(tmp_path, capsys):
    missing = tmp_path / "no_such_corpus"
    out = tmp_path / "bench.json"
    code = cli.main(["bench", "--smoke", "--steps", "3", "--data", str(missing),
                     "--notebooks", TINY, "--output", str(out)])
    printed = capsys.readouterr().out
    assert code == 0
    report = json.loads(out.read_text())
    d = report["data"]
    assert d["asked"] == str(missing) and d["used"] == "scenes" and d["fallback"] is True
    assert str(missing) in d["note"] and "scenes" in d["note"]
    assert f"NOTE: {d['note']}" in printed and "data: scenes" in printed
    assert report["training"]["steps"] == 3
    assert report["training"]["models"]["lm"]["cpu"]["packed_tokens_per_second"] > 0

    (row,) = report["notebooks"]
    assert row["notebook"] == "tiny_sweep"
    assert row["cpu"]["ok"] is True and row["cpu"]["error"] is None and row["cpu"]["seconds"] > 0
    # tiny_sweep declares no device parameter, so it is not run on a GPU
    if HAS_GPU:
        assert row["gpu"]["ok"] is None and "no device parameter" in row["gpu"]["error"]
    else:
        assert row["gpu"] is None
    assert "tiny_sweep" in printed and " ok" in printed


def test_bad_options_stop_before_anything_is_timed(tmp_path, capsys):
    out = tmp_path / "bench.json"
    assert cli.main(["bench", "--smoke", "--notebooks", "99", "--output", str(out)]) == 2
    assert "no notebook '99'" in capsys.readouterr().err
    with pytest.raises(SystemExit):  # argparse: the two options exclude each other
        cli.main(["bench", "--notebooks", "01", "--no-notebooks"])
    if not torch.cuda.is_available():
        assert cli.main(["bench", "--smoke", "--device", "cuda", "--output", str(out)]) == 2
        assert "no CUDA GPU is visible" in capsys.readouterr().err
    assert not out.exists()
