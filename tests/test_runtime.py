"""Devices, seeds, parameter checks and atomic files."""

import json
import os
import signal
import subprocess
import sys
import textwrap

import pytest
import torch

from ganvae_edu.runtime import (
    Param,
    ParameterError,
    check_parameters,
    parse_cli_value,
    resolve_device,
    seed_everything,
    write_metrics,
)


def test_auto_and_cpu_devices():
    assert resolve_device("cpu") == torch.device("cpu")
    expected = "cuda" if torch.cuda.is_available() else "cpu"
    if not torch.cuda.is_available() and torch.backends.mps.is_available():
        expected = "mps"
    assert resolve_device("auto").type == expected


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the error on a machine without CUDA")
@pytest.mark.parametrize("name", ["cuda", "cuda:0", "cuda:3"])
def test_missing_cuda_is_a_clear_error(name):
    with pytest.raises(ValueError, match=rf"device='{name}' was asked for, but no CUDA GPU"):
        resolve_device(name)


def test_unknown_device_names_the_choices():
    with pytest.raises(ValueError, match="'auto', 'cpu', 'cuda', 'cuda:N' or 'mps'"):
        resolve_device("gpu")


@pytest.mark.skipif(torch.backends.mps.is_available(), reason="checks the error without MPS")
def test_missing_mps_is_a_clear_error():
    with pytest.raises(ValueError, match="no Apple MPS device"):
        resolve_device("mps")


def test_seed_everything_repeats_cpu_runs():
    def draw():
        g = seed_everything(7)
        net = torch.nn.Linear(3, 2)
        return torch.cat([net.weight.flatten(), torch.randn(4), torch.rand(3, generator=g)])

    assert torch.equal(draw(), draw())


SPEC = {
    "seed": Param(int, min=0),
    "lr": Param(float, min=0, max=1),
    "device": Param(str),
    "loss": Param(str, choices=("saturating", "nonsaturating")),
    "betas": Param(list, item=float, min=0),
}
GOOD = {"seed": 3, "lr": 1, "device": "cpu", "loss": "saturating", "betas": [0.5, 2]}


def test_check_parameters_accepts_good_values_and_ignores_kernel_names():
    ns = {**GOOD, "In": [], "Out": {}, "_i1": "x", "torch": torch, "check": check_parameters}
    assert check_parameters(ns, SPEC) == {**GOOD, "lr": 1.0}


@pytest.mark.parametrize(
    "change, message",
    [
        ({"sede": 3}, "unknown parameter 'sede' (= 3); did you mean 'seed'?"),
        ({"seed": "abc"}, "parameter seed='abc' is a str, expected an integer ≥ 0"),
        ({"seed": -1}, "parameter seed=-1 is too small, expected an integer ≥ 0"),
        ({"seed": True}, "parameter seed=True is a bool, expected an integer ≥ 0"),
        ({"lr": 2.0}, "parameter lr=2.0 is too large, expected a number in [0, 1]"),
        ({"lr": float("nan")}, "parameter lr=nan is not finite"),
        ({"loss": "hinge"}, "parameter loss='hinge' is not allowed, expected one of "),
        ({"betas": [1, -2]}, "parameter betas=[1, -2] has item -2 that is too small, expected a number ≥ 0"),
        ({"betas": []}, "parameter betas=[] is empty, expected a non-empty list of numbers"),
        ({"betas": 0.5}, "parameter betas=0.5 is a float, expected a non-empty list of numbers"),
    ],
)
def test_check_parameters_one_line_errors(change, message):
    with pytest.raises(ParameterError) as info:
        check_parameters({**GOOD, **change}, SPEC)
    assert message in str(info.value)
    assert "\n" not in str(info.value)


def test_parse_cli_value_like_papermill():
    assert parse_cli_value("3") == 3 and parse_cli_value("1e-3") == 0.001
    assert parse_cli_value("True") is True and parse_cli_value("None") is None
    assert parse_cli_value("abc") == "abc"


def test_write_metrics_is_flat_and_maps_inf_to_null(tmp_path):
    path = write_metrics({"ring8.modes": 8, "ring8.reverse_kl": float("inf")}, tmp_path)
    assert json.loads(path.read_text()) == {"ring8.modes": 8, "ring8.reverse_kl": None}
    with pytest.raises(ValueError, match="flat"):
        write_metrics({"nested": {"a": 1}}, tmp_path)
    assert json.loads(path.read_text())["ring8.modes"] == 8  # the bad call changed nothing
    assert [p.name for p in tmp_path.iterdir()] == ["metrics.json"]  # no temp file left


def test_a_killed_writer_leaves_the_old_file_whole(tmp_path):
    """Kill a process while it rewrites metrics.json over and over: the file always parses."""
    write_metrics({"a": 0}, tmp_path)
    code = textwrap.dedent(f"""
        from ganvae_edu.runtime import write_metrics
        big = {{f"k{{i}}": float(i) for i in range(20000)}}
        print("ready", flush=True)
        while True:
            write_metrics(big, {str(tmp_path)!r})
    """)
    proc = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
    assert proc.stdout.readline().strip() == "ready"
    for _ in range(20):
        os.kill(proc.pid, 0)
        data = json.loads((tmp_path / "metrics.json").read_text())
        assert "a" in data or len(data) == 20000
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    data = json.loads((tmp_path / "metrics.json").read_text())
    assert "a" in data or len(data) == 20000
