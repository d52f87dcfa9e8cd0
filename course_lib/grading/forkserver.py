"""A pre-imported process that forks one sandbox per submission: ``python -m course_lib.grading.forkserver``.

A submission used to pay for two fresh interpreters, the worker's and the kernel's, and for
importing Jupyter's client in one and torch and course_lib in the other: about 5 s of every
submission on a 2-core laptop, more than most notebooks take to run. The fork server imports all
of that once per ``autograde`` run. For each job it forks a child that becomes the worker exactly
as a freshly started one would (own session; in the ``namespace`` mode new PID, mount, network,
IPC and UTS namespaces, with the worker as process 1), and the worker forks the student's kernel
from the same already-imported state (:mod:`.worker`, :func:`.launch.run_kernel`), which then
confines itself (limits, unprivileged user) before it runs any of the student's code.

What it does not weaken: the server is started as a fresh interpreter with the sandbox's
environment and only imports modules (:data:`PRELOAD`); it never runs a student's code and never
holds the gradebook, the solution or the reference values (those live in the grader's process).
Every job forks from the same pristine state, so nothing one submission does reaches another.
It stays single-threaded, so forking it is safe.

Protocol, one JSON object per line. The grader writes ``{"job": JOB_DIR, "env": {...}}``; the
server answers ``{"job": JOB_DIR, "pid": PID}`` once forked and ``{"job": JOB_DIR, "exit": CODE}``
when that child has ended. The worker writes its result to ``JOB_DIR/result.json`` and its log to
``JOB_DIR/log.txt``.
"""
from __future__ import annotations

import ctypes
import importlib
import json
import os
import select
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Dict, Optional

# What the assignments' kernels import, and what the worker needs to drive them. Not
# matplotlib.pyplot or matplotlib_inline: the inline backend hooks into the kernel's IPython shell
# when it is first imported, so it must be imported in the kernel (figures would be lost otherwise).
PRELOAD = ("json", "nbformat", "nbclient", "jupyter_client.manager", "psutil",
           "ipykernel.kernelapp", "ipykernel.ipkernel", "IPython", "numpy", "pandas", "torch",
           "torch.nn.functional", "matplotlib", "matplotlib.figure", "course_lib", "course_lib.config",
           "course_lib.data", "course_lib.models", "course_lib.training", "course_lib.losses",
           "course_lib.sampling", "course_lib.metrics", "course_lib.naive_bayes", "course_lib.checks",
           "course_lib.grading.kernel", "course_lib.grading.probe", "course_lib.grading.worker",
           "course_lib.grading.launch")
RESULT, LOG = "result.json", "log.txt"
_CLONE_NEWNS, _CLONE_NEWUTS, _CLONE_NEWIPC = 0x00020000, 0x04000000, 0x08000000
_CLONE_NEWPID, _CLONE_NEWNET = 0x20000000, 0x40000000
_MS_NOSUID, _MS_NODEV, _MS_NOEXEC, _MS_REC, _MS_PRIVATE = 2, 4, 8, 16384, 1 << 18
_PR_SET_PDEATHSIG = 1


def _libc():
    return ctypes.CDLL(None, use_errno=True)


def _check(result: int, what: str) -> None:
    if result != 0:
        errno = ctypes.get_errno()
        raise OSError(errno, f"{what}: {os.strerror(errno)}")


def die_with_parent() -> None:
    """Be killed when the process that forked this one ends (``unshare --kill-child`` does the same)."""
    _libc().prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)


def _enter_namespaces() -> None:
    """New PID, mount, network, IPC and UTS namespaces, and a ``/proc`` of the new PID namespace.

    The calling process stays outside the new PID namespace: it forks the process that becomes
    process 1 there, waits for it and exits with its status. When process 1 ends, the kernel
    kills every process left in the namespace.
    """
    libc = _libc()
    _check(libc.unshare(_CLONE_NEWNS | _CLONE_NEWUTS | _CLONE_NEWIPC | _CLONE_NEWPID | _CLONE_NEWNET), "unshare")
    _check(libc.mount(None, b"/", None, _MS_REC | _MS_PRIVATE, None), "make mounts private")
    pid = os.fork()
    if pid:
        _, status = os.waitpid(pid, 0)
        os._exit(os.waitstatus_to_exitcode(status) & 0xFF)
    die_with_parent()
    _check(libc.mount(b"proc", b"/proc", b"proc", _MS_NOSUID | _MS_NODEV | _MS_NOEXEC, None), "mount /proc")


