"""nbgrader configuration of the course (read by every `nbgrader` command run from the repo root,
and by `course-grade`).

Instructors author assignments in ``solutions/<assignment>/`` (nbgrader's *source* directory);
``nbgrader generate_assignment`` writes the student version to ``assignments/<assignment>/`` (its
*release* directory), which is committed. Students' work is collected into
``submitted/<student>/<assignment>/``. The course root is the folder nbgrader runs in, and the
gradebook is ``<root>/gradebook.db`` (nbgrader's defaults). Every option below exists in nbgrader 0.9.6.
"""
from nbconvert.preprocessors import CSSHTMLHeaderPreprocessor
from nbgrader.preprocessors import ClearHiddenTests, GetGrades

c = get_config()  # noqa: F821  (injected by nbgrader/traitlets)

c.CourseDirectory.source_directory = "solutions"
c.CourseDirectory.release_directory = "assignments"
c.CourseDirectory.submitted_directory = "submitted"
c.CourseDirectory.autograded_directory = "autograded"
c.CourseDirectory.feedback_directory = "feedback"
c.CourseDirectory.course_id = "gdl-course"

# Grading must not lose points to a deleted test cell: restore it from the gradebook's copy.
# (Edited locked and grade cells are always restored.)
c.OverwriteCells.add_missing_cells = True

# Per-cell time limit when autograding. Graded cells must not depend on training runs; under the
# smoke budget that `course-grade autograde` sets in its sandbox, every cell of an assignment runs in a few
# seconds (importing torch takes the longest), so 60 s is generous and bounds an infinite loop.
c.Execute.timeout = 60
c.Execute.interrupt_on_timeout = True
c.Execute.kernel_name = "python3"

# `nbgrader validate` (the Validate button) also reports failing visible tests: the hidden-test
# cells of a student's copy are empty, so checking graded cells only would always pass.
c.Validator.validate_all = True

c.ClearSolutions.code_stub = {"python": "# YOUR CODE HERE\nraise NotImplementedError()"}
c.ClearSolutions.text_stub = "YOUR ANSWER HERE"

# Feedback shows the graded cells' results but not the hidden tests' code.
c.GenerateFeedback.preprocessors = [GetGrades, ClearHiddenTests, CSSHTMLHeaderPreprocessor]
