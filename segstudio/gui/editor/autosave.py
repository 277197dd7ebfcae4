"""Saving edited masks: soon after the last change, off the GUI thread, in order.

* A single-shot timer (``interval_ms``, 2 s) restarts on every change; when
  it fires, every session with unsaved changes is saved.  Switching images
  saves the image left at once, and closing saves everything and waits.
* A save copies the mask on the GUI thread (a 4096 x 4096 mask in ~5 ms) and
  encodes and writes the copy on the save thread (``project.save_mask``:
  temp file, fsync, rename, so a crash leaves the old or the new file); a large
  image's session copies and writes only the chunks changed since its last save
  (``session.save_job``).
* Every save of an image gets the next number of that image's sequence; the
  writer skips a save whose number is not newer than the last one written,
  so an older snapshot can never land after a newer one.  The numbers
  survive the session (a reset to prediction takes one too).
* Results also go to a thread-safe ledger, so closing can check what was
  written without waiting for queued signals.
* The writes run on the worker service's "save" lane, which closing a project
  never cancels: the project closes after the flush and after that lane.
* A session back at its start (:attr:`EditSession.at_start`: every edit undone on
  an image that had no human mask) saves no mask: nothing is written when nothing
  was, else the mask this session wrote is taken back (:func:`drop_mask`: moved to
  trash/ like every human mask the program removes, and the image's status is the
  one it had: predicted or unlabelled).  It goes through the same sequence, so a
  save still queued is skipped or lands before it.
"""

from __future__ import annotations

import threading
from collections import defaultdict
from collections.abc import Callable

from PySide6.QtCore import QObject, QTimer, Signal

from ...core.project import ImageRecord, Project
from ..workers import WorkerService
from .session import EditSession

AUTOSAVE_MS = 2000
RETRY_MS = 10000


def drop_mask(project: Project, rec: ImageRecord) -> ImageRecord:
    """The image's human mask goes to trash/ and the image falls back to its prediction
    (status predicted, or unlabelled without one); an IoU measured against the mask goes
    with it.  Returns the new record."""
    new_rec = project.reset_to_prediction(rec)
    if new_rec.iou is not None:
        project.set_iou(new_rec, None)
        new_rec = project.image(rec.id)
    return new_rec


