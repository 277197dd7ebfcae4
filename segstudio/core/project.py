"""A segstudio project: a folder of images plus its project directory.

The project directory (``<folder>/.segstudio`` unless the user names another,
so that read-only image folders work) holds::

    project.db                 SQLite: images, classes, status, splits, runs
    masks/<relpath>.png        human masks (partial / corrected / reviewed)
    predictions/<relpath>.png  model predictions, never over a human mask
    uncertainty/<relpath>.png  per-pixel entropy of a prediction, 0..255
    checkpoints/               training runs
    trash/                     human masks replaced by "reset to prediction"
    cache/                     thumbnails and other disposable files

Source images are only ever read.
"""

from __future__ import annotations

import json
import math
import os
import shutil
import sqlite3
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from . import class_delete, large_store, maskio
from .atomic import StagedWrites, atomic_write_bytes, sweep_temp_files
from .classes import ClassInfo, ClassTable, clean_name, default_classes
from .db import Database
from .errors import MaskError, ProjectError
from .imageio import read_image
from .project_open import DB_NAME, locate
from .project_open import PROJECT_DIRNAME as PROJECT_DIRNAME  # re-exported
from .project_open import resolve_project_dir as resolve_project_dir  # re-exported
from .scan import ScanReport, scan_into
from .settings import ProjectSettings
from .training_records import Runs, Splits

# partial: a human labelled some pixels (the review queue's answers, an import of partial
# masks) and left the rest unlabelled; corrected / reviewed: a human went over the whole image
STATUSES = ("unlabelled", "predicted", "partial", "corrected", "reviewed")
HUMAN_STATUSES = ("partial", "corrected", "reviewed")  # a human mask file exists
FULL_STATUSES = ("corrected", "reviewed")  # ... and it labels the whole image


@dataclass(frozen=True)
class ImageRecord:
    id: int
    relpath: str
    width: int | None
    height: int | None
    channels: int | None
    bit_depth: int | None
    size_bytes: int
    status: str
    split: str | None
    missing: bool
    error: str | None
    status_at: float | None
    mask_saved_at: float | None
    predicted_at: float | None
    predicted_by: str | None
    uncertainty: float | None
    iou: float | None
    predicted_epoch: int | None = None  # with predicted_by: the model that predicted

    @property
    def name(self) -> str:
        return self.relpath.rsplit("/", 1)[-1]

    @property
    def has_human_mask(self) -> bool:
        return self.status in HUMAN_STATUSES

    @property
    def fully_labelled(self) -> bool:
        return self.status in FULL_STATUSES

    @property
    def has_prediction(self) -> bool:
        return self.predicted_at is not None

    @property
    def usable(self) -> bool:
        return not self.missing and self.error is None and self.width is not None


_RECORD_COLUMNS = (
    "id, relpath, width, height, channels, bit_depth, size_bytes, status, split, missing,"
    " error, status_at, mask_saved_at, predicted_at, predicted_by, uncertainty, iou,"
    " predicted_epoch"
)


def _record(row: sqlite3.Row) -> ImageRecord:
    return ImageRecord(
        id=row["id"], relpath=row["relpath"], width=row["width"], height=row["height"],
        channels=row["channels"], bit_depth=row["bit_depth"], size_bytes=row["size_bytes"],
        status=row["status"], split=row["split"], missing=bool(row["missing"]),
        error=row["error"], status_at=row["status_at"], mask_saved_at=row["mask_saved_at"],
        predicted_at=row["predicted_at"], predicted_by=row["predicted_by"],
        uncertainty=row["uncertainty"], iou=row["iou"], predicted_epoch=row["predicted_epoch"],
    )


