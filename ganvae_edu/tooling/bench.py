"""How fast this machine runs the package: notebooks, text-model training, BLEU.

`ganvae-edu bench` calls `run_benchmarks` and prints `format_report`; the scripts
``benchmarks/text_speed.py`` and ``benchmarks/bleu_speed.py`` call the measuring functions
below one at a time. Read top to bottom:

1. `machine_facts`, `gpu_device`: what the figures were measured on.
2. `load_corpus_or_scenes`: COCO captions, or the embedded corpus when they are absent (said so).
3. `training_speed`, `training_speeds`: tokens/s of the language model and the sentence VAE,
   the package's way (length-sorted batches, packed sequences) against the straightforward
   way (random batches padded to the longest, every position computed, the loss masked).
4. `bleu_speed`: the package's Texygen BLEU over N hypotheses × N references against NLTK's
   ``sentence_bleu`` per hypothesis, timed on a few hypotheses and extrapolated; the scores
   on those few are compared.
5. `time_notebook`: one notebook's default run through papermill, in seconds.

Tokens are real target tokens (words and <eos>). Timings are wall-clock on a machine that may
be doing other things; compare figures from the same run.
"""

from __future__ import annotations

import math
import os
import platform
import random
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, replace
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any

import torch
from torch import nn

from ganvae_edu.runtime import resolve_device

if TYPE_CHECKING:  # for the annotations only
    from ganvae_edu.text.data import TextData
    from ganvae_edu.text.fit import StepLoss

    from .notebooks import Notebook

DEFAULT_DATA = "../shared/data/coco_captions"
ORDERS = (2, 3, 4, 5)
BATCH_SIZE = 64
SCHEMA_VERSION = 1


@dataclass(frozen=True)
class Sizes:
    """How much work each benchmark does."""

    steps: int  # timed training steps of each model and variant
    warmup: int  # untimed steps first (allocations, first-call kernel set-up)
    bleu_sentences: int  # N: hypotheses and references, each at most N
    nltk_sample: int  # hypotheses NLTK is timed on


FULL = Sizes(steps=200, warmup=3, bleu_sentences=10_000, nltk_sample=20)
SMOKE = Sizes(steps=20, warmup=2, bleu_sentences=200, nltk_sample=10)


# --------------------------------------------------------------------------- the machine


def _cpu_name() -> str:
    """The CPU model as the system names it (Linux: /proc/cpuinfo), else platform's guess."""
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.exists():
        for line in cpuinfo.read_text(errors="replace").splitlines():
            if line.lower().startswith(("model name", "hardware")) and ":" in line:
                return line.split(":", 1)[1].strip()
    return platform.processor() or platform.machine()


def device_name(device: torch.device) -> str:
    """A readable name for `device`: the GPU model, 'Apple MPS', or the CPU model."""
    if device.type == "cuda":
        return torch.cuda.get_device_name(device)
    if device.type == "mps":
        return "Apple MPS"
    return _cpu_name()


def gpu_device(device: str = "auto") -> torch.device | None:
    """The GPU to measure on besides the CPU, or None.

    "auto": the GPU `runtime.resolve_device` picks (CUDA, then MPS), None on a CPU-only
    machine; "cpu": None (no GPU measurements); "cuda", "cuda:N", "mps": that device, or
    resolve_device's ValueError when it is not there.
    """
    resolved = resolve_device(device)
    return None if resolved.type == "cpu" else resolved


def machine_facts(gpu: torch.device | None) -> dict[str, Any]:
    """Platform, Python, torch, CPU count and threads, device names, date."""
    try:
        usable = len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - macOS, Windows
        usable = os.cpu_count()
    devices = {"cpu": _cpu_name()}
    if gpu is not None:
        devices[str(gpu)] = device_name(gpu)
    return {
        "date": datetime.now(timezone.utc).astimezone().isoformat(timespec="seconds"),
        "platform": platform.platform(),
        "machine": platform.machine(),
        "python": platform.python_version(),
        "torch": torch.__version__,
        "cuda": torch.version.cuda,
        "cpu_count": os.cpu_count(),
        "cpus_usable": usable,
        "torch_threads": torch.get_num_threads(),
        "devices": devices,
    }


# --------------------------------------------------------------------------- the corpus


