"""Where a project keeps the masks and predictions of large images, and how it saves them.

An image above :func:`.pyramid.large_pixels` keeps its human mask as a chunked
label pyramid ``masks/<relpath>.zarr`` (and its prediction as
``predictions/<relpath>.zarr``), :mod:`.chunked_mask`; smaller images keep their PNGs.
Reading accepts either kind, so a mask made before a threshold change still opens.
"""

from __future__ import annotations

import json
import os
import shutil
import time
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from . import maskio
from .chunked_mask import ChunkedMask, ChunkStore, Key, replace_dir, write_durably, write_full
from .errors import MaskError
from .pyramid import is_large

if TYPE_CHECKING:
    from .project import ImageRecord, Project

Snapshot = list[tuple[Key, int, np.ndarray]]


def mask_store_path(project: Project, rec: ImageRecord | str) -> Path:
    rel = rec if isinstance(rec, str) else rec.relpath
    return project.project_dir / "masks" / (rel + ".zarr")


def prediction_store_path(project: Project, rec: ImageRecord | str) -> Path:
    rel = rec if isinstance(rec, str) else rec.relpath
    return project.project_dir / "predictions" / (rel + ".zarr")


def record_is_large(rec: ImageRecord) -> bool:
    return rec.usable and is_large(rec.width, rec.height)


def has_chunked_mask(project: Project, rec: ImageRecord | str) -> bool:
    return (mask_store_path(project, rec) / ".zattrs").is_file()


def has_chunked_prediction(project: Project, rec: ImageRecord | str) -> bool:
    return (prediction_store_path(project, rec) / ".zattrs").is_file()


def _shape(rec: ImageRecord) -> tuple[int, int]:
    assert rec.height is not None and rec.width is not None, "the image's size is unknown"
    return rec.height, rec.width


def _colors(project: Project) -> dict[int, tuple[int, int, int]]:
    return {c.id: c.color for c in project.classes.classes}


def open_human_mask(project: Project, rec: ImageRecord) -> tuple[ChunkedMask, bool]:
    """The mask to edit and whether a human mask is on disk: the chunked mask; else
    one that starts from the prediction (copied at its first save); else all
    unlabelled.  A PNG mask of a large image becomes a chunked one (the PNG kept in
    trash/)."""
    shape = _shape(rec)
    path = mask_store_path(project, rec)
    unlabelled = project.classes.unlabelled_value()
    if not path.is_dir() and project.mask_path(rec).is_file():
        mask = maskio.read_mask(project.mask_path(rec))
        if mask.shape != shape:
            raise MaskError(f"{project.mask_path(rec)}: mask is {mask.shape[1]}x{mask.shape[0]}"
                            f" but the image is {shape[1]}x{shape[0]}; delete or re-import it")
        write_full(path, mask, unlabelled, _colors(project))
        project.keep_in_trash(rec)
        project.mask_path(rec).unlink()
    if path.is_dir():
        return ChunkedMask(path, shape, unlabelled), True
    base = None
    if has_chunked_prediction(project, rec):
        base = ChunkStore(prediction_store_path(project, rec))
        if base.shape != shape:
            base = None
    return ChunkedMask(path, shape, base.fill if base is not None else unlabelled, base), False


def open_prediction(project: Project, rec: ImageRecord) -> ChunkedMask | None:
    if not has_chunked_prediction(project, rec):
        return None
    path = prediction_store_path(project, rec)
    store = ChunkStore(path)
    if store.shape != _shape(rec):
        raise MaskError(f"{path}: the prediction does not fit the image; predict it again")
    return ChunkedMask(path, store.shape, store.fill)


def save_chunks(project: Project, rec: ImageRecord, mask: ChunkedMask, snapshot: Snapshot,
                status: str = "corrected") -> ImageRecord:
    """Write the changed chunks of a human mask and mark the image ``status``."""
    from .project import HUMAN_STATUSES

    if status not in HUMAN_STATUSES:
        raise ValueError(f"a human mask has status corrected or reviewed, not {status}")
    mask.save(snapshot, _colors(project))
    now = time.time()
    project.db.execute("UPDATE images SET status=?, status_at=?, mask_saved_at=? WHERE id=?",
                       (status, now, now, rec.id))
    return project.image(rec.id)


