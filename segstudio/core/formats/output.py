"""Export machinery: the output folder (atomic, never deleting, refusing to
overwrite what differs), the export report, and the threaded per-image run."""

from __future__ import annotations

import json
import os
import threading
from collections import Counter, deque
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from ..atomic import atomic_write_bytes
from ..errors import ImageReadError, MaskError
from ..imageio import read_image, read_info
from ..project import HUMAN_STATUSES, ImageRecord, Project
from .common import LAYER_HUMAN, CancelFn, FormatError, ProgressFn, safe_member

PNG_LEVEL = 3
JPEG_QUALITY = 95


@dataclass
class ExportOptions:
    """What to export and how.  ``images``: relative paths of a selection (None: all)."""

    statuses: Sequence[str] = HUMAN_STATUSES
    images: Sequence[str] | None = None
    opacity: float = 0.5  # overlay only
    overwrite: bool = False
    include_images: bool = True  # copy images into voc/camvid/coco/labelme layouts
    classes_json: str = "classes.json"  # where the class table goes, relative to the folder
    workers: int | None = None  # threads for encoding and writing (None: up to 4)
    # write into a folder that holds another project's export (the window asks first)
    beside_other_projects: bool = False


@dataclass(frozen=True)
class ExportItem:
    rec: ImageRecord
    layer: str  # "human" (corrected/reviewed mask) or "prediction"


@dataclass
class ExportedFile:
    path: str  # relative to the export folder
    image: str | None  # the project image it belongs to (None: a shared file)
    layer: str | None
    action: str  # written | replaced | unchanged | refused
    reason: str = ""  # why it was refused


@dataclass
class ExportReport:
    format: str
    out_dir: str
    files: list[ExportedFile] = field(default_factory=list)
    exported: list[tuple[str, str]] = field(default_factory=list)  # (image, layer)
    skipped: list[tuple[str, str]] = field(default_factory=list)  # (image, reason)
    notes: list[str] = field(default_factory=list)
    cancelled: bool = False

    def _with(self, action: str) -> list[str]:
        return [f.path for f in self.files if f.action == action]

    @property
    def written(self) -> list[str]:
        return self._with("written") + self._with("replaced")

    @property
    def unchanged(self) -> list[str]:
        return self._with("unchanged")

    @property
    def refused(self) -> list[str]:
        return self._with("refused")

    def layer_counts(self) -> dict[str, int]:
        return dict(Counter(layer for _, layer in self.exported))

    def summary(self) -> str:
        layers = self.layer_counts()
        human, pred = layers.get("human", 0), layers.get("prediction", 0)
        lines = [f"{self.format} export to {self.out_dir}: {len(self.exported)} images "
                 f"({human} human masks, {pred} model predictions)"]
        lines.append(f"files: {len(self.written)} written, {len(self.unchanged)} already "
                     f"identical, {len(self.refused)} refused (differ from existing files)")
        if pred:
            names = [img for img, layer in self.exported if layer != "human"]
            more = f" and {len(names) - 10} more" if len(names) > 10 else ""
            shown = ", ".join(names[:10]) + more
            lines.append(f"from predictions (not checked by a person): {shown}")
        if self.skipped:
            lines.append(f"{len(self.skipped)} images skipped")
        lines.extend(self.notes)
        if self.cancelled:
            lines.append("cancelled: files written so far are complete; shared files were not "
                         "written")
        return "\n".join(lines)


class OutputDir:
    """Writes files under ``root`` atomically; existing different files are kept
    unless ``overwrite``; nothing is ever deleted.  Thread-safe."""

    def __init__(self, root: Path, overwrite: bool, report: ExportReport,
                 protected: Path | None = None):
        self.root = Path(root)
        self.overwrite = overwrite
        self.report = report
        self.protected = Path(protected).resolve() if protected is not None else None
        self._lock = threading.Lock()
        self.by_image: dict[str, list[str]] = {}

    def _record(self, rel: str, image: str | None, layer: str | None, action: str,
                reason: str = "") -> str:
        with self._lock:
            self.report.files.append(ExportedFile(rel, image, layer, action, reason))
            if image is not None:
                self.by_image.setdefault(image, []).append(rel)
        return action

    def path(self, rel: str) -> Path:
        return self.root / safe_member(rel)

    def put(self, rel: str, data: bytes, image: str | None = None,
            layer: str | None = None) -> str:
        rel = safe_member(rel)
        path = self.root / rel
        action = "written"
        if path.is_dir():
            return self._record(rel, image, layer, "refused", "a folder of that name exists")
        if self.protected is not None and (
                self.protected == path.resolve() or self.protected in path.resolve().parents):
            return self._record(rel, image, layer, "refused", "it would land in the image folder")
        if path.exists():
            try:
                same = path.stat().st_size == len(data) and path.read_bytes() == data
            except OSError:
                same = False
            if same:
                return self._record(rel, image, layer, "unchanged")
            if not self.overwrite:
                return self._record(rel, image, layer, "refused",
                                    "differs from the existing file")
            action = "replaced"
        atomic_write_bytes(path, data)
        return self._record(rel, image, layer, action)

    def put_json(self, rel: str, data: object, image: str | None = None, layer: str | None = None,
                 indent: int | None = 2) -> str:
        text = json.dumps(data, ensure_ascii=False, indent=indent,
                          separators=None if indent else (",", ":"))
        return self.put(rel, (text + "\n").encode("utf-8"), image, layer)


