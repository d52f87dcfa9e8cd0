"""Run one built notebook in the sandbox and print the result as JSON: ``python -m course_lib.grading.worker JOB_DIR``.

The worker is the grader's side of the sandbox: it drives the student's kernel (which
:mod:`course_lib.grading.launch` confines) cell by cell, keeps at most ``output_limit`` bytes of
output, stops a cell after ``cell_timeout`` seconds, notices a dead kernel, and finally runs the
assignment's probe cell (:mod:`course_lib.grading.probe`). In the ``namespace`` mode it is process
1 of fresh PID, mount, network and IPC namespaces: it first hides the paths listed in the job from
the kernel, and when it exits every process the student started dies with it.

It reads ``JOB_DIR/job.json`` (written by :mod:`course_lib.grading.sandbox`) and writes one JSON
object to stdout: ``{"notebook": ..., "status": {cell index: "ok" | "error" | "timeout"}, "flags": [...]}``.
"""
from __future__ import annotations

import ctypes
import fcntl
import json
import os
import signal
import socket
import struct
import sys
from pathlib import Path

TIMED_OUT = "timed out"
KERNEL_DIED = "kernel died"
TRUNCATED = "output truncated"
_MS_NOSUID, _MS_NODEV, _MS_BIND, _MS_REC = 2, 4, 4096, 16384
_NOTICE = "\n[... output truncated by the grader]\n"
NOT_RUN = ("[not run by the grader: this cell comes after the last graded cell, so no grade depends on it; "
           "run it yourself to see its output]\n")


def _mount(source: str, target: str, fstype: str | None, flags: int, data: str | None = None) -> None:
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.mount(source.encode(), target.encode(), fstype.encode() if fstype else None, flags,
                  data.encode() if data else None) != 0:
        errno = ctypes.get_errno()
        raise OSError(errno, f"mount {source} on {target}: {os.strerror(errno)}")


def _loopback_up() -> None:
    """The new network namespace has only a loopback interface, down: bring it up for the kernel's sockets."""
    siocgifflags, siocsifflags, iff_up = 0x8913, 0x8914, 0x1
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        flags = struct.unpack("16sH", fcntl.ioctl(s, siocgifflags, struct.pack("16sH", b"lo", 0)))[1]
        fcntl.ioctl(s, siocsifflags, struct.pack("16sH", b"lo", flags | iff_up))


def _only(folder: Path, keep: Path) -> None:
    """Replace ``folder`` by an empty one that holds nothing but ``keep`` (a path inside it)."""
    fd = os.open(keep, os.O_RDONLY | os.O_DIRECTORY)
    try:
        _mount("tmpfs", str(folder), "tmpfs", _MS_NOSUID | _MS_NODEV, "mode=711,size=64k")
        keep.mkdir(parents=True)
        for parent in [keep, *keep.parents]:
            if parent == folder:
                break
            parent.chmod(0o711)
        _mount(f"/proc/self/fd/{fd}", str(keep), None, _MS_BIND | _MS_REC)
    finally:
        os.close(fd)


def enter_namespace(job_dir: Path, jobs_root: Path, hide: list[str], temp: str) -> None:
    """Hide ``hide`` (an empty folder or file in their place), the temporary folders but this job's,
    and the home folders (but the Python the kernel runs, when it lives there, as pyenv does)."""
    _loopback_up()
    for path in hide:
        if os.path.isdir(path):
            _mount("tmpfs", path, "tmpfs", _MS_NOSUID | _MS_NODEV, "mode=000,size=4k")
        elif os.path.exists(path):
            _mount("/dev/null", path, None, _MS_BIND)
    for scratch in ("/var/tmp", "/dev/shm"):
        if os.path.isdir(scratch):
            _mount("tmpfs", scratch, "tmpfs", _MS_NOSUID | _MS_NODEV, "mode=1777,size=64m")
    temp_dir = Path(temp).resolve()  # the grader's temporary folder (this process's TMPDIR is the job's)
    _only(temp_dir if temp_dir in job_dir.parents else jobs_root, job_dir)
    python = Path(sys.base_prefix).resolve()
    for home in (Path("/root"), Path("/home")):
        if home.is_dir() and home not in job_dir.parents:
            if home in python.parents:
                _only(home, python)
            else:
                _mount("tmpfs", str(home), "tmpfs", _MS_NOSUID | _MS_NODEV, "mode=711,size=4k")


def _kernelspec(job_dir: Path, limits: dict) -> None:
    folder = job_dir / "jupyter" / "kernels" / "course-grade"
    folder.mkdir(parents=True, exist_ok=True)
    argv = [sys.executable, "-m", "course_lib.grading.launch", json.dumps(limits), "--",
            sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}",
            "--HistoryManager.hist_file=:memory:"]
    (folder / "kernel.json").write_text(json.dumps({"argv": argv, "display_name": "grading sandbox",
                                                    "language": "python"}))
    os.environ["JUPYTER_PATH"] = str(job_dir / "jupyter")


