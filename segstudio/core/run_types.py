"""The typed records of training runs: one epoch's numbers and one run's row.

:class:`EpochMetrics` is what the engine reports after an epoch (inside its
``EpochEnd`` event), what the ``epochs`` table stores, what a run's CSV holds
and what the plots draw; its columns are defined here once (:data:`STORED`).
:class:`RunRecord` is one row of the ``runs`` table.  Both are frozen.
"""

from __future__ import annotations

import csv
import dataclasses
import io
import json
import math
import sqlite3
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

Row = Mapping[str, Any] | sqlite3.Row
ConfusionMatrix = tuple[tuple[int, ...], ...]


@dataclass(frozen=True)
class EpochMetrics:
    """One epoch of a run.  Values an epoch did not have (no validation images, a
    click model's run, an old database) are None."""

    epoch: int  # 1-based
    train_loss: float | None = None
    val_loss: float | None = None
    miou: float | None = None  # mean IoU of the classes; a click model's: IoU after 3 clicks
    pixel_accuracy: float | None = None  # labelled pixels predicted right
    class_accuracy: float | None = None  # the mean over the classes of their pixel accuracy
    per_class_iou: Mapping[str, float | None] | None = None  # by class name
    lr: float | None = None  # learning rate of the epoch's last step
    seconds: float | None = None  # the whole epoch, validation and checkpoint included
    images_per_sec: float | None = None  # training images per second of the training phase
    data_seconds: float | None = None
    compute_seconds: float | None = None
    train_images: int | None = None
    # the event's alone (the database does not keep them)
    train_accuracy: float | None = None  # pixel accuracy of the training batches
    val_seconds: float | None = None
    val_images: int | None = None
    per_class_accuracy: Mapping[str, float | None] | None = None
    pixels: int | None = None  # labelled validation pixels
    confusion_matrix: ConfusionMatrix | None = None  # rows: truth, columns: prediction
    # a click model's validation: simulated clicks on ``objects`` objects
    objects: int | None = None
    iou_1: float | None = None  # mean IoU after 1 click
    iou_3: float | None = None  # ... after 3 clicks
    noc85: float | None = None  # mean clicks to 85 % IoU (at most max_clicks)
    noc90: float | None = None
    max_clicks: int | None = None

    @property
    def validated(self) -> bool:
        """Whether the epoch had a validation score."""
        return self.miou is not None

    @property
    def is_click(self) -> bool:
        """Whether these are a click model's numbers (IoU after k clicks, NoC)."""
        return self.iou_1 is not None

    @property
    def class_names(self) -> tuple[str, ...]:
        return tuple(self.per_class_iou or ())

    # -- the database ------------------------------------------------------------------
    def to_row(self) -> dict[str, Any]:
        """The ``epochs`` table's columns (the run id and the time aside)."""
        row = {col: getattr(self, attr) for col, attr in STORED}
        if self.per_class_iou is not None:
            row["per_class_iou"] = json.dumps(dict(self.per_class_iou))
        return row

    @classmethod
    def from_row(cls, row: Row) -> EpochMetrics:
        """An ``epochs`` row (a missing or NULL column is None)."""
        keys = set(row.keys())
        values: dict[str, Any] = {attr: row[col] if col in keys else None
                                  for col, attr in STORED}
        per = values["per_class_iou"]
        values["per_class_iou"] = json.loads(per) if per else None
        values["epoch"] = int(values["epoch"])
        return cls(**values)

    # -- JSON (the run's journal) --------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> EpochMetrics:
        """The inverse of :meth:`to_dict` (after a JSON round trip); unknown keys are
        ignored."""
        known = {f.name for f in dataclasses.fields(cls)}
        values = {k: v for k, v in data.items() if k in known}
        cm = values.get("confusion_matrix")
        if cm is not None:
            values["confusion_matrix"] = tuple(tuple(int(v) for v in r) for r in cm)
        return cls(**values)