def load_corpus_or_scenes(data: str = DEFAULT_DATA) -> tuple[TextData, dict[str, Any]]:
    """(TextData, what was used): `data` prepared as the COCO runs prepare it (min_freq 2, max_len
    37), or the embedded corpus "scenes" when the path `data` does not exist.

    The second item is {"asked", "used", "fallback", "note"}; `note` says, when the fallback
    was taken, that the figures are on a different corpus.
    """
    from ganvae_edu.text.data import prepare

    used, note = data, None
    if data != "scenes" and not Path(data).expanduser().exists():
        used = "scenes"
        note = (
            f"{data} does not exist, so the text benchmarks ran on the embedded corpus 'scenes' "
            "instead: another vocabulary and other sentence lengths, so its figures are not "
            "comparable with COCO's; give the COCO captions folder with --data"
        )
    corpus = prepare(used, min_freq=2, max_len=37)
    info = {
        "asked": data,
        "used": used,
        "fallback": used != data,
        "note": note,
        "train_sentences": len(corpus.ids["train"]),
        "vocab_size": len(corpus.vocab),
        "mean_length": sum(map(len, corpus.tokens["train"])) / max(1, len(corpus.tokens["train"])),
    }
    return corpus, info


# --------------------------------------------------------------------------- training speed

# A model factory takes packed (True: the package's way) and returns a fresh model.
ModelFactory = Callable[[bool], nn.Module]


def coco_models(vocab_size: int) -> dict[str, tuple[ModelFactory, StepLoss]]:
    """The language model and the sentence VAE at the sizes of the documented COCO runs
    (params/03_coco.yaml, params/04_coco.yaml), each with its training loss for `train.fit`."""
    from ganvae_edu.text.lm import GRULanguageModel, lm_step_loss
    from ganvae_edu.text.sentence_vae import SentenceVAE, VAEObjective

    objective = VAEObjective(kl_schedule="linear", kl_warmup=1000, free_bits=0.2)
    return {
        "lm": (
            lambda packed: GRULanguageModel(vocab_size, emb=64, hidden=128, dropout=0.3, packed=packed),
            lm_step_loss,
        ),
        "sentence_vae": (
            lambda packed: SentenceVAE(vocab_size, emb=64, hidden=128, enc_hidden=64, latent=32,
                                       dropout=0.3, packed=packed),
            objective.step_loss,
        ),
    }


def training_speed(
    make: ModelFactory,
    step_loss: StepLoss,
    train: Sequence[Sequence[int]],
    steps: int,
    length_sorted: bool,
    device: torch.device | str = "cpu",
    warmup: int = 0,
    batch_size: int = BATCH_SIZE,
) -> float:
    """Tokens/s of `steps` Adam steps of `train.fit` (seed 0), after `warmup` untimed steps.

    length_sorted=True is the package's way: batches of similar lengths and a model built with
    packed=True. False is the baseline: random sentences padded to the longest, packed=False.
    """
    from ganvae_edu.text.fit import TrainConfig, fit

    torch.manual_seed(0)
    model = make(length_sorted).to(device)
    cfg = TrainConfig(steps=steps, batch_size=batch_size, lr=3e-3, eval_every=None,
                      checkpoint_every=None, length_sorted=length_sorted)
    if warmup > 0:
        fit(model, train, step_loss, replace(cfg, steps=warmup), show_progress=False)
    return fit(model, train, step_loss, cfg, show_progress=False).tokens_per_second


def _ratio(a: float, b: float) -> float | None:
    return a / b if b > 0 and math.isfinite(a / b) else None


def training_speeds(
    train: Sequence[Sequence[int]],
    vocab_size: int,
    steps: int,
    device: torch.device | str = "cpu",
    warmup: int = 0,
    log: Callable[[str], None] | None = None,
) -> dict[str, dict[str, float | None]]:
    """For each model of `coco_models`: {"packed_tokens_per_second", "padded_tokens_per_second",
    "speedup"} on `device` (speedup = packed / padded)."""
    out: dict[str, dict[str, float | None]] = {}
    for name, (make, step_loss) in coco_models(vocab_size).items():
        fast = training_speed(make, step_loss, train, steps, True, device, warmup)
        slow = training_speed(make, step_loss, train, steps, False, device, warmup)
        out[name] = {"packed_tokens_per_second": fast, "padded_tokens_per_second": slow,
                     "speedup": _ratio(fast, slow)}
        if log:
            log(f"  {name} on {device}: {fast:,.0f} tokens/s packed, {slow:,.0f} padded")
    return out


# --------------------------------------------------------------------------- BLEU speed


