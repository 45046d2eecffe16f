"""Exercises for course labs: solution regions, student copies, instant feedback.

In a notebook an exercise is one self-contained code cell: it imports what it needs,
defines the student's function with the answer between nbgrader-style markers

    ### BEGIN SOLUTION
    ...
    ### END SOLUTION

and ends by calling a checker from this package (``check.optimal_discriminator(fn)``),
which prints a ✓ line, or shows a box saying what is off and where (or that the exercise is
not done yet) and lets the notebook go on (`feedback.exercise`). `student.write_student_copies`
replaces each region with a stub (``raise NotImplementedError()`` in a function, ``name = None``
for a top-level answer), so an untouched student copy runs top to bottom, each exercise saying
it is not done yet.
"""

from .feedback import ExerciseError, NotDone
from .student import student_notebook, student_source, write_student_copies

__all__ = ["ExerciseError", "NotDone", "student_notebook", "student_source", "write_student_copies"]
