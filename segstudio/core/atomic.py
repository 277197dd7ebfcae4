"""Atomic file writes: temp file in the same folder, flush, fsync, rename.

A crash at any moment leaves either the old file or the new one, never a
partial file.  Stale temp files from a crash are named ``.<name>.tmp-*`` and
are removed by :func:`sweep_temp_files`.
"""

from __future__ import annotations

import errno
import os
import secrets
import shutil
from pathlib import Path
from typing import BinaryIO, Callable

from .errors import DiskFullError, ProjectError

TEMP_MARK = ".tmp-"


def _fsync_dir(folder: Path) -> None:
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:  # pragma: no cover - platforms without directory fds
        return
    try:
        os.fsync(fd)
    except OSError:  # pragma: no cover
        pass
    finally:
        os.close(fd)


def temp_name(path: Path) -> Path:
    return path.with_name(f".{path.name}{TEMP_MARK}{os.getpid()}-{secrets.token_hex(4)}")


def atomic_write(path: str | os.PathLike, write: Callable[[BinaryIO], None]) -> None:
    """Write ``path`` atomically; ``write`` receives an open binary file."""
    path = Path(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ProjectError(f"cannot create folder {path.parent}: {exc.strerror}") from exc
    tmp = temp_name(path)
    try:
        with open(tmp, "wb") as fh:
            write(fh)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException as exc:
        try:
            tmp.unlink()
        except OSError:
            pass
        if (isinstance(exc, OSError) and exc.errno in (errno.ENOSPC, errno.EDQUOT)) or (
                isinstance(exc, Exception) and not isinstance(exc, OSError)
                and _nearly_full(path.parent)):  # e.g. torch.save's RuntimeError
            raise DiskFullError(
                f"disk full while writing {path}: the previous version is intact; "
                "free some space and save again"
            ) from exc
        if isinstance(exc, OSError):
            raise ProjectError(f"cannot write {path}: {exc.strerror or exc}") from exc
        raise
    _fsync_dir(path.parent)


def _nearly_full(folder: Path) -> bool:
    try:
        return shutil.disk_usage(folder).free < (1 << 20)
    except OSError:
        return False


def atomic_write_bytes(path: str | os.PathLike, data: bytes) -> None:
    atomic_write(path, lambda fh: fh.write(data))


def atomic_write_text(path: str | os.PathLike, text: str) -> None:
    atomic_write_bytes(path, text.encode("utf-8"))


def _writer_alive(name: str) -> bool:
    """True when the process that made this temp file may still be writing."""
    try:
        pid = int(name.rsplit(TEMP_MARK, 1)[1].split("-", 1)[0])
    except (IndexError, ValueError):
        return False
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:
        return True
    return True


def sweep_temp_files(folder: str | os.PathLike) -> int:
    """Remove temp files left by a crash under ``folder``; returns the count."""
    removed = 0
    folder = Path(folder)
    if not folder.is_dir():
        return 0
    stack = [folder]
    while stack:
        current = stack.pop()
        try:
            entries = list(os.scandir(current))
        except OSError:
            continue
        for entry in entries:
            if entry.is_dir(follow_symlinks=False):
                stack.append(Path(entry.path))
            elif entry.name.startswith(".") and TEMP_MARK in entry.name:
                if _writer_alive(entry.name):
                    continue
                try:
                    os.unlink(entry.path)
                    removed += 1
                except OSError:
                    pass
    return removed
