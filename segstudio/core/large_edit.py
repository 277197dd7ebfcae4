"""Editing a large mask: the tools work on a window of it, the undo history keeps
bounding-box patches.

Every editing tool (:mod:`.edits`, :mod:`.smart`) works on a 2-D array and returns a
:class:`~.history.Patch`.  A large mask is never one array, so its edit session
(:class:`LargeEditSession`) lends the tools a *window*: an array of at most
``WINDOW`` x ``WINDOW`` pixels of the full-resolution mask, at an origin the
editor chooses where the user works (around the cursor, or the view).  The tools
see the window as the mask and the window's part of the image as the image, in
window coordinates; the window array is always the same buffer, refilled when it
moves, so the undo stack's checks (one shape) hold.

* Every change of the window reaches the chunked mask at once
  (:meth:`LargeEditSession.sync`, called on each repaint and on every patch): its
  level-0 chunks and the coarser levels of the same area, which the viewer draws.
* Each patch remembers the window origin it was made in
  (:class:`WindowPatch`); undo and redo first move the window there, so a patch is
  applied to exactly the pixels it was recorded on.
* A save writes the chunks changed since the last save (:meth:`save_job`).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

import numpy as np

from .chunked_mask import ChunkedMask
from .editing import UNDO_LIMIT, EditSession, SessionStore
from .history import Patch, Rect
from .large_store import save_chunks

if TYPE_CHECKING:
    from .project import ImageRecord, Project

WINDOW = 2048
ALIGN = 64  # window origins on the stroke recorder's tile grid


class WindowPatch(Patch):
    """A patch of a window, and that window's origin in the full mask."""

    __slots__ = ("origin",)
    origin: tuple[int, int]

    @classmethod
    def wrap(cls, patch: Patch, origin: tuple[int, int]) -> WindowPatch:
        out = cls(patch.name, patch.shape, patch.bbox, patch.count, patch._part)
        out.origin = origin
        return out

    @property
    def full_bbox(self) -> Rect:
        """The patch's box in full-mask coordinates."""
        oy, ox = self.origin
        y0, x0, y1, x1 = self.bbox
        return (y0 + oy, x0 + ox, y1 + oy, x1 + ox)


def window_shape(shape: tuple[int, int], size: int = WINDOW) -> tuple[int, int]:
    return min(size, shape[0]), min(size, shape[1])


def window_origin(center: tuple[float, float], shape: tuple[int, int],
                  size: int = WINDOW) -> tuple[int, int]:
    """The origin (y, x) of the window centred on ``center`` (y, x in full-resolution
    pixels), aligned to ``ALIGN`` and kept inside the mask."""
    wh, ww = window_shape(shape, size)
    out = []
    for c, n, full in ((center[0], wh, shape[0]), (center[1], ww, shape[1])):
        o = int(c - n / 2) // ALIGN * ALIGN
        out.append(max(0, min(o, full - n)))
    return out[0], out[1]


def covers(origin: tuple[int, int], wshape: tuple[int, int],
           rect: tuple[float, float, float, float]) -> bool:
    """Whether the window holds ``rect`` (y0, x0, y1, x1)."""
    oy, ox = origin
    return (oy <= rect[0] and ox <= rect[1] and rect[2] <= oy + wshape[0]
            and rect[3] <= ox + wshape[1])


class LargeEditSession(EditSession):
    """The edit session of a large image: ``mask`` is the window, ``chunked`` the mask."""

    def __init__(self, rec: ImageRecord, chunked: ChunkedMask, on_disk: bool,
                 store: SessionStore, undo_limit: int = UNDO_LIMIT,
                 origin: tuple[int, int] = (0, 0), size: int = WINDOW) -> None:
        self.chunked = chunked
        self.size = size
        wh, ww = window_shape(chunked.shape, size)
        self.origin = (max(0, min(origin[0], chunked.shape[0] - wh)),
                       max(0, min(origin[1], chunked.shape[1] - ww)))
        buf = chunked.read(0, self.origin[0], self.origin[1], self.origin[0] + wh,
                           self.origin[1] + ww)
        self.window_moved: list[Callable[[LargeEditSession], None]] = []
        super().__init__(rec, buf, on_disk, store, undo_limit)

    @property
    def window_rect(self) -> Rect:
        oy, ox = self.origin
        return (oy, ox, oy + self.mask.shape[0], ox + self.mask.shape[1])

    def move_to(self, origin: tuple[int, int]) -> bool:
        """Show the tools another part of the mask (False: it is there already)."""
        wh, ww = self.mask.shape
        h, w = self.chunked.shape
        origin = (max(0, min(origin[0], h - wh)), max(0, min(origin[1], w - ww)))
        if origin == self.origin:
            return False
        self.mask[...] = self.chunked.read(0, origin[0], origin[1], origin[0] + wh,
                                           origin[1] + ww)
        self.origin = origin
        for listener in list(self.window_moved):
            listener(self)
        return True

    def sync(self, bbox: Rect | None) -> None:
        """Copy the window's ``bbox`` (window coordinates) into the chunked mask."""
        if bbox is None:
            return
        wh, ww = self.mask.shape
        y0, x0 = max(0, bbox[0]), max(0, bbox[1])
        y1, x1 = min(wh, bbox[2]), min(ww, bbox[3])
        if y1 > y0 and x1 > x0:
            self.chunked.write(self.origin[0] + y0, self.origin[1] + x0,
                               self.mask[y0:y1, x0:x1])

    def to_full(self, bbox: Rect) -> Rect:
        oy, ox = self.origin
        return (bbox[0] + oy, bbox[1] + ox, bbox[2] + oy, bbox[3] + ox)

    # -- changes -----------------------------------------------------------------------
    def push(self, patch: Patch | None) -> bool:
        if patch is None:
            return False
        self.sync(patch.bbox)
        return super().push(WindowPatch.wrap(patch, self.origin))

    def _next(self, offset: int) -> WindowPatch | None:
        patches = self.stack.patches()
        i = self.stack.index() + offset
        if 0 <= i < len(patches):
            p = patches[i]
            return p if isinstance(p, WindowPatch) else None
        return None

    def undo(self) -> Patch | None:
        patch = self._next(-1)
        if patch is not None:
            self.move_to(patch.origin)
        return super().undo()

    def redo(self) -> Patch | None:
        patch = self._next(0)
        if patch is not None:
            self.move_to(patch.origin)
        return super().redo()

    def _touched(self, bbox: Rect | None) -> None:
        self.sync(bbox)
        super()._touched(bbox)

    # -- saving ----------------------------------------------------------------------------
    @property
    def nbytes(self) -> int:
        return self.mask.nbytes + self.stack.nbytes + len(self.chunked.dirty()) * 512 * 512

    def save_job(self, project: Project) -> Callable[[str], ImageRecord]:
        snapshot = self.chunked.snapshot()
        rec, chunked = self.rec, self.chunked
        return lambda status: save_chunks(project, rec, chunked, snapshot, status)


def read_window(read: Callable[[int, int, int, int, int], np.ndarray],
                session: LargeEditSession) -> np.ndarray:
    """The image under the session's window (``read`` is a pyramid's ``read``)."""
    y0, x0, y1, x1 = session.window_rect
    return read(0, y0, x0, y1, x1)