# (column of the epochs table and of the CSV, attribute): every number a run keeps per epoch
STORED: tuple[tuple[str, str], ...] = (
    ("epoch", "epoch"),
    ("train_loss", "train_loss"),
    ("val_loss", "val_loss"),
    ("val_miou", "miou"),
    ("val_global_acc", "pixel_accuracy"),
    ("val_class_acc", "class_accuracy"),
    ("per_class_iou", "per_class_iou"),
    ("lr", "lr"),
    ("seconds", "seconds"),
    ("images_per_sec", "images_per_sec"),
    ("data_seconds", "data_seconds"),
    ("compute_seconds", "compute_seconds"),
    ("train_images", "train_images"),
)
STORED_COLUMNS: tuple[str, ...] = tuple(col for col, _ in STORED)
# the CSV: these columns, then one ``iou_<class>`` column per class
CSV_COLUMNS: tuple[tuple[str, str], ...] = tuple(p for p in STORED if p[0] != "per_class_iou")
CLASS_PREFIX = "iou_"
_INTS = frozenset({"epoch", "train_images"})


def epochs_csv(epochs: Sequence[EpochMetrics]) -> str:
    """A run's epochs as CSV text (one column per class IoU at the end, in the order
    the classes first appear)."""
    names: list[str] = []
    for m in epochs:
        for name in m.per_class_iou or {}:
            if name not in names:
                names.append(name)
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow([col for col, _ in CSV_COLUMNS] + [CLASS_PREFIX + n for n in names])
    for m in epochs:
        per = m.per_class_iou or {}
        w.writerow([_cell(getattr(m, attr)) for _, attr in CSV_COLUMNS]
                   + [_cell(per.get(n)) for n in names])
    return buf.getvalue()


def epochs_from_csv(text: str) -> list[EpochMetrics]:
    """The epochs of a CSV that :func:`epochs_csv` wrote (an empty cell is None)."""
    reader = csv.reader(io.StringIO(text))
    header = next(reader, None)
    if header is None:
        return []
    attrs = dict(CSV_COLUMNS)
    out = []
    for cells in reader:
        values: dict[str, Any] = {}
        per: dict[str, float | None] = {}
        for col, cell in zip(header, cells, strict=False):
            if col in attrs:
                values[attrs[col]] = _parse(cell, int if col in _INTS else float)
            elif col.startswith(CLASS_PREFIX):
                per[col[len(CLASS_PREFIX):]] = _parse(cell, float)
        if per:
            values["per_class_iou"] = per
        out.append(EpochMetrics(**values))
    return out


def _cell(v: object) -> str:
    if v is None:
        return ""
    if isinstance(v, float):
        return repr(v) if math.isfinite(v) else ""
    return str(v)


def _parse(cell: str, kind: type[int] | type[float]) -> Any:
    return kind(cell) if cell != "" else None


@dataclass(frozen=True)
class RunRecord:
    """One training run of the project (a row of the ``runs`` table)."""

    id: int
    started_at: float
    finished_at: float | None
    status: str  # "running" | "completed" | "cancelled" | "failed" | "interrupted"
    config: Mapping[str, Any]  # the run's TrainConfig.to_dict() (and where it started from)
    device: str | None
    checkpoint: str | None  # the last epoch's checkpoint
    best_checkpoint: str | None
    best_miou: float | None
    message: str | None
    pid: int | None  # the process that trains it, on host (None: made before runs kept one)
    host: str | None

    @property
    def running(self) -> bool:
        return self.status == "running"

    @classmethod
    def from_row(cls, row: Row) -> RunRecord:
        keys = set(row.keys())

        def get(col: str) -> Any:
            return row[col] if col in keys else None

        return cls(id=int(row["id"]), started_at=float(row["started_at"]),
                   finished_at=get("finished_at"), status=str(row["status"]),
                   config=json.loads(row["config_json"]), device=get("device"),
                   checkpoint=get("checkpoint"), best_checkpoint=get("best_checkpoint"),
                   best_miou=get("best_miou"), message=get("message"), pid=get("pid"),
                   host=get("host"))
