"""nbgrader configuration of the course (read by every `nbgrader` command run from the repo root).

Instructors author assignments in ``solutions/<assignment>/`` (nbgrader's *source* directory);
``nbgrader generate_assignment`` writes the student version to ``assignments/<assignment>/`` (its
*release* directory), which is committed. Students' work is collected into
``submitted/<student>/<assignment>/``.
"""
c = get_config()  # noqa: F821  (injected by nbgrader/traitlets)

c.CourseDirectory.root = "."
c.CourseDirectory.source_directory = "solutions"
c.CourseDirectory.release_directory = "assignments"
c.CourseDirectory.submitted_directory = "submitted"
c.CourseDirectory.autograded_directory = "autograded"
c.CourseDirectory.feedback_directory = "feedback"
c.CourseDirectory.db_url = "sqlite:///gradebook.db"
c.CourseDirectory.course_id = "gdl-course"
c.CourseDirectory.assignments = ["naive_bayes"]

# Grading must not lose points to a deleted or edited test cell: restore them from the source.
c.OverwriteCells.add_missing_cells = True
c.OverwriteCells.add_missing_metadata = True  # type: ignore[attr-defined]

# Per-cell time limit. The graded cells run in well under a second; the short training runs of
# the deep-learning assignments take up to a minute on a 2-core CPU. 120 s leaves room.
c.Execute.timeout = 120
c.Execute.interrupt_on_timeout = True
c.Execute.kernel_name = "python3"

c.ClearSolutions.code_stub = {"python": "# YOUR CODE HERE\nraise NotImplementedError()"}
c.ClearSolutions.text_stub = "YOUR ANSWER HERE"
# Student notebooks must not carry the instructor's outputs.
c.ClearOutput.enabled = True
c.GenerateAssignment.create_assignment = True
