"""What the window holds of a large image (no Qt here): its pyramid, its chunked label
layers and the editing window.

A large image (:func:`segstudio.core.pyramid.is_large`) is never one array.  Its
:class:`~.document.ImageDocument` carries a :class:`LargeImage`: the pyramid the
canvas draws by tiles, the chunked human mask and prediction
(:mod:`segstudio.core.chunked_mask`), and the *editing window*
(:mod:`segstudio.core.large_edit`): ``doc.display`` and ``doc.mask`` hold the
image and the mask under that window, in window coordinates, which is what the
editing tools work on; the canvas shows window coordinates as its scene
coordinates (its layers shifted by the origin), so tools and overlays need no
change.

A flat file without its pyramid cache yet opens on a coarse preview
(``building``), and the canvas has the cache built on a worker.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np

from ..core import large_store, pyramid_cache
from ..core.chunked_mask import ChunkedMask
from ..core.large_edit import WINDOW, window_origin, window_shape
from ..core.pyramid import PyramidSource

if TYPE_CHECKING:
    from ..core.project import ImageRecord, Project
    from .document import ImageDocument


@dataclass
class LargeImage:
    source: PyramidSource
    mask: ChunkedMask | None = None          # the human mask shown (None: none yet)
    prediction: ChunkedMask | None = None
    origin: tuple[int, int] = (0, 0)          # the editing window's top-left (y, x)
    building: bool = False                    # ``source`` is a preview; the cache is due
    warnings: list[str] = field(default_factory=list)

    @property
    def width(self) -> int:
        return self.source.width

    @property
    def height(self) -> int:
        return self.source.height

    @property
    def shape(self) -> tuple[int, int]:
        return self.source.height, self.source.width

    @property
    def window_shape(self) -> tuple[int, int]:
        return window_shape(self.shape, WINDOW)

    def window_rect(self, origin: tuple[int, int] | None = None) -> tuple[int, int, int, int]:
        oy, ox = self.origin if origin is None else origin
        wh, ww = self.window_shape
        return oy, ox, oy + wh, ox + ww

    def read_window(self, origin: tuple[int, int] | None = None) -> np.ndarray:
        """The image under the window (level 0)."""
        y0, x0, y1, x1 = self.window_rect(origin)
        return np.ascontiguousarray(self.source.read(0, y0, x0, y1, x1))

    def mask_window(self, which: ChunkedMask | None,
                    origin: tuple[int, int] | None = None) -> np.ndarray | None:
        if which is None:
            return None
        y0, x0, y1, x1 = self.window_rect(origin)
        return which.read(0, y0, x0, y1, x1)

    def label_at(self, which: ChunkedMask | None, x: int, y: int) -> int | None:
        """The id at full-resolution (x, y) when its chunk is in memory (no read on the
        GUI thread for a readout)."""
        if which is None or not (0 <= x < self.width and 0 <= y < self.height):
            return None
        key = (0, y // 512, x // 512)
        if not which.has(key):
            return None
        return int(which.chunk(key)[y % 512, x % 512])


def open_source(project: Project, rec: ImageRecord) -> tuple[PyramidSource, bool]:
    """The image's pyramid, or its quick preview when the cache is still to be built."""
    path = project.image_path(rec)
    source = pyramid_cache.open_large(path, project.cache_dir)
    if source is not None:
        return source, False
    assert rec.width is not None and rec.height is not None
    return pyramid_cache.PreviewSource(path, rec.width, rec.height,
                                       pyramid_cache.preview(path)), True


def load_large(project: Project, rec: ImageRecord, doc: ImageDocument) -> None:
    """Fill ``doc`` for a large image (on the loader thread): the pyramid (or preview),
    the label layers, and the window at the image's centre."""
    source, building = open_source(project, rec)
    large = LargeImage(source, building=building)
    try:
        if large_store.has_chunked_mask(project, rec) or project.mask_path(rec).is_file():
            large.mask, _ = large_store.open_human_mask(project, rec)
        large.prediction = large_store.open_prediction(project, rec)
    except Exception as exc:  # noqa: BLE001 - a broken label store: shown as a warning
        doc.warnings.append(str(exc))
    large.origin = window_origin((source.height / 2, source.width / 2), large.shape)
    doc.large = large
    doc.display = large.read_window()
    doc.mask = large.mask_window(large.mask)
    doc.prediction = large.mask_window(large.prediction)


def build_cache_job(project: Project, rec: ImageRecord):
    """A worker job: build the pyramid cache of a flat large image; returns the source."""
    path, cache = project.image_path(rec), project.cache_dir

    def job(ctx) -> PyramidSource | None:
        pyramid_cache.build_cache(path, cache, ctx.progress)
        return pyramid_cache.open_large(path, cache)

    return job