def encode_png(array: np.ndarray) -> bytes:
    """PNG bytes of a uint8 gray or RGB array (OpenCV, which releases the GIL)."""
    arr = array if array.ndim == 2 else cv2.cvtColor(array, cv2.COLOR_RGB2BGR)
    ok, buf = cv2.imencode(".png", arr, [cv2.IMWRITE_PNG_COMPRESSION, PNG_LEVEL])
    if not ok:  # pragma: no cover - OpenCV fails only on impossible input
        raise FormatError("OpenCV could not encode a PNG")
    return buf.tobytes()


def encode_image(array: np.ndarray, ext: str) -> bytes:
    arr = array if array.ndim == 2 else cv2.cvtColor(array, cv2.COLOR_RGB2BGR)
    params = [cv2.IMWRITE_JPEG_QUALITY, JPEG_QUALITY] if ext in (".jpg", ".jpeg") else []
    if ext == ".png":
        params = [cv2.IMWRITE_PNG_COMPRESSION, PNG_LEVEL]
    ok, buf = cv2.imencode(ext, arr, params)
    if not ok:
        raise FormatError(f"OpenCV could not encode a {ext} image")
    return buf.tobytes()


class ExportContext:
    """Everything a format's exporter needs."""

    def __init__(self, project: Project, out: OutputDir, options: ExportOptions,
                 report: ExportReport):
        self.project = project
        self.table = project.classes
        self.palette = self.table.palette()
        self.out = out
        self.options = options
        self.report = report
        self.mask_values: dict[int, int] | None = None  # class id -> value written, if not the id

    def load_mask(self, item: ExportItem) -> np.ndarray:
        rec = item.rec
        if item.layer == LAYER_HUMAN:
            mask = self.project.load_mask(rec)
            what = "human mask"
        else:
            mask = self.project.load_prediction(rec)
            what = "prediction"
        if mask is None:
            raise MaskError(f"{rec.relpath}: its {what} file is missing")
        return mask

    def load_image(self, item: ExportItem) -> np.ndarray:
        return self.project.load_image(item.rec)

    def copy_image(self, rel_out: str, item: ExportItem) -> str:
        """Put the item's image at ``rel_out``: the original bytes when the
        extension matches and no EXIF rotation applies, else re-encoded from the
        oriented pixels (so image and mask always line up)."""
        src = self.project.image_path(item.rec)
        want = os.path.splitext(rel_out)[1].lower()
        have = src.suffix.lower()
        same_kind = have == want or {have, want} <= {".jpg", ".jpeg"} or {have, want} <= {
            ".tif", ".tiff"}
        if same_kind:
            try:
                if read_info(src).orientation == 1:
                    return self.out.put(rel_out, src.read_bytes(), item.rec.relpath, item.layer)
            except OSError as exc:
                raise ImageReadError(f"{src}: cannot read ({exc.strerror})") from exc
        data = encode_image(read_image(src), want)
        return self.out.put(rel_out, data, item.rec.relpath, item.layer)


def default_workers() -> int:
    return max(1, min(4, os.cpu_count() or 1))


def run_items(ctx: ExportContext, items: Sequence[ExportItem],
              fn: Callable[[ExportItem], object], progress: ProgressFn | None,
              cancelled: CancelFn | None) -> list[Any]:
    """Run ``fn`` on every item in a thread pool, in order; returns the results
    (None for items skipped because their mask or image could not be read)."""
    n = len(items)
    workers = ctx.options.workers or default_workers()
    results: list[Any] = [None] * n
    done = 0

    def guarded(i: int) -> tuple[int, object, str | None]:
        try:
            return i, fn(items[i]), None
        except (MaskError, ImageReadError) as exc:
            return i, None, str(exc)

    def collect(fut: Future[tuple[int, object, str | None]]) -> None:
        nonlocal done
        i, res, err = fut.result()
        if err is not None:
            ctx.report.skipped.append((items[i].rec.relpath, err))
        else:
            results[i] = res
            ctx.report.exported.append((items[i].rec.relpath, items[i].layer))
        done += 1
        if progress is not None:
            progress(done, n)

    if progress is not None:
        progress(0, n)
    with ThreadPoolExecutor(max_workers=workers) as pool:
        pending: deque[Future[tuple[int, object, str | None]]] = deque()
        for i in range(n):
            if cancelled is not None and cancelled():
                ctx.report.cancelled = True
                break
            pending.append(pool.submit(guarded, i))
            while len(pending) >= 2 * workers:
                collect(pending.popleft())
        while pending:
            collect(pending.popleft())
    return results
