"""Magic wand: click to preview the region of similar colour, adjust, then apply.

* Left click: the flood region of colours within the tolerance of the clicked
  pixel's (exactly the Fill tool's colour mode,
  :func:`~segstudio.core.smart.wand.wand_region`), computed on a worker and
  shown tinted with the active class's colour, its edge outlined.
* Changing the tolerance (tool bar) recomputes the preview from the same pixel.
  Each computation is a new generation: an older result that arrives late is
  dropped, as is one for an image no longer on screen.
* Enter, or a second click on the same pixel, paints the previewed region with
  the active class as one undo step (Enter while it is still computing paints it
  when it arrives).  Esc drops the preview.
"""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QColor

from ...core.footprint import pixel_of
from ...core.smart.wand import preview_array, wand_fill, wand_region
from .base import EditTool
from .smart_overlay import IndexedOverlay, class_qcolor, still_shown

EDGE = QColor(255, 255, 255, 235)
TINT_ALPHA = 110


class WandTool(EditTool):
    name = "wand"
    label = "Wand"
    shortcut = "Shift+F"
    tip = ("Magic wand: click previews the region of similar colour (the tolerance changes it "
           "live); Enter or a second click on the same pixel fills it with the active class")

    def __init__(self, editor) -> None:
        super().__init__(editor)
        self.seed: tuple[int, int] | None = None
        self.preview = None          # (tolerance, (y0, x0, sel)) for the seed, once computed
        self.computing = None        # TaskHandle
        self.apply_when_ready = False
        self._computing_tol: int | None = None
        self.overlay = self.add_item(IndexedOverlay([QColor(0, 0, 0, 0), EDGE]))
        self.overlay.setVisible(False)

    @property
    def busy(self) -> bool:
        return self.seed is not None

    def hint(self) -> str:
        name = self.editor.class_name(self.editor.active_class)
        tol = self.editor.tolerance
        if self.seed is None:
            return f"Wand: click a pixel to preview its region of similar colour (tolerance {tol})"
        if self.computing is not None:
            return f"Wand: finding the region (tolerance {tol}) …"
        if self.preview is None:
            return "Wand: click a pixel inside the image"
        n = int(self.preview[1][2].sum())
        return (f"Wand: {n:,} px at tolerance {tol} (change it in the tool bar); Enter or a "
                f"click on the same pixel fills with {name}; Esc drops it")

    # -- preview ------------------------------------------------------------------------
    def _colors(self) -> list[QColor]:
        return [class_qcolor(self.editor, self.editor.active_class, TINT_ALPHA), EDGE]

    def compute(self) -> None:
        """(Re)compute the preview of the seed at the current tolerance on a worker."""
        doc = self.editor.document()
        if doc is None or not doc.ok or self.seed is None:
            return
        (x, y), tol = self.seed, self.editor.tolerance
        image, image_id = doc.display, doc.rec.id

        def job(ctx):
            region = wand_region(image, x + 0.5, y + 0.5, tol)
            return tol, region, None if region is None else preview_array(region[2])

        def done(result):
            self.computing = None
            self.editor.busy_message("")
            tol_done, region, shown = result
            if not still_shown(self.editor, doc, image_id) or self.seed != (x, y) \
                    or tol_done != self.editor.tolerance:
                self.hint_changed()
                return
            self.preview = None if region is None else (tol_done, region)
            if region is None:
                self.overlay.show_array(None)
            else:
                self.overlay.set_colors(self._colors())
                self.overlay.show_array(shown, region[1], region[0])
            self.hint_changed()
            if self.apply_when_ready:
                self.apply()

        def failed(message: str):
            self.computing = None
            self.editor.busy_message("")
            self.apply_when_ready = False
            self.hint_changed()
            self.editor.message(f"the wand failed: {message}")

        self.preview = None
        self._computing_tol = tol
        self.editor.busy_message("Wand: finding the region …")
        self.computing = self.editor.runner.submit(job, key="wand", on_result=done,
                                                   on_error=failed)
        self.hint_changed()

    def apply(self) -> bool:
        """Paint the previewed region (or once it arrives); False when there is none."""
        if self.seed is None:
            return False
        if self.preview is None or self.preview[0] != self.editor.tolerance:
            if self.computing is not None:
                self.apply_when_ready = True
                return True
            return False
        value = self.editor.require_class()
        if value is None:
            self.apply_when_ready = False
            return False
        region, allowed = self.preview[1], self.editor.allowed()
        self.clear()
        self.editor.apply(lambda mask: wand_fill(mask, region, value, allowed=allowed),
                          wait_for_tool=True)
        return True

    # -- events ----------------------------------------------------------------------------
    def mouse_press(self, ev) -> bool:
        if ev.button != Qt.MouseButton.LeftButton:
            return False
        if not ev.inside:
            return True
        p = pixel_of(ev.pos.x(), ev.pos.y())
        if p == self.seed:
            self.apply()
            return True
        self.seed = p
        self.apply_when_ready = False
        self.overlay.show_array(None)
        self.compute()
        return True

    def key_press(self, event) -> bool:
        key = event.key()
        if key in (Qt.Key.Key_Return, Qt.Key.Key_Enter) and self.seed is not None:
            self.apply()
            return True
        if key == Qt.Key.Key_Escape and self.seed is not None:
            self.clear()
            return True
        return False

    def options_changed(self) -> None:
        if self.seed is None or self.canvas is None:
            return
        tol = self.editor.tolerance
        if self.preview is not None and self.preview[0] == tol:
            self.overlay.set_colors(self._colors())  # the class may have changed
            return
        if self.computing is None or self._computing_tol != tol:
            self.compute()

    def clear(self) -> None:
        if self.computing is not None:
            self.editor.runner.cancel("wand")
            self.computing = None
            self.editor.busy_message("")
        self.seed, self.preview, self.apply_when_ready = None, None, False
        self.overlay.show_array(None)
        self.hint_changed()

    def abort(self) -> None:
        self.clear()

    def document_changed(self) -> None:
        self.clear()
