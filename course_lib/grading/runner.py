"""Grade every submission of one assignment: each student in a sandbox, several at once.

The grader (this process) syncs the gradebook from the source notebooks, runs the solution once
through the same sandbox and probe (the reference values), then runs every student's built
notebook (:mod:`.notebook`) in a sandbox (:mod:`.sandbox`), ``jobs`` at a time. Only this process
writes: ``autograded/<student>/<assignment>/`` (the executed notebook and a record of the run) and
the gradebook (``auto_score`` of each grade, never ``manual_score``). A rerun skips a submission
whose record matches (same submission bytes, same instructor notebook, same runner version) and
whose grades are in the gradebook; ``force`` regrades everything.
"""
from __future__ import annotations

import hashlib
import importlib
import json
import os
import shutil
import sys
import tempfile
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Dict, List, Optional, Sequence

import nbformat

from course_lib.grading import compare, notebook as notebooks, sandbox, scoring
from course_lib.grading.course import course_directory, run_converter

MISSING_MARK = b"\0missing\0"  # not JSON, so never a real notebook
RENAMED_MARK = b"\0renamed\0"
RUNNER_VERSION = "2"
RECORD = ".course-grade-{notebook}.json"
PROBE_FILE_LIMIT = 16 * 1024 ** 2


@dataclass
class StudentResult:
    student_id: str
    assignment: str
    notebook: str
    scores: Dict[str, float]
    max_scores: Dict[str, float]
    flags: List[str]
    notes: Dict[str, str] = field(default_factory=dict)
    wall_s: float = 0.0
    peak_rss: int = 0
    skipped: bool = False
    failures: Dict[str, str] = field(default_factory=dict)  # grade id -> the hidden test's message

    @property
    def score(self) -> float:
        return sum(self.scores.values())

    @property
    def max_score(self) -> float:
        return sum(self.max_scores.values())


class GradingError(RuntimeError):
    """The run cannot grade anyone (the solution fails its own probe, no such assignment, ...)."""


def last_graded(nb) -> Optional[int]:
    """Index of the notebook's last answer or test cell (nbgrader ``solution`` or ``grade``).

    Nothing after it can change a grade: nbgrader's tests have run by then, and the outside check
    (the probes, run next) then sees the functions exactly as the hidden tests saw them. The
    cells after it are usually the assignment's demos (training, figures), often most of the
    notebook's time, so the grader does not run them.
    """
    graded = [i for i, cell in enumerate(nb.cells)
              if cell.get("metadata", {}).get("nbgrader", {}).get("solution")
              or cell.get("metadata", {}).get("nbgrader", {}).get("grade")]
    return graded[-1] if graded else None


def _probe_sources(assignment: str) -> List[tuple]:
    """``[(function, cell source)]``: one probe cell per probed function, run right after that
    function's hidden-test cell (a hanging function then costs only its own probe, and a kernel
    killed later keeps the values of the functions before)."""
    return [(name, "from course_lib.grading.probe import run_probes as _course_grade_probe\n"
                   f"_course_grade_probe({assignment!r}, globals(), 'probe-{name}.npz', {name!r})")
            for name in _probes(assignment)[0]]


def _load_probes(paths: Sequence[Path]) -> Dict:
    values: Dict = {}
    for path in paths:  # probe-<function>.npz holds that function's values; anything else in it is ignored
        try:
            values.update(compare.function_arrays(compare.load_strict(path, PROBE_FILE_LIMIT),
                                                  path.stem.removeprefix("probe-")))
        except compare.BadProbeFile:
            pass
    return values


def _probes(assignment: str):
    try:
        module = importlib.import_module(f"course_lib.grading.probes.{assignment}")
    except ModuleNotFoundError:
        return {}, {}
    return module.PROBES, getattr(module, "TOLERANCES", {})


def _digest(*parts: bytes) -> str:
    h = hashlib.sha256()
    for part in parts:
        h.update(hashlib.sha256(part).digest())
    return h.hexdigest()