class SaveLedger:
    """What the save thread wrote, per image: the newest sequence number and errors."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.written: dict[int, int] = defaultdict(int)
        self.errors: dict[int, tuple[int, str]] = {}

    def run(self, image_id: int, seq: int, write: Callable[[], ImageRecord]) -> ImageRecord | None:
        """Run ``write`` unless a newer save of the image already ran; None when skipped."""
        with self.lock:
            if seq <= self.written[image_id]:
                return None
            try:
                rec = write()
            except BaseException as exc:
                self.errors[image_id] = (seq, str(exc))
                raise
            self.written[image_id] = seq
            self.errors.pop(image_id, None)
            return rec


class AutoSaver(QObject):
    saved = Signal(object, object)   # EditSession, new ImageRecord (GUI thread)
    failed = Signal(object, str)     # EditSession, message
    state_changed = Signal()         # some session's unsaved/saving state changed
    settled = Signal(object)         # EditSession with no save in flight any more

    def __init__(self, project_getter: Callable, workers: WorkerService,
                 parent: QObject | None = None, interval_ms: int = AUTOSAVE_MS):
        super().__init__(parent)
        self._project = project_getter
        self.runner = workers.lane("save")
        self.ledger = SaveLedger()
        self._seq: dict[int, int] = defaultdict(int)
        self._sessions: Callable[[], list[EditSession]] = lambda: []
        self.timer = QTimer(self, singleShot=True, interval=interval_ms)
        self.timer.timeout.connect(self.save_all)
        self.retry = QTimer(self, singleShot=True, interval=RETRY_MS)  # after a failed write
        self.retry.timeout.connect(self.save_all)
        self.saves_submitted = 0

    def set_sessions(self, getter: Callable[[], list[EditSession]]) -> None:
        self._sessions = getter

    @property
    def interval_ms(self) -> int:
        return self.timer.interval()

    def set_interval(self, ms: int) -> None:
        self.timer.setInterval(int(ms))

    def next_seq(self, image_id: int) -> int:
        self._seq[image_id] += 1
        return self._seq[image_id]

    def changed(self) -> None:
        """A mask changed: save within ``interval_ms`` of the last change."""
        self.timer.start()
        self.state_changed.emit()

    # -- saving ------------------------------------------------------------------------
    def save_all(self) -> None:
        for session in self._sessions():
            self.save(session)

    def save(self, session: EditSession, status: str | None = None) -> bool:
        """Save ``session`` now if it has unsaved changes (or a new ``status`` is asked);
        True when a save was submitted."""
        project = self._project()
        if project is None:
            return False
        if not session.dirty and status is None:
            return False
        rec = session.rec
        on_disk = not (status is None and session.at_start)
        if not on_disk and not session.on_disk and not session.saving:
            # back at the start and nothing of this session is on disk: the image is as
            # it was before the session
            session.saved_version = session.version
            session.set_clean()
            self.state_changed.emit()
            return False
        keep = status or session.status
        # the mask (or a large image's changed chunks) as it is now
        save = session.save_job(project) if on_disk else None

        def write() -> ImageRecord:
            if save is None:
                return drop_mask(project, rec)  # the mask this session wrote
            return save(keep)
        seq = self.next_seq(rec.id)
        version = session.version
        session.saving += 1
        ledger = self.ledger

        def job(ctx):
            return ledger.run(rec.id, seq, write)

        def done(new_rec):
            self._done(session, seq, version, new_rec, on_disk)

        def error(message: str):
            self.failed.emit(session, f"the mask of {rec.relpath} was not saved: {message}; "
                                      "your edits stay open and saving is retried")
            if not self.retry.isActive():
                self.retry.start()

        def finished(_cancelled: bool):
            session.saving -= 1
            self.state_changed.emit()
            if not session.saving:
                self.settled.emit(session)

        self.saves_submitted += 1
        self.runner.submit(job, on_result=done, on_error=error, on_finished=finished)
        self.state_changed.emit()
        return True

    def _done(self, session: EditSession, seq: int, version: int, new_rec,
              on_disk: bool = True) -> None:
        if new_rec is None:
            return  # a newer save of this image was written first
        # the ledger writes in sequence order, so this is the newest state on disk
        session.on_disk = on_disk
        session.saved_version = version
        session.rec = new_rec
        if session.version == version:
            session.set_clean()
        else:
            session.reset_clean()  # the disk holds another state than any index
            if not self.timer.isActive():
                self.timer.start()      # the newer state still needs its save
        self.saved.emit(session, new_rec)
        self.state_changed.emit()

    def submit(self, image_id: int, job: Callable, on_result=None, on_error=None) -> None:
        """Run ``job()`` (another write of this image's mask: reset, status) in the save
        order; saves submitted before it that have not run yet are skipped."""
        seq = self.next_seq(image_id)
        ledger = self.ledger
        self.runner.submit(lambda ctx: ledger.run(image_id, seq, job), on_result=on_result,
                           on_error=on_error)

    # -- waiting ---------------------------------------------------------------------------
    def pending(self) -> bool:
        return self.runner.pending() > 0

    def flush(self, wait_ms: int = 60000) -> list[tuple[EditSession, str]]:
        """Save every unsaved session and wait for the writes (closing).  Returns the
        sessions whose newest edits are not on disk, with the reason."""
        self.timer.stop()
        self.retry.stop()
        self.save_all()
        self.runner.wait(wait_ms)
        failures = []
        for session in self._sessions():
            if not session.dirty:
                continue
            image_id = session.image_id
            with self.ledger.lock:
                written = self.ledger.written[image_id]
                err = self.ledger.errors.get(image_id)
            if written >= self._seq[image_id] and err is None:
                # written; the queued result signal has not arrived yet (the last
                # write of a session at its start took its mask back)
                session.saved_version = session.version
                session.on_disk = not session.at_start
                session.set_clean()
            else:
                failures.append((session, err[1] if err else "the write did not finish"))
        self.state_changed.emit()
        return failures

    def reset(self) -> None:
        """The project closed (call after :meth:`flush`): image ids start over."""
        self.timer.stop()
        self.retry.stop()
        self.runner.wait(60000)
        self.ledger = SaveLedger()
        self._seq.clear()

    def shutdown(self) -> None:
        self.timer.stop()
        self.retry.stop()
        self.runner.wait(60000)  # the saves run to their end: never cancelled
