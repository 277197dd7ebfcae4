"""Thumbnails for the browser: made on worker threads, cached in memory and on disk.

Only rows the view paints ask for a thumbnail; requests wait in a queue that
serves the newest first and drops those the user has scrolled away from, so
scrolling through 10,000 images never queues 10,000 decodes.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable

import numpy as np
from PySide6.QtCore import QObject, QTimer, Signal
from PySide6.QtGui import QImage, QPixmap

from ..core.project import ImageRecord, Project
from ..core.thumbs import THUMB_SIZE, load_thumbnail
from .workers import WorkerService


def pixmap_from_rgb(arr: np.ndarray) -> QPixmap:
    arr = np.ascontiguousarray(arr)
    h, w = arr.shape[:2]
    image = QImage(arr.data, w, h, arr.strides[0], QImage.Format.Format_RGB888).copy()
    return QPixmap.fromImage(image)


class ThumbnailLoader(QObject):
    ready = Signal(int)  # image id whose thumbnail (or error) is now known

    def __init__(self, workers: WorkerService, parent: QObject | None = None,
                 size: int = THUMB_SIZE, capacity: int = 2000):
        super().__init__(parent)
        self.size = size
        self.capacity = capacity
        self.runner = workers.lane("thumbnails")  # one thread per core but one, at most 4
        self._max_inflight = self.runner.max_threads + 1
        self._cache: OrderedDict[int, QPixmap] = OrderedDict()
        self._errors: dict[int, str] = {}
        self._pending: OrderedDict[int, ImageRecord] = OrderedDict()
        self._inflight: set[int] = set()
        self._wanted: Callable[[int], bool] | None = None
        self._project: Project | None = None
        self._pump_timer = QTimer(self, singleShot=True, interval=0)
        self._pump_timer.timeout.connect(self._pump)

    def set_project(self, project: Project | None) -> None:
        self.runner.cancel()
        self._project = project
        self._cache.clear()
        self._errors.clear()
        self._pending.clear()
        self._inflight.clear()

    def set_wanted(self, predicate: Callable[[int], bool] | None) -> None:
        """``predicate(image_id)``: is that image still on screen (checked before decoding)."""
        self._wanted = predicate

    def thumbnail(self, rec: ImageRecord) -> QPixmap | None:
        """The thumbnail if known; otherwise None and a request is queued."""
        pix = self._cache.get(rec.id)
        if pix is not None:
            self._cache.move_to_end(rec.id)
            return pix
        if rec.id not in self._errors:
            self.request(rec)
        return None

    def error(self, image_id: int) -> str | None:
        return self._errors.get(image_id)

    def request(self, rec: ImageRecord) -> None:
        if self._project is None or rec.id in self._inflight:
            return
        self._pending[rec.id] = rec
        self._pending.move_to_end(rec.id)
        if not self._pump_timer.isActive():
            self._pump_timer.start()

    def busy(self) -> bool:
        return bool(self._pending or self._inflight)

    def shutdown(self) -> None:
        self._pending.clear()
        self.runner.shutdown()

    def _pump(self) -> None:
        project = self._project
        while project is not None and self._pending and len(self._inflight) < self._max_inflight:
            image_id, rec = self._pending.popitem(last=True)
            if rec.id in self._cache or (self._wanted is not None and not self._wanted(image_id)):
                continue
            self._inflight.add(image_id)
            path = project.image_path(rec)
            self.runner.submit(
                lambda ctx, p=path, r=rec.relpath: load_thumbnail(
                    p, r, project.cache_dir / "thumbs", self.size),
                on_result=lambda arr, i=image_id: self._done(i, arr),
                on_error=lambda msg, i=image_id: self._failed(i, msg),
                on_finished=lambda cancelled, i=image_id: self._finished(i))

    def _done(self, image_id: int, arr: np.ndarray) -> None:
        self._cache[image_id] = pixmap_from_rgb(arr)
        while len(self._cache) > self.capacity:
            self._cache.popitem(last=False)
        self.ready.emit(image_id)

    def _failed(self, image_id: int, message: str) -> None:
        self._errors[image_id] = message
        self.ready.emit(image_id)

    def _finished(self, image_id: int) -> None:
        self._inflight.discard(image_id)
        if self._pending and not self._pump_timer.isActive():
            self._pump_timer.start()
