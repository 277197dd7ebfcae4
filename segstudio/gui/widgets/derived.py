"""The canvas's outline and difference layers: started from those the loader made
ahead, computed for the whole image on a worker when first shown, and kept in step
with each edit's rectangle, also while that computation runs.

They are the view's own: the document's ``derived`` layers are only where they
start, and the document itself is never written (see :mod:`..document`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace

from ...core.derived_maps import boundaries
from ..document import DerivedLayers, ImageDocument, update_derived
from ..workers import WorkerService

Rect = tuple[int, int, int, int]  # x0, y0, x1, y1
NAMES = ("outline_mask", "outline_prediction", "difference")


class DerivedKeeper:
    """The derived layers of the document on screen (:attr:`layers`)."""

    def __init__(self, workers: WorkerService):
        self.runner = workers.lane("derived")
        self.layers = DerivedLayers()
        self._doc: ImageDocument | None = None
        self._dirty_while_busy: list[Rect] = []

    def reset(self, doc: ImageDocument | None) -> None:
        """Another document is shown: its loader's layers, nothing in flight."""
        self.runner.cancel()
        self._dirty_while_busy.clear()
        self._doc = doc
        self.layers = DerivedLayers() if doc is None else replace(doc.derived)

    def drop(self, *names: str) -> None:
        """Forget layers made from a mask or prediction that was replaced."""
        for name in names:
            setattr(self.layers, name, None)

    def edited(self, which: str, full: Rect, grown: Rect, hole: int, ignore: int | None) -> None:
        """``which`` ("mask" or "prediction") changed inside ``full`` (``grown``: one pixel
        more, for the outlines)."""
        doc, d = self._doc, self.layers
        if doc is None:
            return
        if self.runner.pending():
            self._dirty_while_busy.append(grown)
        outline = d.outline_mask if which == "mask" else d.outline_prediction
        if outline is not None:
            boundaries(getattr(doc, which), hole, grown, outline)
        if d.difference is not None:
            update_derived(d, doc.mask, doc.prediction, False, True, hole, ignore, full)

    def compute(self, outlines: bool, difference: bool, hole: int, ignore: int | None,
                on_done: Callable[[], None]) -> None:
        """Whole-image layers off the GUI thread; ``on_done()`` once they are in
        :attr:`layers` (not called when another document is shown by then)."""
        doc = self._doc
        if doc is None:
            return
        mask, prediction = doc.mask, doc.prediction
        self._dirty_while_busy.clear()

        def job(ctx):
            scratch = DerivedLayers()
            update_derived(scratch, mask, prediction, outlines, difference, hole, ignore)
            return scratch

        def done(result: DerivedLayers) -> None:
            if self._doc is not doc:
                return
            d = self.layers
            if outlines:
                if doc.mask is mask:
                    d.outline_mask = result.outline_mask
                if doc.prediction is prediction:
                    d.outline_prediction = result.outline_prediction
            if difference and doc.mask is mask and doc.prediction is prediction:
                d.difference = result.difference
            # edits made while the job ran
            for rect in self._dirty_while_busy:
                update_derived(d, doc.mask, doc.prediction, outlines, difference, hole, ignore,
                               rect)
            self._dirty_while_busy.clear()
            on_done()

        self.runner.submit(job, key="derived", on_result=done)
