"""The parts of a project that training uses: its splits and its runs with their epochs.

:class:`Splits` and :class:`Runs` hold the project's database; a
:class:`segstudio.core.project.Project` has one of each (``project.splits``,
``project.runs``).
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import socket
import time
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from .db import Database
from .run_types import EpochMetrics, RunRecord
from .settings import ProjectSettings, resolved_path, stored_path

if TYPE_CHECKING:
    from .project import ImageRecord


FULL_VAL_MIN = 2  # fully labelled val images from which partially labelled ones never validate


def _val_target(val_fraction: float, n: int) -> int:
    """The val images of ``n``: the fraction, at least one of two or more (when the
    fraction is not 0), and never all of them."""
    target = int(round(val_fraction * n))
    if val_fraction > 0 and n >= 2:
        target = max(target, 1)
    return min(target, n - 1) if n >= 1 else 0


def _place(rows: list[Any], target: int, seed: int) -> dict[int, str]:
    """Splits for the rows without one: val until ``target`` of the rows validate (an
    order fixed by the seed), then train."""
    n_val = sum(1 for r in rows if r["split"] == "val")
    fresh = sorted((r for r in rows if r["split"] is None),
                   key=lambda r: _stable_hash(r["relpath"], seed))
    need = max(0, target - n_val)
    return {r["id"]: "val" if i < need else "train" for i, r in enumerate(fresh)}


class Splits:
    """``project.splits``: which human-labelled image trains and which validates."""

    def __init__(self, db: Database, settings: ProjectSettings):
        self.db = db
        self.settings = settings

    def assign(self, val_fraction: float = 0.3, seed: int = 0) -> dict[str, int]:
        """Give every human-labelled image a train or val split, stored in the project.

        Existing assignments stay unless ``val_fraction`` or ``seed`` changed; new
        images are placed so the val share stays as close to the fraction as
        possible.  Images the user put in 'test' are left alone.

        Partially labelled images (:data:`FULL_VAL_MIN`): fully labelled images
        (corrected, reviewed) take their val share among themselves, as if there were
        no others.  Once that share is at least ``FULL_VAL_MIN`` images, validation is
        on them alone and every partially labelled image trains (one that validated
        before moves to train).  Until then the partially labelled images take the
        rest of the val share of all labelled images, and validation counts their
        labelled pixels (:meth:`validation_is_partial` says so)."""
        if not 0.0 <= val_fraction < 1.0:
            raise ValueError("the validation share must be in [0, 1)")
        stored = self.settings.get("split", None)
        wanted = {"val_fraction": val_fraction, "seed": seed}
        with self.db.transaction() as cur:
            if stored != wanted:
                cur.execute("UPDATE images SET split=NULL WHERE split IN ('train','val')")
                cur.execute("INSERT OR REPLACE INTO settings (key, value) VALUES ('split', ?)",
                            (json.dumps(wanted),))
            rows = cur.execute(
                "SELECT id, relpath, split, status FROM images WHERE missing=0 AND status IN"
                " ('partial','corrected','reviewed') AND (split IS NULL OR split != 'test')"
            ).fetchall()
            full = [r for r in rows if r["status"] != "partial"]
            partial = [r for r in rows if r["status"] == "partial"]
            updates = _place(full, _val_target(val_fraction, len(full)), seed)
            full_val = sum(1 for r in full if (updates.get(r["id"]) or r["split"]) == "val")
            if full_val >= FULL_VAL_MIN:  # enough: partially labelled images all train
                updates.update({r["id"]: "train" for r in partial if r["split"] != "train"})
            else:
                updates.update(_place(partial, _val_target(val_fraction, len(rows)) - full_val,
                                      seed))
            cur.executemany("UPDATE images SET split=? WHERE id=?",
                            [(split, i) for i, split in updates.items()])
        counts = {"train": 0, "val": 0, "test": 0}
        for row in self.db.query("SELECT split, COUNT(*) AS n FROM images WHERE missing=0 AND"
                                 " split IS NOT NULL GROUP BY split"):
            counts[row["split"]] = row["n"]
        return counts

    def validation_is_partial(self) -> bool:
        """Whether some validation image is only partially labelled (its figures then
        count the pixels people labelled, not whole images)."""
        return self.db.query_one("SELECT 1 FROM images WHERE missing=0 AND split='val' AND"
                                 " status='partial' LIMIT 1") is not None

    def set(self, rec: ImageRecord, split: str | None) -> None:
        """Put one image in a split (None: let :meth:`assign` choose)."""
        self.db.execute("UPDATE images SET split=? WHERE id=?", (split, rec.id))


class Runs:
    """``project.runs``: the training runs and their epochs.  Their checkpoint paths are
    stored relative to the project directory (see :mod:`.settings`)."""

    def __init__(self, db: Database):
        self.db = db
        self.project_dir = db.path.parent

    def create(self, config: Mapping[str, Any], device: str) -> int:
        """A new run, 'running' in this process; returns its id."""
        return self.db.execute(
            "INSERT INTO runs (started_at, config_json, device, pid, host) VALUES (?, ?, ?, ?, ?)",
            (time.time(), json.dumps(dict(config), sort_keys=True), device, os.getpid(),
             socket.gethostname()),
        )

    def mark_interrupted(self) -> list[int]:
        """Runs left 'running' whose process is gone (killed, crashed, power cut) become
        'interrupted'; their checkpoints stay.  Runs of another host are left alone
        unless they have no process recorded (made before runs kept one)."""
        host = socket.gethostname()
        gone = []
        for row in self.db.query("SELECT id, pid, host FROM runs WHERE status='running'"):
            if row["pid"] is None or (row["host"] == host and not _alive(int(row["pid"]))):
                gone.append(int(row["id"]))
        for run_id in gone:
            self.db.execute(
                "UPDATE runs SET status='interrupted', finished_at=COALESCE(finished_at, ?),"
                " message=? WHERE id=? AND status='running'",
                (time.time(), "interrupted: its process ended without finishing the run (killed "
                 "or crashed); the last completed epoch's checkpoint is kept", run_id))
        return gone

    def add_epoch(self, run_id: int, metrics: EpochMetrics) -> None:
        """Record (or replace) one epoch of a run."""
        row = metrics.to_row()
        cols = list(row)
        self.db.execute(
            f"INSERT OR REPLACE INTO epochs (run_id, {', '.join(cols)}, recorded_at)"
            f" VALUES (?, {', '.join('?' * len(cols))}, ?)",
            (run_id, *row.values(), time.time()),
        )

    def finish(self, run_id: int, status: str, checkpoint: str | None = None,
               best_checkpoint: str | None = None, best_miou: float | None = None,
               message: str | None = None) -> None:
        self.db.execute(
            "UPDATE runs SET finished_at=?, status=?, checkpoint=COALESCE(?, checkpoint),"
            " best_checkpoint=COALESCE(?, best_checkpoint), best_miou=COALESCE(?, best_miou),"
            " message=? WHERE id=?",
            (time.time(), status, stored_path(self.project_dir, checkpoint),
             stored_path(self.project_dir, best_checkpoint), best_miou, message, run_id),
        )

    def update(self, run_id: int, **fields: Any) -> None:
        """Set some of a run's checkpoint, best_checkpoint, best_miou, status, message,
        device (other names are ignored)."""
        sets = [(k, stored_path(self.project_dir, v) if k in _PATHS else v)
                for k, v in fields.items() if k in _UPDATABLE]
        if sets:
            self.db.execute(
                f"UPDATE runs SET {', '.join(k + '=?' for k, _ in sets)} WHERE id=?",
                (*[v for _, v in sets], run_id),
            )

    def all(self) -> list[RunRecord]:
        """Every run, oldest first."""
        return [self._record(row) for row in self.db.query("SELECT * FROM runs ORDER BY id")]

    def get(self, run_id: int) -> RunRecord | None:
        row = self.db.query_one("SELECT * FROM runs WHERE id=?", (run_id,))
        return None if row is None else self._record(row)

    def _record(self, row: Any) -> RunRecord:
        rec = RunRecord.from_row(row)
        return dataclasses.replace(
            rec, checkpoint=resolved_path(self.project_dir, rec.checkpoint),
            best_checkpoint=resolved_path(self.project_dir, rec.best_checkpoint))

    def epoch_counts(self) -> dict[int, int]:
        """The last recorded epoch of every run that has one, by run id (one query)."""
        return {int(row["run_id"]): int(row["n"]) for row in self.db.query(
            "SELECT run_id, MAX(epoch) AS n FROM epochs GROUP BY run_id")}

    def epochs(self, run_id: int) -> list[EpochMetrics]:
        """A run's recorded epochs, in order."""
        return [EpochMetrics.from_row(row) for row in self.db.query(
            "SELECT * FROM epochs WHERE run_id=? ORDER BY epoch", (run_id,))]


_UPDATABLE = frozenset({"checkpoint", "best_checkpoint", "best_miou", "status", "message",
                        "device"})
_PATHS = frozenset({"checkpoint", "best_checkpoint"})


def _stable_hash(text: str, seed: int) -> int:
    return int.from_bytes(hashlib.blake2b(f"{seed}:{text}".encode(), digest_size=8).digest(), "big")


def _alive(pid: int) -> bool:
    from .atomic import process_alive

    return process_alive(pid)
