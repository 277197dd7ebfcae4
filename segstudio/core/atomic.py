"""Atomic file writes: temp file in the same folder, flush, fsync, rename.

A crash at any moment leaves either the old file or the new one, never a
partial file.  Only a new path or a regular file is ever replaced: a device node
(``/dev/full``), a FIFO, a socket, a folder or a symbolic link at the target is
refused (:func:`.bounded.check_output`), never turned into a file.
:class:`StagedWrites` does the same for a group of files that must appear
together or not at all.  Stale temp files from a crash are named ``.<name>.tmp-*`` and
are removed by :func:`sweep_temp_files`.
"""

from __future__ import annotations

import contextlib
import errno
import os
import secrets
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import BinaryIO

from .bounded import check_output
from .errors import DiskFullError, ProjectError

TEMP_MARK = ".tmp-"


def fsync_dir(folder: Path) -> None:
    """Make the entries of ``folder`` (a rename into it) durable."""
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


def _describe_failure(path: Path, exc: BaseException) -> BaseException:
    """The error to raise for a failed write of ``path`` (the temp file is already gone)."""
    if (isinstance(exc, OSError) and exc.errno in (errno.ENOSPC, errno.EDQUOT)) or (
            isinstance(exc, Exception) and not isinstance(exc, OSError)
            and _nearly_full(path.parent)):  # e.g. torch.save's RuntimeError
        return DiskFullError(
            f"disk full while writing {path}: the previous version is intact; "
            "free some space and save again"
        )
    if isinstance(exc, OSError):
        return ProjectError(f"cannot write {path}: {exc.strerror or exc}")
    return exc


class StagedWrites:
    """Several files written all or nothing.

    Each :meth:`add` writes a temp file beside its target (flush, fsync); :meth:`commit`
    renames them all into place.  Leaving the ``with`` block without a commit (an
    exception, a full disk at the second file, a failed database update between the
    writes and the commit) removes every temp file, so no target is touched and no
    partial or orphan file is left."""

    def __init__(self) -> None:
        self._staged: list[tuple[Path, Path]] = []

    def add(self, path: str | os.PathLike[str], write: Callable[[BinaryIO], object]) -> None:
        path = check_output(path)
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
        except BaseException as exc:
            _unlink_quietly(tmp)
            err = _describe_failure(path, exc)
            if err is exc:
                raise
            raise err from exc
        self._staged.append((tmp, path))

    def add_bytes(self, path: str | os.PathLike[str], data: bytes) -> None:
        self.add(path, lambda fh: fh.write(data))

    def commit(self) -> None:
        """Rename every staged file into place (a rename does not need free space)."""
        for folder in self.rename_all():
            fsync_dir(folder)

    def rename_all(self) -> list[Path]:
        """:meth:`commit` without the folders' fsyncs: returns the folders to fsync (the
        caller may fsync them at once, on several threads)."""
        staged, self._staged = self._staged, []
        for i, (tmp, path) in enumerate(staged):
            try:
                os.replace(tmp, path)
            except OSError as exc:
                for rest, _ in staged[i:]:
                    _unlink_quietly(rest)
                raise _describe_failure(path, exc) from exc
        return list(dict.fromkeys(path.parent for _, path in staged))

    def discard(self) -> None:
        staged, self._staged = self._staged, []
        for tmp, _ in staged:
            _unlink_quietly(tmp)

    def __enter__(self) -> StagedWrites:
        return self

    def __exit__(self, *exc: object) -> None:
        self.discard()


def _unlink_quietly(path: Path) -> None:
    with contextlib.suppress(OSError):
        path.unlink()


def atomic_write(path: str | os.PathLike[str], write: Callable[[BinaryIO], object]) -> None:
    """Write ``path`` atomically; ``write`` receives an open binary file."""
    with StagedWrites() as staged:
        staged.add(path, write)
        staged.commit()


def _nearly_full(folder: Path) -> bool:
    try:
        return shutil.disk_usage(folder).free < (1 << 20)
    except OSError:
        return False


def atomic_write_bytes(path: str | os.PathLike[str], data: bytes) -> None:
    atomic_write(path, lambda fh: fh.write(data))


def atomic_write_text(path: str | os.PathLike[str], text: str) -> None:
    atomic_write_bytes(path, text.encode("utf-8"))


def _writer_alive(name: str) -> bool:
    """True when the process that made this temp file may still be writing."""
    try:
        pid = int(name.rsplit(TEMP_MARK, 1)[1].split("-", 1)[0])
    except (IndexError, ValueError):
        return False
    return process_alive(pid)


def process_alive(pid: int) -> bool:
    """Whether process ``pid`` still runs on this machine (a zombie -- killed, not yet
    reaped -- counts as gone; a process of another user as running)."""
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # exists, owned by someone else
        return True
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii") as fh:
            return fh.read().rsplit(")", 1)[-1].split()[0] != "Z"
    except OSError:
        return True


def sweep_temp_files(folder: str | os.PathLike[str]) -> int:
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
