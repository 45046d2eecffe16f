"""The package's layers: each module imports only its own layer and those below it.

    runtime → formulas → training → vector → text → llm → article → evaluation → labs → ui → tooling

(lowest first). `formulas` import nothing but torch and the standard library; nothing imports the
command line. Every optimiser step and NaN/inf guard lives in `training/`: the models' steps hand
their losses to `Step.update`.
"""

import ast
import sys
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "ganvae_edu"
LAYERS = ["runtime", "formulas", "training", "vector", "text", "llm", "article", "evaluation", "labs",
          "ui", "tooling"]
MODULES = sorted(p for p in PACKAGE.rglob("*.py"))


def module_name(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports(path: Path) -> list[str]:
    """Every module `path` imports, absolute, at any depth of the file (function-level included)."""
    here = module_name(path).split(".")
    package = here if path.name == "__init__.py" else here[:-1]
    out = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            out += [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = package[: len(package) - node.level + 1] if node.level else []
            mod = ".".join([*base, *([node.module] if node.module else [])])
            out.append(mod)
            out += [f"{mod}.{a.name}" for a in node.names]  # `from pkg import module`
    return out


def layer(module: str) -> str | None:
    parts = module.split(".")
    return parts[1] if parts[0] == "ganvae_edu" and len(parts) > 1 and parts[1] in LAYERS else None


def test_every_module_belongs_to_a_layer():
    loose = [module_name(p) for p in MODULES if p.parent == PACKAGE and p.name != "__init__.py"]
    assert loose == [], f"modules outside any layer: {loose}; put each in one of {LAYERS}"


@pytest.mark.parametrize("path", MODULES, ids=module_name)
def test_no_module_imports_a_layer_above_its_own(path):
    own = layer(module_name(path))
    if own is None:  # ganvae_edu/__init__.py
        assert not [m for m in imports(path) if m.startswith("ganvae_edu")]
        return
    above = sorted({m for m in imports(path) if layer(m) and LAYERS.index(layer(m)) > LAYERS.index(own)})
    assert above == [], f"{module_name(path)} ({own}) imports {above}, from a layer above its own"
    cli = [m for m in imports(path) if m.startswith("ganvae_edu.tooling.cli")]
    assert module_name(path) == "ganvae_edu.tooling.cli" or cli == [], "nothing imports the command line"


@pytest.mark.parametrize("path", sorted((PACKAGE / "formulas").glob("*.py")), ids=module_name)
def test_formulas_import_only_torch_the_standard_library_and_each_other(path):
    allowed = set(sys.stdlib_module_names) | {"torch", "ganvae_edu"}
    foreign = sorted({m for m in imports(path) if m.split(".")[0] not in allowed
                      or (m.startswith("ganvae_edu.") and layer(m) != "formulas")})
    assert foreign == [], f"{module_name(path)} imports {foreign}"


def test_the_layer_checker_sees_a_violation():
    # an independent check of the checker: a formulas module that imported the training loop
    fake = PACKAGE / "formulas" / "gan.py"
    src = ast.parse("from ganvae_edu.training import run\n")
    names = [n.module for n in ast.walk(src) if isinstance(n, ast.ImportFrom)]
    assert layer(names[0]) == "training" and LAYERS.index("training") > LAYERS.index(layer(module_name(fake)))


OPTIMISER_CALLS = ("zero_grad(", "clip_grad_norm_(", ".step()", ".step(closure)", "raise TrainingDiverged",
                   "isfinite(loss", "isfinite(grad")
# The linear probe fits a convex softmax regression by full-batch L-BFGS: a measurement of codes,
# not a training run (no batches, schedule or checkpoints), so it calls its solver itself.
NOT_TRAINING = {"ganvae_edu.evaluation.probe"}


@pytest.mark.parametrize("path", [p for p in MODULES if "training" not in p.relative_to(PACKAGE).parts
                                  and module_name(p) not in NOT_TRAINING], ids=module_name)
def test_optimiser_steps_and_nan_guards_live_in_training_only(path):
    lines = [(i, line.strip()) for i, line in enumerate(path.read_text().splitlines(), 1)
             if any(call in line for call in OPTIMISER_CALLS)]
    assert lines == [], f"{module_name(path)}: optimiser steps / guards outside training/: {lines}"


def test_the_training_loop_holds_the_steps_and_the_guard():
    src = (PACKAGE / "training" / "loop.py").read_text()
    assert all(call in src for call in ("zero_grad(", "clip_grad_norm_(", ".step()",
                                        "raise TrainingDiverged"))