def bleu_speed(
    hypotheses: Sequence[Sequence[str]],
    references: Sequence[Sequence[str]],
    orders: Sequence[int] = ORDERS,
    nltk_sample: int = 20,
    seed: int = 0,
    with_self_bleu: bool = True,
) -> dict[str, Any]:
    """Seconds and hypotheses/s of the package's BLEU against NLTK's, and the scores compared.

    The package scores every hypothesis against all references (`text.metrics.bleu`). NLTK,
    as Texygen calls it, runs ``sentence_bleu(references, h)`` per hypothesis and order
    (smoothing method1, uniform weights); it is timed on `nltk_sample` hypotheses drawn with
    `seed` and extrapolated linearly to all of them. On those hypotheses the mean BLEU-n of
    both must agree (``max_abs_difference``, ``equal`` at 1e-9). Without NLTK installed,
    ``nltk`` is None and ``nltk_missing`` says how to get it.
    """
    from ganvae_edu.text.metrics import bleu, self_bleu

    orders = tuple(orders)
    t0 = time.perf_counter()
    ours = bleu(hypotheses, references, orders)
    t_ours = time.perf_counter() - t0
    result: dict[str, Any] = {
        "orders": list(orders),
        "n_hypotheses": len(hypotheses),
        "n_references": len(references),
        "package_seconds": t_ours,
        "package_hypotheses_per_second": len(hypotheses) / t_ours if t_ours > 0 else None,
        "scores": {str(n): ours[n] for n in orders},
        "self_bleu_seconds": None,
        "nltk": None,
    }
    if with_self_bleu:
        t0 = time.perf_counter()
        result["self_bleu"] = {str(n): s for n, s in self_bleu(hypotheses, orders).items()}
        result["self_bleu_seconds"] = time.perf_counter() - t0
    try:
        from nltk.translate.bleu_score import SmoothingFunction, sentence_bleu
    except ImportError:
        result["nltk_missing"] = "NLTK is not installed; pip install nltk to time it as well"
        return result

    k = min(nltk_sample, len(hypotheses))
    picked = sorted(random.Random(seed).sample(range(len(hypotheses)), k))
    sample = [hypotheses[i] for i in picked]
    smooth = SmoothingFunction().method1
    per_hypothesis: dict[str, list[float]] = {}
    t0 = time.perf_counter()
    for n in orders:
        weights = tuple(1.0 / n for _ in range(n))
        per_hypothesis[str(n)] = [
            sentence_bleu(references, h, weights, smoothing_function=smooth) for h in sample
        ]
    t_sample = time.perf_counter() - t0
    ours_on_sample = bleu(sample, references, orders)
    nltk_mean = {str(n): math.fsum(per_hypothesis[str(n)]) / k for n in orders}
    difference = max(abs(ours_on_sample[n] - nltk_mean[str(n)]) for n in orders)
    t_all = t_sample * len(hypotheses) / k
    result["nltk"] = {
        "sample_indices": picked,
        "sample_seconds": t_sample,
        "hypotheses_per_second": k / t_sample if t_sample > 0 else None,
        "seconds_extrapolated": t_all,
        "slower_by": _ratio(t_all, t_ours),
        "sample_scores": per_hypothesis,
        "sample_mean": nltk_mean,
        "package_sample_mean": {str(n): ours_on_sample[n] for n in orders},
        "max_abs_difference": difference,
        "equal": difference < 1e-9,
    }
    return result


def bleu_sets(corpus: TextData, n: int) -> tuple[list[list[str]], list[list[str]]]:
    """Hypotheses and references for `bleu_speed`: the first `n` training sentences (train
    then validation split, i.e. the whole train.txt of COCO) and the first `n` test sentences."""
    hypotheses = list(corpus.tokens["train"]) + list(corpus.tokens["validation"])
    return hypotheses[:n], list(corpus.tokens["test"])[:n]


# --------------------------------------------------------------------------- notebooks


def time_notebook(nb: Notebook, workdir: Path, device: str | None = None) -> dict[str, Any]:
    """Run notebook `nb` (a `notebooks.Notebook`) with papermill on its default parameters,
    its executed copy and metrics.json in `workdir`; {"seconds", "ok", "error"}.

    `device` (if given) is passed as the notebook's ``device`` parameter; a notebook that does
    not declare one is not run (``ok`` None, ``error`` says why).
    """
    from . import notebooks as nbs

    params: dict[str, Any] = {}
    if "output_dir" in nb.parameters:
        params["output_dir"] = str(Path(workdir).resolve())
    if device is not None:
        if "device" not in nb.parameters:
            return {"seconds": None, "ok": None, "error": "not run: the notebook has no device parameter"}
        params["device"] = device
    res = nbs.execute(nb, params, Path(workdir), progress_bar=False)
    if res.interrupted:  # Ctrl-C stops the whole benchmark, not just this notebook
        raise KeyboardInterrupt(res.error)
    return {"seconds": res.seconds, "ok": res.error is None, "error": res.error}


