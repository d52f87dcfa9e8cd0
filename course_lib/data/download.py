"""Where data lives, the offline switch, and the one download helper every real-dataset loader uses."""
from __future__ import annotations

import contextlib
import os
import socket
from pathlib import Path

DATA_DIR_ENV_VAR = "COURSE_DATA_DIR"
OFFLINE_ENV_VAR = "COURSE_OFFLINE"


def default_data_dir() -> Path:
    """Where downloaded datasets live: ``$COURSE_DATA_DIR`` or ``~/.cache/gdl-course``."""
    return Path(os.environ.get(DATA_DIR_ENV_VAR) or Path.home() / ".cache" / "gdl-course")


def _offline_requested() -> bool:
    return os.environ.get(OFFLINE_ENV_VAR, "").strip().lower() in {"1", "true", "yes"}


@contextlib.contextmanager
def _socket_timeout(seconds: float):
    previous = socket.getdefaulttimeout()
    socket.setdefaulttimeout(seconds)
    try:
        yield
    finally:
        socket.setdefaulttimeout(previous)


class DatasetUnavailable(RuntimeError):
    """A real dataset is neither on disk nor downloadable; the message says how to provide it."""


def _download(url: str, target: Path, timeout: float = 30.0) -> Path:
    """Download ``url`` to ``target`` (atomically), unless ``$COURSE_OFFLINE`` is set."""
    if _offline_requested():
        raise DatasetUnavailable(f"{OFFLINE_ENV_VAR} is set, so {url} was not downloaded")
    import urllib.request

    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_suffix(target.suffix + ".part")
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response, open(partial, "wb") as out:
            while chunk := response.read(1 << 20):
                out.write(chunk)
    except Exception as exc:
        partial.unlink(missing_ok=True)
        raise DatasetUnavailable(f"could not download {url}: {type(exc).__name__}: {exc}") from exc
    partial.replace(target)
    return target
