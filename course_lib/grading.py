"""Autograding of the course's nbgrader assignments: the checks hidden tests use, and the instructor CLI.

Run from the course root (the folder holding ``nbgrader_config.py``; see the book's instructor page)::

    python -m course_lib.grading release   [--all | ASSIGNMENT ...]   # solutions/ -> assignments/
    python -m course_lib.grading autograde [--all | ASSIGNMENT ...] [--student ID ...] [--force]
    python -m course_lib.grading feedback  [--all | ASSIGNMENT ...] [--student ID ...]
    python -m course_lib.grading export    [--output grades.csv]

The commands run nbgrader's converters in this process (nbgrader takes seconds to import), one student
at a time, so a broken submission is reported and never stops the others.
"""
from __future__ import annotations

import argparse
import contextlib
import csv
import json
import importlib
import io
import os
import re
import sys
import tempfile
import types
import warnings
from pathlib import Path
from typing import Callable, Iterable, List, Optional, Sequence

# ---- Checks used by the hidden tests, inside the student's kernel ----------------------------

_TRAP_MESSAGE = "course_lib reference implementation called while grading"


class CheckFailed(AssertionError):
    """A graded property does not hold; the message names it (never the test's code)."""

    def _render_traceback_(self) -> List[str]:  # IPython shows this instead of the traceback
        return [f"{type(self).__name__}: {self}"]


def check(condition: object, message: str) -> None:
    """Raise :class:`CheckFailed` with ``message`` unless ``condition`` holds."""
    if not bool(condition):
        raise CheckFailed(message)


def call(fn: Callable, description: str, *args, **kwargs):
    """Call the student's ``fn``; any exception becomes ``CheckFailed("<description> raised ...")``."""
    try:
        return fn(*args, **kwargs)
    except CheckFailed:
        raise
    except BaseException as error:  # noqa: BLE001 - a student's code may raise anything, even SystemExit
        if _TRAP_MESSAGE in repr(error) or _TRAP_MESSAGE in repr(error.__context__):
            raise CheckFailed("it calls course_lib's implementation; graded functions must be your "
                              "own code, so this one earns no points") from None
        raise CheckFailed(f"{description} raised {type(error).__name__}: {error}") from None


def _dotted(obj: object) -> str:
    if isinstance(obj, types.ModuleType):
        return obj.__name__
    return f"{getattr(obj, '__module__', '') or ''}.{getattr(obj, '__qualname__', '')}"


def _is_forbidden(obj: object, forbidden: Sequence[str]) -> bool:
    return any(_dotted(obj) == f or _dotted(obj).startswith(f + ".") for f in forbidden)


def _code_words(code: types.CodeType) -> set:
    """Every dotted component of the names and string constants used by ``code`` and its inner code."""
    words = set()
    for item in (*code.co_names, *code.co_consts):
        if isinstance(item, str):
            words.update(item.split("."))
        elif isinstance(item, types.CodeType):
            words |= _code_words(item)
    return words


def borrowed_implementation(fn: object, forbidden: Sequence[str]) -> Optional[str]:
    """Why ``fn`` is not the notebook's own code (``None`` when it is).

    ``fn`` must be a plain function defined in the notebook (module ``__main__``) that neither imports
    nor refers to anything named in ``forbidden`` (dotted names of modules or functions, e.g.
    ``"course_lib.naive_bayes"``), directly or through other functions defined in the notebook.
    """
    name = getattr(fn, "__name__", type(fn).__name__)
    reason = _borrowed(fn, forbidden, set())
    return None if reason is None else f"{name} {reason}"


