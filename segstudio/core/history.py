"""Undo/redo for mask edits: patches, a stroke recorder and a bounded stack.

Every edit of a mask (a uint8 (H, W) array of class ids, edited in place)
yields one :class:`Patch`: the pixels that changed, their values before and
after, and the bounding box the canvas repaints.  ``patch.revert(mask)``
undoes the edit and ``patch.apply(mask)`` redoes it, bit-exactly; both only
touch the bounding box, and ``apply`` is idempotent.

Memory per patch is proportional to the changed area, not to the mask:

* a single operation (fill, polygon, ...) stores a bitmap of the changed
  pixels over its tight bounding box (1 bit per pixel) plus the old and new
  values of the changed pixels only (1 byte each); values that are all the
  same are stored as one number (a flood fill of one class by another costs
  only the bitmap), and a box in which every pixel changed stores no bitmap;
* a brush stroke (:class:`StrokeRecorder`) stores the same, but only for the
  64x64 tiles it touched, so a long diagonal stroke does not pay for its
  bounding box.

:class:`UndoStack` is the undo history of one mask (bounded, oldest dropped,
a clean state for the saved mask); :mod:`.editing` gives every edited image
one, and the window runs exactly that.
"""

from __future__ import annotations

import numpy as np
from numpy.lib.stride_tricks import as_strided

TILE = 64
"""Side of the square tiles a stroke recorder saves (pixels)."""

Rect = tuple[int, int, int, int]
"""(y0, x0, y1, x1): rows y0..y1-1 and columns x0..x1-1 of the mask."""

Values = int | np.ndarray

_OBJECT_OVERHEAD = 256  # rough bytes of the Python objects of one patch


def union_rect(a: Rect | None, b: Rect | None) -> Rect | None:
    """The smallest rect holding both (None is the empty rect)."""
    if a is None:
        return b
    if b is None:
        return a
    return (min(a[0], b[0]), min(a[1], b[1]), max(a[2], b[2]), max(a[3], b[3]))


def check_mask(mask: np.ndarray) -> None:
    """Raise ValueError unless ``mask`` is a writable 2-D uint8 array."""
    if not isinstance(mask, np.ndarray) or mask.dtype != np.uint8 or mask.ndim != 2:
        raise ValueError(f"a mask must be a 2-D uint8 array, got "
                         f"{getattr(mask, 'dtype', type(mask))} {getattr(mask, 'shape', '')}")
    if not mask.flags.writeable:
        raise ValueError("the mask is read-only; edits change it in place")


def _compact(vals: np.ndarray, fresh: bool = True) -> Values:
    """``vals`` as one int when all equal, else an array that owns its data
    (``fresh``: ``vals`` is already a new array nobody else holds)."""
    if vals.size and int(vals.min()) == int(vals.max()):
        return int(vals.flat[0])
    return vals if fresh and vals.flags.c_contiguous and vals.base is None else vals.copy()


def _vbytes(v: Values) -> int:
    return v.nbytes if isinstance(v, np.ndarray) else 0


class _RectPart:
    """Changed pixels of one box: a packed bitmap (None: all changed) and values."""

    __slots__ = ("y0", "x0", "h", "w", "bits", "vals")

    def __init__(self, y0: int, x0: int, h: int, w: int, bits: np.ndarray | None,
                 before: Values, after: Values) -> None:
        self.y0, self.x0, self.h, self.w = y0, x0, h, w
        self.bits = bits
        self.vals = (before, after)

    @property
    def nbytes(self) -> int:
        return (0 if self.bits is None else self.bits.nbytes) + sum(_vbytes(v) for v in self.vals)

    def changed(self) -> np.ndarray:
        if self.bits is None:
            return np.ones((self.h, self.w), dtype=bool)
        return np.unpackbits(self.bits, count=self.h * self.w).view(bool).reshape(self.h, self.w)

    def write(self, mask: np.ndarray, which: int) -> None:
        region = mask[self.y0:self.y0 + self.h, self.x0:self.x0 + self.w]
        v = self.vals[which]
        if self.bits is None:
            region[...] = v
        else:
            region[self.changed()] = v


