"""Run one built notebook in a sandbox and watch it from outside: wall time, memory, output size.

Isolation modes (strongest available by default, see :func:`detect_isolation`):

``namespace``  root and ``unshare`` work: the worker runs in new PID, mount, network and IPC
               namespaces, hides the course's secrets and the other jobs behind empty mounts, and
               the kernel runs as user ``nobody`` with resource limits. When the worker ends, every
               process of the student's ends with it.
``user``       root without namespaces: the kernel runs as ``nobody`` with resource limits; the
               secrets must not be readable by others (:func:`tighten` makes them owner-only).
``process``    not root: own session and process group, scratch working directory, minimal
               environment and resource limits; the student's code can read whatever the grader's
               user can.

In every mode the grader kills the whole process tree after ``notebook_timeout`` seconds or when
its resident memory passes ``memory`` bytes, and reads at most a bounded number of bytes back.
"""
from __future__ import annotations

import json
import os
import pwd
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Dict, List, Optional, Sequence

import nbformat
import psutil

MODES = ("namespace", "user", "process")
KILLED_FOR_MEMORY = "killed for memory"
TIMED_OUT = "timed out"
SANDBOX_FAILED = "sandbox failed"
GIB = 1024 ** 3
# The kernel's figures become image outputs of their cells, so the autograded notebook and the
# feedback show the student's plots (with ``Agg`` they would be drawn and thrown away).
INLINE_BACKEND = "module://matplotlib_inline.backend_inline"


@dataclass
class Limits:
    cell_timeout: float = 60.0  # seconds per cell (the course's Execute.timeout)
    notebook_timeout: float = 600.0  # seconds for the whole notebook, kernel start included
    memory: int = 3 * GIB  # resident memory of all the student's processes together
    address_space: int = 8 * GIB  # virtual memory per process (PyTorch alone maps about 4 GiB)
    output: int = 2 * 1024 ** 2  # bytes of cell outputs kept per notebook
    file_size: int = 256 * 1024 ** 2  # largest file the student's code may write
    processes: int = 1024  # processes and threads of the sandbox user (shared by parallel jobs)


@dataclass
class Outcome:
    notebook: Optional[nbformat.NotebookNode]  # the executed notebook, None when none came back
    status: Dict[int, str]  # cell index -> ok | error | timeout | died
    flags: List[str]
    probes: List[Path]  # the probe files the kernel was told to write (they may be missing)
    probe_ok: bool  # every probe cell ran without an error
    wall_s: float
    peak_rss: int
    log: str = ""
    job_dir: Optional[Path] = field(default=None, repr=False)


@lru_cache(maxsize=None)
def _unshare_works() -> bool:
    if os.geteuid() != 0 or not shutil.which("unshare"):
        return False
    try:
        return subprocess.run(_UNSHARE + ["true"], capture_output=True, timeout=20).returncode == 0
    except (OSError, subprocess.TimeoutExpired):
        return False


_UNSHARE = ["unshare", "--pid", "--fork", "--kill-child", "--mount", "--mount-proc", "--net", "--ipc", "--uts"]


def detect_isolation(requested: str = "auto") -> str:
    """The isolation mode to use: ``requested``, or the strongest this machine offers for ``auto``."""
    if requested not in ("auto", *MODES):
        raise ValueError(f"unknown isolation mode {requested!r}; choose auto or one of {MODES}")
    if requested == "auto":
        return "namespace" if _unshare_works() else "user" if os.geteuid() == 0 else "process"
    if requested == "namespace" and not _unshare_works():
        raise RuntimeError("namespace isolation needs root and a working `unshare`; use --isolation user or process")
    if requested == "user" and os.geteuid() != 0:
        raise RuntimeError("user isolation needs root (to run the kernel as nobody); use --isolation process")
    return requested


def sandbox_user() -> tuple[int, int]:
    entry = pwd.getpwnam("nobody")
    return entry.pw_uid, entry.pw_gid


def tighten(paths: Sequence[Path]) -> List[Path]:
    """Make ``paths`` unreadable to other users (``user`` mode); returns those it changed."""
    changed = []
    for path in paths:
        if path.exists() and not path.is_symlink() and path.stat().st_mode & 0o077:
            path.chmod(path.stat().st_mode & 0o700)
            changed.append(path)
    return changed


