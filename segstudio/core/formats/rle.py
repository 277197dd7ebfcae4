"""COCO run-length encoding, written with numpy (no pycocotools at run time).

A COCO RLE describes a binary mask in column-major (Fortran) order as
alternating run lengths, starting with a run of zeros (which may be empty).
The compressed string form, as pycocotools writes it, stores each count as a
little-endian sequence of 5-bit groups, each group a character ``48 + bits``
with bit 0x20 set when another group follows; from the fourth count on, the
difference to the count two places earlier is stored instead (so runs of
similar length stay short).  The last group's bit 0x10 is the sign.

Everything here is vectorised: no Python loop runs per count or per pixel.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..errors import SegStudioError


class RLEError(SegStudioError):
    """An RLE string or count list is malformed."""


# -- label maps -> runs --------------------------------------------------------

def label_runs(mask: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Column-major runs of a uint8 label map: (values, starts, lengths)."""
    if mask.ndim != 2:
        raise ValueError("a label map must be 2-D")
    flat = np.ascontiguousarray(mask.T).reshape(-1)
    n = flat.size
    if n == 0:
        empty = np.zeros(0, np.int64)
        return np.zeros(0, mask.dtype), empty, empty
    change = np.flatnonzero(flat[1:] != flat[:-1]) + 1
    starts = np.empty(change.size + 1, np.int64)
    starts[0] = 0
    starts[1:] = change
    lengths = np.diff(np.append(starts, n))
    return flat[starts], starts, lengths


def counts_from_runs(starts: np.ndarray, lengths: np.ndarray, total: int) -> np.ndarray:
    """RLE counts of a binary mask whose ones are the given (non-adjacent) runs."""
    if starts.size == 0:
        return np.array([total], np.int64)
    ends = starts + lengths
    counts = np.empty(2 * starts.size + 1, np.int64)
    counts[0] = starts[0]
    counts[1::2] = lengths
    counts[2:-1:2] = starts[1:] - ends[:-1]
    counts[-1] = total - ends[-1]
    return counts if counts[-1] else counts[:-1]


def class_counts(mask: np.ndarray) -> dict[int, np.ndarray]:
    """RLE counts for every value present in a label map (one pass over the pixels)."""
    values, starts, lengths = label_runs(mask)
    total = mask.size
    order = np.argsort(values, kind="stable")
    sv = values[order]
    cuts = np.flatnonzero(sv[1:] != sv[:-1]) + 1
    out: dict[int, np.ndarray] = {}
    for group in np.split(order, cuts):
        if group.size:
            out[int(values[group[0]])] = counts_from_runs(starts[group], lengths[group], total)
    return out


def encode_mask(binary: np.ndarray) -> np.ndarray:
    """RLE counts of a binary (H, W) mask."""
    values, starts, lengths = label_runs(np.asarray(binary).astype(bool).view(np.uint8))
    ones = values == 1
    return counts_from_runs(starts[ones], lengths[ones], binary.size)


def decode_counts(counts: np.ndarray, height: int, width: int) -> np.ndarray:
    """Binary uint8 (H, W) mask from RLE counts."""
    counts = np.asarray(counts, np.int64)
    total = height * width
    if counts.size and (counts.min() < 0 or int(counts.sum()) != total):
        raise RLEError(f"the RLE counts add up to {int(counts.sum())}, not {height}x{width} "
                       f"= {total} pixels")
    if not counts.size and total:
        raise RLEError("the RLE has no counts")
    values = np.zeros(counts.size, np.uint8)
    values[1::2] = 1
    flat = np.repeat(values, counts)
    return np.ascontiguousarray(flat.reshape(width, height).T)


def decode_labels(rles: list[tuple[int, np.ndarray]], height: int, width: int,
                  fill: int) -> np.ndarray:
    """Paint several (class id, counts) RLEs into one label map, later ones on top."""
    flat = np.full(height * width, fill, np.uint8)
    total = height * width
    for cid, counts in rles:
        counts = np.asarray(counts, np.int64)
        if counts.size and (counts.min() < 0 or int(counts.sum()) != total):
            raise RLEError(f"the RLE counts add up to {int(counts.sum())}, not {height}x{width} "
                           f"= {total} pixels")
        if counts.size < 2:
            continue
        pattern = np.zeros(counts.size, bool)
        pattern[1::2] = True
        inside = np.repeat(pattern, counts)
        flat[inside] = cid
    return np.ascontiguousarray(flat.reshape(width, height).T)


