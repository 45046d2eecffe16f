"""Devices, seeds, parameter checks and atomic files."""

import dataclasses
import json
import os
import re
import signal
import subprocess
import sys
import textwrap

import pytest
import torch
from kernel_cells import run_cells

from ganvae_edu.runtime import (
    CORPUS,
    RUN,
    TEXT_GAN,
    TEXT_MODEL,
    Param,
    ParameterError,
    check_parameters,
    config_from,
    parse_cli_value,
    resolve_device,
    seed_everything,
    write_metrics,
)
from ganvae_edu.runtime.params import defaults_from_source, type_name


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


DEFAULTS = {"seed": 0, "lr": 0.003, "device": "auto", "loss": "saturating", "betas": [0.2, 1.0],
            "widths": [3, 5], "every": None}
SPEC = {
    "seed": Param(min=0),
    "lr": Param(min=0, max=1),
    "loss": Param(choices=("saturating", "nonsaturating")),
    "betas": Param(min=0),
    "every": Param(type=int, min=1),
}
GOOD = {"seed": 3, "lr": 1, "device": "cpu", "loss": "saturating", "betas": [0.5, 2], "widths": [4],
        "every": None}


def check(namespace, spec=SPEC):
    return check_parameters(namespace, spec, defaults=DEFAULTS)


def test_check_parameters_accepts_good_values_and_ignores_kernel_names():
    ns = {**GOOD, "In": [], "Out": {}, "_i1": "x", "torch": torch, "check": check_parameters, "RUN": RUN,
          "bounds": Param(min=0)}
    got = check(ns)
    assert got == {**GOOD, "lr": 1.0, "betas": [0.5, 2.0]}
    assert type(got["lr"]) is float and [type(b) for b in got["betas"]] == [float, float]
    assert check({**GOOD, "every": 7})["every"] == 7  # None default: None or its stated type


@pytest.mark.parametrize(
    "change, message",
    [
        ({"sede": 3}, "unknown parameter 'sede' (= 3); did you mean 'seed'?"),
        ({"seed": "abc"}, "parameter seed='abc' is a str, expected an integer ≥ 0"),
        ({"seed": 2.5}, "parameter seed=2.5 is a float, expected an integer ≥ 0"),
        ({"seed": 2.0}, "parameter seed=2.0 is a float, expected an integer ≥ 0"),
        ({"seed": -1}, "parameter seed=-1 is too small, expected an integer ≥ 0"),
        ({"seed": True}, "parameter seed=True is a bool, expected an integer ≥ 0"),
        ({"seed": None}, "parameter seed=None is None, expected an integer ≥ 0"),
        ({"device": 0}, "parameter device=0 is an int, expected a string"),
        ({"lr": 2.0}, "parameter lr=2.0 is too large, expected a number in [0, 1]"),
        ({"lr": True}, "parameter lr=True is a bool, expected a number in [0, 1]"),
        ({"lr": float("nan")}, "parameter lr=nan is not finite"),
        ({"loss": "hinge"}, "parameter loss='hinge' is not allowed, expected one of "),
        ({"betas": [1, -2]}, "parameter betas=[1, -2] has item -2 that is too small, expected a number ≥ 0"),
        ({"betas": []}, "parameter betas=[] is empty, expected a non-empty list of numbers"),
        ({"betas": 0.5}, "parameter betas=0.5 is a float, expected a non-empty list of numbers"),
        ({"widths": [3, 2.5]}, "parameter widths=[3, 2.5] has item 2.5 that is a float, expected an integer"),
        ({"every": 0}, "parameter every=0 is too small, expected an integer ≥ 1, or None"),
        ({"every": 2.5}, "parameter every=2.5 is a float, expected an integer ≥ 1, or None"),
    ],
)
def test_check_parameters_one_line_errors(change, message):
    with pytest.raises(ParameterError) as info:
        check({**GOOD, **change})
    assert message in str(info.value)
    assert "\n" not in str(info.value)


@pytest.mark.parametrize(
    "spec, message",
    [
        ({"seed": Param(type=int)}, "the type comes from its default 0; state a type only for a None"),
        ({"every": Param(min=1)}, "'every' defaults to None, so its check must state its type"),
        ({"sede": Param(min=0)}, "the check names 'sede', which the parameters cell does not set"),
    ],
)
def test_a_spec_states_bounds_and_names_real_parameters(spec, message):
    with pytest.raises(ParameterError, match=re.escape(message)):
        check(GOOD, {**SPEC, **spec})