class Project:
    """Open with :meth:`open`; safe to share between threads.

    Its settings, splits and training runs are collaborators on the same database:
    ``project.settings`` (:class:`.settings.ProjectSettings`), ``project.splits``
    and ``project.runs`` (:mod:`.training_records`)."""

    def __init__(self, root: Path, project_dir: Path, db: Database):
        self.root = root
        self.project_dir = project_dir
        self.db = db
        self.settings = ProjectSettings(db)
        self.splits = Splits(db, self.settings)
        self.runs = Runs(db)
        self._classes: ClassTable | None = None
        self._lock = threading.RLock()
        self.last_scan: ScanReport | None = None
        self.readonly = False  # opened read-only (Project.open's read_only_ok)

    # -- opening -------------------------------------------------------------
    @classmethod
    def open(cls, folder: str | os.PathLike[str], project_dir: str | os.PathLike[str] | None = None,
             scan: bool = True, progress: Callable[[int, int], None] | None = None,
             read_only_ok: bool = False) -> Project:
        """Open (or create) the project of ``folder``.  ``read_only_ok``: a project
        directory that cannot be written opens read-only, as stored, without a rescan
        (:mod:`.project_open`); ``project.readonly`` says so."""
        root, pdir, readonly = locate(folder, project_dir, read_only_ok)
        db = Database(pdir / DB_NAME, readonly=readonly)
        project = cls(root, pdir, db)
        project.readonly = readonly
        if readonly:
            if db.query_one("SELECT value FROM meta WHERE key='image_root'") is None:
                db.close()
                raise ProjectError(f"{pdir / DB_NAME}: not a segstudio project database")
            return project
        project._init_meta()
        project.runs.mark_interrupted()
        sweep_temp_files(pdir)
        class_delete.finish_pending(project)  # a class deletion a crash interrupted
        if scan:
            project.scan(progress)
        return project

    def _init_meta(self) -> None:
        row = self.db.query_one("SELECT value FROM meta WHERE key='image_root'")
        if row is None:
            now = str(time.time())
            with self.db.transaction() as cur:
                cur.executemany(
                    "INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)",
                    [("image_root", str(self.root)), ("created_at", now)],
                )
            self.set_classes(default_classes())
        elif Path(row["value"]) != self.root:
            stored = Path(row["value"])
            if stored.exists() and stored.resolve() != self.root:
                raise ProjectError(
                    f"the project in {self.project_dir} belongs to the image folder {stored}, "
                    f"not {self.root}; open that folder or choose another --project-dir"
                )
            # the image folder was moved: follow it
            self.db.execute("UPDATE meta SET value=? WHERE key='image_root'", (str(self.root),))

    def close(self) -> None:
        self.db.close()

    def __enter__(self) -> Project:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # the window's controller and training view still call these two (being reworked
    # elsewhere); everything else uses project.settings
    def get_setting(self, key: str, default: Any = None) -> Any:
        return self.settings.get(key, default)

    def set_setting(self, key: str, value: Any) -> None:
        self.settings.set(key, value)

    def scan(self, progress: Callable[[int, int], None] | None = None) -> ScanReport:
        """Pick up added, removed and changed images (masks of removed ones are kept)."""
        skip = {self.project_dir}
        self.last_scan = scan_into(self.db, self.root, skip, progress)
        return self.last_scan

    # -- paths -----------------------------------------------------------------
    def image_path(self, rec: ImageRecord) -> Path:
        return self.root / rec.relpath

    def mask_path(self, rec: ImageRecord | str) -> Path:
        rel = rec if isinstance(rec, str) else rec.relpath
        return self.project_dir / "masks" / (rel + ".png")

    def prediction_path(self, rec: ImageRecord | str) -> Path:
        rel = rec if isinstance(rec, str) else rec.relpath
        return self.project_dir / "predictions" / (rel + ".png")

    def uncertainty_path(self, rec: ImageRecord | str) -> Path:
        rel = rec if isinstance(rec, str) else rec.relpath
        return self.project_dir / "uncertainty" / (rel + ".png")

    @property
    def checkpoints_dir(self) -> Path:
        return self.project_dir / "checkpoints"

    @property
    def cache_dir(self) -> Path:
        return self.project_dir / "cache"

    # -- images ------------------------------------------------------------------
    def images(self, include_missing: bool = False, statuses: Iterable[str] | None = None
               ) -> list[ImageRecord]:
        sql = f"SELECT {_RECORD_COLUMNS} FROM images"
        where, params = [], []
        if not include_missing:
            where.append("missing=0")
        if statuses is not None:
            st = list(statuses)
            where.append(f"status IN ({','.join('?' * len(st))})")
            params.extend(st)
        if where:
            sql += " WHERE " + " AND ".join(where)
        sql += " ORDER BY relpath"
        return [_record(r) for r in self.db.query(sql, tuple(params))]

    def image(self, image_id: int) -> ImageRecord:
        row = self.db.query_one(f"SELECT {_RECORD_COLUMNS} FROM images WHERE id=?", (image_id,))
        if row is None:
            raise ProjectError(f"no image with id {image_id} in this project")
        return _record(row)

    def find(self, relpath: str) -> ImageRecord | None:
        row = self.db.query_one(f"SELECT {_RECORD_COLUMNS} FROM images WHERE relpath=?",
                                (relpath,))
        return None if row is None else _record(row)

    def load_image(self, rec: ImageRecord) -> np.ndarray:
        return read_image(self.image_path(rec))

    def status_counts(self) -> dict[str, int]:
        counts = {s: 0 for s in STATUSES}
        for row in self.db.query(
                "SELECT status, COUNT(*) AS n FROM images WHERE missing=0 GROUP BY status"):
            counts[row["status"]] = row["n"]
        return counts

    # -- classes -------------------------------------------------------------------
    @property
    def classes(self) -> ClassTable:
        with self._lock:
            if self._classes is None:
                rows = self.db.query("SELECT * FROM classes ORDER BY position, id")
                name = self.settings.get("classes_name", "")
                weights = self.settings.get("class_weights", None)
                self._classes = ClassTable(
                    tuple(ClassInfo(r["id"], clean_name(r["name"]), (r["r"], r["g"], r["b"]),
                                    bool(r["ignore"])) for r in rows),
                    name=name, weights=tuple(weights) if weights else None,
                )
            return self._classes

    def set_classes(self, table: ClassTable, also: dict[str, Any] | None = None) -> None:
        """Store ``table``; ``also``: settings written in the same transaction (None
        deletes one)."""
        with self._lock, self.db.transaction() as cur:
            for key, value in (also or {}).items():
                if value is None:
                    cur.execute("DELETE FROM settings WHERE key=?", (key,))
                else:
                    cur.execute("INSERT OR REPLACE INTO settings (key, value) VALUES (?, ?)",
                                (key, json.dumps(value)))
            cur.execute("DELETE FROM classes")
            cur.executemany(
                "INSERT INTO classes (id, name, r, g, b, ignore, position) VALUES (?,?,?,?,?,?,?)",
                [(c.id, c.name, *c.color, int(c.ignore), i) for i, c in enumerate(table.classes)],
            )
            cur.execute("INSERT OR REPLACE INTO settings (key, value) VALUES ('classes_name', ?)",
                        (json.dumps(table.name),))
            cur.execute("INSERT OR REPLACE INTO settings (key, value) VALUES ('class_weights', ?)",
                        (json.dumps(list(table.weights) if table.weights else None),))
            self._classes = None

    # -- masks -----------------------------------------------------------------------
    def _check_mask(self, rec: ImageRecord, mask: np.ndarray, path: Path) -> np.ndarray:
        if not rec.usable:
            raise MaskError(f"{self.image_path(rec)}: the image is unreadable or missing, "
                            "so no mask can be saved for it")
        mask = np.asarray(mask)
        if mask.dtype != np.uint8 or mask.ndim != 2:
            raise MaskError(f"{path}: a mask must be 2-D uint8, got {mask.dtype} {mask.shape}")
        if mask.shape != (rec.height, rec.width):
            raise MaskError(
                f"{path}: mask is {mask.shape[1]}x{mask.shape[0]} but the image {rec.relpath} is "
                f"{rec.width}x{rec.height}; resize or re-export the mask"
            )
        bad = maskio.unknown_ids(mask, self.classes.known_lut())
        if bad:
            raise MaskError(
                f"{path}: class ids {bad} are not in the class table; add those classes first"
            )
        return mask

    def has_mask_file(self, rec: ImageRecord) -> bool:
        """A human mask is on disk: the PNG, or a large image's chunked mask."""
        return self.mask_path(rec).exists() or large_store.has_chunked_mask(self, rec)

    def load_mask(self, rec: ImageRecord) -> np.ndarray | None:
        """The human mask, or None when the image has none (a large image's chunked
        mask as one array: for images whose mask fits in memory)."""
        path = self.mask_path(rec)
        if not path.exists():
            return large_store.load_full_mask(self, rec)
        mask = maskio.read_mask(path)
        if rec.width is not None and mask.shape != (rec.height, rec.width):
            raise MaskError(
                f"{path}: mask is {mask.shape[1]}x{mask.shape[0]} but the image is "
                f"{rec.width}x{rec.height} (did the image change?); delete or re-import the mask"
            )
        return mask

    def empty_mask(self, rec: ImageRecord) -> np.ndarray:
        assert rec.height is not None and rec.width is not None, "the image's size is unknown"
        return np.full((rec.height, rec.width), self.classes.unlabelled_value(), np.uint8)

    def save_mask(self, rec: ImageRecord, mask: np.ndarray,
                  status: str = "corrected") -> ImageRecord:
        """Write a human mask atomically and mark the image corrected (or reviewed, or
        partial: only some of its pixels are labelled, the rest left unlabelled)."""
        if status not in HUMAN_STATUSES:
            raise ValueError(f"a human mask has status partial, corrected or reviewed, "
                             f"not {status}")
        path = self.mask_path(rec)
        mask = self._check_mask(rec, mask, path)
        if large_store.record_is_large(rec):  # a large image keeps a chunked mask
            return large_store.save_full_mask(self, rec, mask, status)
        maskio.write_mask(path, mask, self.classes.palette())
        now = time.time()
        self.db.execute(
            "UPDATE images SET status=?, status_at=?, mask_saved_at=? WHERE id=?",
            (status, now, now, rec.id),
        )
        return self.image(rec.id)

    def set_status(self, rec: ImageRecord, status: str) -> ImageRecord:
        if status not in STATUSES:
            raise ValueError(f"unknown status {status!r}")
        if status == "partial" and not self.has_mask_file(rec):
            raise MaskError(f"{rec.relpath}: has no mask to mark partially labelled")
        if status in HUMAN_STATUSES and not self.has_mask_file(rec):
            pred = self.load_prediction(rec)
            if pred is None:
                raise MaskError(f"{rec.relpath}: has no mask to mark {status}")
            return self.save_mask(rec, pred, status)
        self.db.execute("UPDATE images SET status=?, status_at=? WHERE id=?",
                        (status, time.time(), rec.id))
        return self.image(rec.id)

    def trash_path(self, rec: ImageRecord) -> Path:
        """Where a human mask being replaced or dropped is kept (never overwriting one)."""
        stamp = time.strftime("%Y%m%d-%H%M%S")
        dest = self.project_dir / "trash" / stamp / (rec.relpath + ".png")
        n = 1
        while dest.exists():
            n += 1
            dest = self.project_dir / "trash" / f"{stamp}-{n}" / (rec.relpath + ".png")
        return dest

    def keep_in_trash(self, rec: ImageRecord) -> Path | None:
        """Copy the human mask into trash/ (atomically) before it is replaced."""
        path = self.mask_path(rec)
        if not path.exists():
            return large_store.keep_store_in_trash(self, rec)
        dest = self.trash_path(rec)
        atomic_write_bytes(dest, path.read_bytes())
        return dest

    def reset_to_prediction(self, rec: ImageRecord) -> ImageRecord:
        """Drop the human mask (kept in trash/) and fall back to the prediction."""
        path = self.mask_path(rec)
        if path.exists():
            dest = self.trash_path(rec)
            dest.parent.mkdir(parents=True, exist_ok=True)
            shutil.move(str(path), str(dest))
        large_store.move_store_to_trash(self, rec)
        status = "predicted" if (self.prediction_path(rec).exists()
                                 or large_store.has_chunked_prediction(self, rec)) else "unlabelled"
        self.db.execute("UPDATE images SET status=?, status_at=?, mask_saved_at=NULL WHERE id=?",
                        (status, time.time(), rec.id))
        return self.image(rec.id)

    def load_prediction(self, rec: ImageRecord) -> np.ndarray | None:
        path = self.prediction_path(rec)
        if not path.exists():
            return large_store.load_full_prediction(self, rec)
        return maskio.read_mask(path)

    def load_uncertainty(self, rec: ImageRecord) -> np.ndarray | None:
        path = self.uncertainty_path(rec)
        return maskio.read_mask(path) if path.exists() else None

    def save_prediction(self, rec: ImageRecord, labels: np.ndarray, checkpoint: str | None = None,
                        uncertainty: float | None = None, entropy_map: np.ndarray | None = None
                        ) -> ImageRecord:
        """Write a model prediction; a human mask is never touched.  A ``checkpoint`` that
        is a :class:`~.prediction_model.CheckpointRef` also records its epoch."""
        path = self.prediction_path(rec)
        labels = self._check_mask(rec, labels, path)
        now = time.time()
        unc = None if uncertainty is None or not math.isfinite(uncertainty) else float(uncertainty)
        # the prediction, its entropy map and the database row appear together or not at
        # all: a full disk at any step leaves no prediction file the database does not know
        with StagedWrites() as staged:
            staged.add_bytes(path, maskio.encode_mask_png(labels, self.classes.palette()))
            if entropy_map is not None:
                staged.add_bytes(self.uncertainty_path(rec), maskio.encode_mask_png(
                    np.asarray(entropy_map, np.uint8), None))
            self.db.execute(
                "UPDATE images SET predicted_at=?, predicted_by=?, predicted_epoch=?, uncertainty=?"
                ", status=CASE WHEN status IN ('unlabelled','predicted') THEN 'predicted' ELSE"
                " status END,"
                " status_at=CASE WHEN status='unlabelled' THEN ? ELSE status_at END WHERE id=?",
                (now, None if checkpoint is None else str(checkpoint),
                 getattr(checkpoint, "epoch", None), unc, now, rec.id),
            )
            staged.commit()
        return self.image(rec.id)

    def check_trainable(self) -> int:
        """The number of images with a human mask file on disk; ProjectError when there
        is none (training on nothing would 'complete' and write an untrained model)."""
        recs = self.images(statuses=HUMAN_STATUSES)
        present = sum(1 for r in recs if r.usable and self.has_mask_file(r))
        if present:
            return present
        if recs:
            raise ProjectError(
                f"nothing to train on: {len(recs)} images are marked corrected or reviewed but "
                f"none has its mask file in {self.project_dir / 'masks'} (moved or deleted?); "
                "restore the masks or re-import them")
        raise ProjectError("nothing to train on: no corrected or reviewed images; "
                           "label some images or import masks first")

    def set_iou(self, rec: ImageRecord, iou: float | None) -> None:
        self.db.execute("UPDATE images SET iou=? WHERE id=?", (iou, rec.id))

    def delete_class(self, class_id: int, target_id: int, table: ClassTable | None = None,
                     progress: Callable[[int, int], None] | None = None
                     ) -> tuple[int, ClassTable]:
        """Delete a class, its pixels rewritten to ``target_id``, crash-safe
        (:mod:`.class_delete`); returns (files rewritten, the new table)."""
        return class_delete.delete_class(self, class_id, target_id, table, progress)

    def remap_class(self, old_id: int, new_id: int,
                    progress: Callable[[int, int], None] | None = None) -> int:
        """Rewrite every mask and prediction so ``old_id`` pixels become ``new_id``."""
        lut = np.arange(256, dtype=np.uint8)
        lut[old_id] = new_id
        palette = self.classes.palette()
        recs = self.images(include_missing=True)
        changed = 0
        for i, rec in enumerate(recs):
            for path in (self.mask_path(rec), self.prediction_path(rec)):
                if not path.exists():
                    continue
                mask = maskio.read_mask(path)
                if (mask == old_id).any():
                    maskio.write_mask(path, lut[mask], palette)
                    changed += 1
            changed += large_store.remap_chunked(self, rec, old_id, new_id)  # large images
            if progress is not None:
                progress(i + 1, len(recs))
        return changed
