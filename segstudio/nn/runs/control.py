"""Pause, resume and stop a run from another process: a small file, polled.

The control file of run N is ``.segstudio/runs/run-N/control``; it holds one
word, ``pause``, ``resume`` or ``stop``, written atomically by whoever wants
to steer the run (the window, ``segstudio control``, or ``echo stop >`` on a
server).  While a recorded run trains, a :class:`ControlWatcher` thread in
its process reads the file every ``interval`` seconds and sets the engine's
``pause`` and ``cancel`` events, which the engine checks before every batch:
a stop ends the run after the batch under way with the last epoch's
checkpoint kept, exactly like Stop in the window.  No network service is
involved, so it works wherever the project folder is shared.

Under torchrun only rank 0 watches the file; the engine spreads its state to
the other processes with one small all-reduce per step.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Generator
from pathlib import Path
from typing import TYPE_CHECKING

from ...core.atomic import atomic_write_text
from ...core.errors import SegStudioError
from .journal import run_dir

if TYPE_CHECKING:
    from ...core.project import Project
    from ..train.distributed import Distributed
    from .events import Event, Message
    from .journal import JournalWriter

ACTIONS = ("pause", "resume", "stop")


def control_path(project: Project, run_id: int) -> Path:
    return run_dir(project, run_id) / "control"


def send(project: Project, run_id: int, action: str) -> Path:
    """Ask run ``run_id`` to pause, resume or stop; returns the control file."""
    if action not in ACTIONS:
        raise SegStudioError(f"unknown control {action!r}; use {', '.join(ACTIONS)}")
    path = control_path(project, run_id)
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_text(path, action + "\n")
    return path


def read(path: Path) -> str | None:
    """The word in a control file (None when there is none or it is not a known one)."""
    try:
        word = path.read_text(encoding="utf-8", errors="replace").strip().lower()
    except OSError:
        return None
    return word if word in ACTIONS else None


class ControlWatcher:
    """Polls a control file on a daemon thread and drives ``cancel`` / ``pause``."""

    def __init__(self, path: str | Path, cancel: threading.Event, pause: threading.Event,
                 interval: float = 0.3):
        self.path = Path(path)
        self.cancel = cancel
        self.pause = pause
        self.interval = interval
        self._quit = threading.Event()
        self._seen: str | None = read(self.path)  # a word left from before is not an order
        self._thread = threading.Thread(target=self._loop, name="segstudio-control",
                                        daemon=True)
        self._thread.start()

    def poll(self) -> None:
        """Read the file once and act on a new word."""
        word = read(self.path)
        if word is None or word == self._seen:
            return
        self._seen = word
        if word == "stop":
            self.cancel.set()
            self.pause.clear()
        elif word == "pause":
            self.pause.set()
        else:
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
        self.writer: JournalWriter | None = None
        self.watcher: ControlWatcher | None = None

    def see(self, ev: Event) -> None:
        from .events import RunStarted
        from .journal import JournalWriter, journal_path

        if self.writer is None and isinstance(ev, RunStarted) and ev.run_id is not None:
            try:
                self.writer = JournalWriter(journal_path(self.project, ev.run_id))
                self.watcher = ControlWatcher(control_path(self.project, ev.run_id),
                                              self.cancel, self.pause)
            except OSError:
                self.writer = None  # a read-only store: the run goes on, unfollowed
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