def _borrowed(fn: object, forbidden: Sequence[str], seen: set) -> Optional[str]:
    if _is_forbidden(fn, forbidden):
        return f"is {_dotted(fn)}, not your own function"
    if not isinstance(fn, types.FunctionType) or fn.__module__ != "__main__":
        return "must be a function defined with `def` in this notebook"
    seen.add(fn)
    words = _code_words(fn.__code__)
    for f in forbidden:
        if set(f.split(".")) <= words:
            return f"imports or refers to {f}"
    referenced = [fn.__globals__[n] for n in words if n in fn.__globals__]
    referenced += [cell.cell_contents for cell in fn.__closure__ or ()]
    referenced += list(fn.__defaults__ or ()) + list((fn.__kwdefaults__ or {}).values())
    for value in referenced:
        value = getattr(value, "func", value)  # functools.partial
        if _is_forbidden(value, forbidden):
            return f"uses {_dotted(value)}"
        if isinstance(value, types.FunctionType) and value.__module__ == "__main__" and value not in seen:
            reason = _borrowed(value, forbidden, seen)
            if reason:
                return f"calls {value.__name__}, which {reason}"
    return None


def _trap(*args, **kwargs):
    raise RuntimeError("course_lib reference implementation called while grading")


@contextlib.contextmanager
def forbidden_calls(forbidden: Sequence[str]):
    """Inside the block, every function named in ``forbidden`` (or defined in a module named there,
    or in one of its submodules)
    raises instead of running, whoever holds a reference to it. Restored on exit."""
    targets = []
    for name in forbidden:
        try:
            module = importlib.import_module(name)
            targets += [v for v in vars(module).values()
                        if isinstance(v, types.FunctionType) and _is_forbidden(v, [name])]
        except ImportError:
            module_name, _, attr = name.rpartition(".")
            targets.append(getattr(importlib.import_module(module_name), attr))
    saved = [(fn, fn.__code__) for fn in targets if not fn.__closure__]
    try:
        for fn, _ in saved:
            fn.__code__ = _trap.__code__
        yield
    finally:
        for fn, code in saved:
            fn.__code__ = code


def run_hidden_tests(name: str, namespace: dict, tests: Callable[[Callable], None], points: int,
                     forbidden: Sequence[str]) -> None:
    """Grade the student's function ``namespace[name]`` with ``tests(fn)``: all or nothing.

    The function must be the student's own (:func:`borrowed_implementation`), and ``forbidden``
    course_lib code is switched off while the tests run. On failure raise one :class:`CheckFailed`
    saying which property failed; IPython prints only that message.
    """
    try:
        fn = namespace.get(name)
        check(fn is not None, f"{name} is not defined; run the cell that defines it (keep its name)")
        problem = borrowed_implementation(fn, forbidden)
        check(problem is None, f"{problem}; graded functions must be your own code, so this one earns no points")
        # Warnings and stderr are silenced: nbgrader gives 0 to a grading cell that writes to stderr.
        with warnings.catch_warnings(), contextlib.redirect_stderr(io.StringIO()), forbidden_calls(forbidden):
            warnings.simplefilter("ignore")
            tests(fn)
    except CheckFailed as failure:
        message = str(failure)
    except BaseException as error:  # noqa: BLE001 - a test tripped over an unexpected result
        message = f"the tests could not check your result ({type(error).__name__}: {error})"
    else:
        print(f"{name}: all hidden tests passed ({points} of {points} points)")
        return
    raise CheckFailed(f"{name} earns 0 of {points} points: {message}")


# ---- Instructor command line ------------------------------------------------------------------

def _coursedir(root: Path, **attrs):
    from nbgrader.coursedir import CourseDirectory
    from traitlets.config.loader import PyFileConfigLoader

    if not (root / "nbgrader_config.py").is_file():
        sys.exit(f"error: {root} has no nbgrader_config.py; run from the course root or pass --root")
    # nbgrader runs the `alembic` command when it creates a gradebook: find the one next to this Python.
    bin_dir = str(Path(sys.executable).parent)
    if bin_dir not in os.environ.get("PATH", "").split(os.pathsep):
        os.environ["PATH"] = bin_dir + os.pathsep + os.environ.get("PATH", "")
    config = PyFileConfigLoader("nbgrader_config.py", path=str(root)).load_config()
    config.CourseDirectory.root = str(root)
    return CourseDirectory(config=config, **attrs), config


