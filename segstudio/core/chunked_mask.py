"""The chunked mask of a large image: an OME-Zarr label pyramid, edited chunk by chunk.

On disk (``.segstudio/masks/<relpath>.zarr``, the same for predictions) a mask is a
zarr (format 2) group laid out as OME-Zarr 0.4 multiscale labels: arrays ``0``,
``1``, ... of uint8 class ids, level ``k`` the nearest sample of every ``2**k``-th
pixel of level 0 (``level0[::2**k, ::2**k]``, what label pyramids use: no blended
ids), chunks of 512 x 512, Blosc-zstd.  napari and QuPath open it as it is; the
group is made with zarr and zarr reads it back.

Chunk files are read and written here directly in zarr's format-2 layout
(``<level>/<cy>/<cx>``, the codec the array's ``.zarray`` names) rather than
through zarr's store: each chunk is written atomically (temp file, fsync, rename:
zarr's own store renames without an fsync), and a save of a stroke writes only its
chunks and the coarser chunks above them.  A save costs two rounds of the disk's
flushes, not one per chunk: every chunk's temp file is encoded, written and
fsynced at once (a pool of writer threads kept for the process; the fsyncs of one
round share the file system's journal commit), then all are renamed, then each
folder they landed in is fsynced once, again at once.  A store is made by
writing its few metadata files directly (zarr's own ``create_array`` took a
quarter of a second for eight levels); zarr reads it back as its own.

:class:`ChunkedMask` is the mask in memory: the chunks read so far (clean ones
dropped past a memory budget), the edited ones with a version each, so a save
writes exactly the chunks changed since the last save and a failed save leaves
them to the next.
"""

from __future__ import annotations

import json
import os
import shutil
import threading
from collections import OrderedDict
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor, wait
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np

from .atomic import StagedWrites, fsync_dir, temp_name
from .errors import MaskError
from .pyramid import level_shapes

CHUNK = 512
Key = tuple[int, int, int]  # (level, cy, cx)
WRITERS = 8  # chunk files written (and fsynced) at once
_pool: ThreadPoolExecutor | None = None
_pool_lock = threading.Lock()


def _writers() -> ThreadPoolExecutor:
    """The chunk writers' threads, made once (a thread start costs more than a write)."""
    global _pool
    with _pool_lock:
        if _pool is None:
            _pool = ThreadPoolExecutor(WRITERS, thread_name_prefix="chunk-writer")
        return _pool


def _compressor() -> dict[str, Any]:
    return {"id": "blosc", "cname": "zstd", "clevel": 1, "shuffle": 0, "blocksize": 0}


def _json(doc: object) -> bytes:
    return (json.dumps(doc, indent=2) + "\n").encode("utf-8")


def write_durably(jobs: Sequence[tuple[Path, Callable[[], bytes]]]) -> int:
    """Write each file atomically and durably in two rounds of flushes: every temp file
    made and fsynced at once, then all renamed, then their folders fsynced at once.
    Returns the bytes written; a failure before the renames changes no file."""
    for folder in {p.parent for p, _d in jobs}:
        folder.mkdir(parents=True, exist_ok=True)
    pool = _writers()

    def each(fn: Callable[[Any], Any], items: Sequence[Any]) -> list[Any]:
        """``fn`` on every item at once; every call has ended before an error is raised
        (so no temp file is staged after the failure's clean-up)."""
        if len(items) <= 1:
            return [fn(item) for item in items]
        futures = [pool.submit(fn, item) for item in items]
        wait(futures)
        return [f.result() for f in futures]

    with StagedWrites() as staged:

        def stage(job: tuple[Path, Callable[[], bytes]]) -> int:
            data = job[1]()
            staged.add_bytes(job[0], data)
            return len(data)

        written = int(sum(each(stage, jobs)))
        each(fsync_dir, staged.rename_all())
    return written


def _codec(meta: dict[str, Any]) -> Any:
    import numcodecs

    comp = meta.get("compressor")
    return None if comp is None else numcodecs.get_codec(comp)


