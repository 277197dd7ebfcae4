"""Pause, resume and stop a run from another process: a small file, polled.

The control file of run N is ``.segstudio/runs/run-N/control``; it holds one
command, ``pause``, ``resume`` or ``stop``, written atomically by whoever wants
to steer the run (the window, ``segstudio control``, or ``echo stop >`` on a
server).  ``segstudio control`` numbers its commands (``stop 3``), so every
command is a new file content and acts once, even the same word twice or a
word the file already held.  While a recorded run trains, a
:class:`ControlWatcher` thread in its process looks at the file every
``interval`` seconds and acts on each new write (a new number, a new file or
a new modification time): it sets the engine's ``pause`` and ``cancel``
events, which the engine checks before every batch.  A stop ends the run
after the batch under way with the last epoch's checkpoint kept, exactly like
Stop in the window.  A file written before the run started is not an order.
No network service is involved, so it works wherever the project folder is
shared.

The file is read only when it is a regular file inside the project (not a
link, a FIFO or a device), without blocking, and at most :data:`MAX_BYTES`
of it: a hostile file can neither hang nor fill the run.

Under torchrun only rank 0 watches the file; the engine spreads its state to
the other processes with one small all-reduce per step.
"""

from __future__ import annotations

import contextlib
import os
import threading
import time
from collections.abc import Callable, Generator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from ...core.atomic import atomic_write_text
from ...core.bounded import UnsafeFileError, check_output, inside, kind_of, open_regular
from ...core.errors import SegStudioError
from .journal import run_dir

if TYPE_CHECKING:
    from ...core.project import Project
    from ..train.distributed import Distributed
    from .events import Event, Message
    from .journal import JournalWriter

ACTIONS = ("pause", "resume", "stop")
MAX_BYTES = 256  # a command is one word and a number; anything longer is not one


def control_path(project: Project, run_id: int) -> Path:
    return run_dir(project, run_id) / "control"


@dataclass(frozen=True)
class Command:
    """What the control file holds: its word (None: not a known one), its number and
    the identity of the write (file, modification time, content)."""

    word: str | None
    number: int | None
    mtime: float
    token: tuple[int, int, int, bytes]


def look(path: str | Path, root: str | Path | None = None) -> Command | None:
    """The control file's command; None when there is none, or the file is not a
    regular file, is a link, or lies outside ``root`` (when given)."""
    path = Path(path)
    if root is not None and not inside(root, path):
        return None
    try:
        fd = open_regular(path, None, follow=False)
    except (OSError, SegStudioError):
        return None
    try:
        st = os.fstat(fd)
        raw = os.read(fd, MAX_BYTES + 1) if st.st_size <= MAX_BYTES else b""
    except OSError:
        return None
    finally:
        os.close(fd)
    token = (st.st_ino, st.st_mtime_ns, st.st_size, raw)
    parts = raw.decode("utf-8", errors="replace").split() if len(raw) <= MAX_BYTES else []
    word = parts[0].lower() if parts and parts[0].lower() in ACTIONS else None
    number = int(parts[1]) if word and len(parts) > 1 and parts[1].isdigit() else None
    return Command(word, number, st.st_mtime, token)


def read(path: str | Path, root: str | Path | None = None) -> str | None:
    """The word in a control file (None when there is none or it is not a known one)."""
    cmd = look(path, root)
    return None if cmd is None else cmd.word


def send(project: Project, run_id: int, action: str) -> Path:
    """Ask run ``run_id`` to pause, resume or stop; returns the control file.  Each
    command gets the next number, so the run acts on it once whatever the file held."""
    if action not in ACTIONS:
        raise SegStudioError(f"unknown control {action!r}; use {', '.join(ACTIONS)}")
    path = control_path(project, run_id)
    path.parent.mkdir(parents=True, exist_ok=True)
    if not inside(project.project_dir, path):
        raise SegStudioError(f"{path.parent}: leads out of the project {project.project_dir}; "
                             "remove that link")
    try:
        check_output(path)  # a FIFO, a device or a link planted there is not replaced
    except UnsafeFileError:
        kind = kind_of(os.lstat(path).st_mode)
        raise SegStudioError(f"{path}: is {kind}, not a control file; remove it and send "
                             "the command again") from None
    before = look(path, project.project_dir)
    number = (before.number or 0) + 1 if before is not None else 1
    atomic_write_text(path, f"{action} {number}\n")
    return path


