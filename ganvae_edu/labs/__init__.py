"""Exercises for course labs: solution regions, student copies, instant feedback.

In a notebook an exercise is one self-contained code cell: it imports what it needs,
defines the student's function with the answer between nbgrader-style markers

    ### BEGIN SOLUTION
    ...
    ### END SOLUTION

and ends by calling a checker from this package (``check.optimal_discriminator(fn)``),
which prints a ✓ line or raises `ExerciseError` saying what is off and where.
`student.write_student_copies` replaces each region with a stub that raises
NotImplementedError, so an untouched student copy fails its checks with a clear message.
"""

from .feedback import ExerciseError
from .student import student_notebook, student_source, write_student_copies

__all__ = ["ExerciseError", "student_notebook", "student_source", "write_student_copies"]