def _secrets(root: Path, coursedir, submitted: Path, release: Path) -> List[Path]:
    """What the student's code must not read: for this course, and for the checkout course_lib runs from."""
    db = coursedir.db_url.removeprefix("sqlite:///")
    paths = [root / coursedir.source_directory, submitted, root / coursedir.submitted_directory,
             root / coursedir.autograded_directory, root / coursedir.feedback_directory, Path(db), release]
    checkout = Path(__file__).resolve().parents[2]
    if (checkout / "nbgrader_config.py").is_file() and checkout != root:
        paths += [checkout / name for name in ("solutions", "submitted", "autograded", "feedback", "gradebook.db")]
    return [p.resolve() for p in paths if p.exists()]


class Run:
    """One ``autograde`` run of one assignment (see :func:`autograde`)."""

    def __init__(self, root: Path, assignment: str, submitted: Optional[Path], jobs: int, isolation: str,
                 limits: Optional[sandbox.Limits], force: bool, students: Sequence[str], log=print,
                 fork: bool = True, all_cells: bool = False):
        self.root, self.assignment, self.force, self.log, self.fork = root, assignment, force, log, fork
        self.all_cells = all_cells
        self.coursedir, config = course_directory(root)
        self.submitted = (submitted or root / self.coursedir.submitted_directory).resolve()
        self.jobs = max(1, jobs)
        self.mode = sandbox.detect_isolation(isolation)
        self.limits = limits or sandbox.Limits(cell_timeout=float(config.get("Execute", {}).get("timeout", 60)))
        self.source = root / self.coursedir.source_directory / assignment
        if not self.source.is_dir():
            raise GradingError(f"no assignment {assignment!r} in {self.source.parent}")
        found = sorted(p.parent.name for p in self.submitted.glob(f"*/{assignment}") if p.is_dir())
        self.students = [s for s in found if not students or s in students]
        self.probe_sources = _probe_sources(assignment)
        self.probes, self.tolerances = _probes(assignment)

    # -- the gradebook -------------------------------------------------------------------------

    def sync_gradebook(self, release: Path) -> None:
        from nbgrader.converters import GenerateAssignment

        result = run_converter(GenerateAssignment, self.root, self.assignment, release_directory=str(release))
        if not result["success"]:
            raise GradingError(f"nbgrader could not sync the gradebook from {self.source}:\n{result.get('log', '')[-2000:]}")

    def _gradebook(self):
        from nbgrader.api import Gradebook

        return Gradebook(self.coursedir.db_url, self.coursedir.course_id)

    def graded_before(self, student: str, notebook: str) -> bool:
        from nbgrader.api import MissingEntry

        with self._gradebook() as gb:
            try:
                nb = gb.find_submission_notebook(notebook, self.assignment, student)
            except MissingEntry:
                return False
            return all(g.auto_score is not None for g in nb.grades)

    def save(self, result: StudentResult) -> None:
        """Write the result's ``auto_score`` of every grade; manual scores are kept as they are."""
        with self._gradebook() as gb:
            gb.update_or_create_student(result.student_id)
            gb.update_or_create_submission(self.assignment, result.student_id)
            nb = gb.find_submission_notebook(result.notebook, self.assignment, result.student_id)
            for grade in nb.grades:
                if grade.name in result.scores:
                    grade.auto_score = result.scores[grade.name]
                    grade.needs_manual_grade = grade.manual_score is not None
            nb.flagged = bool(result.flags)
            gb.db.commit()

    # -- one run -------------------------------------------------------------------------------

    def grade(self) -> List[StudentResult]:
        with tempfile.TemporaryDirectory(prefix="course-grade-") as scratch:
            scratch = Path(scratch)
            release = scratch / "release"
            self.sync_gradebook(release)
            jobs_root = scratch / "jobs"
            jobs_root.mkdir()
            jobs_root.chmod(0o711)
            scratch.chmod(0o711)
            hide = _secrets(self.root, self.coursedir, self.submitted, release)
            if self.mode == "user":
                for path in sandbox.tighten(hide):
                    self.log(f"made {path} readable by its owner only (user isolation)")
            results = []
            server = self._start_server(jobs_root)
            try:
                for instructor_path in sorted(self.source.glob("*.ipynb")):
                    results += self._grade_notebook(instructor_path, release / self.assignment, jobs_root, hide,
                                                    server)
            finally:
                if server is not None:
                    server.close()
            return results

    def _start_server(self, jobs_root: Path):
        """The run's fork server (torch, course_lib and Jupyter imported once), or None to start fresh processes."""
        if not self.fork:
            return None
        from course_lib.grading.forkserver import ServerGone

        try:
            return sandbox.start_server(jobs_root)
        except (ServerGone, OSError) as error:
            self.log(f"no fork server ({error}); every submission starts its own interpreters")
            return None

    def _grade_notebook(self, instructor_path: Path, release: Path, jobs_root: Path, hide,
                        server=None) -> List[StudentResult]:
        name = instructor_path.stem
        instructor_bytes = instructor_path.read_bytes()
        instructor = nbformat.reads(instructor_bytes.decode(), as_version=4)
        released = nbformat.read(release / instructor_path.name, as_version=4)
        max_scores = scoring.grade_cells(instructor)
        files = [p for p in release.iterdir() if p.is_file() and p.suffix != ".ipynb"]
        run = lambda nb: sandbox.run_notebook(nb, jobs_root=jobs_root, mode=self.mode, limits=self.limits,  # noqa: E731
                                              probe_sources=self.probe_sources, hide=hide, files=files,
                                              server=server, stop_after=None if self.all_cells else last_graded(nb))
        todo, results = [], {}
        for student in self.students:
            data = self._submitted_bytes(student, instructor_path.name)
            digest = _digest(data, instructor_bytes, RUNNER_VERSION.encode())
            record = self._record_path(student, name)
            if not self.force and record.is_file() and self.graded_before(student, name):
                saved = json.loads(record.read_text())
                if saved.get("digest") == digest:
                    results[student] = StudentResult(**saved["result"], skipped=True)
                    continue
            todo.append((student, data, digest))
        self.log(f"{self.assignment}/{name}: {len(todo)} to grade, {len(results)} unchanged; "
                 f"{self.jobs} at a time, {self.mode} isolation")
        if not todo:
            return [results[s] for s in self.students if s in results]
        with ThreadPoolExecutor(max_workers=self.jobs) as pool:
            reference_future = pool.submit(run, instructor)
            futures = []
            for student, data, digest in todo:
                if data.startswith(MISSING_MARK):
                    found = data[len(MISSING_MARK):].decode()
                    futures.append((student, digest, None, [notebooks.MISSING],
                                    f"no {instructor_path.name} in the submission; notebooks found: {found or 'none'}"))
                    continue
                renamed = data.startswith(RENAMED_MARK)
                if renamed:
                    data = data[data.index(b"\n") + 1:]
                try:
                    submission, flags = notebooks.read_submission(data)
                    if renamed:
                        flags = flags + [notebooks.RENAMED]
                except notebooks.MalformedNotebook as error:
                    futures.append((student, digest, None, [notebooks.MALFORMED], str(error)))
                    continue
                built = notebooks.build(instructor, released, submission)
                futures.append((student, digest, pool.submit(run, built.notebook), flags + built.flags, ""))
            reference = self._reference(reference_future.result())
            for student, digest, future, flags, why in futures:
                outcome = future.result() if future else None
                result = self._score(student, name, outcome, flags, why, max_scores, reference)
                self._write(result, outcome, digest, instructor, released)
                results[student] = result
        return [results[s] for s in self.students if s in results]

    def _submitted_bytes(self, student: str, filename: str) -> bytes:
        """The student's notebook, or the single notebook in the folder when it was saved under another name.

        A missing notebook comes back as ``MISSING_MARK`` followed by the names found, never as empty
        bytes, so it is reported as ``missing notebook`` and not as a malformed one.
        """
        folder = self.submitted / student / self.assignment
        path = folder / filename
        if path.is_file() and not path.is_symlink():
            return path.read_bytes()
        found = sorted(p for p in folder.glob("*.ipynb") if p.is_file() and not p.is_symlink()) \
            if folder.is_dir() else []
        if len(found) == 1 and len(list(self.source.glob("*.ipynb"))) == 1:
            return RENAMED_MARK + found[0].name.encode() + b"\n" + found[0].read_bytes()
        return MISSING_MARK + ", ".join(p.name for p in found).encode()

    def _reference(self, outcome: sandbox.Outcome) -> Dict:
        try:
            if not self.probes:
                return {}
            bad = [gid for gid, state in outcome.status.items() if state != "ok"]
            if outcome.notebook is None or bad or not outcome.probe_ok:
                raise GradingError(f"the solution of {self.assignment} does not run cleanly in the sandbox "
                                   f"(flags {outcome.flags}, failing cells {bad}):\n{outcome.log}")
            values = _load_probes(outcome.probes)
            missing = [f for f in self.probes if not compare.function_arrays(values, f)]
            if missing:
                raise GradingError(f"the solution of {self.assignment} fails its own probes {missing}")
            return values
        finally:
            if outcome.job_dir:
                shutil.rmtree(outcome.job_dir, ignore_errors=True)

    def _score(self, student, name, outcome, flags, why, max_scores, reference) -> StudentResult:
        if outcome is None:
            scored = scoring.Scored(dict.fromkeys(max_scores, 0.0), dict(max_scores), [],
                                    dict.fromkeys(max_scores, why))
        else:
            try:
                probe = _load_probes(outcome.probes)
            finally:
                if outcome.job_dir:
                    shutil.rmtree(outcome.job_dir, ignore_errors=True)
            scored = scoring.score(outcome.notebook, outcome.status, max_scores, probe, reference,
                                   self.probes, self.tolerances)
        return StudentResult(student, self.assignment, name, scored.scores, scored.max_scores,
                             sorted(set(flags + (outcome.flags if outcome else []) + scored.flags)), scored.notes,
                             outcome.wall_s if outcome else 0.0, outcome.peak_rss if outcome else 0,
                             failures=scored.failures)

    def _record_path(self, student: str, name: str) -> Path:
        return self.root / self.coursedir.autograded_directory / student / self.assignment / RECORD.format(notebook=name)

    def _write(self, result: StudentResult, outcome, digest: str, instructor, released) -> None:
        folder = self.root / self.coursedir.autograded_directory / result.student_id / self.assignment
        folder.mkdir(parents=True, exist_ok=True)
        if outcome is not None and outcome.notebook is not None:
            executed = outcome.notebook
        else:  # nothing ran: the student version, with a note on top, so feedback can still be generated
            executed = notebooks.build(instructor, released, nbformat.v4.new_notebook()).notebook
            executed.cells.insert(0, nbformat.v4.new_markdown_cell(
                f"**This submission could not be graded:** {', '.join(result.flags)}."))
        nbformat.write(executed, folder / f"{result.notebook}.ipynb")
        self.save(result)
        saved = {k: v for k, v in asdict(result).items() if k != "skipped"}
        self._record_path(result.student_id, result.notebook).write_text(json.dumps({"digest": digest, "result": saved}))
        self.log(f"{'FLAGGED' if result.flags else 'graded '} {result.student_id}: {result.score:g}/{result.max_score:g}"
                 + (f"  [{'; '.join(result.flags)}]" if result.flags else ""))


def autograde(root: Path, assignment: str, submitted: Optional[Path] = None, jobs: Optional[int] = None,
              isolation: str = "auto", limits: Optional[sandbox.Limits] = None, force: bool = False,
              students: Sequence[str] = (), log=print, fork: bool = True,
              all_cells: bool = False) -> List[StudentResult]:
    """Grade ``submitted/<student>/<assignment>/`` for every student (see the module's docstring).

    ``fork`` starts the kernels from one pre-imported fork server per run (:mod:`.forkserver`);
    without it every submission starts two fresh interpreters (slower, same grades). The cells
    after the last graded cell are not run unless ``all_cells`` (:func:`last_graded`).
    """
    return Run(Path(root).resolve(), assignment, submitted, jobs or os.cpu_count() or 1, isolation, limits,
               force, students, log, fork, all_cells).grade()
