"""Per-image edit sessions: the mask array in memory and its QUndoStack.

An :class:`EditSession` exists for an image from its first edit on.  It holds
the mask array the canvas shows (``session.mask``) and a QUndoStack of
:class:`PatchCommand` objects, each wrapping one core
:class:`~segstudio.core.history.Patch` (a bounding-box diff: memory per step
is proportional to the area changed).  The stacks of all sessions live in
one QUndoGroup; the group's active stack is the image on screen, so the
Edit menu's "Undo Brush" / "Redo Fill" follow the image.

Why the mask stays in memory: the patches of a stack only make sense on the
exact array they were recorded on.  Switching to another image keeps the
session (mask + stack), and coming back shows that same array again, so
undo still works.  Memory is bounded by :class:`SessionStore`: sessions
whose edits are all saved are dropped, oldest first, once more than
``max_sessions`` are held or their masks and patches pass ``max_bytes``
(the image on screen is never dropped).  A dropped session's image simply
starts a new, empty history from its saved mask next time.

``session.version`` counts changes (edits, undos, redos);
``session.saved_version`` is the version whose content is on disk.  Saving
compares these two, not the QUndoStack's clean index, because an in-flight
save of a newer state can land after the user undid back to the clean index.
"""

from __future__ import annotations

import time
from typing import Callable

import numpy as np
from PySide6.QtCore import QObject, QRect, Signal
from PySide6.QtGui import QUndoCommand, QUndoGroup, QUndoStack

from ...core.history import Patch
from ...core.project import HUMAN_STATUSES, ImageRecord

UNDO_LIMIT = 100
MAX_SESSIONS = 12
MAX_BYTES = 1 << 30  # masks + patches of the images kept with their undo history


def qrect(bbox: tuple[int, int, int, int]) -> QRect:
    """Core rect (y0, x0, y1, x1) -> QRect."""
    y0, x0, y1, x1 = bbox
    return QRect(x0, y0, x1 - x0, y1 - y0)


class PatchCommand(QUndoCommand):
    """One undo step: a Patch already applied to ``session.mask`` when pushed.

    QUndoStack.push calls redo() right away; the edit is already in the mask,
    so that first redo() only records the change (Patch.apply is idempotent,
    but re-writing a full-image fill would cost time for nothing)."""

    def __init__(self, session: "EditSession", patch: Patch):
        super().__init__(patch.name)
        self.session = session
        self.patch = patch
        self._pushed = False

    def redo(self) -> None:
        if not self._pushed:
            self._pushed = True
            self.session.touched(None)
            return
        self.session.before_history()
        self.patch.apply(self.session.mask)
        self.session.touched(self.patch.bbox)

    def undo(self) -> None:
        self.session.before_history()
        self.patch.revert(self.session.mask)
        self.session.touched(self.patch.bbox)


class EditSession:
    """The mask of one image being edited, its undo stack and save state."""

    def __init__(self, rec: ImageRecord, mask: np.ndarray, stack: QUndoStack, on_disk: bool,
                 store: "SessionStore"):
        self.rec = rec
        self.mask = mask
        self.stack = stack
        self.on_disk = on_disk          # a human mask file exists for this image
        self.version = 0                # bumped on every change of the mask
        self.saved_version = 0          # the version whose content is on disk
        self.saving = 0                 # saves submitted and not finished
        # the status saves give the image: editing keeps "reviewed", else "corrected"
        self.status = rec.status if rec.status in HUMAN_STATUSES else "corrected"
        self.last_used = time.monotonic()
        self._store = store

    @property
    def image_id(self) -> int:
        return self.rec.id

    @property
    def dirty(self) -> bool:
        return self.version != self.saved_version

    @property
    def nbytes(self) -> int:
        """Memory held: the mask plus every patch of the stack."""
        total = self.mask.nbytes
        for i in range(self.stack.count()):
            cmd = self.stack.command(i)
            if isinstance(cmd, PatchCommand):
                total += cmd.patch.nbytes
        return total

    def patch_bytes(self) -> int:
        return self.nbytes - self.mask.nbytes

    def push(self, patch: Patch | None) -> bool:
        """Record an edit already made on ``self.mask`` as one undo step."""
        if patch is None:
            return False
        if patch.shape != self.mask.shape:
            raise ValueError(f"patch {patch.name!r} does not fit the mask of {self.rec.relpath}")
        self.stack.push(PatchCommand(self, patch))
        return True

    # called by PatchCommand
    def before_history(self) -> None:
        self._store.before_history(self)

    def touched(self, bbox) -> None:
        self.version += 1
        self.last_used = time.monotonic()
        self._store.mask_touched(self, bbox)


