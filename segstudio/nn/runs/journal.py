"""A run's events on disk, so that another process can follow the run.

Every recorded run (CLI, window, torchrun rank 0) appends the events that
:func:`segstudio.nn.train.engine.fit` yields to ``.segstudio/runs/run-<id>/events.jsonl``,
one JSON object per line (``{"type": "EpochEnd", ...fields}``), flushed after
each line.  A window that did not start the run -- a separate training
process, a CLI run, a server writing into the same project folder -- reads
the file from where it stopped and rebuilds the same frozen events, so its
panel and plots follow the run exactly as if the run were in the window.

Steps are written at most every ``step_interval`` seconds (and always the
last step of an epoch); every other event is written.  A reader skips a last
line that is not complete yet.

The journal is opened only when it is a regular file inside the project (never
through a symbolic link, never blocking on a FIFO); a reader reads at most
:data:`READ_CHUNK` bytes a call and skips a line longer than :data:`MAX_LINE`
or one that does not decode (a hostile line costs it nothing but that line).
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import os
import stat
import time
import typing
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

from ...core.bounded import UnsafeFileError, inside, kind_of, read_inside
from ...core.run_types import EpochMetrics
from . import events as E

if TYPE_CHECKING:
    from ...core.project import Project

EVENT_TYPES: dict[str, type[E.Event]] = {
    cls.__name__: cls for cls in (E.RunStarted, E.EpochStarted, E.Step, E.EpochEnd, E.Message,
                                  E.Finished)}
JOURNAL = "events.jsonl"
MAX_LINE = 1 << 20  # an event is a few KiB (a confusion matrix of 255 classes: ~300 KiB)
READ_CHUNK = 4 << 20  # what one read takes at most


def run_dir(project: Project, run_id: int) -> Path:
    """The folder of a run's journal and control file."""
    return Path(project.project_dir) / "runs" / f"run-{int(run_id)}"


def journal_path(project: Project, run_id: int) -> Path:
    return run_dir(project, run_id) / JOURNAL


def _tuple_fields(cls: type[E.Event]) -> frozenset[str]:
    hints = typing.get_type_hints(cls)
    return frozenset(name for name, hint in hints.items()
                     if typing.get_origin(hint) is tuple or hint is tuple)


_TUPLES = {name: _tuple_fields(cls) for name, cls in EVENT_TYPES.items()}


def encode(ev: E.Event) -> str:
    """One event as a JSON line (no newline)."""
    return json.dumps({"type": type(ev).__name__, **dataclasses.asdict(ev)}, allow_nan=True)


def decode(line: str) -> E.Event | None:
    """The event of one journal line; None for a line of an unknown type or a broken one."""
    try:
        return _decode(line)
    except (ValueError, KeyError, TypeError, AttributeError, RecursionError):
        return None  # RecursionError: a line of deeply nested brackets


def _decode(line: str) -> E.Event:
    data = json.loads(line)
    kind = data.pop("type")
    cls = EVENT_TYPES[kind]
    for name in _TUPLES[kind]:
        if isinstance(data.get(name), list):
            data[name] = tuple(data[name])
    if cls is E.EpochEnd:
        data["metrics"] = _epoch_metrics(data)
    known = {f.name for f in dataclasses.fields(cls)}
    return cls(**{k: v for k, v in data.items() if k in known})


# an EpochEnd line of a segstudio before EpochMetrics: its numbers beside a dict of scores
_OLD_SCORES = {"global_accuracy": "pixel_accuracy"}


def _epoch_metrics(data: dict[str, Any]) -> EpochMetrics:
    m = data.get("metrics")
    if isinstance(m, dict) and "epoch" in m:
        return EpochMetrics.from_dict(m)
    old = {_OLD_SCORES.get(k, k): v for k, v in (m or {}).items()}
    return EpochMetrics.from_dict({**data, **old})


class JournalWriter:
    """Appends a run's events to its journal (rank 0 of the run only)."""

    def __init__(self, path: str | Path, step_interval: float = 0.25,
                 clock: Callable[[], float] = time.monotonic, root: str | Path | None = None):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._fh: TextIO | None = _open_append(self.path, root)
        self.step_interval = step_interval
        self.clock = clock
        self._last_step = -1e18

    def write(self, ev: E.Event) -> None:
        if self._fh is None:
            return
        if isinstance(ev, E.Step) and ev.step < ev.steps_per_epoch:
            now = self.clock()
            if now - self._last_step < self.step_interval:
                return
            self._last_step = now
        try:
            self._fh.write(encode(ev) + "\n")
            self._fh.flush()
        except OSError:
            self.close()  # a full disk must not stop training; the store has the epochs

    def close(self) -> None:
        if self._fh is not None:
            with contextlib.suppress(OSError):
                self._fh.close()
            self._fh = None


def _open_append(path: Path, root: str | Path | None) -> TextIO:
    """The journal opened for appending: a regular file inside ``root``, never through a
    link (O_NOFOLLOW) and never waiting for a FIFO's reader (O_NONBLOCK)."""
    if root is not None and not inside(root, path):
        raise UnsafeFileError(f"{path}: leads out of the project {root}")
    flags = (os.O_WRONLY | os.O_APPEND | os.O_CREAT | getattr(os, "O_NOFOLLOW", 0)
             | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0))
    fd = os.open(path, flags, 0o644)
    try:
        mode = os.fstat(fd).st_mode
        if not stat.S_ISREG(mode):
            raise UnsafeFileError(f"{path}: {kind_of(mode)}, not a journal")
        return os.fdopen(fd, "a", encoding="utf-8")
    except BaseException:
        os.close(fd)
        raise


class JournalReader:
    """Reads a journal incrementally: :meth:`read` gives the events added since the last
    call, at most :data:`READ_CHUNK` bytes of them.

    ``root``: the folder the journal must lie in (default: the project directory of a
    ``runs/run-N/events.jsonl``, else the journal's folder)."""

    def __init__(self, path: str | Path, root: str | Path | None = None):
        self.path = Path(path)
        if root is None:
            runs = self.path.parent.parent
            root = runs.parent if runs.name == "runs" else self.path.parent
        self.root = root
        self.offset = 0
        self._skipping = False  # inside a line longer than MAX_LINE: drop up to its end

    def read(self) -> list[E.Event]:
        data = read_inside(self.root, self.path, READ_CHUNK, self.offset)
        if not data:
            return []
        out: list[E.Event] = []
        pos = 0
        while (end := data.find(b"\n", pos)) >= 0:
            line, pos = data[pos:end], end + 1
            if self._skipping:
                self._skipping = False  # the end of an overlong line
            elif len(line) <= MAX_LINE:
                ev = decode(line.decode("utf-8", errors="replace"))
                if ev is not None:
                    out.append(ev)
        if len(data) - pos > MAX_LINE:  # no end in sight: drop it, and its rest next time
            pos, self._skipping = len(data), True
        self.offset += pos
        return out
