"""Intelligent scissors: click anchors round an object, the outline snaps to its edges.

* Left click adds an anchor; between the last anchor and the cursor the live
  outline follows the image's edges (:class:`~segstudio.core.smart.scissors.PathMap`,
  built on a worker per anchor, about 0.3 s on a 1024 x 1024 window; until it is
  ready the live outline is a straight line).  On images larger than the window
  the outline snaps within the window round the last anchor and runs straight
  beyond it (the hint says so).
* Clicking near the first anchor, double-clicking or Enter closes the outline
  (once the last anchor's map is built, so the way back snaps too): the enclosed
  region (:func:`~segstudio.core.smart.scissors.scissors_region`, on a worker) is
  painted with the class active at closing, as one undo step.
* Backspace removes the last anchor, Esc clears (and drops a run in progress).
  A result that comes back after another image was asked for is dropped
  (:mod:`.tool_jobs`).
"""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QPointF, Qt
from PySide6.QtGui import QColor

from ...core import edits
from ...core.footprint import pixel_of
from ...core.smart.scissors import WINDOW, PathMap, join_paths, scissors_region, straight_path
from .base import PathOverlay, near_on_screen, pen_pad
from .smart_base import SmartTool
from .smart_overlay import DotsOverlay, centres
from .tool_jobs import ToolJob

LIVE_COLOR = QColor(255, 220, 60, 240)
MIN_ANCHORS = 2       # two anchors and the way back already enclose something