def _client_class():
    from nbclient import NotebookClient

    class CappedClient(NotebookClient):
        """Keeps at most ``budget`` bytes of outputs in the whole notebook."""

        budget = 0
        truncated = False
        replies: dict = {}

        async def _check_raise_for_error(self, cell, cell_index, exec_reply):
            self.replies[cell_index] = (exec_reply or {}).get("content", {}).get("status")
            return await super()._check_raise_for_error(cell, cell_index, exec_reply)

        def output(self, outs, msg, display_id, cell_index):
            out = super().output(outs, msg, display_id, cell_index)
            if out is None or not outs or outs[-1] is not out:
                return out
            size = len(json.dumps(out))
            if size <= self.budget:
                self.budget -= size
                return out
            self.truncated = True
            if out.get("output_type") == "stream" and self.budget > len(_NOTICE) + 64:
                out["text"] = out["text"][: self.budget - len(_NOTICE) - 64] + _NOTICE
                self.budget = 0
            else:
                outs.pop()
            return out

    return CappedClient


class _ForkedKernel:
    """The kernel process as :class:`subprocess.Popen` shows it to jupyter_client, for a forked kernel."""

    stdin = stdout = stderr = None

    def __init__(self, pid: int):
        self.pid, self.returncode = pid, None

    def poll(self):
        if self.returncode is None:
            try:
                pid, status = os.waitpid(self.pid, os.WNOHANG)
            except ChildProcessError:
                self.returncode = -1
            else:
                if pid:
                    self.returncode = os.waitstatus_to_exitcode(status)
        return self.returncode

    def wait(self, timeout=None):
        import subprocess
        import time

        end = None if timeout is None else time.monotonic() + timeout
        while self.poll() is None:
            if end is not None and time.monotonic() > end:
                raise subprocess.TimeoutExpired(str(self.pid), timeout)
            time.sleep(0.02)
        return self.returncode

    def send_signal(self, signum: int) -> None:
        if self.poll() is None:
            os.kill(self.pid, signum)

    def kill(self) -> None:
        self.send_signal(signal.SIGKILL)

    def terminate(self) -> None:
        self.send_signal(signal.SIGTERM)


