"""The exercise mechanism: student copies are current, checkers reject stubs and accept solutions."""

import nbformat
import pytest
import torch

from ganvae_edu.labs import student_notebook, student_source
from ganvae_edu.labs.student import has_solution, student_path
from ganvae_edu.tooling import notebooks

NOTEBOOKS = [nb.path for nb in notebooks.catalog()]


def exercise_cells(path):
    nb = nbformat.read(path, as_version=4)
    return [c.source for c in nb.cells if c.cell_type == "code" and has_solution(c.source)]


def test_stub_keeps_indentation_and_code_around_it():
    src = "def f(x):\n    y = 1\n    ### BEGIN SOLUTION\n    return x + y\n    ### END SOLUTION\n\ncheck(f)"
    assert student_source(src) == (
        "def f(x):\n    y = 1\n    # YOUR CODE HERE\n    raise NotImplementedError()\n\ncheck(f)"
    )
    with pytest.raises(ValueError, match="unbalanced"):
        student_source("### BEGIN SOLUTION\nx = 1\n")


def test_a_top_level_answer_becomes_none_which_the_checker_calls_not_done(capsys):
    from ganvae_edu.labs.feedback import NotDone, answer, exercise

    src = ("### BEGIN SOLUTION\nprediction = 0.25\nchoice, why = 'b', 'lower'\n### END SOLUTION\n"
           "check(prediction)\n")
    stub = "= None  # YOUR ANSWER HERE\n"
    assert student_source(src) == f"prediction {stub}choice {stub}why {stub}check(prediction)\n"

    @exercise
    def check(value):
        answer(value, exercise="Exercise 9 (predict)")

    exec(compile(student_source(src), "stub", "exec"), {"check": check})
    assert "… Exercise 9 (predict): not done yet — replace None with your answer." in capsys.readouterr().out
    with pytest.raises(NotDone):
        check.strict(None)


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_student_copy_is_current(path):
    committed = student_path(path)
    assert committed.exists(), f"{committed} is missing; run `ganvae-edu student`"
    expected = student_notebook(nbformat.read(path, as_version=4), path.name)
    got = nbformat.read(committed, as_version=4)
    assert [c.source for c in got.cells] == [c.source for c in expected.cells], (
        f"{committed} is stale; run `ganvae-edu student {path.stem[:2]}`"
    )
    assert all(not c.get("outputs") for c in got.cells if c.cell_type == "code")


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_each_checker_accepts_the_solution_and_rejects_the_stub(path, capsys):
    cells = exercise_cells(path)
    assert len(cells) >= 4, f"{path.name} has {len(cells)} exercises; each notebook needs ≥ 4"
    for src in cells:
        exec(compile(src, f"{path.name}:solution", "exec"), {})  # must not raise
        assert "✓" in capsys.readouterr().out
        # the stub says so and lets the notebook go on: it neither raises nor passes
        exec(compile(student_source(src), f"{path.name}:stub", "exec"), {})
        out = capsys.readouterr().out
        assert "not done yet" in out and "✓" not in out, out














@pytest.mark.slow
def test_in_a_kernel_a_wrong_answer_is_one_box_with_the_message_and_run_all_goes_on():
    """What a student sees: the checker's message alone (no traceback, no reference code), then
    the next cell runs. Executed in a real kernel, as Jupyter does."""
    from nbclient import NotebookClient

    book = nbformat.v4.new_notebook()
    book.cells = [nbformat.v4.new_code_cell(s) for s in (
        "from ganvae_edu.labs import gan01 as check",
        "check.optimal_discriminator(lambda p_data, p_g: p_g / (p_data + p_g))",
        "def stub(p_data, p_g):\n    raise NotImplementedError()\ncheck.optimal_discriminator(stub)",
        "print('the notebook went on')",
    )]
    NotebookClient(book, kernel_name="python3", timeout=120).execute()
    wrong, todo, after = (c.outputs for c in book.cells[1:])
    assert [o.output_type for o in wrong] == ["display_data"], wrong
    html, text = wrong[0].data["text/html"], wrong[0].data["text/plain"]
    assert text.startswith("✗ Exercise 1 (D*): your value is off by") and "\n" not in text
    assert "border" in html and "off by" in html
    assert "Traceback" not in html + text and "gan.optimal_discriminator" not in html + text
    assert [o.output_type for o in todo] == ["display_data"]
    assert "not done yet" in todo[0].data["text/plain"]
    assert after[0].text == "the notebook went on\n"


def test_a_checker_refuses_the_package_function_that_computes_the_answer(capsys):
    from ganvae_edu.formulas import gan
    from ganvae_edu.labs.feedback import ExerciseError, call, exercise, passed

    @exercise
    def check(fn):
        call(fn, torch.zeros(3), exercise="Exercise 9 (loss)", forbid=(gan.generator_loss_nonsaturating,))
        passed("Exercise 9 (loss)", "fine")

    alias = gan.generator_loss_nonsaturating
    with pytest.raises(ExerciseError, match="calls the package's `ganvae_edu.formulas.gan.generator_loss_"):
        check.strict(lambda logits: alias(logits) + 0)  # under another name, inside a lambda
    check(lambda logits: -torch.nn.functional.logsigmoid(logits).mean())  # written out: fine
    assert "✓ Exercise 9 (loss): fine" in capsys.readouterr().out


def test_a_crash_in_student_code_names_its_line_not_the_checker():
    from ganvae_edu.labs.feedback import ExerciseError, call

    src = "def f(x):\n    y = x + 1\n    return y.missing\n"
    ns = {}
    exec(compile(src, "<student-cell>", "exec"), ns)
    import linecache

    linecache.cache["<student-cell>"] = (len(src), None, src.splitlines(True), "<student-cell>")
    with pytest.raises(ExerciseError) as e:
        call(ns["f"], torch.zeros(1), exercise="Exercise 9 (x)")
    msg = str(e.value)
    assert "AttributeError" in msg and "line 3 of your code: `return y.missing`" in msg
