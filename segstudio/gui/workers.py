"""Running work off the GUI thread: one worker service, named lanes, generations.

The window has one :class:`WorkerService` (``controller.workers``), handed to
every feature.  It runs jobs on named *lanes*, each a thread pool with its own
thread count (``LANES``: "save" 1, "jobs" 2, "loader" 1, "thumbnails" N, ...),
so a long job of one feature never holds up another's.

A job is a plain function ``job(ctx, *args, **kwargs)`` run on a lane thread.
``ctx`` (a :class:`TaskContext`) gives it ``ctx.progress(done, total)`` (which
also raises :class:`Cancelled` once the task was cancelled, so core functions
that take a ``progress`` callback become cancellable for free),
``ctx.cancelled`` and ``ctx.check()``; ``ctx.item(value)`` hands a partial
result (one image of many, already written) to the task's ``on_item``.

Results, errors and progress come back on the GUI thread through queued
signals and are handed to the callbacks given to :meth:`Lane.submit`; the
service drops them whenever the task is no longer current:

* *Project generations.*  The service counts generations; the controller
  starts a new one whenever a project closes or opens
  (:meth:`WorkerService.close_generation`).  A job submitted under an older
  generation never reaches its ``on_result``, ``on_error``, ``on_progress`` or
  ``on_item``, so no callback has to check which project it is about.
  Closing cancels every job (the "save" lane's writes run on: the user's
  edits are never dropped) and waits for the lanes.  Jobs that belong to the
  program rather than to a project (detecting the devices) are submitted with
  ``bound=False`` and live through generations.
* *Keys.*  Tasks submitted under the same ``key`` on a lane form a finer
  chain: a new submit cancels the previous task of that key and its result,
  should it still arrive, is dropped (the user already moved on).

``on_finished(cancelled)`` always runs last, once per task (with True when
the task was cancelled or its generation ended), so owners can release what
they track; after :meth:`WorkerService.shutdown` nothing is delivered at all.

    lane = workers.lane("loader")
    lane.submit(load_document, project, rec, key="document",
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
from concurrent.futures import Future
from dataclasses import dataclass
from typing import Any, NamedTuple

from PySide6.QtCore import QObject, QRunnable, Qt, QThread, QThreadPool, Signal, Slot

from ..core.errors import SegStudioError


class LaneSpec(NamedTuple):
    threads: int | None      # None: one per core but one (left to the GUI thread), at most 4
    close_ms: int            # how long closing a project waits for the lane's jobs
    shutdown_ms: int         # how long closing the window waits
    cancel_on_close: bool = True


LANES: dict[str, LaneSpec] = {
    "jobs": LaneSpec(2, 5000, 3000),          # opening, class deletion, import/export, tools
    "loader": LaneSpec(1, 5000, 3000),        # the image on screen
    "labels": LaneSpec(1, 5000, 3000),        # masks and predictions read beside a decode
    "prefetch": LaneSpec(1, 5000, 3000),      # the neighbours of the image on screen
    "save": LaneSpec(1, 60000, 60000, cancel_on_close=False),  # mask writes, in order
    "derived": LaneSpec(1, 3000, 3000),       # the canvas's outline and difference layers
    "thumbnails": LaneSpec(None, 2000, 2000),
    "training": LaneSpec(1, 10000, 30000),    # device detection, runs, checkpoints
    "predict": LaneSpec(1, 30000, 30000),     # the image on screen
    "predict-many": LaneSpec(1, 30000, 30000),  # many images, evaluations
}


def default_threads() -> int:
    """Leave one core to the GUI thread."""
    return max(1, min(4, QThread.idealThreadCount() - 1))


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

    def item(self, value: Any) -> None:
        """Hand ``value`` to the task's ``on_item`` (also after a cancel: it is done
        work; only the end of its generation drops it)."""
        _emit(self._bus.item, self.task_id, value)


class _Bus(QObject):
    """Lives on the GUI thread; lane threads emit, queued slots deliver."""

    result = Signal(int, object)
    error = Signal(int, str)
    progress = Signal(int, int, int)
    item = Signal(int, object)
    finished = Signal(int, bool)


def _emit(signal, *args) -> None:
    with contextlib.suppress(RuntimeError):  # the service is gone (window closed)
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
        self.setAutoDelete(False)  # the service keeps the Python object until finished
        self.fn, self.args, self.kwargs, self.ctx = fn, args, kwargs, ctx
        self.started = False
        self.done = False

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
            self.done = True
            _emit(bus.finished, tid, cancelled)


class _Call(QRunnable):
    """A plain call for :meth:`Lane.spawn`: its outcome goes to a Future, nothing else."""

    def __init__(self, future: Future, fn: Callable, args: tuple):
        super().__init__()
        self.future, self.fn, self.args = future, fn, args

    def run(self) -> None:
        if not self.future.set_running_or_notify_cancel():
            return
        try:
            self.future.set_result(self.fn(*self.args))
        except BaseException as exc:  # noqa: BLE001 - the caller's result() raises it
            self.future.set_exception(exc)
        finally:
            self.fn = self.args = None


@dataclass
class TaskHandle:
    """A submitted task: cancel it, ask whether it is still the current one."""

    id: int
    key: str | None
    generation: int              # of its key on its lane
    token: threading.Event
    label: str
    lane: Lane | None = None
    epoch: int = 0               # the service's generation it was submitted under
    bound: bool = True           # belongs to the project of its generation
    on_result: Callable[[Any], None] | None = None
    on_error: Callable[[str], None] | None = None
    on_progress: Callable[[int, int], None] | None = None
    on_finished: Callable[[bool], None] | None = None
    on_item: Callable[[Any], None] | None = None
    job: _Job | None = None

    def cancel(self) -> None:
        self.token.set()

    @property
    def cancelled(self) -> bool:
        return self.token.is_set()


class Lane(QObject):
    """One named pool of the service: its own thread count, keys and error signal."""

    error = Signal(str)            # errors of tasks without an on_error callback
    busy_changed = Signal(int)     # tasks queued or running on this lane
    task_progress = Signal(str, int, int)  # label, done, total (tasks with a label)

    def __init__(self, service: WorkerService, name: str, spec: LaneSpec):
        super().__init__(service)
        self.service = service
        self.name = name
        self.spec = spec
        self.pool = QThreadPool(self)
        self.pool.setObjectName(f"segstudio-{name}")
        self.pool.setMaxThreadCount(max(1, int(spec.threads or default_threads())))
        self._generations: dict[str, int] = {}

    @property
    def max_threads(self) -> int:
        return self.pool.maxThreadCount()

    # -- submitting ---------------------------------------------------------
    def submit(self, job: Callable[..., Any], *args, key: str | None = None,
               on_result: Callable[[Any], None] | None = None,
               on_error: Callable[[str], None] | None = None,
               on_progress: Callable[[int, int], None] | None = None,
               on_finished: Callable[[bool], None] | None = None,
               on_item: Callable[[Any], None] | None = None,
               priority: int = 0, label: str = "", bound: bool = True,
               **kwargs) -> TaskHandle:
        """Run ``job(ctx, *args, **kwargs)`` on this lane; callbacks run on the GUI thread.

        With ``key``, the previous task of that key is cancelled and its result
        dropped.  ``bound=False``: the job is not about the open project and
        outlives generations.  ``on_finished(cancelled)`` always runs last."""
        generation = 0
        if key is not None:
            self.cancel(key)
            generation = self._generations.get(key, 0) + 1
            self._generations[key] = generation
        return self.service._submit(self, job, args, kwargs, TaskHandle(
            0, key, generation, threading.Event(), label, self, self.service.generation,
            bound, on_result, on_error, on_progress, on_finished, on_item), priority)

    def spawn(self, fn: Callable[..., Any], *args) -> Future:
        """Run ``fn(*args)`` on this lane from any thread (a job's helper work); its
        outcome comes back through the returned Future only, never to the GUI."""
        future: Future = Future()
        self.pool.start(_Call(future, fn, args))
        return future

    def generation(self, key: str) -> int:
        return self._generations.get(key, 0)

    def is_current(self, handle: TaskHandle) -> bool:
        """False once the task was cancelled, a newer task of its key was submitted or
        (a bound task) the project generation it was submitted under ended."""
        return self.service.is_current(handle)

    def _tasks(self, key: str | None = None) -> list[TaskHandle]:
        return [h for h in self.service._tasks.values()
                if h.lane is self and (key is None or h.key == key)]

    def pending(self, key: str | None = None) -> int:
        return len(self._tasks(key))

    # -- cancelling ---------------------------------------------------------
    def cancel(self, key: str | None = None, bound_only: bool = False) -> None:
        """Cancel the tasks of ``key`` (all tasks when None); queued ones never start."""
        for handle in self._tasks(key):
            if bound_only and not handle.bound:
                continue
            handle.token.set()
            if handle.job is not None and not handle.job.started and self.pool.tryTake(handle.job):
                self.service._finish(handle, True)

    def wait(self, msecs: int = -1) -> bool:
        return bool(self.pool.waitForDone(msecs))

    def shutdown(self, wait_ms: int | None = None) -> bool:
        """Cancel everything of this lane and wait for its running jobs; True when all
        stopped."""
        self.cancel()
        return self.wait(self.spec.shutdown_ms if wait_ms is None else wait_ms)


class WorkerService(QObject):
    """The window's lanes, its project generations and the delivery of every result."""

    generation_changed = Signal(int)

    def __init__(self, parent: QObject | None = None,
                 lanes: dict[str, LaneSpec] | None = None):
        super().__init__(parent)
        self.specs = dict(LANES if lanes is None else lanes)
        self.lanes: dict[str, Lane] = {}
        self.generation = 0
        self.closed = False
        self._bus = _Bus(self)
        q = Qt.ConnectionType.QueuedConnection
        self._bus.result.connect(self._on_result, q)
        self._bus.error.connect(self._on_error, q)
        self._bus.progress.connect(self._on_progress, q)
        self._bus.item.connect(self._on_item, q)
        self._bus.finished.connect(self._on_finished, q)
        self._ids = itertools.count(1)
        self._tasks: dict[int, TaskHandle] = {}

    def lane(self, name: str) -> Lane:
        """The lane ``name`` (made on first use, sized by ``LANES``; an unknown name gets
        one thread)."""
        lane = self.lanes.get(name)
        if lane is None:
            lane = self.lanes[name] = Lane(self, name, self.specs.get(name, LaneSpec(1, 5000,
                                                                                    3000)))
        return lane

    def pending(self) -> int:
        return len(self._tasks)

    def in_generation(self, handle: TaskHandle) -> bool:
        """The task's project is still the open one (always so for unbound tasks)."""
        return not self.closed and (not handle.bound or handle.epoch == self.generation)

    def is_current(self, handle: TaskHandle) -> bool:
        if handle.token.is_set() or not self.in_generation(handle):
            return False
        lane = handle.lane
        return handle.key is None or lane is None or \
            lane._generations.get(handle.key) == handle.generation

    # -- generations ------------------------------------------------------------------
    def new_generation(self, cancel: bool = True) -> int:
        """Start a new project generation: none of the results, errors or progress of
        the bound tasks of older ones is delivered any more; ``cancel`` also cancels
        them (those of lanes that closing does not cancel run on)."""
        self.generation += 1
        if cancel:
            for lane in self.lanes.values():
                if lane.spec.cancel_on_close:
                    lane.cancel(bound_only=True)
        self.generation_changed.emit(self.generation)
        return self.generation

    def close_generation(self, stop: bool = True) -> bool:
        """A project closes (or another opens): a new generation; with ``stop`` (a
        project was open) its jobs are cancelled, every lane is waited for with its
        ``close_ms``, and the stopped tasks of the old generations are settled (their
        ``on_finished(True)`` runs now, nothing of them later).  True when every lane
        stopped in time."""
        self.new_generation(cancel=stop)
        if not stop:
            return True
        ok = True
        for lane in list(self.lanes.values()):
            ok = lane.wait(lane.spec.close_ms) and ok
        self._settle()
        return ok

    def _settle(self) -> None:
        for handle in list(self._tasks.values()):
            if handle.bound and handle.epoch != self.generation and \
                    (handle.job is None or handle.job.done):
                self._finish(handle, True)

    def shutdown(self) -> bool:
        """The window closes: cancel every job (the save lane's writes run on), wait
        for every lane with its ``shutdown_ms``; nothing is delivered afterwards."""
        self.generation += 1
        for lane in self.lanes.values():
            if lane.spec.cancel_on_close:
                lane.cancel()
        self.closed = True
        ok = True
        for lane in list(self.lanes.values()):
            ok = lane.wait(lane.spec.shutdown_ms) and ok
        self._tasks.clear()
        return ok

    # -- submitting (GUI thread) ---------------------------------------------------------
    def _submit(self, lane: Lane, job: Callable, args: tuple, kwargs: dict,
                handle: TaskHandle, priority: int) -> TaskHandle:
        handle.id = next(self._ids)
        handle.job = _Job(job, args, kwargs, TaskContext(handle.id, self._bus, handle.token))
        self._tasks[handle.id] = handle
        lane.pool.start(handle.job, priority)
        lane.busy_changed.emit(lane.pending())
        return handle

    # -- delivery (GUI thread) -------------------------------------------------------------
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
        elif handle.lane is not None:
            handle.lane.error.emit(message)

    @Slot(int, int, int)
    def _on_progress(self, tid: int, done: int, total: int) -> None:
        handle = self._current(tid)
        if handle is None:
            return
        if handle.on_progress is not None:
            handle.on_progress(done, total)
        if handle.label and handle.lane is not None:
            handle.lane.task_progress.emit(handle.label, done, total)

    @Slot(int, object)
    def _on_item(self, tid: int, value: object) -> None:
        handle = self._tasks.get(tid)
        if handle is not None and handle.on_item is not None and self.in_generation(handle):
            handle.on_item(value)

    @Slot(int, bool)
    def _on_finished(self, tid: int, cancelled: bool) -> None:
        handle = self._tasks.get(tid)
        if handle is not None:
            stale = not self.in_generation(handle)
            self._finish(handle, cancelled or stale or handle.token.is_set())

    def _finish(self, handle: TaskHandle, cancelled: bool) -> None:
        if self._tasks.pop(handle.id, None) is None:
            return
        handle.job = None
        if handle.on_finished is not None and not self.closed:
            handle.on_finished(cancelled)
        if handle.lane is not None:
            handle.lane.busy_changed.emit(handle.lane.pending())