def area_bbox(counts: np.ndarray, height: int) -> tuple[int, list[float]]:
    """Pixel count and [x, y, w, h] of an RLE, as pycocotools computes them."""
    counts = np.asarray(counts, np.int64)
    ends = np.cumsum(counts)
    starts = ends - counts
    s, e = starts[1::2], ends[1::2]
    keep = e > s
    s, e = s[keep], e[keep]
    area = int((e - s).sum())
    if area == 0:
        return 0, [0.0, 0.0, 0.0, 0.0]
    last = e - 1
    xs, xe = s // height, last // height
    ys, ye = s % height, last % height
    if (xe > xs).any():  # a run that wraps into the next column spans every row
        y0, y1 = 0, height - 1
    else:
        y0, y1 = int(ys.min()), int(ye.max())
    x0, x1 = int(xs.min()), int(xe.max())
    return area, [float(x0), float(y0), float(x1 - x0 + 1), float(y1 - y0 + 1)]


def encode_label_map(mask: np.ndarray) -> list[tuple[int, str, int, list[float]]]:
    """(class id, compressed counts, area, bbox) for every value in a label map.

    The same results as encoding ``mask == c`` for each class, in one
    vectorised pass for all classes together (no per-class numpy calls)."""
    h = mask.shape[0]
    total = mask.size
    values, starts, lengths = label_runs(mask)
    if values.size == 0:
        return []
    order = np.argsort(values, kind="stable")
    v, s, ln = values[order], starts[order], lengths[order]
    e = s + ln
    first = np.flatnonzero(np.concatenate(([True], v[1:] != v[:-1])))
    last = np.append(first[1:], v.size) - 1
    group = np.repeat(np.arange(first.size), np.diff(np.append(first, v.size)))
    rank = np.arange(v.size) - first[group]
    k = last - first + 1  # runs per class
    trailing = total - e[last]
    size = 2 * k + (trailing > 0)
    offset = np.cumsum(size) - size
    counts = np.empty(int(size.sum()), np.int64)
    prev_end = np.where(rank == 0, 0, np.roll(e, 1))
    counts[offset[group] + 2 * rank] = s - prev_end
    counts[offset[group] + 2 * rank + 1] = ln
    has_tail = trailing > 0
    counts[(offset + 2 * k)[has_tail]] = trailing[has_tail]
    # the string codec's deltas, per class
    local = np.arange(counts.size) - np.repeat(offset, size)
    deltas = counts.copy()
    far = local >= 3
    deltas[far] = counts[far] - counts[np.flatnonzero(far) - 2]
    chars, nchars = _encode_values(deltas)
    char_end = np.cumsum(nchars)
    cls_end = char_end[offset + size - 1]
    cls_start = np.concatenate(([0], cls_end[:-1]))
    text = chars.tobytes().decode("ascii")
    # area and bbox as pycocotools computes them
    area = np.add.reduceat(ln, first)
    x0, x1 = s[first] // h, (e[last] - 1) // h
    wraps = np.maximum.reduceat((s // h != (e - 1) // h).astype(np.int8), first).astype(bool)
    y0 = np.where(wraps, 0, np.minimum.reduceat(s % h, first))
    y1 = np.where(wraps, h - 1, np.maximum.reduceat((e - 1) % h, first))
    out = []
    for g in range(first.size):
        out.append((int(v[first[g]]), text[cls_start[g]:cls_end[g]], int(area[g]),
                    [float(x0[g]), float(y0[g]), float(x1[g] - x0[g] + 1),
                     float(y1[g] - y0[g] + 1)]))
    return out


# -- compressed strings -----------------------------------------------------------

def _deltas(counts: np.ndarray) -> np.ndarray:
    d = counts.astype(np.int64, copy=True)
    if d.size > 3:
        d[3:] = counts[3:] - counts[1:-2]
    return d


def _encode_values(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Characters (uint8) of the 5-bit groups of each value, and groups per value."""
    n = np.ones(x.size, np.int64)
    if x.size:
        top = max(int(x.max()), -int(x.min()) - 1, 0)
        k = 1
        while (1 << (5 * k - 1)) <= top:  # the smallest n with -2**(5n-1) <= x < 2**(5n-1)
            lim = np.int64(1) << (5 * k - 1)
            n += (x >= lim) | (x < -lim)
            k += 1
    total = int(n.sum())
    first = np.cumsum(n) - n
    idx = np.repeat(np.arange(x.size), n)
    pos = np.arange(total) - np.repeat(first, n)
    chunks = (x[idx] >> (5 * pos)) & 0x1F
    more = pos < (n[idx] - 1)
    chars = (chunks | (more.astype(np.int64) << 5)) + 48
    return chars.astype(np.uint8), n


def counts_to_string(counts: np.ndarray) -> str:
    """The compressed "counts" string pycocotools writes for these counts."""
    x = _deltas(np.asarray(counts, np.int64))
    if x.size == 0:
        return ""
    return _encode_values(x)[0].tobytes().decode("ascii")


def string_to_counts(text: str | bytes) -> np.ndarray:
    """Counts from a compressed RLE string (inverse of :func:`counts_to_string`)."""
    raw = text.encode("ascii") if isinstance(text, str) else bytes(text)
    c = np.frombuffer(raw, np.uint8).astype(np.int64) - 48
    if c.size == 0:
        return np.zeros(0, np.int64)
    if c.min() < 0 or c.max() > 63:
        raise RLEError("the RLE string holds characters outside the COCO alphabet")
    last = (c & 0x20) == 0
    if not last[-1]:
        raise RLEError("the RLE string is cut off in the middle of a count")
    ends = np.flatnonzero(last)
    starts = np.concatenate(([0], ends[:-1] + 1))
    n = ends - starts + 1
    if n.max() > 12:
        raise RLEError("the RLE string holds a count too large for any image")
    k = np.arange(c.size) - np.repeat(starts, n)
    parts = (c & 0x1F) << (5 * k)
    x = np.add.reduceat(parts, starts)
    negative = (c[ends] & 0x10) != 0
    x[negative] -= np.int64(1) << (5 * n[negative])
    counts = x.copy()
    if counts.size > 3:
        # counts[i] = x[i] + counts[i-2] for i >= 3: two interleaved running sums
        counts[3::2] = counts[1] + np.cumsum(x[3::2])
        counts[4::2] = counts[2] + np.cumsum(x[4::2])
    return counts


def encode(binary: np.ndarray) -> dict[str, Any]:
    """{"size": [h, w], "counts": str} for a binary mask, as pycocotools.mask.encode."""
    h, w = binary.shape
    return {"size": [int(h), int(w)], "counts": counts_to_string(encode_mask(binary))}


def rle_counts(rle: dict[str, Any]) -> np.ndarray:
    """Counts of an RLE dict whose counts are a compressed string or a list."""
    counts = rle.get("counts")
    if isinstance(counts, (str, bytes)):
        return string_to_counts(counts)
    if isinstance(counts, list):
        try:
            return np.asarray([int(v) for v in counts], np.int64)
        except (TypeError, ValueError) as exc:
            raise RLEError(f"the RLE counts list holds a non-integer ({exc})") from None
    raise RLEError("an RLE needs 'counts' as a string or a list of integers")


def decode(rle: dict[str, Any]) -> np.ndarray:
    """Binary uint8 mask from an RLE dict (compressed or uncompressed counts)."""
    size = rle.get("size")
    if not (isinstance(size, (list, tuple)) and len(size) == 2):
        raise RLEError("an RLE needs 'size': [height, width]")
    h, w = int(size[0]), int(size[1])
    return decode_counts(rle_counts(rle), h, w)