def _environment(work: Path) -> Dict[str, str]:
    home = work / "home"
    env = {
        "PATH": os.pathsep.join([str(Path(sys.executable).parent), "/usr/local/bin", "/usr/bin", "/bin"]),
        "HOME": str(home), "TMPDIR": str(work / "tmp"), "LANG": "C.UTF-8",
        "JUPYTER_RUNTIME_DIR": str(work), "JUPYTER_CONFIG_DIR": str(home / ".jupyter"),
        "JUPYTER_DATA_DIR": str(home / ".jupyter-data"), "IPYTHONDIR": str(home / ".ipython"),
        "MPLCONFIGDIR": str(home / ".matplotlib"), "MPLBACKEND": INLINE_BACKEND,
        "COURSE_BUDGET": "smoke", "COURSE_OFFLINE": "1", "COURSE_RESULTS_DIR": str(work / "tmp"),
        "COURSE_CHECKPOINT_DIR": str(work / "tmp"), "PYTHONDONTWRITEBYTECODE": "1",
        "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1",
        "PYDEVD_DISABLE_FILE_VALIDATION": "1",
    }
    if os.environ.get("COURSE_DATA_DIR"):
        env["COURSE_DATA_DIR"] = os.environ["COURSE_DATA_DIR"]
    return env


class _CappedReader(threading.Thread):
    """Reads a pipe to its end, keeping the first ``limit`` bytes."""

    def __init__(self, pipe, limit: int):
        super().__init__(daemon=True)
        self.pipe, self.limit, self.chunks, self.size, self.overflow = pipe, limit, [], 0, False

    def run(self) -> None:
        while chunk := self.pipe.read(1 << 16):
            if self.size + len(chunk) <= self.limit:
                self.chunks.append(chunk)
            else:
                self.overflow = True
            self.size += len(chunk)

    def data(self) -> bytes:
        return b"".join(self.chunks)


def _tree(pid: int) -> List[psutil.Process]:
    try:
        root = psutil.Process(pid)
        return [root, *root.children(recursive=True)]
    except psutil.NoSuchProcess:
        return []


def _rss(processes: List[psutil.Process]) -> int:
    total = 0
    for p in processes:
        try:
            total += p.memory_info().rss
        except (psutil.NoSuchProcess, psutil.AccessDenied):
            pass
    return total