# --------------------------------------------------------------------------- all of it


def run_benchmarks(
    *,
    data: str = DEFAULT_DATA,
    sizes: Sizes = FULL,
    device: str = "auto",
    notebooks: Sequence[Notebook] = (),
    smoke: bool = False,
    log: Callable[[str], None] = print,
) -> dict[str, Any]:
    """Every benchmark, on the CPU and (when there is one) on the GPU; the report as a dict.

    `notebooks` are `notebooks.Notebook`s to time (none: the "notebooks" entry is None).
    `device` picks the GPU as `gpu_device` does ("cpu": CPU only).
    """
    gpu = gpu_device(device)
    cpu = torch.device("cpu")
    if gpu is not None:
        gpu_note = f"GPU: {device_name(gpu)} ({gpu})"
    elif device.strip().lower() == "cpu":
        gpu_note = "GPU not measured (--device cpu)"
    else:
        gpu_note = "no GPU found (torch sees neither CUDA nor MPS): CPU figures only"
    report: dict[str, Any] = {
        "schema_version": SCHEMA_VERSION,
        "smoke": smoke,
        "sizes": asdict(sizes),
        "machine": machine_facts(gpu),
        "gpu": None if gpu is None else {"device": str(gpu), "name": device_name(gpu)},
        "gpu_note": gpu_note,
    }
    log(gpu_note)

    corpus, data_info = load_corpus_or_scenes(data)
    report["data"] = data_info
    if data_info["note"]:
        log(f"NOTE: {data_info['note']}")

    log(f"training speed: {sizes.steps} steps of {BATCH_SIZE} sentences on {data_info['used']}")
    train, vocab_size = corpus.ids["train"], len(corpus.vocab)
    on_cpu = training_speeds(train, vocab_size, sizes.steps, cpu, sizes.warmup, log)
    on_gpu = training_speeds(train, vocab_size, sizes.steps, gpu, sizes.warmup, log) if gpu else None
    report["training"] = {
        "steps": sizes.steps,
        "warmup_steps": sizes.warmup,
        "batch_size": BATCH_SIZE,
        "models": {name: {"cpu": on_cpu[name], "gpu": on_gpu[name] if on_gpu else None}
                   for name in on_cpu},
    }

    hypotheses, references = bleu_sets(corpus, sizes.bleu_sentences)
    log(f"BLEU-2..5: {len(hypotheses):,} hypotheses × {len(references):,} references")
    report["bleu"] = bleu_speed(hypotheses, references, ORDERS, sizes.nltk_sample)

    if not notebooks:
        report["notebooks"] = None
        return report
    rows = []
    with tempfile.TemporaryDirectory(prefix="ganvae-bench-") as tmp:
        for i, nb in enumerate(notebooks, 1):
            row: dict[str, Any] = {"notebook": nb.stem}
            log(f"[{i}/{len(notebooks)}] {nb.stem} on cpu")
            # With a GPU present, "auto" would pick it: ask for the CPU by name.
            cpu_device = "cpu" if gpu is not None and "device" in nb.parameters else None
            row["cpu"] = time_notebook(nb, Path(tmp) / f"{nb.stem}-cpu", cpu_device)
            row["gpu"] = None
            if gpu is not None:
                log(f"[{i}/{len(notebooks)}] {nb.stem} on {gpu}")
                row["gpu"] = time_notebook(nb, Path(tmp) / f"{nb.stem}-gpu", str(gpu))
            rows.append(row)
    report["notebooks"] = rows
    return report


def problems(report: dict[str, Any]) -> list[str]:
    """What went wrong in a report: failed notebooks, BLEU scores that disagree with NLTK's."""
    found = []
    nltk = report["bleu"].get("nltk")
    if nltk is not None and not nltk["equal"]:
        found.append(f"BLEU differs from NLTK's by {nltk['max_abs_difference']:.3g} on the timed hypotheses")
    for row in report.get("notebooks") or []:
        for where in ("cpu", "gpu"):
            cell = row.get(where)
            if cell and cell["ok"] is False:
                found.append(f"{row['notebook']} failed on {where} at {cell['error']}")
    return found