def test_an_off_value_is_allowed_outside_the_bounds():
    spec, defaults = {"judge_samples": Param(off=0, min=2, max=100)}, {"judge_samples": 32}
    for good in (0, 2, 100):
        assert check_parameters({"judge_samples": good}, spec, defaults=defaults) == {"judge_samples": good}
    for bad, why in ((1, "too small"), (101, "too large"), (-1, "too small")):
        with pytest.raises(ParameterError, match=re.escape(
                f"judge_samples={bad} is {why}, expected an integer in [2, 100], or 0 for none")):
            check_parameters({"judge_samples": bad}, spec, defaults=defaults)


def test_types_come_from_the_defaults():
    assert [type_name(v) for v in (3, 3.0, True, "a", [0.5, 1], [1, 2], ["a"], None)] == [
        "int", "float", "bool", "str", "list[float]", "list[int]", "list[str]", "None"]
    with pytest.raises(ParameterError, match="a list default must be non-empty"):
        type_name([])
    # a None default may be a list of a stated item type
    assert check_parameters({"t": [1, 2]}, {"t": Param(type=list[float], min=0)}, defaults={"t": None}) == {
        "t": [1.0, 2.0]}
    with pytest.raises(ParameterError, match="no parameter defaults on record"):
        check_parameters({"seed": 0}, {})


PARAMETERS_CELL = """\
# parameters
from ganvae_edu.runtime import record_defaults
record_defaults()  # the literals below are the defaults
seed = 0  # random seed
lr = 0.003  # learning rate
every = None  # evaluate this often (None: never)
temperatures = [0.7, 1.0]  # sampling temperatures
"""
CHECK_CELL = """\
from ganvae_edu.runtime import Param, check_parameters
params = check_parameters(globals(), {"seed": Param(min=0), "every": Param(type=int, min=1)})
"""




def test_defaults_survive_papermills_injected_cell():
    ns = run_cells(PARAMETERS_CELL, "seed = 3\nlr = 1\nevery = 50\n", CHECK_CELL)
    assert ns["__parameter_defaults__"] == {"seed": 0, "lr": 0.003, "every": None,
                                            "temperatures": [0.7, 1.0]}
    assert ns["params"] == {"seed": 3, "lr": 1.0, "every": 50, "temperatures": [0.7, 1.0]}
    with pytest.raises(ParameterError, match=r"^parameter seed=2\.5 is a float, expected an integer ≥ 0$"):
        run_cells(PARAMETERS_CELL, "seed = 2.5\n", CHECK_CELL)
    with pytest.raises(ParameterError, match=r"^unknown parameter 'sede' \(= 3\); did you mean 'seed'\?"):
        run_cells(PARAMETERS_CELL, "sede = 3\n", CHECK_CELL)


def test_defaults_must_be_literals_papermill_can_read():
    assert defaults_from_source("import x\nrecord()\na = 1\nb = -2.5  # help\nprint(a)\nc = 3\n",
                                after_line=2) == {"a": 1, "b": -2.5}
    with pytest.raises(ParameterError, match=r"default of parameter 'steps' must be a literal.*'10 \*\* 9'"):
        defaults_from_source("steps = 10**9\n")


def test_record_defaults_in_a_real_ipython_shell():
    code = textwrap.dedent(f"""
        from IPython.core.interactiveshell import InteractiveShell
        shell = InteractiveShell.instance()
        assert shell.run_cell({PARAMETERS_CELL!r}).success
        shell.run_cell("lr = 2")
        assert shell.run_cell({CHECK_CELL!r}).success
        print(shell.user_ns["params"])
        shell.run_cell("del params; seed = 0.5")
        print(shell.run_cell({CHECK_CELL!r}).error_in_exec)
    """)
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert res.returncode == 0, res.stderr
    lines = res.stdout.strip().splitlines()
    assert lines[0] == "{'seed': 0, 'lr': 2.0, 'every': None, 'temperatures': [0.7, 1.0]}"
    assert lines[-1] == "parameter seed=0.5 is a float, expected an integer ≥ 0"


def test_config_from_takes_the_fields_that_are_parameters():
    @dataclasses.dataclass
    class Config:
        steps: int = 10
        lr: float = 0.1
        clip: float = 1.0

    params = {"steps": 5, "lr": 0.5, "seed": 3}
    assert config_from(params, Config) == Config(steps=5, lr=0.5)
    assert config_from(params, Config, steps=7, clip=2.0) == Config(steps=7, lr=0.5, clip=2.0)
    with pytest.raises(TypeError, match="Config has no field 'seed'"):
        config_from(params, Config, seed=1)


def test_shared_specs_are_params():
    for spec in (RUN, CORPUS, TEXT_MODEL, TEXT_GAN):
        assert spec and all(isinstance(p, Param) and p.type is None for p in spec.values())
    assert set(RUN) == {"seed", "device", "show_progress", "output_dir"}
    assert set(CORPUS) == {"data", "text_column", "level", "max_vocab", "min_freq", "max_len"}


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
