"""What every notebook needs before the math: a device, seeds, checked parameters, safe files.

* `device`: `resolve_device` ("auto": CUDA, then MPS, then CPU) and `seed_everything`.
* `params`: `Param`, `check_parameters`, `parse_cli_value`.
* `files`: `atomic_write`, the one file writer (a killed run never leaves a truncated file),
  and `write_json_atomic` / `write_metrics` on it.
* `progress`: tqdm bars on stdout.
"""

from .device import resolve_device, seed_everything
from .files import atomic_write, write_json_atomic, write_metrics
from .params import Param, ParameterError, check_parameters, parse_cli_value
from .progress import progress

__all__ = [
    "Param", "ParameterError", "atomic_write", "check_parameters", "parse_cli_value", "progress",
    "resolve_device", "seed_everything", "write_json_atomic", "write_metrics",
]