class SessionStore(QObject):
    """The sessions of the open project, keyed by image id, and their QUndoGroup."""

    changed = Signal(object, object)   # EditSession, bbox (y0, x0, y1, x1) or None: mask changed
    dropped = Signal(int)              # image id whose session (and history) was dropped

    def __init__(self, parent: QObject | None = None, undo_limit: int = UNDO_LIMIT,
                 max_sessions: int = MAX_SESSIONS, max_bytes: int = MAX_BYTES):
        super().__init__(parent)
        self.group = QUndoGroup(self)
        self.undo_limit = undo_limit
        self.max_sessions = max_sessions
        self.max_bytes = max_bytes
        self._sessions: dict[int, EditSession] = {}
        self.before_history_hook: Callable[[EditSession], None] | None = None

    def __len__(self) -> int:
        return len(self._sessions)

    def __iter__(self):
        return iter(list(self._sessions.values()))

    def get(self, image_id: int) -> EditSession | None:
        return self._sessions.get(image_id)

    def create(self, rec: ImageRecord, mask: np.ndarray, on_disk: bool) -> EditSession:
        if rec.id in self._sessions:
            raise ValueError(f"{rec.relpath} already has an edit session")
        stack = QUndoStack(self.group)
        stack.setUndoLimit(self.undo_limit)  # only allowed while the stack is empty
        session = EditSession(rec, mask, stack, on_disk, self)
        self._sessions[rec.id] = session
        return session

    def activate(self, image_id: int | None) -> None:
        """Make the image's stack the group's active one (None: no undo)."""
        session = self._sessions.get(image_id) if image_id is not None else None
        self.group.setActiveStack(session.stack if session is not None else None)
        if session is not None:
            session.last_used = time.monotonic()

    def drop(self, image_id: int) -> None:
        """Forget a session and its history (the caller saved what mattered)."""
        session = self._sessions.pop(image_id, None)
        if session is None:
            return
        if self.group.activeStack() is session.stack:
            self.group.setActiveStack(None)
        self.group.removeStack(session.stack)
        session.stack.clear()
        session.stack.deleteLater()
        self.dropped.emit(image_id)

    def clear(self) -> None:
        for image_id in list(self._sessions):
            self.drop(image_id)

    def total_bytes(self) -> int:
        return sum(s.nbytes for s in self._sessions.values())

    def trim(self, keep: int | None) -> list[EditSession]:
        """Drop sessions beyond the bounds, oldest first, never ``keep`` (the image on
        screen) and never one with unsaved or in-flight edits.  Returns the sessions
        that would have been dropped but still need saving."""
        for s in list(self._sessions.values()):
            if s.image_id != keep and s.stack.count() == 0 and not s.dirty and not s.saving:
                self.drop(s.image_id)  # no history to keep
        need_save: list[EditSession] = []
        sizes = {i: s.nbytes for i, s in self._sessions.items()}
        total = sum(sizes.values())
        for s in sorted(self._sessions.values(), key=lambda s: s.last_used):
            if len(self._sessions) <= self.max_sessions and total <= self.max_bytes:
                break
            if s.image_id == keep:
                continue
            if s.dirty or s.saving:
                need_save.append(s)
                continue
            total -= sizes[s.image_id]
            self.drop(s.image_id)
        return need_save

    # -- hooks from sessions --------------------------------------------------------
    def before_history(self, session: EditSession) -> None:
        if self.before_history_hook is not None:
            self.before_history_hook(session)

    def mask_touched(self, session: EditSession, bbox) -> None:
        self.changed.emit(session, bbox)