def save_full_mask(project: Project, rec: ImageRecord, mask: np.ndarray,
                   status: str = "corrected") -> ImageRecord:
    """A whole mask array of a large image (imports, ``Project.save_mask``), replacing
    the chunked mask once written (the importer keeps the old one in trash/ first)."""
    path = mask_store_path(project, rec)
    write_full(path, np.ascontiguousarray(mask, np.uint8), project.classes.unlabelled_value(),
               _colors(project))
    now = time.time()
    project.db.execute("UPDATE images SET status=?, status_at=?, mask_saved_at=? WHERE id=?",
                       (status, now, now, rec.id))
    return project.image(rec.id)


def keep_store_in_trash(project: Project, rec: ImageRecord) -> Path | None:
    """Copy the chunked human mask into trash/ before it is replaced."""
    path = mask_store_path(project, rec)
    if not path.is_dir():
        return None
    dest = project.trash_path(rec).with_suffix(".zarr")
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = dest.with_name("." + dest.name + ".partial")
    shutil.copytree(path, tmp)
    replace_dir(tmp, dest)
    return dest


def move_store_to_trash(project: Project, rec: ImageRecord) -> Path | None:
    """Reset to prediction: the chunked human mask moves to trash/ (a rename)."""
    path = mask_store_path(project, rec)
    if not path.is_dir():
        return None
    dest = project.trash_path(rec).with_suffix(".zarr")
    dest.parent.mkdir(parents=True, exist_ok=True)
    path.rename(dest)
    return dest


def load_full_mask(project: Project, rec: ImageRecord) -> np.ndarray | None:
    """The chunked human mask as one array (exports, evaluation), None when there is none."""
    if not has_chunked_mask(project, rec):
        return None
    return ChunkStore(mask_store_path(project, rec)).read_level(0)


def load_full_prediction(project: Project, rec: ImageRecord) -> np.ndarray | None:
    if not has_chunked_prediction(project, rec):
        return None
    return ChunkStore(prediction_store_path(project, rec)).read_level(0)


REMAP_BATCH = 64  # chunks rewritten per round of writes (bounds the memory of a remap)


def _chunk_keys(store: ChunkStore, level: int) -> list[Key]:
    """The chunks of ``level`` on disk (those never written are all fill)."""
    folder = store.path / store.names[level]
    sep = store._sep[level]
    keys: list[Key] = []
    if sep == "/":
        for row in os.scandir(folder):
            if row.is_dir() and row.name.isdigit():
                keys += [(level, int(row.name), int(f.name)) for f in os.scandir(row.path)
                         if f.is_file() and f.name.isdigit()]
    else:
        for f in os.scandir(folder):
            parts = f.name.split(sep)
            if f.is_file() and len(parts) == 2 and all(p.isdigit() for p in parts):
                keys.append((level, int(parts[0]), int(parts[1])))
    return keys


def remap_store(path: Path, old_id: int, new_id: int) -> bool:
    """Rewrite the chunked mask at ``path`` so that ``old_id`` becomes ``new_id`` in every
    chunk of every level (and in the fill value, when ``old_id`` is it); returns whether
    anything changed.  Each chunk is rewritten atomically and durably and the rewrite is
    idempotent, so a crash half-way is finished by running it again (the class
    deletion's pending intent, :mod:`.class_delete`)."""
    if not (path / ".zattrs").is_file():
        return False
    store = ChunkStore(path)
    lut = np.arange(256, dtype=np.uint8)
    lut[old_id] = new_id
    changed = False
    for level in range(len(store.names)):
        batch: list[tuple[Key, np.ndarray]] = []
        for key in _chunk_keys(store, level):
            block = store.read_chunk(*key)
            if block is not None and (block == old_id).any():
                batch.append((key, lut[block]))
            if len(batch) >= REMAP_BATCH:
                store.write_chunks(batch)
                batch, changed = [], True
        if batch:
            store.write_chunks(batch)
            changed = True
    if store.fill == old_id:
        jobs = []
        for name, meta in zip(store.names, store.meta, strict=True):
            doc = dict(meta, fill_value=new_id)
            jobs.append((path / name / ".zarray",
                         lambda doc=doc: (json.dumps(doc, indent=2) + "\n").encode("utf-8")))
        write_durably(jobs)
        changed = True
    return changed


def remap_chunked(project: Project, rec: ImageRecord, old_id: int, new_id: int) -> int:
    """:func:`remap_store` on the image's chunked mask and prediction; returns how many
    of the two changed."""
    return sum(remap_store(store, old_id, new_id) for store in (
        mask_store_path(project, rec), prediction_store_path(project, rec)))
