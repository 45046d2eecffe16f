"""Every student copy, run top to bottom as "Run All" does, finishes and writes its metrics.json.

The copies have every solution stubbed, so each exercise must say it is not done yet, in a box,
and let the run go on. Small budgets (the figures are not the point here, the run is); a name
that a notebook does not have is left out, so the test follows the notebooks' parameters.
"""

import json

import nbformat
import pytest

from ganvae_edu.labs.student import has_solution, student_path
from ganvae_edu.tooling import notebooks

SMALL = {  # the cheapest settings that still run every cell
    "steps": 40, "batch_size": 32, "lg_steps": 40, "ring_steps": 40, "n_train": 500, "n_test": 100,
    "iwae_k": 20, "grad_samples": 500, "kl_warmup": 20, "iw_samples": 3,
    "n_eval": 100, "n_samples": 60, "pretrain_steps": 40, "gan_steps": 6, "ae_steps": 40,
    "latent_gan_steps": 40, "eval_every": 3, "adv_steps": 6, "naive_steps": 6, "vector_steps": 40,
    "quick_steps": 40, "show_progress": False,
    # notebook 08 (and the judge of 05 and 06): the LLM loads once, judges and trains a few steps
    "lm_steps": 40, "vae_steps": 20, "llm_steps": 2, "llm_batch": 4, "llm_eval": 8, "judge_samples": 8,
    "drs_proposals": 16, "rl_steps": 6,
}


@pytest.mark.slow
@pytest.mark.parametrize("nb", notebooks.catalog(), ids=lambda nb: nb.stem)
def test_student_copy_runs_top_to_bottom_and_writes_its_metrics(nb, tmp_path):
    copy = notebooks.read_notebook(student_path(nb.path))
    params = {k: v for k, v in SMALL.items() if k in copy.parameters}
    params["output_dir"] = str(tmp_path)
    res = notebooks.execute(copy, params, tmp_path, progress_bar=False, cwd=nb.path.parent)
    assert res.error is None, res.error
    metrics = json.loads((tmp_path / "metrics.json").read_text())
    assert metrics["seconds"] > 0

    ran = nbformat.read(res.output, as_version=4)
    exercises = [c for c in ran.cells if c.cell_type == "code" and "# YOUR" in c.source]
    assert len(exercises) >= 4, f"{nb.stem}: {len(exercises)} exercises; each notebook needs ≥ 4"
    for cell in exercises:
        kinds = [o.output_type for o in cell.outputs]
        assert "error" not in kinds, cell.source
        boxes = [o for o in cell.outputs if o.output_type == "display_data"
                 and "not done yet" in o.data.get("text/html", "")]
        assert boxes, f"no not-done box after:\n{cell.source}"
        assert "✓" not in json.dumps(cell.outputs, ensure_ascii=False)
    assert all(not has_solution(c.source) for c in ran.cells)
