"""Everything that grades the course's nbgrader assignments, split by where it runs.

In the student's kernel (:mod:`.kernel`, what the assignments' notebooks import):

- :mod:`.kernel.checks`   ``CheckFailed``, ``TamperingDetected``, ``check``, ``substituted``
- :mod:`.kernel.guard`    running the student's code: ``call``, ``run_hidden_tests``, borrowed
                          implementations, reference implementations switched off, tampering
- :mod:`.kernel.tensors`  the tensor checks (``check_tensor``, ``check_scalar``, ``snapshot`` ...)

In the grader, the ``course-grade`` command (:mod:`.cli`: ``release``, ``autograde``, ``feedback``,
``export``, ``report``):

- :mod:`.course`      the course as nbgrader sees it; one nbgrader converter run
- :mod:`.release`     solutions/ -> assignments/ (nbgrader's generate_assignment)
- :mod:`.notebook`    which notebook runs for a student (instructor cells around the student's answers)
- :mod:`.sandbox`     run it in a sandbox, with limits on time, memory and output, watched from outside
- :mod:`.worker`      the sandbox's side: drive the kernel cell by cell (runs inside the sandbox)
- :mod:`.launch`      start the kernel with resource limits, as an unprivileged user
- :mod:`.probe`       appended to the student's notebook by the grader: call each graded function on
                      fixed inputs, save plain arrays
- :mod:`.probes`      the fixed inputs, one module per assignment
- :mod:`.compare`     in the grader: load the arrays strictly, compare them with the solution's
- :mod:`.scoring`     points per function from the test cells and the outside check; flags
- :mod:`.runner`      one run: gradebook sync, reference, the pool of sandboxes, gradebook writes
- :mod:`.report`      the run's table and CSV
- :mod:`.classreport` the class report: per function, who lost points on which property (no names)
- :mod:`.feedback`    autograded/ -> feedback/ (nbgrader's generate_feedback)
- :mod:`.export`      the gradebook -> grades.csv, with each submission's status and flags

Importing this package imports nothing (nbgrader and torch are imported by the modules that need them).
"""
