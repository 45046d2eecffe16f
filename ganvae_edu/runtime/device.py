"""Where the numbers are computed and how they repeat: `resolve_device`, `seed_everything`.

* `resolve_device`: "auto" (CUDA, then MPS, then CPU), "cpu", "cuda", "cuda:N", "mps".
* `seed_everything`: one call makes a CPU run repeatable.
"""

from __future__ import annotations

import random

import torch


def resolve_device(device: str | torch.device = "auto") -> torch.device:
    """The torch.device for `device`, or a ValueError that says what to use instead."""
    if isinstance(device, torch.device):
        device = str(device)
    if not isinstance(device, str):
        raise ValueError(f"device={device!r} must be a string such as 'auto', 'cpu' or 'cuda:0'")
    name = device.strip().lower()
    if name == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        if _mps_available():
            return torch.device("mps")
        return torch.device("cpu")
    if name == "cpu":
        return torch.device("cpu")
    if name == "mps":
        if not _mps_available():
            raise ValueError(
                "device='mps' was asked for, but no Apple MPS device is available; "
                "use device='auto' or 'cpu'."
            )
        return torch.device("mps")
    if name == "cuda" or name.startswith("cuda:"):
        if not torch.cuda.is_available():
            raise ValueError(
                f"device={device!r} was asked for, but no CUDA GPU is visible; "
                "use device='auto' or 'cpu'."
            )
        if name == "cuda":
            return torch.device("cuda")
        index = name.removeprefix("cuda:")
        if not index.isdigit():
            raise ValueError(f"device={device!r}: write a GPU index as 'cuda:N', e.g. 'cuda:0'.")
        count = torch.cuda.device_count()
        if int(index) >= count:
            raise ValueError(
                f"device={device!r} was asked for, but only {count} CUDA GPU(s) are visible "
                f"(cuda:0 .. cuda:{count - 1}); use one of those or device='auto'."
            )
        return torch.device(name)
    raise ValueError(
        f"device={device!r} is not a device; use 'auto', 'cpu', 'cuda', 'cuda:N' or 'mps'."
    )


def _mps_available() -> bool:
    mps = getattr(torch.backends, "mps", None)
    return bool(mps is not None and mps.is_available())


def seed_everything(seed: int) -> torch.Generator:
    """Seed Python's, NumPy's (if installed) and torch's global generators with `seed`.

    Returns a fresh CPU `torch.Generator` seeded the same way, for code that prefers an
    explicit generator. Same seed, same machine, same thread count: same numbers on the CPU.
    (CUDA kernels may still be non-deterministic; see torch.use_deterministic_algorithms.)
    """
    random.seed(seed)
    try:
        import numpy as np

        np.random.seed(seed % 2**32)
    except ImportError:  # pragma: no cover - numpy comes with torch in practice
        pass
    torch.manual_seed(seed)
    return torch.Generator().manual_seed(seed)