def _tile_views(mask: np.ndarray, t: int) -> np.ndarray:
    """A writable (H//t, W//t, t, t) view of the whole tiles of ``mask``."""
    s0, s1 = mask.strides
    return as_strided(mask, shape=(mask.shape[0] // t, mask.shape[1] // t, t, t),
                      strides=(t * s0, t * s1, s0, s1), writeable=True)


def gather_tiles(mask: np.ndarray, ty: np.ndarray, tx: np.ndarray, t: int) -> np.ndarray:
    """Copies of tiles (ty[i], tx[i]) as a (k, t, t) array; the part of an edge
    tile outside the mask reads as 0."""
    h, w = mask.shape
    out = np.zeros((len(ty), t, t), dtype=mask.dtype)
    inner = (ty < h // t) & (tx < w // t)
    if inner.all():
        out[...] = _tile_views(mask, t)[ty, tx]
        return out
    if inner.any():
        out[inner] = _tile_views(mask, t)[ty[inner], tx[inner]]
    for i in np.flatnonzero(~inner):
        blk = mask[ty[i] * t:(ty[i] + 1) * t, tx[i] * t:(tx[i] + 1) * t]
        out[i, :blk.shape[0], :blk.shape[1]] = blk
    return out


def scatter_tiles(mask: np.ndarray, ty: np.ndarray, tx: np.ndarray, t: int,
                  blocks: np.ndarray) -> None:
    """Write (k, t, t) ``blocks`` back to tiles (ty[i], tx[i]) of ``mask``."""
    h, w = mask.shape
    inner = (ty < h // t) & (tx < w // t)
    if inner.all():
        _tile_views(mask, t)[ty, tx] = blocks
        return
    if inner.any():
        _tile_views(mask, t)[ty[inner], tx[inner]] = blocks[inner]
    for i in np.flatnonzero(~inner):
        blk = mask[ty[i] * t:(ty[i] + 1) * t, tx[i] * t:(tx[i] + 1) * t]
        blk[...] = blocks[i, :blk.shape[0], :blk.shape[1]]


class _TilePart:
    """Changed pixels of a set of t x t tiles (aligned to the mask's tile grid):
    one packed bitmap per tile and values in tile order, row-major inside a tile."""

    __slots__ = ("t", "ty", "tx", "bits", "vals")

    def __init__(self, t: int, ty: np.ndarray, tx: np.ndarray, bits: np.ndarray,
                 before: Values, after: Values) -> None:
        self.t, self.ty, self.tx, self.bits = t, ty, tx, bits
        self.vals = (before, after)

    @property
    def nbytes(self) -> int:
        return (self.ty.nbytes + self.tx.nbytes + self.bits.nbytes
                + sum(_vbytes(v) for v in self.vals))

    def changed_blocks(self) -> np.ndarray:
        t = self.t
        return np.unpackbits(self.bits, axis=1, count=t * t).view(bool).reshape(-1, t, t)

    def write(self, mask: np.ndarray, which: int) -> None:
        blocks = gather_tiles(mask, self.ty, self.tx, self.t)
        blocks[self.changed_blocks()] = self.vals[which]
        scatter_tiles(mask, self.ty, self.tx, self.t, blocks)


class Patch:
    """One undoable edit of a mask.

    ``bbox`` is the tight box of the changed pixels ``(y0, x0, y1, x1)``
    (y1, x1 exclusive); ``rect_xywh`` is the same as ``(x, y, w, h)`` for a
    ``QRect``.  ``count`` pixels changed.  ``nbytes`` is the memory the patch
    holds.  Build patches with :meth:`from_region` or :class:`StrokeRecorder`.
    """

    __slots__ = ("name", "shape", "bbox", "count", "_part")

    def __init__(self, name: str, shape: tuple[int, int], bbox: Rect, count: int,
                 part: _RectPart | _TilePart) -> None:
        self.name = name
        self.shape = shape
        self.bbox = bbox
        self.count = count
        self._part = part

    # -- building --------------------------------------------------------
    @classmethod
    def from_region(cls, name: str, mask: np.ndarray, y0: int, x0: int, before: np.ndarray,
                    *, before_value: int | None = None,
                    after_value: int | None = None) -> Patch | None:
        """The patch of an edit already made inside the box at (y0, x0) of the
        size of ``before``, which holds that box's values before the edit;
        ``mask`` holds them after.  None when nothing changed.
        ``before_value``/``after_value``: pass when every changed pixel is
        known to have had / to have that value (saves a pass)."""
        h, w = before.shape
        region = mask[y0:y0 + h, x0:x0 + w]
        changed = before != region
        rows = np.flatnonzero(changed.any(axis=1))
        if rows.size == 0:
            return None
        cols = np.flatnonzero(changed.any(axis=0))
        r0, r1, c0, c1 = int(rows[0]), int(rows[-1]) + 1, int(cols[0]), int(cols[-1]) + 1
        if (r0, r1, c0, c1) != (0, h, 0, w):
            changed = changed[r0:r1, c0:c1]
            before = before[r0:r1, c0:c1]
            region = region[r0:r1, c0:c1]
        count = int(np.count_nonzero(changed))
        hh, ww = r1 - r0, c1 - c0
        if count == hh * ww:
            bits = None
            b: Values = before_value if before_value is not None else _compact(before, False)
            a: Values = after_value if after_value is not None else _compact(region, False)
        else:
            bits = np.packbits(changed)
            b = before_value if before_value is not None else _compact(before[changed])
            a = after_value if after_value is not None else _compact(region[changed])
        part = _RectPart(y0 + r0, x0 + c0, hh, ww, bits, b, a)
        bbox = (y0 + r0, x0 + c0, y0 + r1, x0 + c1)
        return cls(name, (int(mask.shape[0]), int(mask.shape[1])), bbox, count, part)

    @classmethod
    def from_arrays(cls, name: str, before: np.ndarray, after: np.ndarray) -> Patch | None:
        """The patch that turns whole mask ``before`` into ``after`` (tests, CLI)."""
        if before.shape != after.shape:
            raise ValueError(f"shapes differ: {before.shape} vs {after.shape}")
        return cls.from_region(name, after, 0, 0, before)

    # -- using -----------------------------------------------------------
    @property
    def y0(self) -> int:
        return self.bbox[0]

    @property
    def x0(self) -> int:
        return self.bbox[1]

    @property
    def rect_xywh(self) -> tuple[int, int, int, int]:
        y0, x0, y1, x1 = self.bbox
        return (x0, y0, x1 - x0, y1 - y0)

    @property
    def nbytes(self) -> int:
        return self._part.nbytes + _OBJECT_OVERHEAD

    def _check(self, mask: np.ndarray) -> None:
        if mask.shape != self.shape:
            raise ValueError(f"patch {self.name!r} is for a {self.shape} mask, not {mask.shape}")

    def apply(self, mask: np.ndarray) -> None:
        """Redo: write the new values (idempotent)."""
        self._check(mask)
        self._part.write(mask, 1)

    def revert(self, mask: np.ndarray) -> None:
        """Undo: write back the old values."""
        self._check(mask)
        self._part.write(mask, 0)

    def changed(self) -> np.ndarray:
        """Bool array over ``bbox``: True where the patch changes the pixel."""
        y0, x0, y1, x1 = self.bbox
        p = self._part
        if isinstance(p, _RectPart):
            return p.changed()
        t = p.t
        out = np.zeros((y1 - y0, x1 - x0), dtype=bool)
        for i, blk in enumerate(p.changed_blocks()):
            ty, tx = int(p.ty[i]) * t, int(p.tx[i]) * t
            sy0, sx0 = max(ty, y0), max(tx, x0)
            sy1, sx1 = min(ty + t, y1), min(tx + t, x1)
            out[sy0 - y0:sy1 - y0, sx0 - x0:sx1 - x0] = blk[sy0 - ty:sy1 - ty, sx0 - tx:sx1 - tx]
        return out

    def __repr__(self) -> str:
        return f"Patch({self.name!r}, bbox={self.bbox}, count={self.count}, nbytes={self.nbytes})"


class StrokeRecorder:
    """Turns many small writes (the dabs of one mouse drag) into one Patch.

    Call :meth:`touch` with the rect a dab is about to write *before* writing
    it: the recorder copies the tiles of that rect it has not saved yet.
    :meth:`finish` compares the saved tiles with the mask and returns one
    Patch over the changed pixels (None if nothing changed); :meth:`cancel`
    restores the saved tiles instead (Esc during a drag).
    """

    def __init__(self, mask: np.ndarray, tile: int = TILE) -> None:
        check_mask(mask)
        if tile < 8 or tile % 8:
            raise ValueError("tile must be a multiple of 8")
        self.mask = mask
        self.tile = tile
        h, w = mask.shape
        self._saved = np.zeros(((h + tile - 1) // tile, (w + tile - 1) // tile), dtype=bool)
        self._ty: list[int] = []
        self._tx: list[int] = []
        self._blocks: list[np.ndarray] = []
        self.dirty: Rect | None = None
        """Union of the rects touched so far."""
        self._done = False

    def touch(self, rect: Rect) -> None:
        """Save the not yet saved tiles of ``rect`` (clipped to the mask)."""
        if self._done:
            raise RuntimeError("this stroke is finished")
        h, w = self.mask.shape
        y0, x0, y1, x1 = max(rect[0], 0), max(rect[1], 0), min(rect[2], h), min(rect[3], w)
        if y1 <= y0 or x1 <= x0:
            return
        self.dirty = union_rect(self.dirty, (y0, x0, y1, x1))
        t = self.tile
        ty0, tx0, ty1, tx1 = y0 // t, x0 // t, (y1 - 1) // t + 1, (x1 - 1) // t + 1
        sub = self._saved[ty0:ty1, tx0:tx1]
        if sub.all():
            return
        for dy, dx in zip(*np.nonzero(~sub), strict=True):
            ty, tx = ty0 + int(dy), tx0 + int(dx)
            self._ty.append(ty)
            self._tx.append(tx)
            self._blocks.append(self.mask[ty * t:(ty + 1) * t, tx * t:(tx + 1) * t].copy())
        sub[...] = True

    @property
    def saved_nbytes(self) -> int:
        return sum(b.nbytes for b in self._blocks)

    def finish(self, name: str) -> Patch | None:
        """One Patch for everything written since the recorder was made."""
        self._done = True
        if not self._blocks:
            return None
        t = self.tile
        ty = np.asarray(self._ty, dtype=np.int32)
        tx = np.asarray(self._tx, dtype=np.int32)
        before = np.zeros((len(ty), t, t), dtype=np.uint8)
        for i, b in enumerate(self._blocks):
            before[i, :b.shape[0], :b.shape[1]] = b
        self._blocks = []
        after = gather_tiles(self.mask, ty, tx, t)
        changed = before != after
        keep = changed.reshape(len(ty), -1).any(axis=1)
        if not keep.any():
            return None
        if not keep.all():
            ty, tx, before, after, changed = (a[keep] for a in (ty, tx, before, after, changed))
        order = np.lexsort((tx, ty))
        # numpy types the lexsorted arrays more loosely than the arrays they came from
        ty, tx, before, after, changed = (  # type: ignore[assignment]
            a[order] for a in (ty, tx, before, after, changed))
        ri, rr = np.nonzero(changed.any(axis=2))
        ci, cc = np.nonzero(changed.any(axis=1))
        ys, xs = ty[ri] * t + rr, tx[ci] * t + cc
        bbox = (int(ys.min()), int(xs.min()), int(ys.max()) + 1, int(xs.max()) + 1)
        bits = np.packbits(changed.reshape(len(ty), -1), axis=1)
        part = _TilePart(t, ty, tx, bits, _compact(before[changed]), _compact(after[changed]))
        count = int(np.count_nonzero(changed))
        return Patch(name, (int(self.mask.shape[0]), int(self.mask.shape[1])), bbox, count, part)

    def cancel(self) -> Rect | None:
        """Put back every saved tile; returns the rect to repaint."""
        self._done = True
        t = self.tile
        for ty, tx, b in zip(self._ty, self._tx, self._blocks, strict=True):
            self.mask[ty * t:ty * t + b.shape[0], tx * t:tx * t + b.shape[1]] = b
        self._blocks = []
        return self.dirty


class UndoStack:
    """A bounded undo/redo stack of patches for one mask (the rules of Qt's undo stack).

    ``push`` takes a patch of an edit already made.  When more than ``limit``
    patches (or more than ``max_bytes`` bytes, if set) are held, the oldest
    are dropped.  The clean state marks the saved mask: ``is_clean()`` is True
    when the mask is as it was at the last ``set_clean()``; once the patch
    needed to get back there is dropped, the clean state is unreachable
    (``clean_index() == -1``), as in Qt.
    """

    def __init__(self, mask: np.ndarray, limit: int = 100, max_bytes: int | None = None) -> None:
        check_mask(mask)
        if limit < 1:
            raise ValueError("the undo limit must be at least 1")
        self.mask = mask
        self._limit = limit
        self._max_bytes = max_bytes
        self._patches: list[Patch] = []
        self._index = 0
        self._clean = 0
        self._trimmed = False  # the oldest patches were dropped: the origin is out of reach

    # -- Qt-like queries -------------------------------------------------
    def count(self) -> int:
        return len(self._patches)

    def index(self) -> int:
        """Number of patches currently applied (the position in the stack)."""
        return self._index

    def can_undo(self) -> bool:
        return self._index > 0

    def can_redo(self) -> bool:
        return self._index < len(self._patches)

    def undo_text(self) -> str:
        return self._patches[self._index - 1].name if self.can_undo() else ""

    def redo_text(self) -> str:
        return self._patches[self._index].name if self.can_redo() else ""

    def at_origin(self) -> bool:
        """Every edit since the stack began is undone: the mask is as it was then (False
        once the oldest patches were dropped, as the start is out of reach then)."""
        return self._index == 0 and not self._trimmed

    def clean_index(self) -> int:
        return self._clean

    def is_clean(self) -> bool:
        return self._clean == self._index

    def set_clean(self) -> None:
        self._clean = self._index

    def reset_clean(self) -> None:
        """No position of the stack is the saved state any more."""
        self._clean = -1

    def undo_limit(self) -> int:
        return self._limit

    def set_undo_limit(self, limit: int) -> None:
        if limit < 1:
            raise ValueError("the undo limit must be at least 1")
        self._limit = limit
        self._trim()

    @property
    def nbytes(self) -> int:
        return sum(p.nbytes for p in self._patches)

    def patches(self) -> list[Patch]:
        return list(self._patches)

    # -- changes ---------------------------------------------------------
    def push(self, patch: Patch | None) -> bool:
        """Record an edit already made on the mask; False for None (no change)."""
        if patch is None:
            return False
        if patch.shape != self.mask.shape:
            raise ValueError(f"patch {patch.name!r} is for a {patch.shape} mask, "
                             f"not {self.mask.shape}")
        if self._index < len(self._patches):
            del self._patches[self._index:]
            if self._clean > self._index:
                self._clean = -1
        self._patches.append(patch)
        self._index += 1
        self._trim()
        return True

    def undo(self) -> Patch | None:
        """Revert the last applied patch; returns it (its bbox needs a repaint)."""
        if not self.can_undo():
            return None
        self._index -= 1
        p = self._patches[self._index]
        p.revert(self.mask)
        return p

    def redo(self) -> Patch | None:
        if not self.can_redo():
            return None
        p = self._patches[self._index]
        p.apply(self.mask)
        self._index += 1
        return p

    def clear(self) -> None:
        """Forget every patch (the mask stays as it is and counts as clean)."""
        self._patches = []
        self._index = 0
        self._clean = 0
        self._trimmed = True

    def _trim(self) -> None:
        n = len(self._patches)
        drop = max(0, n - self._limit)
        if self._max_bytes is not None:
            sizes = [p.nbytes for p in self._patches]
            total = sum(sizes[drop:])
            while drop < n - 1 and total > self._max_bytes:
                total -= sizes[drop]
                drop += 1
        drop = min(drop, self._index)  # a patch not applied (redo side) is never dropped
        if drop <= 0:
            return
        del self._patches[:drop]
        self._trimmed = True
        self._index -= drop
        self._clean = self._clean - drop if self._clean >= drop else -1
