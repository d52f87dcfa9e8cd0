"""The banks of student submissions the grading tests use, loaded as modules.

``tests/mistakes/<assignment>.py`` holds honest mistakes (``POINTS``, ``MISTAKES``, ``CORRECT_VARIANTS``
and, where the visible checks catch some, ``VISIBLE``); ``tests/hostile/<assignment>.py`` holds
submissions that attack the grader.
"""
import importlib.util
from pathlib import Path
from types import ModuleType

HERE = Path(__file__).resolve().parent


def load_bank(kind: str, assignment: str) -> ModuleType:
    """``tests/<kind>/<assignment>.py`` as a module; ``kind`` is ``"mistakes"`` or ``"hostile"``."""
    path = HERE / kind / f"{assignment}.py"
    if not path.exists():
        raise FileNotFoundError(f"no bank {path}: kind is 'mistakes' or 'hostile', assignment a folder of solutions/")
    spec = importlib.util.spec_from_file_location(f"bank_{kind}_{assignment}", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def nbgrader_autograde(root: Path, assignments, students=(), force: bool = False) -> bool:
    """Grade with plain nbgrader, as an instructor who does not use ``course-grade`` does: nbgrader's own
    ``Autograde`` converter (what ``nbgrader autograde ASSIGNMENT --student ID`` runs), in this process,
    one student at a time; prints ``ok``/``FAILED`` per submission. The assignments must stay gradable so.
    """
    from nbgrader.converters import Autograde

    from course_lib.grading.course import course_directory, print_outcome, run_converter

    ok = True
    submitted = root / course_directory(root)[0].submitted_directory
    for assignment in assignments:
        for student in sorted(p.parent.name for p in submitted.glob(f"*/{assignment}") if p.is_dir()):
            if not students or student in students:
                ok &= print_outcome(f"autograde {assignment} {student}",
                                    run_converter(Autograde, root, assignment, student, force))
    return ok
