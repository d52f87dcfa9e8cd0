"""Sandboxed, parallel autograding of the course's nbgrader assignments (the ``course-grade`` command).

Modules, one job each:

- :mod:`.notebook`  which notebook runs for a student (instructor cells around the student's answers)
- :mod:`.sandbox`   run it in a sandbox, with limits on time, memory and output, watched from outside
- :mod:`.worker`    the sandbox's side: drive the kernel cell by cell (runs inside the sandbox)
- :mod:`.launch`    start the kernel with resource limits, as an unprivileged user
- :mod:`.probe`     in the kernel: call each graded function on fixed inputs, save plain arrays
- :mod:`.probes`    the fixed inputs, one module per assignment
- :mod:`.compare`   in the grader: load the arrays strictly, compare them with the solution's
- :mod:`.scoring`   points per function from the test cells and the outside check; flags
- :mod:`.runner`    one run: gradebook sync, reference, the pool of sandboxes, gradebook writes
- :mod:`.report`    the table and the CSV
- :mod:`.classreport` the class report: per function, who lost points on which property (no names)
- :mod:`.cli`       ``course-grade autograde ASSIGNMENT --submitted DIR --jobs N --report FILE.csv``
"""
