"""Where region proposals are kept: ``.segstudio/proposals/``.

    proposals/<relpath>.npz   one image: its superpixels (at SLIC's compute size), the
                              image they were made for, the prediction they were scored
                              with and its regions' scores (:class:`~.regions.ImageRegions`)
    proposals/queue.json      the ranked queue: the model, the score, the settings and
                              the regions, best first (:class:`Queue`)

The superpixels do not depend on the model, so a refresh after a training round
reuses them (they are made again when the image file or the superpixel size
changed).  Every file is written atomically (:mod:`.atomic`); a damaged or foreign
file reads as missing (the proposals are made again), never as an error.  Free of Qt.
"""

from __future__ import annotations

import io
import json
import time
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from .atomic import atomic_write_bytes, atomic_write_text
from .regions import ImageRegions, Region
from .smart.superpixels import SuperpixelMap

if TYPE_CHECKING:
    from .project import ImageRecord, Project

DIRNAME = "proposals"
QUEUE = "queue.json"


def proposals_dir(project: Project) -> Path:
    return project.project_dir / DIRNAME


def image_path(project: Project, rec: ImageRecord | str) -> Path:
    rel = rec if isinstance(rec, str) else rec.relpath
    return proposals_dir(project) / (rel + ".npz")


def image_key(rec: ImageRecord, size: int) -> list[int]:
    """What the superpixels were made for: the image file and the superpixel size."""
    return [int(rec.size_bytes), int(rec.width or 0), int(rec.height or 0), int(size)]


@dataclass
class ImageProposals:
    """One image's superpixels and (when scored) its regions."""

    key: list[int]
    spmap: SuperpixelMap
    regions: ImageRegions | None = None
    checkpoint: str = ""
    prediction: np.ndarray | None = None  # (H, W) class ids the regions were scored with


def save_image(project: Project, rec: ImageRecord, item: ImageProposals) -> None:
    labels = item.spmap.labels
    dtype = np.uint16 if item.spmap.count <= 65536 else np.int32
    arrays: dict[str, Any] = {"segments": labels.astype(dtype),
                              "shape": np.asarray(item.spmap.shape, np.int64),
                              "key": np.asarray(item.key, np.int64),
                              "checkpoint": np.asarray(item.checkpoint)}
    if item.regions is not None:
        arrays.update(item.regions.arrays())
    if item.prediction is not None:
        arrays["prediction"] = np.asarray(item.prediction, np.uint8)
    buf = io.BytesIO()
    np.savez_compressed(buf, **arrays)
    atomic_write_bytes(image_path(project, rec), buf.getvalue())


def load_image(project: Project, rec: ImageRecord) -> ImageProposals | None:
    """The stored proposals of ``rec`` (None when there are none or they cannot be read)."""
    path = image_path(project, rec)
    if not path.is_file():
        return None
    try:
        with np.load(path, allow_pickle=False) as data:
            shape = tuple(int(v) for v in data["shape"])
            spmap = SuperpixelMap(data["segments"].astype(np.int32), (shape[0], shape[1]))
            key = [int(v) for v in data["key"]]
            regions = ImageRegions.from_arrays(data) if "score" in data.files else None
            checkpoint = str(data["checkpoint"]) if "checkpoint" in data.files else ""
            prediction = data["prediction"] if "prediction" in data.files else None
    except (OSError, ValueError, KeyError, IndexError, zipfile.BadZipFile):
        return None
    if regions is not None and regions.count != spmap.count:
        regions = None
    if prediction is not None and prediction.shape != spmap.shape:
        prediction = None
    return ImageProposals(key, spmap, regions, checkpoint, prediction)


def load_superpixels(project: Project, rec: ImageRecord, size: int | None = None
                     ) -> SuperpixelMap | None:
    """The stored superpixels of ``rec`` if they are for the image as it is now (and,
    when given, for superpixels of ``size``)."""
    item = load_image(project, rec)
    if item is None or item.key[:3] != image_key(rec, 0)[:3]:
        return None
    if size is not None and item.key[3] != size:
        return None
    if item.spmap.shape != (rec.height, rec.width):
        return None
    return item.spmap


@dataclass
class Queue:
    """The ranked regions of the project, best first, and how they were made."""

    regions: list[Region]
    checkpoint: str
    score: str = "entropy"
    rare: bool = True
    diversity: float = 0.5
    size: int = 24
    made_at: float = field(default_factory=time.time)
    images: int = 0  # images scored
    notes: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {"checkpoint": self.checkpoint, "score": self.score, "rare": self.rare,
                "diversity": self.diversity, "size": self.size, "made_at": self.made_at,
                "images": self.images, "notes": list(self.notes),
                "regions": [r.to_dict() for r in self.regions]}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Queue:
        return cls([Region.from_dict(r) for r in d.get("regions", [])], str(d["checkpoint"]),
                   str(d.get("score", "entropy")), bool(d.get("rare", True)),
                   float(d.get("diversity", 0.5)), int(d.get("size", 24)),
                   float(d.get("made_at", 0.0)), int(d.get("images", 0)),
                   [str(n) for n in d.get("notes", [])])


def save_queue(project: Project, queue: Queue) -> Path:
    path = proposals_dir(project) / QUEUE
    atomic_write_text(path, json.dumps(queue.to_dict()))
    return path


def load_queue(project: Project) -> Queue | None:
    path = proposals_dir(project) / QUEUE
    try:
        return Queue.from_dict(json.loads(path.read_text()))
    except (OSError, ValueError, KeyError, TypeError):
        return None