def _assignments(root: Path, names: Sequence[str], use_all: bool) -> List[str]:
    source = root / _coursedir(root)[0].source_directory
    available = sorted(p.parent.name for p in source.glob("*/*.ipynb"))
    if use_all == bool(names):
        sys.exit("error: name one or more assignments, or pass --all (not both)")
    unknown = sorted(set(names) - set(available))
    if unknown:
        sys.exit(f"error: no assignment {unknown} in {source}; available: {available}")
    return sorted(set(available if use_all else names))


def _run(converter, root: Path, assignment: str, student: str = ".", force: bool = True, **config) -> dict:
    """Run one nbgrader converter for one assignment (and student); returns nbgrader's result dict."""
    from nbgrader.utils import capture_log

    coursedir, cfg = _coursedir(root, assignment_id=assignment, student_id=student)
    for key, value in config.items():
        setattr(coursedir, key, value)
    app = converter(coursedir=coursedir, config=cfg)
    app.force = force
    return capture_log(app)


def _report(label: str, result: dict) -> bool:
    """Print ``ok``/``FAILED`` for one nbgrader run, with the first exception behind a failure."""
    if result["success"]:
        print(f"ok      {label}")
        return True
    text = result.get("log", "") + "\n" + result.get("error", "")
    causes = [ln.strip() for ln in text.splitlines() if re.match(r"\s*[\w.]+(Error|Exception): ", ln)]
    causes = [c for c in causes if "see the the above traceback" not in c] or text.strip().splitlines()[-1:]
    print(f"FAILED  {label}: {causes[0]}")
    return False


def release(root: Path, assignments: Iterable[str]) -> bool:
    from nbgrader.converters import GenerateAssignment

    return all([_report(f"release {a}", _run(GenerateAssignment, root, a)) for a in assignments])


def autograde(root: Path, assignments: Iterable[str], students: Sequence[str] = (), force: bool = False) -> bool:
    """Grade every submission ``submitted/<student>/<assignment>/``, one student at a time."""
    from nbgrader.converters import Autograde, GenerateAssignment

    ok = True
    for assignment in assignments:
        # The gradebook must hold the current tests of solutions/: sync it (to a throwaway release).
        with tempfile.TemporaryDirectory() as scratch:
            synced = _run(GenerateAssignment, root, assignment, release_directory=scratch)
        if not _report(f"gradebook <- solutions/{assignment}", synced):
            ok = False
            continue
        submitted = root / _coursedir(root)[0].submitted_directory
        found = sorted(p.parent.name for p in submitted.glob(f"*/{assignment}") if p.is_dir())
        for student in [s for s in found if not students or s in students]:
            ok &= _report(f"autograde {assignment} {student}", _run(Autograde, root, assignment, student, force))
    return ok


def feedback(root: Path, assignments: Iterable[str], students: Sequence[str] = ()) -> bool:
    """Write HTML feedback ``feedback/<student>/<assignment>/`` for every autograded submission."""
    from nbgrader.converters import GenerateFeedback

    ok = True
    for assignment in assignments:
        graded = root / _coursedir(root)[0].autograded_directory
        for student in sorted(p.parent.name for p in graded.glob(f"*/{assignment}") if p.is_dir()):
            if not students or student in students:
                ok &= _report(f"feedback {assignment} {student}", _run(GenerateFeedback, root, assignment, student))
    return ok


def _course_grade_flags(folder: Path) -> List[str]:
    """The flags ``course-grade autograde`` recorded for one submission (its ``.course-grade-*.json``)."""
    flags = set()
    for record in folder.glob(".course-grade-*.json"):
        with contextlib.suppress(OSError, ValueError, KeyError, TypeError):
            flags.update(json.loads(record.read_text())["result"]["flags"])
    return sorted(flags)


