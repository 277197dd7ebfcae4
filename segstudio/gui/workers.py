"""Running work off the GUI thread: QThreadPool jobs with progress, cancel and generations.

A job is a plain function ``job(ctx, *args, **kwargs)`` run on a pool thread.
``ctx`` (a :class:`TaskContext`) gives it ``ctx.progress(done, total)`` (which
also raises :class:`Cancelled` once the task was cancelled, so core functions
that take a ``progress`` callback become cancellable for free),
``ctx.cancelled`` and ``ctx.check()``.

Results, errors and progress come back on the GUI thread through queued
signals of one bus object, and are handed to the callbacks given to
:meth:`TaskRunner.submit`.  Tasks submitted under the same ``key`` form a
generation chain: a new submit cancels the previous task of that key and its
result, should it still arrive, is dropped (the user already moved on).

    runner = TaskRunner(self, max_threads=1)
    runner.submit(load_document, project, rec, key="document",
                  on_result=self.show_document, on_error=self.show_error)

Long-running work with its own event loop (training) belongs on a QThread
instead; see docs/architecture.md.
"""

from __future__ import annotations

import contextlib
import itertools
import sys
import threading
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from PySide6.QtCore import QObject, QRunnable, Qt, QThreadPool, Signal, Slot

from ..core.errors import SegStudioError


class Cancelled(Exception):
    """Raised inside a job to stop it early; not an error."""


class TaskContext:
    """What a job sees of its task: cancel flag and progress reports."""

    def __init__(self, task_id: int, bus: _Bus, token: threading.Event,
                 min_interval: float = 0.05):
        self.task_id = task_id
        self._bus = bus
        self._token = token
        self._min_interval = min_interval
        self._last = 0.0

    @property
    def cancelled(self) -> bool:
        return self._token.is_set()

    def check(self) -> None:
        """Raise :class:`Cancelled` when the task was cancelled."""
        if self._token.is_set():
            raise Cancelled()

    def progress(self, done: int, total: int) -> None:
        """Report progress (throttled to one signal per 50 ms, the last always sent)."""
        self.check()
        now = time.monotonic()
        if done < total and now - self._last < self._min_interval:
            return
        self._last = now
        _emit(self._bus.progress, self.task_id, int(done), int(total))


class _Bus(QObject):
    """Lives on the GUI thread; pool threads emit, queued slots deliver."""

    result = Signal(int, object)
    error = Signal(int, str)
    progress = Signal(int, int, int)
    finished = Signal(int, bool)


def _emit(signal, *args) -> None:
    with contextlib.suppress(RuntimeError):  # the runner is gone (window closed)
        signal.emit(*args)


def describe_error(exc: BaseException) -> str:
    """A one-line message for the user (details of unexpected errors go to stderr)."""
    if isinstance(exc, SegStudioError):
        return str(exc)
    if isinstance(exc, MemoryError):
        return "not enough memory for this operation; close other programs or use smaller images"
    if isinstance(exc, OSError):
        where = f"{exc.filename}: " if getattr(exc, "filename", None) else ""
        return f"{where}{exc.strerror or exc}"
    return f"unexpected error ({type(exc).__name__}: {exc}); details are in the terminal"


class _Job(QRunnable):
    def __init__(self, fn: Callable, args: tuple, kwargs: dict, ctx: TaskContext):
        super().__init__()
        self.setAutoDelete(False)  # the runner keeps the Python object until finished
        self.fn, self.args, self.kwargs, self.ctx = fn, args, kwargs, ctx
        self.started = False

    def run(self) -> None:
        self.started = True
        bus, tid = self.ctx._bus, self.ctx.task_id
        cancelled = False
        try:
            self.ctx.check()
            value = self.fn(self.ctx, *self.args, **self.kwargs)
        except Cancelled:
            cancelled = True
        except Exception as exc:  # noqa: BLE001 - every error becomes a message
            if not isinstance(exc, (SegStudioError, OSError, MemoryError)):
                traceback.print_exc(file=sys.stderr)
            _emit(bus.error, tid, describe_error(exc))
        else:
            if self.ctx.cancelled:
                cancelled = True
            else:
                _emit(bus.result, tid, value)
        finally:
            self.fn = self.args = self.kwargs = None  # free big inputs early
            _emit(bus.finished, tid, cancelled)


@dataclass
class TaskHandle:
    """A submitted task: cancel it, ask whether it is still the current one."""

    id: int
    key: str | None
    generation: int
    token: threading.Event
    label: str
    on_result: Callable[[Any], None] | None = None
    on_error: Callable[[str], None] | None = None
    on_progress: Callable[[int, int], None] | None = None
    on_finished: Callable[[bool], None] | None = None
    job: _Job | None = None

    def cancel(self) -> None:
        self.token.set()

    @property
    def cancelled(self) -> bool:
        return self.token.is_set()


