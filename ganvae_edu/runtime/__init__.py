"""What every notebook needs before the math: a device, seeds, checked parameters, safe files.

* `device`: `resolve_device` ("auto": CUDA, then MPS, then CPU) and `seed_everything`.
* `params`: `record_defaults` (the parameters cell's literals are the defaults and types),
  `Param` bounds, `check_parameters`, the shared specs `RUN`, `CORPUS`, `JUDGE`, `TEXT_MODEL`,
  `TEXT_GAN`, `config_from` and `parse_cli_value`.
* `files`: `atomic_write`, the one file writer (a killed run never leaves a truncated file),
  and `write_json_atomic` / `write_metrics` on it; `model_key` / `metric_key` name the
  metrics.json keys of a model sampled at a temperature.
* `progress`: tqdm bars on stdout; `headless` says whether widgets may be drawn
  (``GANVAE_HEADLESS``).
* `verdicts`: `warn` issues a `RunWarning`, repeated by ``ganvae-edu run`` and ``sweep``.
"""

from .device import resolve_device, seed_everything
from .files import atomic_write, metric_key, model_key, write_json_atomic, write_metrics
from .frontend import headless
from .params import (
    CORPUS,
    JUDGE,
    RUN,
    TEXT_GAN,
    TEXT_MODEL,
    Param,
    ParameterError,
    check_parameters,
    config_from,
    parse_cli_value,
    record_defaults,
)
from .progress import progress
from .verdicts import RunWarning, warn

__all__ = [
    "CORPUS", "JUDGE", "RUN", "TEXT_GAN", "TEXT_MODEL", "config_from", "record_defaults",
    "Param", "ParameterError", "atomic_write", "check_parameters", "metric_key", "model_key",
    "headless", "parse_cli_value", "progress", "resolve_device", "seed_everything",
    "write_json_atomic", "write_metrics", "RunWarning", "warn",
]
