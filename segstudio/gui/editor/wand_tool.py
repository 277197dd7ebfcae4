"""Magic wand: click to preview the region of similar colour, adjust, then apply.

* Left click: the flood region of colours within the tolerance of the clicked
  pixel's (:func:`~segstudio.core.smart.wand.wand_region`), computed on a worker
  and shown tinted with the active class's colour, its edge outlined.
* Changing the tolerance (tool bar) recomputes the preview from the same pixel
  (each a new request: an older result that arrives late is dropped).
* Enter (on the canvas or in the tolerance box), or a second click on the same
  pixel, paints the previewed region with the active class as one undo step
  (while it is still computing: once it arrives).  Esc drops the preview.
"""

from __future__ import annotations

from PySide6.QtCore import Qt

from ...core.footprint import pixel_of
from ...core.smart.wand import preview_array, wand_fill, wand_region
from .smart_base import PreviewTool
from .smart_overlay import TINT_ALPHA, RegionOverlay, class_qcolor


class WandTool(PreviewTool):
    name = "wand"
    label = "Wand"
    shortcut = "Shift+F"
    tip = ("Magic wand: click previews the region of similar colour (the tolerance changes it "
           "live); Enter or a second click on the same pixel fills it with the active class")
    what = "wand"

    def __init__(self, host) -> None:
        super().__init__(host)
        self.seed: tuple[int, int] | None = None
        self._asked_tol: int | None = None   # the tolerance of the latest request
        self.overlay = self.add_item(RegionOverlay())

    @property
    def busy(self) -> bool:
        return self.seed is not None

    @property
    def pending(self) -> bool:
        return self.seed is not None

    @property
    def computing(self):
        """The task under way, or None."""
        return self.running

    def hint(self) -> str:
        name = self.host.class_name(self.host.active_class)
        tol = self.host.tolerance
        if self.seed is None:
            return f"Wand: click a pixel to preview its region of similar colour (tolerance {tol})"
        if self.job.running:
            return f"Wand: finding the region (tolerance {tol}) …"
        if self.preview is None:
            return "Wand: click a pixel inside the image"
        n = int(self.preview[1][2].sum())
        return (f"Wand: {n:,} px at tolerance {tol} (change it in the tool bar); Enter or a "
                f"click on the same pixel fills with {name}; Esc drops it")

    def _tint(self):
        return class_qcolor(self.host, self.host.active_class, TINT_ALPHA)

    # -- the preview -----------------------------------------------------------------------
    def request(self):
        doc = self.host.document()
        if doc is None or not doc.ok or self.seed is None:
            return None
        self._asked_tol = self.host.tolerance
        return doc.display, self.seed, self._asked_tol

    @staticmethod
    def compute(inputs):
        image, (x, y), tol = inputs
        region = wand_region(image, x + 0.5, y + 0.5, tol)
        return tol, region, None if region is None else preview_array(region[2])

    def busy_text(self, inputs) -> str:
        return "Wand: finding the region …"

    def show_preview(self, result):
        if result is None or result[1] is None:
            self.overlay.show(None)
            return None
        tol, region, shown = result
        self.overlay.show(shown, region[1], region[0], [self._tint()])
        return tol, region

    def paint_op(self, preview, value, allowed):
        region = preview[1]
        return lambda mask: wand_fill(mask, region, value, allowed=allowed)

    def nothing_text(self) -> str:
        return "Wand: click a pixel inside the image first"

    # -- events ----------------------------------------------------------------------------
    def mouse_press(self, ev) -> bool:
        if ev.button != Qt.MouseButton.LeftButton:
            return False
        if not ev.inside:
            return True
        p = pixel_of(ev.pos.x(), ev.pos.y())
        if p == self.seed:
            self.accept()
            return True
        self.seed = p
        self._accept_when_ready = False
        self.preview = None
        self.overlay.show(None)
        self.run()
        return True

    def options_entered(self) -> None:
        if self.seed is not None:
            self.accept()

    def options_changed(self) -> None:
        if self.seed is None or self.canvas is None:
            return
        self.overlay.retint([self._tint()])  # the class may have changed
        if self.host.tolerance != self._asked_tol:
            self.preview = None               # Enter waits for the new tolerance's region
            self.run()

    def forget(self) -> None:
        self.seed = None
        self._asked_tol = None

    def abort(self) -> None:
        self.clear()