class TaskRunner(QObject):
    """Submits jobs to its own QThreadPool and routes their signals to callbacks."""

    error = Signal(str)            # errors of tasks without an on_error callback
    busy_changed = Signal(int)     # tasks queued or running
    task_progress = Signal(str, int, int)  # label, done, total (tasks with a label)

    def __init__(self, parent: QObject | None = None, max_threads: int | None = None,
                 name: str = "worker"):
        super().__init__(parent)
        self.pool = QThreadPool(self)
        self.pool.setObjectName(name)
        if max_threads is not None:
            self.pool.setMaxThreadCount(max(1, int(max_threads)))
        self._bus = _Bus(self)
        q = Qt.ConnectionType.QueuedConnection
        self._bus.result.connect(self._on_result, q)
        self._bus.error.connect(self._on_error, q)
        self._bus.progress.connect(self._on_progress, q)
        self._bus.finished.connect(self._on_finished, q)
        self._ids = itertools.count(1)
        self._tasks: dict[int, TaskHandle] = {}
        self._generations: dict[str, int] = {}

    # -- submitting ---------------------------------------------------------
    def submit(self, job: Callable[..., Any], *args, key: str | None = None,
               on_result: Callable[[Any], None] | None = None,
               on_error: Callable[[str], None] | None = None,
               on_progress: Callable[[int, int], None] | None = None,
               on_finished: Callable[[bool], None] | None = None,
               priority: int = 0, label: str = "", **kwargs) -> TaskHandle:
        """Run ``job(ctx, *args, **kwargs)`` on the pool; callbacks run on the GUI thread.

        With ``key``, the previous task of that key is cancelled and its result
        dropped.  ``on_finished(cancelled)`` always runs last."""
        generation = 0
        if key is not None:
            self.cancel(key)
            generation = self._generations.get(key, 0) + 1
            self._generations[key] = generation
        tid = next(self._ids)
        token = threading.Event()
        handle = TaskHandle(tid, key, generation, token, label, on_result, on_error,
                            on_progress, on_finished)
        handle.job = _Job(job, args, kwargs, TaskContext(tid, self._bus, token))
        self._tasks[tid] = handle
        self.pool.start(handle.job, priority)
        self.busy_changed.emit(len(self._tasks))
        return handle

    def generation(self, key: str) -> int:
        return self._generations.get(key, 0)

    def is_current(self, handle: TaskHandle) -> bool:
        """False once the task was cancelled or a newer task of its key was submitted."""
        if handle.token.is_set():
            return False
        return handle.key is None or self._generations.get(handle.key) == handle.generation

    def pending(self, key: str | None = None) -> int:
        return sum(1 for h in self._tasks.values() if key is None or h.key == key)

    # -- cancelling ---------------------------------------------------------
    def cancel(self, key: str | None = None) -> None:
        """Cancel the tasks of ``key`` (all tasks when None); queued ones never start."""
        for handle in list(self._tasks.values()):
            if key is not None and handle.key != key:
                continue
            handle.token.set()
            if handle.job is not None and not handle.job.started and self.pool.tryTake(handle.job):
                self._finish(handle, True)

    def shutdown(self, wait_ms: int = 3000) -> bool:
        """Cancel everything and wait for running jobs; True when all stopped."""
        self.cancel()
        self.pool.clear()
        done = self.pool.waitForDone(wait_ms)
        self._tasks.clear()
        return bool(done)

    def wait(self, msecs: int = -1) -> bool:
        return bool(self.pool.waitForDone(msecs))

    # -- delivery (GUI thread) -------------------------------------------------
    def _current(self, tid: int) -> TaskHandle | None:
        handle = self._tasks.get(tid)
        if handle is None or not self.is_current(handle):
            return None
        return handle

    @Slot(int, object)
    def _on_result(self, tid: int, value: object) -> None:
        handle = self._current(tid)
        if handle is not None and handle.on_result is not None:
            handle.on_result(value)

    @Slot(int, str)
    def _on_error(self, tid: int, message: str) -> None:
        handle = self._current(tid)
        if handle is None:
            return
        if handle.on_error is not None:
            handle.on_error(message)
        else:
            self.error.emit(message)

    @Slot(int, int, int)
    def _on_progress(self, tid: int, done: int, total: int) -> None:
        handle = self._current(tid)
        if handle is None:
            return
        if handle.on_progress is not None:
            handle.on_progress(done, total)
        if handle.label:
            self.task_progress.emit(handle.label, done, total)

    @Slot(int, bool)
    def _on_finished(self, tid: int, cancelled: bool) -> None:
        handle = self._tasks.get(tid)
        if handle is not None:
            self._finish(handle, cancelled or handle.token.is_set())

    def _finish(self, handle: TaskHandle, cancelled: bool) -> None:
        self._tasks.pop(handle.id, None)
        handle.job = None
        if handle.on_finished is not None:
            handle.on_finished(cancelled)
        self.busy_changed.emit(len(self._tasks))
