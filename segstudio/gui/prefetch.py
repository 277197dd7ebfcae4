"""Prefetching the next and previous image: a small cache of loaded documents.

After an image is shown, the controller asks for its neighbours in the
browser's order; they are loaded (decode + mask + prediction) on their own
thread and kept in a cache bounded by count and bytes, so stepping through
a folder shows the next image without waiting for its decode.

An entry is only used while it is still true: each entry remembers the size
and modification time of the image, mask, prediction and uncertainty files
as they were *before* it was read, and :meth:`Prefetcher.take` drops it
when any of them changed since.  :meth:`Prefetcher.invalidate` (called
when the program itself writes a mask or a record changes) drops an entry and
any load of that image in flight.  An entry is handed out once (to the
controller, which then owns the document; until then the cache may fill it in).
"""

from __future__ import annotations

import os
from collections import OrderedDict
from collections.abc import Callable

from PySide6.QtCore import QObject

from ..core.project import ImageRecord, Project
from .document import ImageDocument, load_document
from .workers import WorkerService

MAX_DOCS = 4
MAX_BYTES = 600 << 20


def file_signature(project: Project, rec: ImageRecord) -> tuple:
    """(size, mtime) of the files a document is read from (None for a missing file)."""
    out = []
    for path in (project.image_path(rec), project.mask_path(rec), project.prediction_path(rec),
                 project.uncertainty_path(rec)):
        try:
            st = os.stat(path)
            out.append((st.st_size, st.st_mtime_ns))
        except OSError:
            out.append(None)
    return tuple(out)


def document_bytes(doc: ImageDocument) -> int:
    d = doc.derived
    return sum(a.nbytes for a in (doc.display, doc.mask, doc.prediction, doc.uncertainty,
                                  d.outline_mask, d.outline_prediction, d.difference)
               if a is not None)


class Prefetcher(QObject):
    def __init__(self, workers: WorkerService, parent: QObject | None = None,
                 max_docs: int = MAX_DOCS, max_bytes: int = MAX_BYTES):
        super().__init__(parent)
        self.runner = workers.lane("prefetch")
        self.labels = workers.lane("labels")
        self.max_docs = max_docs
        self.max_bytes = max_bytes
        self._cache: OrderedDict[int, tuple[ImageDocument, tuple]] = OrderedDict()
        self._inflight: dict[int, tuple[object, int]] = {}   # id -> (handle, generation)
        self._gen: dict[int, int] = {}
        self._wanted: tuple[int, Callable, Callable] | None = None
        self.hits = 0

    # -- queries -----------------------------------------------------------------------
    def cached_ids(self) -> list[int]:
        return list(self._cache)

    def in_flight(self, image_id: int | None = None) -> bool:
        return bool(self._inflight) if image_id is None else image_id in self._inflight

    def nbytes(self) -> int:
        return sum(document_bytes(d) for d, _ in self._cache.values())

    # -- using --------------------------------------------------------------------------
    def take(self, project: Project, rec: ImageRecord) -> ImageDocument | None:
        """The cached document of ``rec`` if its files did not change since; removed."""
        entry = self._cache.pop(rec.id, None)
        if entry is None:
            return None
        doc, sig = entry
        if sig != file_signature(project, rec):
            return None
        doc.rec = rec
        self.hits += 1
        return doc

    def want(self, image_id: int | None, on_doc: Callable | None = None,
             on_lost: Callable | None = None) -> bool:
        """Hand the load of ``image_id`` in flight to ``on_doc`` when it arrives (or
        call ``on_lost`` if it does not); False when none is in flight.  None forgets."""
        if image_id is None or image_id not in self._inflight:
            self._wanted = None
            return False
        self._wanted = (image_id, on_doc, on_lost)
        return True

    # -- loading --------------------------------------------------------------------------
    def request(self, project: Project, recs: list[ImageRecord], outlines: bool,
                difference: bool) -> None:
        """Keep (or load) the documents of ``recs``; everything else is dropped."""
        keep = {r.id for r in recs}
        for image_id in list(self._cache):
            if image_id not in keep:
                del self._cache[image_id]
        for image_id, (handle, _gen) in list(self._inflight.items()):
            if image_id not in keep and (self._wanted is None or self._wanted[0] != image_id):
                handle.cancel()
                del self._inflight[image_id]
        for rec in recs:
            if rec.id in self._cache or rec.id in self._inflight or not rec.usable:
                continue
            self._load(project, rec, outlines, difference)

    def _load(self, project: Project, rec: ImageRecord, outlines: bool, difference: bool) -> None:
        gen = self._gen.get(rec.id, 0)

        def job(ctx):
            sig = file_signature(project, rec)  # before reading: a later change shows
            return load_document(project, rec, outlines, difference, ctx.check,
                                 self.labels.spawn), sig

        def finished(cancelled: bool) -> None:
            entry = self._inflight.get(rec.id)
            if entry is not None and entry[0] is handle:
                del self._inflight[rec.id]
                self._lost(rec.id)

        handle = self.runner.submit(job, on_result=lambda res: self._arrived(rec.id, gen, res),
                                    on_finished=finished, priority=-1)
        self._inflight[rec.id] = (handle, gen)

    def _arrived(self, image_id: int, gen: int, result) -> None:
        entry = self._inflight.pop(image_id, None)
        doc, sig = result
        if entry is None or self._gen.get(image_id, 0) != gen:
            self._lost(image_id)
            return
        wanted = self._wanted
        if wanted is not None and wanted[0] == image_id:
            self._wanted = None
            wanted[1](doc)
            return
        self._cache[image_id] = (doc, sig)
        self._cache.move_to_end(image_id)
        self._bound()

    def _lost(self, image_id: int) -> None:
        wanted = self._wanted
        if wanted is not None and wanted[0] == image_id:
            self._wanted = None
            if wanted[2] is not None:
                wanted[2]()

    def _bound(self) -> None:
        total = self.nbytes()
        while self._cache and (len(self._cache) > self.max_docs or total > self.max_bytes):
            _id, (doc, _sig) = self._cache.popitem(last=False)
            total -= document_bytes(doc)

    # -- dropping ---------------------------------------------------------------------------
    def invalidate(self, image_id: int) -> None:
        """The image's files or record changed: drop its entry and its load in flight."""
        self._gen[image_id] = self._gen.get(image_id, 0) + 1
        self._cache.pop(image_id, None)

    def clear(self) -> None:
        self._wanted = None
        self._cache.clear()
        for handle, _gen in self._inflight.values():
            handle.cancel()
        self._inflight.clear()
        self.runner.cancel()

    def shutdown(self) -> None:
        self.clear()
        self.runner.shutdown()
