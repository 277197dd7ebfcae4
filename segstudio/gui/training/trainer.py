"""Training on its own QThread: a QObject worker iterating the Qt-free engine.

:class:`Trainer` lives on the GUI thread.  ``start(project, request, device)`` makes
a QThread and a :class:`TrainerWorker` on it, which iterates
:func:`segstudio.nn.train.engine.fit` and forwards every event as ``event(object)``
(queued, so slots run on the GUI thread).  On CUDA a :class:`GpuMemory`
record follows each step.  Pause, resume and stop set ``threading.Event``
flags that the engine checks before every batch; stopping never terminates
the thread: the engine finishes the batch under way, records the run as
cancelled and keeps the last epoch's checkpoint.
"""

from __future__ import annotations

import threading

from PySide6.QtCore import QObject, QThread, Signal, Slot

from ...core.run_types import RunRecord
from ...nn.runs.events import GpuMemory, Message
from .external import ExternalRun


class TrainerWorker(QObject):
    event = Signal(object)

    def __init__(self, project, request, device: str, cancel: threading.Event,
                 pause: threading.Event, threads: int | None):
        super().__init__()
        self.project = project
        self.request = request  # nn.request.RunRequest: resolved by the engine
        self.device = device
        self.cancel = cancel
        self.pause = pause
        self.threads = threads

    @Slot()
    def run(self) -> None:
        from ...nn.runs.events import Finished, Step
        from ...nn.train.engine import fit

        try:
            import torch

            if self.threads:
                torch.set_num_threads(self.threads)  # this thread's intra-op threads
            cuda = str(self.device).startswith("cuda")
            events = fit(self.project, self.request, device=self.device, cancel=self.cancel,
                         pause=self.pause)
            for ev in events:
                self.event.emit(ev)
                if cuda and isinstance(ev, Step):
                    self.event.emit(_gpu_memory(torch, ev))
        except Exception as exc:  # noqa: BLE001 - fit reports its own errors; never crash
            self.event.emit(Finished("failed", None, 0, None, None, None,
                                     f"training stopped: {type(exc).__name__}: {exc}"))
        finally:
            self.project = None
            self.thread().quit()


def _gpu_memory(torch, ev) -> GpuMemory:
    mb = 2.0 ** 20
    x = ev.epoch - 1 + ev.step / max(ev.steps_per_epoch, 1)
    return GpuMemory(ev.global_step, x, torch.cuda.memory_allocated() / mb,
                     torch.cuda.memory_reserved() / mb, torch.cuda.max_memory_allocated() / mb)


class Trainer(QObject):
    """Starts, pauses, resumes and stops one training run at a time."""

    event = Signal(object)            # every engine event (and GpuMemory), GUI thread
    running_changed = Signal(bool)
    paused_changed = Signal(bool)

    def __init__(self, parent: QObject | None = None):
        super().__init__(parent)
        self._thread: QThread | None = None
        self._worker: TrainerWorker | None = None
        self.cancel = threading.Event()
        self.pause_flag = threading.Event()
        self.device = ""
        # a run in another process (started here or found running), followed through the store
        self.external = ExternalRun(self)
        self.external.event.connect(self.event)
        self.external.running_changed.connect(self.running_changed)
        self.external.paused_changed.connect(self.paused_changed)

    # -- state ---------------------------------------------------------------------
    @property
    def running(self) -> bool:
        return self._thread is not None or self.external.running

    @property
    def separate(self) -> bool:
        """The run under way is in another process."""
        return self.external.running

    @property
    def paused(self) -> bool:
        if self.external.running:
            return self.external.paused
        return self.running and self.pause_flag.is_set()

    @property
    def on_cpu(self) -> bool:
        if self.external.running:
            return self.external.device == "cpu" and self.external.proc is not None
        return self.running and self.device == "cpu"

    # -- control ---------------------------------------------------------------------
    def start(self, project, request, device: str, threads: int | None = None,
              separate: bool = False) -> bool:
        """Start the run ``request`` (an :class:`~segstudio.nn.train.request.RunRequest`) on
        ``device``; False when a run is already going.  ``threads``: torch's intra-op
        threads of the training thread; ``separate``: in its own process."""
        if self.running:
            return False
        if separate:
            self.device = str(device)
            return self.external.start(project, request, self.device)
        self.cancel = threading.Event()
        self.pause_flag = threading.Event()
        self.device = str(device)
        thread = QThread(self)
        thread.setObjectName("segstudio-training")
        worker = TrainerWorker(project, request, self.device, self.cancel, self.pause_flag,
                               threads)
        worker.moveToThread(thread)
        worker.event.connect(self.event)  # queued: re-emitted on the GUI thread
        thread.started.connect(worker.run)
        thread.finished.connect(self._thread_done)
        self._thread, self._worker = thread, worker
        thread.start()
        self.running_changed.emit(True)
        return True

    def attach(self, project, run: RunRecord) -> bool:
        """Follow a run that another process trains (one of ``project.runs.all()``)."""
        return not self.running and self.external.attach(project, run)

    def pause(self) -> None:
        if self.external.running:
            self.external.pause()
        elif self.running and not self.pause_flag.is_set():
            self.pause_flag.set()
            self.paused_changed.emit(True)

    def resume(self) -> None:
        if self.external.running:
            self.external.resume()
        elif self.pause_flag.is_set():
            self.pause_flag.clear()
            self.paused_changed.emit(False)

    def toggle_pause(self) -> None:
        self.resume() if self.paused else self.pause()

    def stop(self) -> None:
        """Ask the run to stop after the batch under way (returns at once)."""
        if self.external.running:
            self.external.stop()
        elif self.running:
            self.cancel.set()
            if self.pause_flag.is_set():
                self.pause_flag.clear()
                self.paused_changed.emit(False)

    def stop_and_wait(self, msecs: int = -1) -> bool:
        """Stop and wait for the thread (closing); True when it has ended.  A run in
        another process is not stopped: the window stops following it and says so."""
        note = self.external.detach()
        if note:
            self.event.emit(Message("info", note))
        if self._thread is None:
            return True
        self.stop()
        thread = self._thread
        done = thread.wait() if msecs < 0 else thread.wait(msecs)
        if done:
            self._ended(thread)
        return bool(done)

    # -- internals --------------------------------------------------------------------
    @Slot()
    def _thread_done(self) -> None:
        self._ended(self.sender())

    def _ended(self, thread) -> None:
        if thread is None or thread is not self._thread:
            return  # already handled (stop_and_wait), or an older run's thread
        self._thread = None
        self._worker = None
        thread.deleteLater()
        if self.pause_flag.is_set():
            self.pause_flag.clear()
            self.paused_changed.emit(False)
        self.running_changed.emit(False)
