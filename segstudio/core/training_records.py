"""The parts of a project that training uses: splits, settings, runs and epochs.

A mixin of :class:`segstudio.core.project.Project`; it needs ``self.db``.
"""

from __future__ import annotations

import hashlib
import json
import os
import socket
import time
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .project import ImageRecord


class TrainingRecords:
    # -- splits ------------------------------------------------------------------------
    def assign_splits(self, val_fraction: float = 0.3, seed: int = 0) -> dict[str, int]:
        """Give every human-labelled image a train or val split, stored in the project.

        Existing assignments stay unless ``val_fraction`` or ``seed`` changed; new
        images are placed so the val share stays as close to the fraction as
        possible.  Images the user put in 'test' are left alone."""
        if not 0.0 <= val_fraction < 1.0:
            raise ValueError("the validation share must be in [0, 1)")
        stored = self.get_setting("split", None)
        wanted = {"val_fraction": val_fraction, "seed": seed}
        with self.db.transaction() as cur:
            if stored != wanted:
                cur.execute("UPDATE images SET split=NULL WHERE split IN ('train','val')")
                cur.execute("INSERT OR REPLACE INTO settings (key, value) VALUES ('split', ?)",
                            (json.dumps(wanted),))
            rows = cur.execute(
                "SELECT id, relpath, split FROM images WHERE missing=0 AND status IN"
                " ('corrected','reviewed') AND (split IS NULL OR split != 'test')").fetchall()
            n = len(rows)
            n_val = sum(1 for r in rows if r["split"] == "val")
            target = int(round(val_fraction * n))
            if val_fraction > 0 and n >= 2:
                target = max(target, 1)
            target = min(target, n - 1) if n >= 1 else 0
            fresh = sorted((r for r in rows if r["split"] is None),
                           key=lambda r: _stable_hash(r["relpath"], seed))
            need = max(0, target - n_val)
            cur.executemany("UPDATE images SET split=? WHERE id=?",
                            [("val" if i < need else "train", r["id"])
                             for i, r in enumerate(fresh)])
        counts = {"train": 0, "val": 0, "test": 0}
        for row in self.db.query("SELECT split, COUNT(*) AS n FROM images WHERE missing=0 AND"
                                 " split IS NOT NULL GROUP BY split"):
            counts[row["split"]] = row["n"]
        return counts

    def set_split(self, rec: ImageRecord, split: str | None) -> None:
        self.db.execute("UPDATE images SET split=? WHERE id=?", (split, rec.id))

    # -- settings -------------------------------------------------------------------------
    def get_setting(self, key: str, default=None):
        row = self.db.query_one("SELECT value FROM settings WHERE key=?", (key,))
        return default if row is None else json.loads(row["value"])

    def set_setting(self, key: str, value) -> None:
        self.db.execute("INSERT OR REPLACE INTO settings (key, value) VALUES (?, ?)",
                        (key, json.dumps(value)))

    # -- training runs ----------------------------------------------------------------------
    def create_run(self, config: dict, device: str) -> int:
        return self.db.execute(
            "INSERT INTO runs (started_at, config_json, device, pid, host) VALUES (?, ?, ?, ?, ?)",
            (time.time(), json.dumps(config, sort_keys=True), device, os.getpid(),
             socket.gethostname()),
        )

    def mark_interrupted_runs(self) -> list[int]:
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

    def add_epoch(self, run_id: int, epoch: int, **metrics) -> None:
        cols = ("train_loss", "val_loss", "val_miou", "val_global_acc", "val_class_acc",
                "per_class_iou", "lr", "seconds", "images_per_sec", "data_seconds",
                "compute_seconds", "train_images")
        values = []
        for c in cols:
            v = metrics.get(c)
            if c == "per_class_iou" and v is not None and not isinstance(v, str):
                v = json.dumps(v)
            values.append(v)
        self.db.execute(
            f"INSERT OR REPLACE INTO epochs (run_id, epoch, {', '.join(cols)}, recorded_at)"
            f" VALUES (?, ?, {', '.join('?' * len(cols))}, ?)",
            (run_id, epoch, *values, time.time()),
        )

    def finish_run(self, run_id: int, status: str, checkpoint: str | None = None,
                   best_checkpoint: str | None = None, best_miou: float | None = None,
                   message: str | None = None) -> None:
        self.db.execute(
            "UPDATE runs SET finished_at=?, status=?, checkpoint=COALESCE(?, checkpoint),"
            " best_checkpoint=COALESCE(?, best_checkpoint), best_miou=COALESCE(?, best_miou),"
            " message=? WHERE id=?",
            (time.time(), status, checkpoint, best_checkpoint, best_miou, message, run_id),
        )

    def update_run(self, run_id: int, **fields) -> None:
        allowed = {"checkpoint", "best_checkpoint", "best_miou", "status", "message", "device"}
        sets = [(k, v) for k, v in fields.items() if k in allowed]
        if sets:
            self.db.execute(
                f"UPDATE runs SET {', '.join(k + '=?' for k, _ in sets)} WHERE id=?",
                (*[v for _, v in sets], run_id),
            )

    def runs(self) -> list[dict]:
        out = []
        for row in self.db.query("SELECT * FROM runs ORDER BY id"):
            d = dict(row)
            d["config"] = json.loads(d.pop("config_json"))
            out.append(d)
        return out

    def epoch_counts(self) -> dict[int, int]:
        """The last recorded epoch of every run that has one, by run id (one query)."""
        return {row["run_id"]: row["n"] for row in self.db.query(
            "SELECT run_id, MAX(epoch) AS n FROM epochs GROUP BY run_id")}

    def epochs(self, run_id: int) -> list[dict]:
        out = []
        for row in self.db.query("SELECT * FROM epochs WHERE run_id=? ORDER BY epoch", (run_id,)):
            d = dict(row)
            if d.get("per_class_iou"):
                d["per_class_iou"] = json.loads(d["per_class_iou"])
            out.append(d)
        return out


def _stable_hash(text: str, seed: int) -> int:
    return int.from_bytes(hashlib.blake2b(f"{seed}:{text}".encode(), digest_size=8).digest(), "big")


def _alive(pid: int) -> bool:
    from .atomic import process_alive

    return process_alive(pid)