class ChunkStore:
    """An OME-Zarr label pyramid on disk, read and written one chunk at a time."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        try:
            attrs = json.loads((self.path / ".zattrs").read_text("utf-8"))
            datasets = attrs["multiscales"][0]["datasets"]
            self.names = [str(d["path"]) for d in datasets]
            self.meta = [json.loads((self.path / n / ".zarray").read_text("utf-8"))
                         for n in self.names]
        except (OSError, ValueError, KeyError, IndexError, TypeError) as exc:
            raise MaskError(f"{self.path}: not a readable chunked mask ({exc}); delete it or "
                            "import the mask again") from exc
        for m in self.meta:
            if m.get("dtype") not in ("|u1", "<u1", "uint8") or len(m.get("shape", ())) != 2:
                raise MaskError(f"{self.path}: a chunked mask must be 2-D uint8 class ids")
        self.shapes = [(int(m["shape"][0]), int(m["shape"][1])) for m in self.meta]
        self.chunks = [(int(m["chunks"][0]), int(m["chunks"][1])) for m in self.meta]
        self.fill = int(self.meta[0].get("fill_value") or 0)
        self._codecs = [_codec(m) for m in self.meta]
        self._sep = [m.get("dimension_separator", ".") for m in self.meta]

    @property
    def shape(self) -> tuple[int, int]:
        return self.shapes[0]

    @classmethod
    def create(cls, path: Path, shape: tuple[int, int], fill: int,
               colors: dict[int, tuple[int, int, int]] | None = None) -> ChunkStore:
        """A new, empty (all ``fill``) label pyramid at ``path``: its metadata written
        (fsynced) in a temp folder renamed into place."""
        shapes = level_shapes(*shape, smallest=CHUNK)
        tmp = temp_name(path)
        attrs = {
            "multiscales": [{
                "version": "0.4", "name": path.name,
                "axes": [{"name": "y", "type": "space"}, {"name": "x", "type": "space"}],
                "datasets": [{"path": str(i), "coordinateTransformations": [
                    {"type": "scale", "scale": [2.0 ** i, 2.0 ** i]}]}
                    for i in range(len(shapes))],
            }],
            "image-label": {"version": "0.4", "colors": [
                {"label-value": k, "rgba": [*rgb, 255]} for k, rgb in sorted(
                    (colors or {}).items())]},
        }
        docs: list[tuple[Path, object]] = [(tmp / ".zgroup", {"zarr_format": 2}),
                                           (tmp / ".zattrs", attrs)]
        docs += [(tmp / str(i) / ".zarray", {
            "zarr_format": 2, "shape": [h, w], "chunks": [CHUNK, CHUNK], "dtype": "|u1",
            "compressor": _compressor(), "fill_value": fill, "order": "C", "filters": None,
            "dimension_separator": "/"}) for i, (h, w) in enumerate(shapes)]
        try:
            write_durably([(p, partial(_json, doc)) for p, doc in docs])
            path.parent.mkdir(parents=True, exist_ok=True)
            os.replace(tmp, path)
            fsync_dir(path.parent)
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise
        return cls(path)

    def _file(self, level: int, cy: int, cx: int) -> Path:
        return self.path / self.names[level] / f"{cy}{self._sep[level]}{cx}"

    def chunk_shape(self, level: int, cy: int, cx: int) -> tuple[int, int]:
        """The part of chunk (cy, cx) inside the level (edge chunks are cut)."""
        (h, w), (ch, cw) = self.shapes[level], self.chunks[level]
        return min(ch, h - cy * ch), min(cw, w - cx * cw)

    def read_chunk(self, level: int, cy: int, cx: int) -> np.ndarray | None:
        """The chunk's ids (cut at the edges), or None when it was never written (all
        fill)."""
        path = self._file(level, cy, cx)
        try:
            data = path.read_bytes()
        except FileNotFoundError:
            return None
        except OSError as exc:
            raise MaskError(f"{path}: cannot read ({exc.strerror})") from exc
        codec = self._codecs[level]
        ch, cw = self.chunks[level]
        try:
            raw = codec.decode(data) if codec is not None else data
            full = np.frombuffer(raw, np.uint8).reshape(ch, cw)
        except Exception as exc:  # noqa: BLE001 - any codec failure is a broken chunk
            raise MaskError(f"{path}: a broken mask chunk ({exc}); delete the mask or "
                            "import it again") from exc
        h, w = self.chunk_shape(level, cy, cx)
        return full[:h, :w].copy()

    def encode(self, level: int, block: np.ndarray) -> bytes:
        ch, cw = self.chunks[level]
        if block.shape != (ch, cw):
            full = np.full((ch, cw), self.fill, np.uint8)
            full[:block.shape[0], :block.shape[1]] = block
            block = full
        codec = self._codecs[level]
        raw = np.ascontiguousarray(block, np.uint8).tobytes()
        return bytes(codec.encode(raw)) if codec is not None else raw

    def write_chunks(self, items: Iterable[tuple[Key, np.ndarray]]) -> int:
        """Write each chunk atomically and durably, all of them at once (see the module's
        notes); returns the bytes written.  A failure before the renames leaves every
        chunk as it was."""
        jobs = [(self._file(*key), partial(self.encode, key[0], block)) for key, block in items]
        return write_durably(jobs) if jobs else 0

    def read_level(self, level: int) -> np.ndarray:
        """A whole level as one array (exports, small levels)."""
        h, w = self.shapes[level]
        ch, cw = self.chunks[level]
        out = np.full((h, w), self.fill, np.uint8)
        for cy in range(-(-h // ch)):
            for cx in range(-(-w // cw)):
                block = self.read_chunk(level, cy, cx)
                if block is not None:
                    out[cy * ch:cy * ch + block.shape[0], cx * cw:cx * cw + block.shape[1]] = block
        return out


def copy_store(src: Path, dest: Path) -> None:
    """Copy a whole chunked mask (a new human mask started from the prediction), into
    a temp folder first, then renamed into place."""
    tmp = temp_name(dest)
    try:
        shutil.copytree(src, tmp)
        os.replace(tmp, dest)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


class ChunkedMask:
    """A large mask in memory, backed by a :class:`ChunkStore` (or, before its first
    save, by the store it starts from, or by nothing: all ``fill``).

    Chunks are read on first use; edits (:meth:`write`) change level 0 and the
    coarser levels of the same area at once.  Thread-safe: the viewer reads chunks on
    workers while the editor writes on the GUI thread."""

    def __init__(self, path: Path, shape: tuple[int, int], fill: int,
                 base: ChunkStore | None = None, budget: int = 256 << 20) -> None:
        self.path = Path(path)
        self.shape = shape
        self.levels = level_shapes(*shape, smallest=CHUNK)
        self.fill = fill
        self.base = base
        self.store: ChunkStore | None = ChunkStore(self.path) if self.path.is_dir() else None
        if self.store is not None:
            self.fill = self.store.fill  # what a chunk never written holds (a remap may change it)
        if self.store is not None and self.store.shape != shape:
            raise MaskError(f"{self.path}: the mask is {self.store.shape[1]}x"
                            f"{self.store.shape[0]}, the image {shape[1]}x{shape[0]}; delete "
                            "or re-import the mask")
        self.budget = budget
        self._chunks: OrderedDict[Key, np.ndarray] = OrderedDict()
        self._version: dict[Key, int] = {}   # edits of each chunk
        self._saved: dict[Key, int] = {}     # the version on disk
        self._lock = threading.RLock()
        self._clock = 0
        self.listeners: list[Callable[[tuple[int, int, int, int]], None]] = []

    @property
    def on_disk(self) -> bool:
        return self.store is not None

    def _source(self) -> ChunkStore | None:
        return self.store if self.store is not None else self.base

    def chunk_shape(self, level: int, cy: int, cx: int) -> tuple[int, int]:
        h, w = self.levels[level]
        return min(CHUNK, h - cy * CHUNK), min(CHUNK, w - cx * CHUNK)

    def grid(self, level: int) -> tuple[int, int]:
        h, w = self.levels[level]
        return -(-h // CHUNK), -(-w // CHUNK)

    def has(self, key: Key) -> bool:
        return key in self._chunks

    def chunk(self, key: Key) -> np.ndarray:
        """The ids of chunk ``key`` (level, cy, cx), the array itself (edits change it
        in place; the viewer wraps it without a copy)."""
        with self._lock:
            block = self._chunks.get(key)
            if block is not None:
                self._chunks.move_to_end(key)
                return block
        src = self._source()
        loaded = src.read_chunk(*key) if src is not None else None
        if loaded is None:
            loaded = np.full(self.chunk_shape(*key), self.fill, np.uint8)
        with self._lock:
            block = self._chunks.setdefault(key, loaded)
            self._trim()
            return block

    def _trim(self) -> None:
        total = len(self._chunks) * CHUNK * CHUNK
        if total <= self.budget:
            return
        for key in list(self._chunks):
            if total <= self.budget:
                break
            if self._version.get(key, 0) != self._saved.get(key, 0):
                continue  # never drop an unsaved chunk
            del self._chunks[key]
            total -= CHUNK * CHUNK

    def read(self, level: int, y0: int, x0: int, y1: int, x1: int) -> np.ndarray:
        """Rows y0..y1-1, columns x0..x1-1 of ``level`` (clipped) as one array."""
        h, w = self.levels[level]
        y0, x0, y1, x1 = max(0, y0), max(0, x0), min(h, y1), min(w, x1)
        out = np.empty((max(0, y1 - y0), max(0, x1 - x0)), np.uint8)
        if out.size == 0:
            return out
        for cy in range(y0 // CHUNK, (y1 - 1) // CHUNK + 1):
            for cx in range(x0 // CHUNK, (x1 - 1) // CHUNK + 1):
                block = self.chunk((level, cy, cx))
                by0, bx0 = cy * CHUNK, cx * CHUNK
                sy0, sx0 = max(y0, by0), max(x0, bx0)
                sy1, sx1 = min(y1, by0 + CHUNK), min(x1, bx0 + CHUNK)
                out[sy0 - y0:sy1 - y0, sx0 - x0:sx1 - x0] = block[sy0 - by0:sy1 - by0,
                                                                  sx0 - bx0:sx1 - bx0]
        return out

    def write(self, y0: int, x0: int, values: np.ndarray) -> list[Key]:
        """Put ``values`` at (y0, x0) of level 0 (clipped) and the samples of that area
        into every coarser level; returns the chunks changed."""
        h, w = self.shape
        vy0, vx0 = max(0, -y0), max(0, -x0)
        y0, x0 = max(0, y0), max(0, x0)
        y1, x1 = min(h, y0 + values.shape[0] - vy0), min(w, x0 + values.shape[1] - vx0)
        if y1 <= y0 or x1 <= x0:
            return []
        values = values[vy0:vy0 + y1 - y0, vx0:vx0 + x1 - x0]
        touched: list[Key] = []
        with self._lock:
            self._put(0, y0, x0, values, touched)
            for level in range(1, len(self.levels)):
                s = 1 << level
                ly0, lx0 = -(-y0 // s), -(-x0 // s)
                ly1, lx1 = -(-y1 // s), -(-x1 // s)
                if ly1 <= ly0 or lx1 <= lx0:
                    continue
                sub = values[ly0 * s - y0::s, lx0 * s - x0::s][:ly1 - ly0, :lx1 - lx0]
                self._put(level, ly0, lx0, sub, touched)
        rect = (y0, x0, y1, x1)
        for listener in list(self.listeners):
            listener(rect)
        return touched

    def _put(self, level: int, y0: int, x0: int, values: np.ndarray, touched: list[Key]) -> None:
        y1, x1 = y0 + values.shape[0], x0 + values.shape[1]
        for cy in range(y0 // CHUNK, (y1 - 1) // CHUNK + 1):
            for cx in range(x0 // CHUNK, (x1 - 1) // CHUNK + 1):
                key = (level, cy, cx)
                block = self.chunk(key)
                by0, bx0 = cy * CHUNK, cx * CHUNK
                sy0, sx0 = max(y0, by0), max(x0, bx0)
                sy1, sx1 = min(y1, by0 + CHUNK), min(x1, bx0 + CHUNK)
                src = values[sy0 - y0:sy1 - y0, sx0 - x0:sx1 - x0]
                dst = block[sy0 - by0:sy1 - by0, sx0 - bx0:sx1 - bx0]
                if np.array_equal(src, dst):
                    continue
                dst[...] = src
                self._clock += 1
                self._version[key] = self._clock
                touched.append(key)

    # -- saving ----------------------------------------------------------------------
    def dirty(self) -> list[Key]:
        with self._lock:
            return [k for k, v in self._version.items() if self._saved.get(k, 0) != v]

    def snapshot(self) -> list[tuple[Key, int, np.ndarray]]:
        """Copies of the chunks changed since the last save, with their versions (taken on
        the editing thread; :meth:`save` writes them on another)."""
        with self._lock:
            return [(k, self._version[k], self._chunks[k].copy()) for k in self.dirty()]

    def save(self, snapshot: list[tuple[Key, int, np.ndarray]],
             colors: dict[int, tuple[int, int, int]] | None = None) -> int:
        """Write ``snapshot``'s chunks (creating the store, from the base if any, on the
        first save); returns the bytes written."""
        if self.store is None:
            if self.base is not None:
                copy_store(self.base.path, self.path)
                self.store = ChunkStore(self.path)
            else:
                self.store = ChunkStore.create(self.path, self.shape, self.fill, colors)
        written = self.store.write_chunks((key, block) for key, _v, block in snapshot)
        with self._lock:
            for key, version, _block in snapshot:
                if version > self._saved.get(key, 0):
                    self._saved[key] = version
        return written

    def to_array(self) -> np.ndarray:
        """Level 0 whole (exports of images that fit in memory)."""
        return self.read(0, 0, 0, *self.shape)


def write_full(path: Path, mask: np.ndarray, fill: int,
               colors: dict[int, tuple[int, int, int]] | None = None) -> ChunkedMask:
    """A chunked mask holding ``mask`` (imports, predictions), written whole into a
    new store that replaces ``path`` only once complete."""
    tmp = temp_name(path)
    try:
        cm = ChunkedMask(tmp, (int(mask.shape[0]), int(mask.shape[1])), fill)
        cm.write(0, 0, mask)
        cm.save(cm.snapshot(), colors)
        replace_dir(tmp, path)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return ChunkedMask(path, cm.shape, fill)


def replace_dir(src: Path, dest: Path) -> None:
    """Put folder ``src`` at ``dest``: the old ``dest`` is renamed aside first and
    removed after, so a crash leaves one of the two whole."""
    if dest.exists():
        aside = temp_name(dest)
        os.replace(dest, aside)
        os.replace(src, dest)
        shutil.rmtree(aside, ignore_errors=True)
    else:
        dest.parent.mkdir(parents=True, exist_ok=True)
        os.replace(src, dest)
