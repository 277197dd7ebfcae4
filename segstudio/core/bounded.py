"""Reading files that a user or another process can change, without trusting them.

Every read here is bounded: a file is opened without blocking (a FIFO put where
a file was expected does not hang the reader), refused unless it is a regular
file (``/dev/zero``, a device or a folder), and refused when it is larger than
what its kind can be -- before it is read, so a 200 MB "control file" costs
one ``fstat``, not 200 MB.  :func:`open_inside` opens a file of the project
store only when it lies inside the project and is not a symbolic link.
Outputs: :func:`check_output` refuses to replace anything that is not a regular
file or a new path (a device node, a FIFO, a link).
"""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path
from typing import Any

from .errors import SegStudioError

KiB, MiB = 1 << 10, 1 << 20
TABLE_LIMIT = 16 * MiB  # a class table, a settings file, a manifest, a list of images
ANNOTATION_LIMIT = 2048 * MiB  # a COCO / labelme JSON file (COCO's own run to ~500 MB)


class UnsafeFileError(SegStudioError):
    """A file is not a regular file, lies outside where it must, or is too large."""


def kind_of(mode: int) -> str:
    """What a file of this ``st_mode`` is, in a few words."""
    for test, name in ((stat.S_ISDIR, "a folder"), (stat.S_ISFIFO, "a FIFO (named pipe)"),
                       (stat.S_ISCHR, "a character device"), (stat.S_ISBLK, "a block device"),
                       (stat.S_ISSOCK, "a socket"), (stat.S_ISLNK, "a symbolic link")):
        if test(mode):
            return name
    return "not a regular file"


def _size(n: int) -> str:
    return f"{n / MiB:.1f} MiB" if n >= MiB else f"{n:,} bytes"


def open_regular(path: str | os.PathLike[str], limit: int | None = None,
                 follow: bool = True, what: str = "file") -> int:
    """A read-only descriptor of ``path`` once it is known to be a regular file (of at
    most ``limit`` bytes); UnsafeFileError otherwise.  Never blocks on a FIFO; with
    ``follow`` False a symbolic link is refused (OSError ELOOP)."""
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0)
    if not follow:
        flags |= getattr(os, "O_NOFOLLOW", 0)
    fd = os.open(path, flags)
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            raise UnsafeFileError(f"{path}: {kind_of(st.st_mode)}, not a regular file; "
                                  f"give a {what} that is a plain file")
        if limit is not None and st.st_size > limit:
            raise UnsafeFileError(f"{path}: {_size(st.st_size)}, more than a {what} can be "
                                  f"({_size(limit)}); refused without reading it")
    except BaseException:
        os.close(fd)
        raise
    return fd


def read_bytes(path: str | os.PathLike[str], limit: int, follow: bool = True,
               what: str = "file") -> bytes:
    """The bytes of a regular file of at most ``limit`` bytes (one that grows past it
    while being read is refused too)."""
    fd = open_regular(path, limit, follow, what)
    with os.fdopen(fd, "rb") as fh:
        data = fh.read(limit + 1)
    if len(data) > limit:
        raise UnsafeFileError(f"{path}: more than a {what} can be ({_size(limit)}); refused")
    return data


def read_text(path: str | os.PathLike[str], limit: int = TABLE_LIMIT, follow: bool = True,
              what: str = "file") -> str:
    """A regular file of at most ``limit`` bytes as UTF-8 text (UnicodeDecodeError as
    ``str.decode`` raises it)."""
    return read_bytes(path, limit, follow, what).decode("utf-8")


def load_json(path: str | os.PathLike[str], limit: int = TABLE_LIMIT,
              what: str = "JSON file") -> Any:
    """A JSON file read as :func:`read_text` reads it; a document nested too deeply is a
    ValueError like any other that is not valid JSON (never a RecursionError)."""
    text = read_text(path, limit, what=what)
    try:
        return json.loads(text)
    except RecursionError:
        raise ValueError("nested too deeply") from None


def inside(folder: str | os.PathLike[str], path: str | os.PathLike[str]) -> bool:
    """Whether ``path``'s folder, with every link resolved, lies inside ``folder``."""
    root = os.path.realpath(folder)
    parent = os.path.realpath(os.path.dirname(os.fspath(path)))
    return parent == root or parent.startswith(root.rstrip(os.sep) + os.sep)


def read_inside(folder: str | os.PathLike[str], path: str | os.PathLike[str], limit: int,
                offset: int = 0) -> bytes | None:
    """Up to ``limit`` bytes from ``offset`` of a file of a project store: None when it is
    missing, not a regular file, a symbolic link, or lies outside ``folder``."""
    if not inside(folder, path):
        return None
    try:
        fd = open_regular(path, None, follow=False)
    except (OSError, UnsafeFileError):
        return None
    with os.fdopen(fd, "rb") as fh:
        try:
            if offset:
                fh.seek(offset)
            return fh.read(limit)
        except OSError:
            return None


def check_output(path: str | os.PathLike[str], option: str = "") -> Path:
    """Refuse an output that exists and is not a regular file (a device such as
    /dev/full, a FIFO, a socket, a folder, a symbolic link): writing would replace it
    or hang.  A new path, or a regular file to replace, is returned as a Path."""
    p = Path(path)
    if not os.fspath(path):
        raise UnsafeFileError(f"{option or 'the output'} is empty; give a file name")
    try:
        st = os.lstat(p)
    except (FileNotFoundError, NotADirectoryError):
        return p  # a new path (whether its folder can be made is the writer's to say)
    except OSError as exc:
        raise UnsafeFileError(f"{p}: cannot check it ({exc.strerror or exc})") from None
    if not stat.S_ISREG(st.st_mode):
        where = f"{option} " if option else ""
        raise UnsafeFileError(f"{where}{p}: is {kind_of(st.st_mode)}; segstudio writes only "
                              "a new file or replaces a regular one; give another file name")
    return p