class KernelTemplate:
    """A child forked before any event loop or socket exists, that waits to become the kernel.

    :meth:`launch` hands it the command, environment and folder jupyter_client would have
    started the kernel with; it then confines itself and runs ipykernel in-process
    (:func:`.launch.run_kernel`), from the modules the fork server imported.
    """

    def __init__(self):
        read, self._write = os.pipe()
        self.pid = os.fork()
        if self.pid == 0:
            code = 1
            try:
                os.close(self._write)
                os.closerange(3, read)  # nothing of the worker's but the pipe reaches the kernel
                os.closerange(read + 1, 1 << 16)
                with os.fdopen(read, "rb") as pipe:
                    data = pipe.read()
                if data:
                    from course_lib.grading import launch

                    request = json.loads(data)
                    launch.run_kernel(request["cmd"], request["env"], request["cwd"])
                    code = 0
            finally:
                os._exit(code)
        os.close(read)

    def launch(self, cmd, env, cwd) -> int:
        write, self._write = self._write, None
        if write is None:
            raise RuntimeError("this kernel template was used already")
        with os.fdopen(write, "wb") as pipe:
            pipe.write(json.dumps({"cmd": list(cmd), "env": dict(env), "cwd": str(cwd)}).encode())
        return self.pid

    def discard(self) -> None:
        """End the child: unused, closing the pipe makes it exit; used, the kernel is killed. Then reap it."""
        if self._write is not None:
            os.close(self._write)
            self._write = None
        else:
            try:
                os.kill(self.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        try:
            os.waitpid(self.pid, 0)
        except ChildProcessError:
            pass


def _forked_manager_class():
    from jupyter_client.manager import AsyncKernelManager

    class ForkedKernelManager(AsyncKernelManager):
        """Starts the kernel from a :class:`KernelTemplate` instead of a fresh interpreter."""

        template: KernelTemplate

        async def _async_launch_kernel(self, kernel_cmd, **kw):
            env = kw.get("env") or dict(os.environ)
            env.setdefault("JPY_PARENT_PID", str(os.getpid()))
            pid = self.template.launch(kernel_cmd, env, kw.get("cwd") or os.getcwd())
            provisioner = self.provisioner
            provisioner.process = _ForkedKernel(pid)
            provisioner.pid = provisioner.pgid = pid
            provisioner.cwd = kw.get("cwd")
            self._reconcile_connection_info(provisioner.connection_info)

    return ForkedKernelManager


def run(job: dict, job_dir: Path, template: KernelTemplate | None = None) -> dict:
    import nbformat
    from jupyter_client.manager import AsyncKernelManager
    from nbclient.exceptions import CellTimeoutError, DeadKernelError

    work = job_dir / "work"
    _kernelspec(job_dir, job["limits"])
    nb = nbformat.reads((work / job["notebook"]).read_text(), as_version=4)
    notebook_cells = len(nb.cells)
    probes = [(name, source) for name, source in _probe_list(job.get("probe_sources", []))]
    nb.cells += [nbformat.v4.new_code_cell(source) for _, source in probes]
    cells = nb.cells
    if template is None:
        km = AsyncKernelManager(kernel_name="course-grade")
    else:
        km = _forked_manager_class()(kernel_name="course-grade")
        km.template = template
    km.connection_file = str(work / "kernel.json")
    client = _client_class()(nb, km=km, timeout=job["cell_timeout"], allow_errors=True,
                             interrupt_on_timeout=False, record_timing=False,
                             resources={"metadata": {"path": str(work)}})
    client.budget = job["output_limit"]
    status, flags = {}, []
    with client.setup_kernel():
        for index in _order(cells, notebook_cells, [name for name, _ in probes], job.get("stop_after")):
            if index < 0:  # a cell the grader does not run
                cell = cells[-index - 1]
                cell.outputs = [nbformat.v4.new_output("stream", name="stdout", text=NOT_RUN)]
                cell.execution_count = None
                continue
            cell = cells[index]
            try:
                client.execute_cell(cell, index, execution_count=index + 1)
                status[index] = "ok" if client.replies.get(index) == "ok" else "error"
            except CellTimeoutError:
                status[index] = "timeout"
                flags.append(TIMED_OUT)
                if not _recovers(client, km):
                    break
            except DeadKernelError:
                status[index] = "died"
                flags.append(KERNEL_DIED)
                break
    if client.truncated:
        flags.append(TRUNCATED)
    probe_status = [status.get(i) for i in range(notebook_cells, len(cells))]
    del nb.cells[notebook_cells:]
    return {"notebook": nb, "status": {i: s for i, s in status.items() if i < notebook_cells},
            "flags": sorted(set(flags)), "probe_status": probe_status}


def _probe_list(probes):
    """``[(function, source)]`` from the job's probes: pairs, or bare sources (run after the notebook)."""
    return [(None, item) if isinstance(item, str) else (item[0], item[1]) for item in probes]


def _order(cells, notebook_cells: int, probe_names, stop_after):
    """The order to run the code cells in: the notebook's, each function's probe right after its
    hidden-test cell (so it sees the function the tests saw, and its values survive a later crash),
    the other probes last. Cells after ``stop_after`` come as ``-index - 1`` (not run)."""
    pending = [notebook_cells + i for i in range(len(probe_names))]
    for index, cell in enumerate(cells[:notebook_cells]):
        if cell.cell_type != "code":
            continue
        if stop_after is not None and index > stop_after:
            yield -index - 1
            continue
        yield index
        meta = cell.get("metadata", {}).get("nbgrader", {})
        if meta.get("grade"):
            for probe in [p for p in pending if probe_names[p - notebook_cells] == meta.get("grade_id")]:
                pending.remove(probe)
                yield probe
    yield from pending


def _recovers(client, km) -> bool:
    """After a cell timed out: interrupt the kernel; true if it then answers a trivial cell within 10 s."""
    import nbformat
    from jupyter_client.utils import run_sync

    import asyncio

    saved = client.timeout
    # nbclient leaves the timed-out cell's output reader running; it would swallow later outputs
    loop = asyncio.get_event_loop()
    for task in asyncio.all_tasks(loop):
        if getattr(task.get_coro(), "__name__", "") == "_async_poll_output_msg":
            task.cancel()
    client.nb.cells.append(nbformat.v4.new_code_cell("pass"))
    try:
        run_sync(km.interrupt_kernel)()
        client.timeout = 10
        index = len(client.nb.cells) - 1
        client.execute_cell(client.nb.cells[-1], index, store_history=False)
        return client.replies.pop(index, None) == "ok"
    except Exception:  # noqa: BLE001 - a kernel that ignores SIGINT times out again
        return False
    finally:
        client.timeout = saved
        client.nb.cells.pop()


def serve(job_dir: Path, job: dict, fork_kernel: bool = False) -> int:
    """Run the job and write its result to stdout (in the ``namespace`` mode, as process 1 of new namespaces).

    With ``fork_kernel`` (under :mod:`.forkserver`) the kernel is forked from this process's
    imported modules instead of started as a fresh interpreter.
    """
    if job.get("namespace"):
        enter_namespace(job_dir, Path(job["jobs_root"]), job["hide"], job["temp"])
    os.chdir(job_dir / "work")
    template = KernelTemplate() if fork_kernel else None
    try:
        result = run(job, job_dir, template)
    finally:
        if template is not None:
            template.discard()
    sys.stdout.write(json.dumps(result))
    sys.stdout.flush()
    return 0


def main(argv: list[str]) -> int:
    job_dir = Path(argv[1])
    return serve(job_dir, json.loads((job_dir / "job.json").read_text()))


if __name__ == "__main__":
    sys.exit(main(sys.argv))
