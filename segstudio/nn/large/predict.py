"""Predicting a large image block by block into a chunked prediction.

The image is read from its pyramid in blocks of ``BLOCK`` pixels (plus a ``MARGIN``
of context on each side, cut off again), each predicted as an ordinary image, and
the labels go into a chunked label pyramid (:mod:`segstudio.core.chunked_mask`)
written after every block, so memory holds about one block and its chunks whatever
the image's size.  The new prediction is made in a temp folder and replaces the old
one only once complete (with its database row); progress is reported per block.
No entropy map is kept for a large image; its uncertainty is the blocks' mean.
"""

from __future__ import annotations

import math
import shutil
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Protocol

import numpy as np

from ...core.atomic import temp_name
from ...core.chunked_mask import ChunkedMask, replace_dir
from ...core.large_store import prediction_store_path
from ...core.project import ImageRecord, Project

if TYPE_CHECKING:
    from ..inference import PredictionResult


class Predictor(Protocol):
    """What a block needs: a :class:`~.inference.Predictor` (or a stand-in)."""

    @property
    def checkpoint_path(self) -> str | None: ...

    def predict(self, image: np.ndarray) -> PredictionResult: ...

BLOCK = 2048
MARGIN = 64


def predict_large(project: Project, rec: ImageRecord, predictor: Predictor,
                  progress: Callable[[int, int], None] | None = None,
                  block: int = BLOCK, margin: int = MARGIN) -> tuple[ImageRecord, float]:
    """Predict ``rec`` block by block; returns the new record and its uncertainty."""
    from ...core.pyramid_cache import build_cache, open_large

    image = project.image_path(rec)
    source = open_large(image, project.cache_dir)
    if source is None:
        build_cache(image, project.cache_dir)
        source = open_large(image, project.cache_dir)
    assert source is not None and rec.width is not None and rec.height is not None
    h, w = rec.height, rec.width
    dest = prediction_store_path(project, rec)
    tmp = temp_name(dest)
    blocks = [(y, x) for y in range(0, h, block) for x in range(0, w, block)]
    total_unc = 0.0
    try:
        out = ChunkedMask(tmp, (h, w), int(project.classes.unlabelled_value()))
        colors = {c.id: c.color for c in project.classes.classes}
        for i, (y, x) in enumerate(blocks):
            y0, x0 = max(0, y - margin), max(0, x - margin)
            y1, x1 = min(h, y + block + margin), min(w, x + block + margin)
            res = predictor.predict(source.read(0, y0, x0, y1, x1))
            by1, bx1 = min(h, y + block), min(w, x + block)
            labels = res.labels[y - y0:by1 - y0, x - x0:bx1 - x0]
            out.write(y, x, labels)
            out.save(out.snapshot(), colors)  # the block's chunks leave memory
            total_unc += res.uncertainty * labels.size
            if progress is not None:
                progress(i + 1, len(blocks))
        replace_dir(tmp, dest)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    finally:
        source.close()
    unc = total_unc / (h * w)
    now = time.time()
    project.db.execute(
        "UPDATE images SET predicted_at=?, predicted_by=?, predicted_epoch=?, uncertainty=?,"
        " status=CASE WHEN status IN ('unlabelled','predicted') THEN 'predicted'"
        " ELSE status END,"
        " status_at=CASE WHEN status='unlabelled' THEN ? ELSE status_at END WHERE id=?",
        (now, predictor.checkpoint_path, getattr(predictor.checkpoint_path, "epoch", None),
         unc if math.isfinite(unc) else None, now, rec.id))
    return project.image(rec.id), unc

