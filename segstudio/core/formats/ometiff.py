"""OME-TIFF label images (export and import): one tiled, pyramidal ``<relpath>.ome.tif``
per image, which QuPath (Bio-Formats) and napari (tifffile) open at any size.

Each file is an OME-TIFF as its specification has it: a BigTIFF whose first IFD holds
the full-resolution plane (uint8 class ids, ``minisblack``, tiles of 512 x 512,
deflate) and the OME-XML in its ImageDescription (one Image, ``DimensionOrder``
XYZCT, SizeC = SizeZ = SizeT = 1, a ``TiffData`` for that IFD); the coarser levels
are *sub-resolutions*: IFDs listed in the first IFD's SubIFDs tag, largest first,
each with NewSubfileType 1, never in the main chain of IFDs nor in a TiffData, each
half the last (factor 2 along X and Y, rounding up) down to 512 pixels on the long
side.  A label pyramid keeps ids, not blends: level *k* is every 2**k-th pixel of
level 0, as a large image's chunked mask already holds it.

A large image's chunked mask is written chunk by chunk, level by level, straight
from its store (each 512-pixel chunk is one TIFF tile), so the export never holds
the mask whole; a small image's mask is read whole and halved by sampling.  Files
are written beside their target, fsynced, compared with what is there and renamed
into place (:meth:`.output.OutputDir.put_file`).

Import reads level 0 of each ``.ome.tif`` / ``.ome.tiff`` (by tiles, with
tifffile) as class ids, mapped by name through the folder's ``classes.json`` when
there is one (an export writes it), else taken as the project's ids.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from functools import partial
from pathlib import Path
from typing import Any, BinaryIO

import numpy as np

from .. import large_store
from ..chunked_mask import CHUNK, ChunkStore
from ..errors import MaskError
from ..project import Project
from ..pyramid import level_shapes
from .common import (
    LAYER_HUMAN,
    CancelFn,
    FormatError,
    ProgressFn,
    list_files,
    load_file_table,
    table_lut,
    tree_names,
)
from .output import ExportContext, ExportItem, run_items
from .sources import manifest_images
from .types import Candidate, Format, ImportOptions, Probe, ScanResult

SUFFIXES = (".ome.tif", ".ome.tiff")
TILE = CHUNK  # one TIFF tile per chunk of a chunked mask
COMPRESSION = "zlib"  # deflate: what Bio-Formats, QuPath and every TIFF reader decode

Level = tuple[tuple[int, int], Callable[[], Iterator[np.ndarray]]]  # shape, its tiles


# -- export ------------------------------------------------------------------------------

def _store_of(ctx: ExportContext, item: ExportItem) -> ChunkStore | None:
    path = (large_store.mask_store_path if item.layer == LAYER_HUMAN
            else large_store.prediction_store_path)(ctx.project, item.rec)
    return ChunkStore(path) if (path / ".zattrs").is_file() else None


def store_levels(store: ChunkStore) -> list[Level]:
    """The levels of a chunked mask, each as its tiles in TIFF order (a chunk never
    written is the store's fill)."""

    def tiles(level: int) -> Iterator[np.ndarray]:
        h, w = store.shapes[level]
        for cy in range(-(-h // TILE)):
            for cx in range(-(-w // TILE)):
                block = store.read_chunk(level, cy, cx)
                yield block if block is not None else np.full(
                    store.chunk_shape(level, cy, cx), store.fill, np.uint8)

    return [(shape, partial(tiles, k)) for k, shape in enumerate(store.shapes)]


def array_levels(mask: np.ndarray) -> list[Level]:
    """The levels of a mask held whole: every 2**k-th pixel."""

    def tiles(level: np.ndarray) -> Iterator[np.ndarray]:
        h, w = level.shape
        for y in range(0, h, TILE):
            for x in range(0, w, TILE):
                yield level[y:y + TILE, x:x + TILE]

    out: list[Level] = []
    h, w = mask.shape
    for k, shape in enumerate(level_shapes(h, w, smallest=TILE)):
        level = np.ascontiguousarray(mask[::1 << k, ::1 << k])
        assert level.shape == shape
        out.append((shape, partial(tiles, level)))
    return out


def write_ome_tiff(fh: BinaryIO, levels: list[Level], name: str, key: str = "") -> None:
    """An OME-TIFF label pyramid of ``levels`` (level 0 first) into ``fh``.  Its OME UUID
    is made from ``name`` and ``key``, so the same mask exported twice gives the same
    bytes (an export finds it unchanged)."""
    import uuid

    import tifffile

    options: dict[str, Any] = {"tile": (TILE, TILE), "compression": COMPRESSION,
                               "photometric": "minisblack", "dtype": np.uint8}
    with tifffile.TiffWriter(fh, bigtiff=True, ome=True) as tw:
        for k, (shape, tiles) in enumerate(levels):
            if k == 0:
                tw.write(tiles(), shape=shape, subifds=len(levels) - 1,
                         metadata={"axes": "YX", "Name": name, "Creator": "segstudio",
                                   "UUID": str(uuid.uuid5(uuid.NAMESPACE_URL,
                                                          f"segstudio:{key}:{name}"))},
                         **options)
            else:
                tw.write(tiles(), shape=shape, subfiletype=1, metadata=None, **options)


def export_ometiff(ctx: ExportContext, items: list[ExportItem], progress: ProgressFn | None,
                   cancelled: CancelFn | None) -> None:
    names = tree_names(it.rec.relpath for it in items)

    def one(item: ExportItem) -> None:
        store = _store_of(ctx, item)
        levels = store_levels(store) if store is not None else array_levels(ctx.load_mask(item))
        rel = names[item.rec.relpath] + SUFFIXES[0]
        ctx.out.put_file(rel, lambda fh: write_ome_tiff(fh, levels, item.rec.relpath,
                                                        item.layer),
                         item.rec.relpath, item.layer)

    run_items(ctx, items, one, progress, cancelled)


# -- import ------------------------------------------------------------------------------

def read_label_image(path: Path) -> np.ndarray:
    """Level 0 of an OME-TIFF (or any TIFF) label image as uint8 ids; MaskError for
    anything else."""
    import tifffile

    try:
        with tifffile.TiffFile(path) as tif:
            series = tif.series[0]
            if series.axes not in ("YX", "CYX", "ZYX", "TYX", "SYX") or (
                    len(series.shape) == 3 and series.shape[0] != 1):
                raise MaskError(f"{path}: a label image has one plane of class ids, this one "
                                f"has axes {series.axes} {tuple(series.shape)}")
            data = np.asarray(series.asarray(level=0)).reshape(series.shape[-2:])
    except (OSError, ValueError, KeyError, IndexError, tifffile.TiffFileError) as exc:
        raise MaskError(f"{path}: not a readable OME-TIFF ({exc})") from exc
    if data.dtype != np.uint8:
        if data.dtype.kind not in "ui" or (data.size and (int(data.min()) < 0
                                                          or int(data.max()) > 255)):
            raise MaskError(f"{path}: class ids must be 0-255 integers, not {data.dtype}")
        data = data.astype(np.uint8)
    return data


def _declared_size(path: Path) -> tuple[int, int] | None:
    import tifffile

    try:
        with tifffile.TiffFile(path) as tif:
            series = tif.series[0]
            shape, axes = series.shape, series.axes
            return int(shape[axes.index("Y")]), int(shape[axes.index("X")])
    except Exception:  # noqa: BLE001 - the load says what is wrong with it
        return None


def strip_suffix(rel: str) -> str:
    low = rel.lower()
    for suffix in SUFFIXES:
        if low.endswith(suffix):
            return rel[:-len(suffix)]
    return rel


def scan_ometiff(src: Path, project: Project, opts: ImportOptions) -> ScanResult:
    if not src.is_dir():
        raise FormatError(f"{src}: OME-TIFF label images are read from a folder")
    files = list_files(src, SUFFIXES)
    table_path = opts.classes_json or src / "classes.json"
    file_table = load_file_table(table_path)
    result = ScanResult()
    lut = np.arange(256, dtype=np.uint8)
    if file_table is not None:
        lut = table_lut(file_table, project.classes, opts.mapping, opts.unknown_to_ignore,
                        str(table_path))
        result.notes.append(f"class ids mapped by name from {table_path}")
    elif opts.mapping:
        name = next(iter(opts.mapping))
        raise FormatError(f"--map {name}: the OME-TIFF files in {src} have no classes.json "
                          "naming their classes; their values are taken as class ids")
    exported = manifest_images(src)
    for rel in files:
        path = src / rel
        keys = [strip_suffix(rel)]
        if rel in exported:
            keys.insert(0, exported[rel])

        def load(path: Path = path) -> np.ndarray:
            ids: np.ndarray = lut[read_label_image(path)]
            return ids

        result.candidates.append(Candidate(str(path), keys, load, _declared_size(path)))
    return result


def _detect(probe: Probe) -> bool:
    return probe.head is None and bool(list_files(probe.path, SUFFIXES))


FORMAT = Format(
    "ometiff", "OME-TIFF label pyramid",
    "One tiled, pyramidal OME-TIFF per image (BigTIFF, 512-pixel deflate tiles, halved "
    "levels as SubIFDs) whose pixel values are the class ids; QuPath and napari open it, "
    "at any image size.", export_ometiff, scan_ometiff, _detect,
    import_label="OME-TIFF label images", title="OME-TIFF label image")