def _child(job_dir: Path, env: Dict[str, str]) -> None:
    """The forked child: become the job's worker (never returns)."""
    code = 1
    try:
        os.setsid()
        die_with_parent()
        signal.signal(signal.SIGCHLD, signal.SIG_DFL)
        null = os.open(os.devnull, os.O_RDWR)
        os.dup2(null, 0)
        for fd, name in ((1, RESULT), (2, LOG)):
            target = os.open(job_dir / name, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            os.dup2(target, fd)
            os.close(target)
        os.close(null)
        os.environ.clear()
        os.environ.update(env)
        import tempfile

        tempfile.tempdir = None  # computed from TMPDIR again, the job's
        from course_lib.grading import worker

        job = json.loads((job_dir / "job.json").read_text())
        if job.get("namespace"):
            _enter_namespaces()
        code = worker.serve(job_dir, job, fork_kernel=True)
    except BaseException:  # noqa: BLE001 - report anything on the job's log, then exit
        import traceback

        traceback.print_exc()
    finally:
        try:
            sys.stdout.flush()
            sys.stderr.flush()
        finally:
            os._exit(code)


def serve() -> None:
    """The server's loop: fork a child per request, report its pid and, later, its exit status."""
    for name in PRELOAD:
        importlib.import_module(name)
    children: Dict[int, str] = {}
    out = sys.stdout
    out.write(json.dumps({"ready": os.getpid()}) + "\n")
    out.flush()
    buffer = b""
    stdin = sys.stdin.buffer.raw if hasattr(sys.stdin.buffer, "raw") else sys.stdin.buffer
    open_input = True
    while open_input or children:
        if not open_input:
            time.sleep(0.05)
        elif select.select([stdin], [], [], 0.05)[0]:
            chunk = os.read(stdin.fileno(), 1 << 16)
            if not chunk:
                open_input = False
            buffer += chunk
            while b"\n" in buffer:
                line, buffer = buffer.split(b"\n", 1)
                request = json.loads(line)
                job_dir = Path(request["job"])
                pid = os.fork()
                if pid == 0:
                    _child(job_dir, request["env"])
                children[pid] = request["job"]
                out.write(json.dumps({"job": request["job"], "pid": pid}) + "\n")
                out.flush()
        while children:
            pid, status = os.waitpid(-1, os.WNOHANG)
            if pid == 0:
                break
            job = children.pop(pid, None)
            if job is not None:
                out.write(json.dumps({"job": job, "exit": os.waitstatus_to_exitcode(status)}) + "\n")
                out.flush()


class ServerGone(RuntimeError):
    """The fork server ended (or never started): the grader falls back to fresh processes."""


class ForkServer:
    """The grader's handle on one fork server (one per ``autograde`` run; thread-safe)."""

    def __init__(self, env: Dict[str, str], cwd: Path, start_timeout: float = 120.0):
        self.proc = subprocess.Popen([sys.executable, "-m", "course_lib.grading.forkserver"],
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                     cwd=cwd, env=env, start_new_session=True)
        self._lock = threading.Lock()
        self._events: Dict[str, dict] = {}
        self._changed = threading.Condition(self._lock)
        self._ready = threading.Event()
        self._alive = True
        threading.Thread(target=self._read, daemon=True).start()
        threading.Thread(target=self._drain_stderr, daemon=True).start()
        if not self._ready.wait(start_timeout) or not self._alive:
            self.close()
            raise ServerGone(f"the fork server did not start:\n{self.stderr_tail()}")

    _stderr = b""

    def _drain_stderr(self) -> None:
        while chunk := self.proc.stderr.read(4096):
            self._stderr = (self._stderr + chunk)[-8192:]

    def stderr_tail(self) -> str:
        return self._stderr.decode("utf-8", "replace")

    def _read(self) -> None:
        for line in self.proc.stdout:
            message = json.loads(line)
            if "ready" in message:
                self._ready.set()
                continue
            with self._changed:
                self._events.setdefault(message["job"], {}).update(message)
                self._changed.notify_all()
        with self._changed:
            self._alive = False
            self._changed.notify_all()
        self._ready.set()

    def spawn(self, job_dir: Path, env: Dict[str, str], timeout: float = 30.0) -> int:
        """Fork a worker for ``job_dir``; its pid (its own session and process group)."""
        key = str(job_dir)
        with self._changed:
            if not self._alive:
                raise ServerGone(f"the fork server ended:\n{self.stderr_tail()}")
            self.proc.stdin.write((json.dumps({"job": key, "env": env}) + "\n").encode())
            self.proc.stdin.flush()
            if not self._changed.wait_for(lambda: "pid" in self._events.get(key, {}) or not self._alive, timeout):
                raise ServerGone("the fork server did not answer")
            if "pid" not in self._events.get(key, {}):
                raise ServerGone(f"the fork server ended:\n{self.stderr_tail()}")
            return self._events[key]["pid"]

    def exit_code(self, job_dir: Path, timeout: float = 0.0) -> Optional[int]:
        """The worker's exit status once it has ended (waiting up to ``timeout`` s), else None."""
        key = str(job_dir)
        with self._changed:
            self._changed.wait_for(lambda: "exit" in self._events.get(key, {}) or not self._alive, timeout)
            event = self._events.get(key, {})
            if "exit" in event:
                self._events.pop(key)
                return event["exit"]
            return None if self._alive else -1

    def close(self) -> None:
        try:
            self.proc.stdin.close()
        except OSError:
            pass
        try:
            self.proc.wait(30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()

    def __enter__(self) -> "ForkServer":
        return self

    def __exit__(self, *exc) -> None:
        self.close()


if __name__ == "__main__":
    serve()