class ControlWatcher:
    """Polls a control file on a daemon thread and drives ``cancel`` / ``pause``.

    ``since`` (a ``time.time()``, default now): a file last written before it is from
    before the run and not an order.  ``root``: the folder the file must lie in."""

    def __init__(self, path: str | Path, cancel: threading.Event, pause: threading.Event,
                 interval: float = 0.3, root: str | Path | None = None,
                 since: float | None = None):
        self.path = Path(path)
        self.root = root
        self.cancel = cancel
        self.pause = pause
        self.interval = interval
        self._quit = threading.Event()
        since = time.time() if since is None else since
        first = look(self.path, self.root)
        # a command left from before the run is not an order; one written since is
        self._seen = first.token if first is not None and first.mtime < since else None
        self._thread = threading.Thread(target=self._loop, name="segstudio-control",
                                        daemon=True)
        self._thread.start()

    def poll(self) -> None:
        """Look at the file once and act on a new command."""
        cmd = look(self.path, self.root)
        if cmd is None or cmd.token == self._seen:
            return
        self._seen = cmd.token
        if cmd.word == "stop":
            self.cancel.set()
            self.pause.clear()
        elif cmd.word == "pause":
            self.pause.set()
        elif cmd.word == "resume":
            self.pause.clear()

    def _loop(self) -> None:
        while not self._quit.wait(self.interval):
            self.poll()

    def close(self) -> None:
        self._quit.set()
        self._thread.join(timeout=2.0)


class RunChannel:
    """What a recorded run leaves for other processes: its journal and its control watcher,
    both opened when the run's :class:`RunStarted` (with its run id) goes by."""

    def __init__(self, project: Project, cancel: threading.Event, pause: threading.Event):
        self.project = project
        self.cancel = cancel
        self.pause = pause
        self.since = time.time()  # a control command older than the run is not an order
        self.writer: JournalWriter | None = None
        self.watcher: ControlWatcher | None = None
        self._opened = False

    def see(self, ev: Event) -> None:
        from .events import RunStarted
        from .journal import JournalWriter, journal_path

        if not self._opened and isinstance(ev, RunStarted) and ev.run_id is not None:
            self._opened = True
            root = self.project.project_dir
            # a read-only store, or a FIFO / link / device planted as the journal: the run
            # goes on, unfollowed, but still obeys its control file (and the other way round)
            with contextlib.suppress(OSError, SegStudioError):
                self.writer = JournalWriter(journal_path(self.project, ev.run_id), root=root)
            with contextlib.suppress(OSError, SegStudioError):
                self.watcher = ControlWatcher(control_path(self.project, ev.run_id),
                                              self.cancel, self.pause, root=root,
                                              since=self.since)
        if self.writer is not None:
            self.writer.write(ev)

    def close(self) -> None:
        if self.watcher is not None:
            self.watcher.close()
            self.watcher = None
        if self.writer is not None:
            self.writer.close()
            self.writer = None


class RunGate:
    """The engine's stop and pause flags, checked between batches.

    ``cancel`` and ``pause`` are set by the caller or the control file.  Under torchrun
    (``dist``) the processes must stop and pause at the same batch, so each keeps its own
    flags and takes rank 0's requests with one small broadcast per batch (:meth:`sync`)."""

    def __init__(self, cancel: threading.Event, pause: threading.Event | None,
                 dist: Distributed | None = None,
                 clock: Callable[[], float] = time.perf_counter):
        pause = pause if pause is not None else threading.Event()
        self.clock = clock  # the engine's clock: the time held is left out of its epochs
        self.requests = (cancel, pause)
        self.dist = dist
        self.cancel, self.pause = (cancel, pause) if dist is None else \
            (threading.Event(), threading.Event())

    def sync(self) -> None:
        if self.dist is None:
            return
        stop, hold = self.dist.from_main(*(e.is_set() for e in self.requests))
        if stop:
            self.cancel.set()
        self.pause.set() if hold else self.pause.clear()

    def wait(self) -> Generator[Message, None, float]:
        """Block while paused (a generator of the 'paused' / 'resumed' messages); returns
        the seconds it held."""
        from .events import Message

        self.sync()
        if not self.pause.is_set():
            return 0.0
        yield Message("info", "paused")
        t0 = self.clock()
        while self.pause.is_set() and not self.cancel.is_set():
            if self.dist is None:
                self.cancel.wait(0.05)
            else:  # every process takes the same turns, so they all resume together
                time.sleep(0.2)
                self.sync()
        if not self.cancel.is_set():
            yield Message("info", "resumed")
        return self.clock() - t0