def _kill(pid: int) -> None:
    _kill_all(_tree(pid))
    try:
        os.killpg(pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass


def start_server(jobs_root: Path, start_timeout: float = 120.0):
    """A :class:`.forkserver.ForkServer` for jobs under ``jobs_root``, started with the sandbox's environment.

    Raises :class:`.forkserver.ServerGone` when it cannot start (the caller then runs fresh processes).
    """
    from course_lib.grading.forkserver import ForkServer

    work = jobs_root / "fork-server"
    for folder in (work / "home", work / "tmp"):
        folder.mkdir(parents=True, exist_ok=True)
    work.chmod(0o700)
    return ForkServer(_environment(work), work, start_timeout)


def _watch_process(job_dir: Path, mode: str, env: Dict[str, str], limits: Limits, start: float, out_limit: int):
    """Start the worker as a fresh interpreter (under ``unshare`` in the namespace mode) and watch it."""
    command = [sys.executable, "-m", "course_lib.grading.worker", str(job_dir)]
    if mode == "namespace":
        command = _UNSHARE + command
    proc = subprocess.Popen(command, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            cwd=job_dir, env=env, start_new_session=True)
    out = _CappedReader(proc.stdout, out_limit)
    err = _CappedReader(proc.stderr, 1 << 16)
    out.start()
    err.start()
    watch = _Watch(proc.pid, mode, limits, start)
    while proc.poll() is None:
        watch.check()
        time.sleep(0.2)
    flags, peak = watch.flags, watch.peak
    _kill(proc.pid)  # whatever the student left behind (in the namespace mode, nothing survives anyway)
    out.join(10)
    err.join(10)
    return flags, peak, err.data().decode("utf-8", "replace")[-4000:], out.data(), out.overflow


def _student_processes(pid: int, mode: str) -> List[psutil.Process]:
    """The job's processes but the worker's own: the kernel and whatever it started.

    The job's tree is worker -> kernel -> ...; in the namespace mode, the process outside the new
    PID namespace -> worker (process 1 inside) -> kernel -> ....
    """
    try:
        worker = psutil.Process(pid)
        if mode == "namespace":
            children = worker.children()
            if not children:
                return []
            worker = children[0]
        return worker.children(recursive=True)
    except psutil.NoSuchProcess:
        return []


class _Watch:
    """Watches one job's memory and time. Past a limit it kills the student's processes only, so
    the worker can still report the cells that ran before (their grades count); a worker that has
    not ended ``WORKER_GRACE`` seconds later is killed with everything else."""

    WORKER_GRACE = 15.0

    def __init__(self, pid: int, mode: str, limits: Limits, start: float):
        self.pid, self.mode, self.limits, self.start = pid, mode, limits, start
        self.flags: List[str] = []
        self.peak = 0
        self.killed_at: Optional[float] = None

    def check(self) -> None:
        students = _student_processes(self.pid, self.mode)
        now = time.monotonic()
        if self.killed_at is not None:
            _kill_all(students)  # whatever it started meanwhile
            if now - self.killed_at > self.WORKER_GRACE:
                _kill(self.pid)
            return
        rss = _rss(students)
        self.peak = max(self.peak, rss)
        if rss > self.limits.memory:
            self.flags.append(KILLED_FOR_MEMORY)
        elif now - self.start > self.limits.notebook_timeout:
            self.flags.append(TIMED_OUT)
        else:
            return
        self.killed_at = now
        _kill_all(students)


def _kill_all(processes: List[psutil.Process]) -> None:
    for p in processes:
        try:
            p.kill()
        except (psutil.NoSuchProcess, psutil.AccessDenied):
            pass


def _watch_forked(server, job_dir: Path, mode: str, env: Dict[str, str], limits: Limits, start: float):
    """Have the fork server fork the worker, and watch it as :func:`_watch_process` does."""
    from course_lib.grading.forkserver import LOG, RESULT

    pid = server.spawn(job_dir, env)
    watch = _Watch(pid, mode, limits, start)
    while server.exit_code(job_dir, timeout=0.1) is None:
        watch.check()
    flags, peak = watch.flags, watch.peak
    _kill(pid)
    log = (job_dir / LOG).read_bytes()[-4000:].decode("utf-8", "replace") if (job_dir / LOG).is_file() else ""
    result = job_dir / RESULT
    size = result.stat().st_size if result.is_file() else 0
    data = result.read_bytes() if 0 < size <= 4 * limits.output + (64 << 20) else None
    return flags, peak, log, data


def run_notebook(notebook: nbformat.NotebookNode, *, jobs_root: Path, mode: str, limits: Limits,
                 probe_sources: Sequence, hide: Sequence[Path] = (), files: Sequence[Path] = (),
                 server=None, stop_after: Optional[int] = None) -> Outcome:
    """Execute ``notebook`` in a fresh sandbox under ``jobs_root`` (which must exist, mode 0711).

    ``files`` are copied next to the notebook (the assignment's data); ``hide`` are hidden in the
    ``namespace`` mode. With ``server`` (a :class:`.forkserver.ForkServer`) the worker and the
    kernel are forked from its pre-imported process instead of started afresh. With ``stop_after``
    the code cells after that index are not run (each gets a note saying so); the probes still run
    last. The caller removes
    ``outcome.job_dir`` once it has read the probe file.
    """
    job_dir = jobs_root / secrets.token_hex(16)
    work = job_dir / "work"
    for folder in (work / "home", work / "tmp"):
        folder.mkdir(parents=True)
    job_dir.chmod(0o711)
    nbformat.write(notebook, work / "submission.ipynb")
    for path in files:
        shutil.copy(path, work / path.name)
    uid = gid = None
    if mode in ("namespace", "user"):
        uid, gid = sandbox_user()
        for path in [work, *work.rglob("*")]:
            os.chown(path, uid, gid)
    kernel_limits = {"address_space": limits.address_space, "file_size": limits.file_size,
                     "cpu_seconds": int(limits.notebook_timeout) + 5, "uid": uid, "gid": gid,
                     "processes": limits.processes if uid is not None else None}
    job = {"notebook": "submission.ipynb", "cell_timeout": limits.cell_timeout, "output_limit": limits.output,
           "probe_sources": [item if isinstance(item, str) else list(item) for item in probe_sources], "limits": kernel_limits, "namespace": mode == "namespace",
           "jobs_root": str(jobs_root), "temp": tempfile.gettempdir(), "hide": [str(p) for p in hide],
           "stop_after": stop_after}
    (job_dir / "job.json").write_text(json.dumps(job))
    env = _environment(work)
    start = time.monotonic()
    if server is not None:
        from course_lib.grading.forkserver import ServerGone

        try:
            flags, peak, log, data = _watch_forked(server, job_dir, mode, env, limits, start)
            overflow = data is None
        except ServerGone:  # the server is gone: this job (and the next) starts fresh processes
            server = None
    if server is None:
        flags, peak, log, data, overflow = _watch_process(job_dir, mode, env, limits, start,
                                                          4 * limits.output + len(nbformat.writes(notebook)) + (1 << 20))
    wall = time.monotonic() - start
    try:
        result = json.loads(data) if not overflow else None
    except json.JSONDecodeError:
        result = None
    if result is None:
        return Outcome(None, {}, flags or [SANDBOX_FAILED], [], False, wall, peak, log, job_dir)
    status = {int(k): v for k, v in result["status"].items()}
    from course_lib.grading.worker import KERNEL_DIED

    worker_flags = [f for f in result["flags"] if not (f == KERNEL_DIED and flags)]  # the grader killed it
    return Outcome(nbformat.from_dict(result["notebook"]), status, sorted(set(flags + worker_flags)),
                   sorted(work.glob("probe-*.npz")), all(s == "ok" for s in result.get("probe_status", [])),
                   wall, peak, log, job_dir)
