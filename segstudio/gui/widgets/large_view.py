"""The canvas's side of a large image: its tiled layers and the editing window's origin.

:class:`LargeView` owns four tiled layers (:mod:`.tiled_layers`,
:mod:`.tiled_labels`): the image (through the display adjustment), the prediction
and the human mask (filled or outlined, as the overlay style says) and their
difference, in the canvas's scene.  Scene coordinates are the
editing window's (:mod:`..large_doc`): every layer sits at ``-origin``, so the
tools, which work in window coordinates, need no change; moving the window shifts
the layers and the scene rectangle and scrolls the view by as much, so nothing
moves on screen.

A document opened on its preview (no pyramid cache yet) gets its cache from the
controller (:mod:`..large_controller`); :meth:`LargeView.window_changed` swaps the
tiles in when it is done.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtCore import QRectF

from ..workers import WorkerService
from .tiled_labels import DIFFERENCE, FILL, OUTLINE, TiledLabelLayer
from .tiled_layers import TiledImageLayer

if TYPE_CHECKING:
    from ..document import ImageDocument
    from ..large_doc import LargeImage
    from ..overlay import OverlayStyle
    from .canvas import Canvas


class LargeView:
    def __init__(self, canvas: Canvas, workers: WorkerService) -> None:
        self.canvas = canvas
        self.workers = workers
        self.image = TiledImageLayer(0, workers)
        self.prediction = TiledLabelLayer(10, workers, "prediction-tiles")
        self.mask = TiledLabelLayer(20, workers, "mask-tiles")
        self.difference = TiledLabelLayer(40, workers, "difference-tiles")
        for item in self.layers():
            item.setVisible(False)
            canvas.scene().addItem(item)
        self.doc: ImageDocument | None = None
        self.origin = (0, 0)

    def layers(self) -> tuple[TiledImageLayer, TiledLabelLayer, TiledLabelLayer,
                              TiledLabelLayer]:
        return self.image, self.prediction, self.mask, self.difference

    @property
    def active(self) -> bool:
        return self.doc is not None

    def show(self, doc: ImageDocument | None) -> None:
        """Show ``doc`` (a large one) or nothing."""
        self.doc = doc
        large = None if doc is None else doc.large
        if large is None:
            for item in self.layers():
                item.setVisible(False)
            self.image.set_source(None)
            for layer in self.labels():
                layer.set_mask(None)
            return
        self.image.set_source(large.source)
        self.show_labels()
        self.image.setVisible(True)
        self.set_origin(large.origin, scroll=False)

    def window_changed(self) -> None:
        """The document's window moved or its pyramid was built: follow it."""
        large = None if self.doc is None else self.doc.large
        if large is None:
            return
        if self.image.source is not large.source:
            self.image.set_source(large.source)
        self.show_labels()
        if large.origin != self.origin:
            self.set_origin(large.origin)

    def labels(self) -> tuple[TiledLabelLayer, TiledLabelLayer, TiledLabelLayer]:
        return self.prediction, self.mask, self.difference

    def show_labels(self) -> None:
        large = None if self.doc is None else self.doc.large
        if large is not None:
            self.mask.set_mask(large.mask)
            self.prediction.set_mask(large.prediction)
            self.difference.set_mask(large.mask)
            self.difference.set_mode(DIFFERENCE, ignore=self.difference.ignore,
                                     other=large.prediction)

    def apply_style(self, st: OverlayStyle, large: LargeImage, colors: list[int],
                    outline: list[int], difference: list[int], hole: int,
                    ignore: int | None) -> None:
        """The overlay style on the tiled label layers: filled or outlined labels (the
        outline at each level's own pixels), the difference of mask and prediction."""
        for layer, which, shown in ((self.mask, large.mask, st.show_mask),
                                    (self.prediction, large.prediction, st.show_prediction)):
            layer.set_mode(OUTLINE if st.outline else FILL, hole=hole)
            layer.set_color_table(outline if st.outline else colors)
            layer.setVisible(shown and which is not None)
        self.difference.set_mode(DIFFERENCE, ignore=ignore, other=large.prediction)
        self.difference.set_color_table(difference)
        self.difference.setVisible(st.difference and large.mask is not None
                                   and large.prediction is not None)

    def scene_rect(self) -> QRectF:
        large = self.doc.large
        oy, ox = self.origin
        return QRectF(-ox, -oy, large.width, large.height)

    def set_origin(self, origin: tuple[int, int], scroll: bool = True) -> None:
        """Scene coordinates become those of the window at ``origin``; the picture stays."""
        dy, dx = origin[0] - self.origin[0], origin[1] - self.origin[1]
        self.origin = origin
        for item in self.layers():
            item.setPos(-origin[1], -origin[0])
        canvas = self.canvas
        if scroll and (dx or dy):
            centre = canvas.mapToScene(canvas.viewport().rect().center())
            canvas.scene().setSceneRect(self.scene_rect())
            canvas.centerOn(centre.x() - dx, centre.y() - dy)
        else:
            canvas.scene().setSceneRect(self.scene_rect())