class ScissorsTool(SmartTool):
    name = "scissors"
    label = "Scissors"
    shortcut = "S"
    tip = ("Intelligent scissors: click anchors round an object, the outline snaps to its "
           "edges; click the first anchor, double-click or Enter fills it with the active class")

    job_key = "scissors-fill"
    what = "scissors"

    def __init__(self, host) -> None:
        super().__init__(host)
        self.anchors: list[tuple[int, int]] = []
        self.segments: list[np.ndarray] = []   # path from anchor i to anchor i + 1
        self.map: PathMap | None = None        # paths from the last anchor, once built
        self.live: np.ndarray | None = None    # last anchor -> cursor
        self._cursor: tuple[float, float] | None = None
        self.path_item = self.add_item(PathOverlay())
        self.live_item = self.add_item(PathOverlay(light=LIVE_COLOR))
        self.dots = self.add_item(DotsOverlay())
        self.maps = ToolJob(host, "scissors-map", "scissors edge map",
                            settled=self.hint_changed)   # the map of the last anchor
        self._close_when_ready = False         # closing waits for that map (snapped way back)
        self._fill: tuple[int, np.ndarray | None] | None = None  # (class, allowed) of the fill

    @property
    def busy(self) -> bool:
        return bool(self.anchors)

    def hint(self) -> str:
        if self.running is not None:
            return "Scissors: filling … (Esc drops it)"
        doc = self.host.document()
        far = (doc is not None and doc.ok and max(doc.width, doc.height) > WINDOW)
        note = (f" (large image: the outline snaps within {WINDOW // 2} px of the last anchor, "
                "straight beyond)") if far else ""
        if not self.anchors:
            return "Scissors: click the first anchor on the object's edge" + note
        snap = "" if self.map is not None else " (reading the edges …)"
        return (f"Scissors{snap}: click anchors along the edge; click the first anchor, "
                f"double-click or Enter fills with "
                f"{self.host.class_name(self.host.active_class)}; Backspace removes the "
                f"last anchor, Esc clears" + note)

    # -- paths ----------------------------------------------------------------------------
    def path_to(self, x: float, y: float) -> np.ndarray:
        """From the last anchor to pixel (x, y): snapped once the map is built, else straight."""
        if self.map is not None and self.anchors and self.map.anchor == self.anchors[-1]:
            return self.map.path_to(x, y)
        doc = self.host.document()
        px, py = pixel_of(x, y)
        if doc is not None and doc.ok:
            px, py = min(max(px, 0), doc.width - 1), min(max(py, 0), doc.height - 1)
        return straight_path(self.anchors[-1], (px, py))

    def outline(self) -> np.ndarray:
        """The closed outline: the segments and the way back to the first anchor."""
        back = self.path_to(self.anchors[0][0] + 0.5, self.anchors[0][1] + 0.5)
        return join_paths([*self.segments, back])

    def _redraw(self) -> None:
        pad = pen_pad(self.canvas) if self.canvas is not None else 2.0
        for item in (self.path_item, self.live_item):
            item.set_pad(pad)
        self.dots.set_pad(pen_pad(self.canvas, 6.0) if self.canvas is not None else 4.0)
        fixed = join_paths(self.segments) if self.segments else (
            np.array(self.anchors[:1], np.int32).reshape(-1, 2))
        self.path_item.set_points(centres(fixed))
        self.live_item.set_points(centres(self.live) if self.live is not None else [])
        self.dots.set_points(centres(self.anchors))

    def _update_live(self) -> None:
        if self.anchors and self._cursor is not None:
            self.live = self.path_to(*self._cursor)
        else:
            self.live = None
        self._redraw()

    # -- anchors ----------------------------------------------------------------------------
    def add_anchor(self, x: float, y: float) -> None:
        doc = self.host.document()
        if doc is None or not doc.ok:
            return
        p = pixel_of(x, y)
        p = (min(max(p[0], 0), doc.width - 1), min(max(p[1], 0), doc.height - 1))
        if self.anchors and p == self.anchors[-1]:
            return
        if self.anchors:
            self.segments.append(self.path_to(p[0] + 0.5, p[1] + 0.5))
        self.anchors.append(p)
        self._build_map()
        self._update_live()
        self.hint_changed()

    def remove_anchor(self) -> None:
        if not self.anchors:
            return
        self.anchors.pop()
        if self.segments:
            self.segments.pop()
        if self.anchors:
            self._build_map()
        else:
            self.clear()
            return
        self._update_live()
        self.hint_changed()

    def _build_map(self) -> None:
        self.map = None
        anchor = self.anchors[-1]
        doc = self.host.document()
        image = doc.display
        self.maps.start(lambda: PathMap(image, anchor), self._map_built,
                        busy="Scissors: reading the edges round the anchor …",
                        on_error=self._map_failed)

    def _map_built(self, pm: PathMap) -> None:
        if not self.anchors or self.anchors[-1] != pm.anchor:
            return
        self.map = pm
        self._update_live()
        if self._close_when_ready:
            self.close_outline()

    def _map_failed(self, message: str) -> None:
        self.host.message(f"the scissors could not read the edges: {message}")
        if self._close_when_ready:
            self.close_outline()   # with a straight way back

    def _near_first(self, ev) -> bool:
        if len(self.anchors) < MIN_ANCHORS or self.canvas is None:
            return False
        fx, fy = self.anchors[0]
        return near_on_screen(self.canvas, ev.pos, QPointF(fx + 0.5, fy + 0.5))

    # -- events ----------------------------------------------------------------------------------
    def mouse_press(self, ev) -> bool:
        if ev.button != Qt.MouseButton.LeftButton:
            return False
        if self.running is not None:
            return True
        if self._near_first(ev):
            self.close_outline()
            return True
        self._cursor = (ev.pos.x(), ev.pos.y())
        self.add_anchor(ev.pos.x(), ev.pos.y())
        return True

    def mouse_move(self, ev) -> bool:
        self._cursor = (ev.pos.x(), ev.pos.y())
        if self.anchors and self.running is None:
            self._update_live()
            return True
        return False

    def mouse_double_click(self, ev) -> bool:
        if ev.button != Qt.MouseButton.LeftButton or self.running is not None:
            return False
        self.add_anchor(ev.pos.x(), ev.pos.y())  # nothing new when its press added it
        self.close_outline()
        return True

    def key_press(self, event) -> bool:
        key = event.key()
        if key in (Qt.Key.Key_Return, Qt.Key.Key_Enter) and self.anchors:
            if self.running is None:
                self.close_outline()
            return True
        if key == Qt.Key.Key_Escape and (self.anchors or self.running is not None):
            self.clear()
            return True
        if key == Qt.Key.Key_Backspace and self.anchors and self.running is None:
            self.remove_anchor()
            return True
        return False

    # -- filling --------------------------------------------------------------------------------
    def close_outline(self) -> bool:
        """Fill the region the outline encloses (on a worker); False when it cannot start."""
        if len(self.anchors) < MIN_ANCHORS:
            self.host.message("the scissors need at least 2 anchors; keep clicking, or Esc")
            return False
        doc = self.host.document()
        value = self.host.require_class()
        if doc is None or not doc.ok or value is None:
            return False
        if self.map is None and self.maps.running:
            self._close_when_ready = True  # the way back snaps too, once the map is there
            return True
        self._close_when_ready = False
        self._fill = (value, self.host.allowed())
        return self.run()

    def request(self):
        doc = self.host.document()
        if doc is None or not doc.ok or self._fill is None:
            return None
        outline = self.outline()
        self.live = None
        self.path_item.set_points(centres(outline))
        self.live_item.set_points([])
        return doc.display, outline

    @staticmethod
    def compute(inputs):
        image, outline = inputs
        return scissors_region(image, outline)

    def busy_text(self, inputs) -> str:
        return "Scissors: filling …"

    def apply(self, region) -> None:
        value, allowed = self._fill
        self.clear()
        if region is None:
            self.host.message("the scissors outline encloses nothing")
            return
        y0, x0, sel = region
        self.host.apply(lambda mask: edits.paint_region(mask, y0, x0, sel, value,
                                                        allowed=allowed, name="Scissors"),
                        wait_for_tool=True)

    def unfinished(self) -> str:
        if self.anchors:
            return ("the scissors outline is still open (Enter fills it, Esc drops it)")
        return super().unfinished()

    def clear(self) -> None:
        """Forget the anchors; drop the map being built and a fill in progress."""
        self.maps.cancel()
        self.job.cancel()
        self._close_when_ready = False
        self._fill = None
        self.anchors, self.segments = [], []
        self.map, self.live = None, None
        self._redraw()
        self.hint_changed()

    def abort(self) -> None:
        """Switching tools or images drops the outline (as the polygon tool does)."""
        self.clear()

    def document_changed(self) -> None:
        self.clear()
