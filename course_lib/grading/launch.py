"""Start a student's kernel inside the sandbox: ``python -m course_lib.grading.launch LIMITS -- CMD ...``.

``LIMITS`` is a JSON object (see :func:`confine`). The launcher sets the resource limits, detaches
the kernel's standard streams (so nothing it prints reaches the grader's pipe), forbids gaining
privileges through set-uid programs and, when started as root with a ``uid``, becomes that
unprivileged user; then it replaces itself with ``CMD``.
"""
from __future__ import annotations

import ctypes
import json
import os
import resource
import sys

_PR_SET_NO_NEW_PRIVS = 38


def confine(limits: dict, connection_file: str | None = None) -> None:
    """Apply ``limits`` to this process (and so to everything it starts).

    Keys, all optional: ``address_space``, ``file_size``, ``cpu_seconds``, ``processes`` (rlimits),
    ``uid`` and ``gid`` (the user to become; only when running as root).
    """
    for key, rlimit in (("address_space", resource.RLIMIT_AS), ("file_size", resource.RLIMIT_FSIZE),
                        ("cpu_seconds", resource.RLIMIT_CPU), ("processes", resource.RLIMIT_NPROC)):
        if limits.get(key):
            resource.setrlimit(rlimit, (int(limits[key]), int(limits[key])))
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    with open(os.devnull, "r+b") as null:
        for fd in (0, 1, 2):
            os.dup2(null.fileno(), fd)
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(_PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0)
    uid, gid = limits.get("uid"), limits.get("gid")
    if uid is not None and os.geteuid() == 0:
        if connection_file:  # jupyter_client writes it for its own user only
            os.chown(connection_file, uid, gid)
        os.setgroups([])
        os.setgid(gid)
        os.setuid(uid)


def run_kernel(command: list[str], env: dict, cwd: str) -> None:
    """Become the kernel ``command`` would start, in this (forked, already-imported) process.

    ``command`` is the kernelspec's ``[python, -m, course_lib.grading.launch, LIMITS, --, python,
    -m, ipykernel_launcher, ARGS...]``; this applies ``LIMITS`` as :func:`main` does, then runs
    ipykernel with ``ARGS`` in-process, as ``python -m ipykernel_launcher`` would from ``cwd``.
    """
    import asyncio
    import tempfile

    split = command.index("--")
    limits, kernel = json.loads(command[split - 1]), command[split + 1:]
    if kernel[1:3] != ["-m", "ipykernel_launcher"]:
        raise ValueError(f"a forked kernel runs ipykernel only, not {kernel}")
    os.setsid()
    os.chdir(cwd)
    os.environ.clear()
    os.environ.update(env)
    tempfile.tempdir = None
    connection_file = kernel[kernel.index("-f") + 1] if "-f" in kernel else None
    confine(limits, connection_file)
    sys.argv = ["ipykernel_launcher", *kernel[3:]]
    sys.path[0] = cwd  # as ``python -m`` from cwd
    asyncio.set_event_loop_policy(None)
    from ipykernel import kernelapp

    kernelapp.launch_new_instance()


def main(argv: list[str]) -> None:
    split = argv.index("--")
    limits, command = json.loads(argv[1]), argv[split + 1:]
    connection_file = command[command.index("-f") + 1] if "-f" in command else None
    confine(limits, connection_file)
    os.execv(command[0], command)


if __name__ == "__main__":
    main(sys.argv)