# --------------------------------------------------------------------------- the printout


def _num(x: float | None, fmt: str = ",.0f") -> str:
    return "–" if x is None else format(x, fmt)


def format_report(report: dict[str, Any]) -> str:
    """The report as readable text: machine, data, tables of tokens/s, BLEU, notebooks."""
    m, gpu = report["machine"], report["gpu"]
    lines = [
        f"ganvae-edu bench{' --smoke' if report['smoke'] else ''}, {m['date']}",
        f"  {m['platform']}, Python {m['python']}, torch {m['torch']}",
        f"  CPU: {m['devices']['cpu']}, {m['cpu_count']} CPUs ({m['cpus_usable']} usable), "
        f"{m['torch_threads']} torch thread(s)",
        f"  {report['gpu_note']}",
    ]
    d = report["data"]
    lines.append(f"  data: {d['used']} ({d['train_sentences']:,} training sentences, "
                 f"vocabulary {d['vocab_size']:,})")
    if d["note"]:
        lines.append(f"  NOTE: {d['note']}")

    t = report["training"]
    devices = ["cpu"] + ([gpu["device"]] if gpu else [])
    lines += ["", f"Training, tokens/s ({t['steps']} steps of {t['batch_size']} sentences, "
                  f"after {t['warmup_steps']} untimed)",
              f"  {'model':<14}{'device':<8}{'length-sorted, packed':>23}{'random, padded':>16}"
              f"{'speed-up':>10}"]
    for name, per_device in t["models"].items():
        for dev, key in zip(devices, ("cpu", "gpu")):
            r = per_device[key]
            speedup = "–" if r["speedup"] is None else f"{r['speedup']:.2f}x"
            lines.append(f"  {name:<14}{dev:<8}{_num(r['packed_tokens_per_second']):>23}"
                         f"{_num(r['padded_tokens_per_second']):>16}{speedup:>10}")

    b = report["bleu"]
    lines += ["", f"BLEU-2..5, {b['n_hypotheses']:,} hypotheses × {b['n_references']:,} references (CPU)",
              f"  ganvae_edu  {b['package_seconds']:10.2f} s  "
              f"{_num(b['package_hypotheses_per_second']):>10} hypotheses/s   BLEU = "
              + ", ".join(f"{b['scores'][str(n)]:.3f}" for n in b["orders"])]
    nltk = b["nltk"]
    if nltk is None:
        lines.append(f"  {b.get('nltk_missing', 'NLTK not timed')}")
    else:
        k = len(nltk["sample_indices"])
        slower = "" if nltk["slower_by"] is None else f"  ({nltk['slower_by']:,.0f}x slower)"
        lines.append(f"  NLTK        {nltk['seconds_extrapolated']:10.2f} s  "
                     f"{_num(nltk['hypotheses_per_second'], ',.1f'):>10} hypotheses/s"
                     f"   extrapolated from {k}{slower}")
        verdict = "equal" if nltk["equal"] else "DIFFERENT"
        lines.append(f"  scores on the {k} timed hypotheses: {verdict} "
                     f"(largest difference {nltk['max_abs_difference']:.1e})")
    if b.get("self_bleu_seconds") is not None:
        lines.append(f"  Self-BLEU-2..5 of the hypotheses: {b['self_bleu_seconds']:.2f} s")

    rows = report["notebooks"]
    lines.append("")
    if rows is None:
        lines.append("Notebooks: not timed (all are timed without --smoke and --no-notebooks; "
                     "some with --notebooks 01,03)")
    else:
        lines.append("Notebooks, default parameters, seconds of wall time (papermill)")
        width = max(len(r["notebook"]) for r in rows) + 2
        lines.append("  " + f"{'notebook':<{width}}" + "".join(f"{dev:>16}" for dev in devices))
        for r in rows:
            cells = []
            for key in ("cpu", "gpu")[: len(devices)]:
                c = r[key]
                if c["ok"] is None:
                    cells.append("not run")
                else:
                    cells.append(f"{c['seconds']:.1f} {'ok' if c['ok'] else 'FAILED'}")
            lines.append("  " + f"{r['notebook']:<{width}}" + "".join(f"{c:>16}" for c in cells))
    return "\n".join(lines)
