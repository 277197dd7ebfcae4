"""The editing model, free of Qt: per-image edit sessions with their undo history.

An :class:`EditSession` exists for an image from its first edit on.  It owns
the mask array being edited (``session.mask``; the window shows this very
array) and a :class:`~segstudio.core.history.UndoStack` of patches, each a
bounding-box diff, so memory per step is proportional to the area changed.

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
compares these two, not the stack's clean index, because an in-flight save
of a newer state can land after the user undid back to the clean index.

The store reports to whoever renders it through typed psygnal signals (connected
and emitted as Qt's are, and without Qt): ``mask_changed(session, bbox)`` after the
mask changed (bbox ``(y0, x0, y1, x1)`` or None when only the history moved),
``dropped(image_id)``, ``history_changed()`` when what Undo / Redo offer may have
changed (text, availability, clean state) and ``history_moving(session)`` just
before an undo or redo changes the mask (a tool holding a stroke takes it back
first).  The window connects its repaints and menu updates to them; tests connect
plain functions, without a window.

Back at the start.  A session that began on an image without a human mask and whose
edits are all undone (:attr:`EditSession.at_start`) holds nothing of the user's: the
window then shows the prediction again (no human mask) and the saver writes no mask,
removing the one it had already written for this session, so the image gets back its
status from before the session (predicted or unlabelled).  A redo brings the edit back.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator

import numpy as np
from psygnal import Signal

from .history import Patch, UndoStack
from .project import HUMAN_STATUSES, ImageRecord, Project

UNDO_LIMIT = 100
MAX_SESSIONS = 12
MAX_BYTES = 1 << 30  # masks + patches of the images kept with their undo history

Rect = tuple[int, int, int, int]


class EditSession:
    """The mask of one image being edited, its undo stack and save state."""

    def __init__(self, rec: ImageRecord, mask: np.ndarray, on_disk: bool,
                 store: SessionStore, undo_limit: int = UNDO_LIMIT):
        self.rec = rec
        self.mask = mask
        self.stack = UndoStack(mask, limit=undo_limit)
        self.on_disk = on_disk          # a human mask file exists for this image
        self.had_mask = on_disk         # one existed before this session
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
        return self.mask.nbytes + self.stack.nbytes

    def patch_bytes(self) -> int:
        return self.stack.nbytes

    def save_job(self, project: Project) -> Callable[[str], ImageRecord]:
        """Take what a save writes, now (on the editing thread); the returned call writes
        it with a status (on the save thread).  A large image's session writes its
        changed chunks instead (:mod:`.large_edit`)."""
        snapshot, rec = self.mask.copy(), self.rec
        return lambda status: project.save_mask(rec, snapshot, status)

    @property
    def at_start(self) -> bool:
        """Every edit is undone on an image that had no human mask, and nobody asked for
        one (Mark reviewed does): there is no mask of the user's to show or keep."""
        return not self.had_mask and self.status != "reviewed" and self.stack.at_origin()

    # -- changes -----------------------------------------------------------------------
    def push(self, patch: Patch | None) -> bool:
        """Record an edit already made on ``self.mask`` as one undo step."""
        if patch is None:
            return False
        if patch.shape != self.mask.shape:
            raise ValueError(f"patch {patch.name!r} does not fit the mask of {self.rec.relpath}")
        self.stack.push(patch)
        self._touched(None)
        return True

    def undo(self) -> Patch | None:
        if not self.stack.can_undo():
            return None
        self._store.history_moving.emit(self)
        patch = self.stack.undo()
        assert patch is not None  # can_undo
        self._touched(patch.bbox)
        return patch

    def redo(self) -> Patch | None:
        if not self.stack.can_redo():
            return None
        self._store.history_moving.emit(self)
        patch = self.stack.redo()
        assert patch is not None  # can_redo
        self._touched(patch.bbox)
        return patch

    # -- the saved state ------------------------------------------------------------------
    def set_clean(self) -> None:
        """The mask as it is now is the one on disk."""
        self.stack.set_clean()
        self._store.history_changed.emit()

    def reset_clean(self) -> None:
        """The disk holds a state no position of the stack has."""
        self.stack.reset_clean()
        self._store.history_changed.emit()

    def _touched(self, bbox: Rect | None) -> None:
        self.version += 1
        self.last_used = time.monotonic()
        self._store.mask_touched(self, bbox)


class SessionStore:
    """The sessions of the open project, keyed by image id; one of them is active (the
    image on screen), and Undo / Redo act on it.  Its signals: see the module doc."""

    # a slot whose arguments or annotated types do not fit is refused when connected
    mask_changed = Signal(EditSession, object, check_types_on_connect=True)  # bbox or None
    dropped = Signal(int, check_types_on_connect=True)    # the image id whose session went
    history_changed = Signal()                            # what Undo / Redo offer changed
    history_moving = Signal(EditSession, check_types_on_connect=True)  # undo / redo begins

    def __init__(self, undo_limit: int = UNDO_LIMIT, max_sessions: int = MAX_SESSIONS,
                 max_bytes: int = MAX_BYTES):
        self.undo_limit = undo_limit
        self.max_sessions = max_sessions
        self.max_bytes = max_bytes
        self._sessions: dict[int, EditSession] = {}
        self.active: EditSession | None = None

    def __len__(self) -> int:
        return len(self._sessions)

    def __iter__(self) -> Iterator[EditSession]:
        return iter(list(self._sessions.values()))

    def get(self, image_id: int) -> EditSession | None:
        return self._sessions.get(image_id)

    def create(self, rec: ImageRecord, mask: np.ndarray, on_disk: bool) -> EditSession:
        if rec.id in self._sessions:
            raise ValueError(f"{rec.relpath} already has an edit session")
        session = EditSession(rec, mask, on_disk, self, self.undo_limit)
        self._sessions[rec.id] = session
        return session

    def add(self, session: EditSession) -> EditSession:
        """Keep a session made elsewhere (a large image's, :mod:`.large_edit`)."""
        if session.image_id in self._sessions:
            raise ValueError(f"{session.rec.relpath} already has an edit session")
        self._sessions[session.image_id] = session
        return session

    def activate(self, image_id: int | None) -> None:
        """Make the image's session the one Undo / Redo act on (None: no undo)."""
        session = self._sessions.get(image_id) if image_id is not None else None
        if session is not None:
            session.last_used = time.monotonic()
        if session is not self.active:
            self.active = session
            self.history_changed.emit()

    def drop(self, image_id: int) -> None:
        """Forget a session and its history (the caller saved what mattered)."""
        session = self._sessions.pop(image_id, None)
        if session is None:
            return
        if self.active is session:
            self.active = None
            self.history_changed.emit()
        session.stack.clear()
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

    # -- undo and redo of the active session ---------------------------------------------------
    def undo(self) -> Patch | None:
        return self.active.undo() if self.active is not None else None

    def redo(self) -> Patch | None:
        return self.active.redo() if self.active is not None else None

    def can_undo(self) -> bool:
        return self.active is not None and self.active.stack.can_undo()

    def can_redo(self) -> bool:
        return self.active is not None and self.active.stack.can_redo()

    def undo_text(self) -> str:
        return self.active.stack.undo_text() if self.active is not None else ""

    def redo_text(self) -> str:
        return self.active.stack.redo_text() if self.active is not None else ""

    def is_clean(self) -> bool:
        return self.active is None or self.active.stack.is_clean()

    # -- reports ----------------------------------------------------------------------------
    def mask_touched(self, session: EditSession, bbox: Rect | None) -> None:
        self.mask_changed.emit(session, bbox)
        if session is self.active:
            self.history_changed.emit()