def export(root: Path, output: Path) -> int:
    """Write one row per student and assignment: status, points per grade cell (by grade id), score.

    ``status`` is ``graded``, ``not submitted``, ``needs grading`` (autograding failed, or a cell
    awaits manual grading) or ``flagged`` (``course-grade`` raised the flags in the ``flags`` column,
    e.g. ``missing notebook`` or ``tampering detected``: look before uploading); per-cell points are the manual score if given, else the autograder's.
    """
    from nbgrader.api import Gradebook, MissingEntry

    coursedir, _ = _coursedir(root)
    rows, columns = [], ["student_id", "assignment", "status"]
    with Gradebook(coursedir.db_url, coursedir.course_id) as gb:
        for assignment in gb.assignments:
            grade_ids = [cell.name for nb in assignment.notebooks for cell in nb.grade_cells]
            if len(set(grade_ids)) != len(grade_ids):
                sys.exit(f"error: grade ids repeat across the notebooks of {assignment.name}: {grade_ids}")
            columns += [g for g in grade_ids if g not in columns]
            for student in gb.students:
                row = {"student_id": student.id, "assignment": assignment.name, "status": "not submitted",
                       "score": 0.0, "max_score": assignment.max_score, **dict.fromkeys(grade_ids, 0.0)}
                with contextlib.suppress(MissingEntry):
                    submission = gb.find_submission(assignment.name, student.id)
                    grades = [g for nb in submission.notebooks for g in nb.grades]
                    row.update({g.name: g.score for g in grades}, score=submission.score)
                    row["status"] = "needs grading" if any(g.needs_manual_grade for g in grades) else "graded"
                    row["flags"] = "; ".join(_course_grade_flags(root / coursedir.autograded_directory
                                                                 / student.id / assignment.name))
                    if row["flags"]:
                        row["status"] = "flagged"
                rows.append(row)
    with open(output, "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=columns + ["score", "max_score", "flags"], restval="")
        writer.writeheader()
        writer.writerows(sorted(rows, key=lambda r: (r["assignment"], r["student_id"])))
    print(f"wrote {len(rows)} rows to {output}")
    return len(rows)


def main(argv: Optional[Sequence[str]] = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m course_lib.grading", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--root", type=Path, default=Path.cwd(), help="course root (default: here)")
    commands = parser.add_subparsers(dest="command", required=True)
    helps = {"release": "regenerate the student versions from the source folder",
             "autograde": "autograde every submission, one student at a time",
             "feedback": "write HTML feedback for the autograded submissions",
             "export": "write the grades CSV"}
    for name, text in helps.items():
        sub = commands.add_parser(name, help=text, description=text)
        if name != "export":
            sub.add_argument("assignments", nargs="*", metavar="ASSIGNMENT")
            sub.add_argument("--all", action="store_true", help="every assignment in the source folder")
        if name in ("autograde", "feedback"):
            sub.add_argument("--student", nargs="+", default=(), help="only these students")
    commands.choices["autograde"].add_argument("--force", action="store_true", help="regrade graded submissions")
    commands.choices["autograde"].add_argument("--budget", default="smoke", choices=("smoke", "cpu", "full"),
                                               help="COURSE_BUDGET of the students' kernels (default: smoke)")
    commands.choices["export"].add_argument("--output", type=Path, default=Path("grades.csv"))
    args = parser.parse_args(argv)
    root = args.root.resolve()
    if args.command == "export":
        export(root, args.output)
        return 0
    assignments = _assignments(root, args.assignments, args.all)
    if args.command == "release":
        ok = release(root, assignments)
    elif args.command == "autograde":
        os.environ["COURSE_BUDGET"] = args.budget  # kernels inherit it; graded cells need no long training
        ok = autograde(root, assignments, args.student, args.force)
    else:
        ok = feedback(root, assignments, args.student)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
