"""Driving the editor through the canvas viewport as a user would (qtbot)."""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QPoint, QPointF, Qt

from .conftest import open_and_wait, wait_document

LEFT = Qt.MouseButton.LeftButton
NOMOD = Qt.KeyboardModifier.NoModifier
CTRL = Qt.KeyboardModifier.ControlModifier


def view_point(canvas, x: float, y: float) -> QPoint:
    """The viewport pixel over image position (x, y)."""
    p = canvas.viewportTransform().map(QPointF(x, y))
    return QPoint(round(p.x()), round(p.y()))


def image_pos(canvas, vp: QPoint) -> tuple[float, float]:
    """The image position the canvas maps viewport pixel ``vp`` to (as tools get it)."""
    p = canvas.viewportTransform().inverted()[0].map(QPointF(vp))
    return p.x(), p.y()


def drag(qtbot, canvas, points: list[QPoint], button=LEFT, modifier=NOMOD) -> list[tuple]:
    """Press at the first viewport point, move through the others, release at the
    last; returns the image positions the tool received."""
    vp = canvas.viewport()
    qtbot.mousePress(vp, button, modifier, points[0])
    for p in points[1:]:
        qtbot.mouseMove(vp, p)
    qtbot.mouseRelease(vp, button, modifier, points[-1])
    return [image_pos(canvas, p) for p in points]


def click(qtbot, canvas, p: QPoint, button=LEFT, modifier=NOMOD) -> tuple[float, float]:
    qtbot.mouseClick(canvas.viewport(), button, modifier, p)
    return image_pos(canvas, p)


def open_editor(qtbot, window, folder, relpath: str = "scene_1.png", zoom: float | None = 3.0,
                center=(60, 40)):
    """Open ``folder`` on ``relpath``, zoomed so image positions are fractional."""
    open_and_wait(qtbot, window, folder)
    if window.canvas.document().rec.relpath != relpath:
        rec = next(r for r in window.controller.records if r.relpath == relpath)
        window.browser.select_image(rec.id)
        wait_document(qtbot, window, relpath)
    canvas = window.canvas
    if zoom is not None:
        canvas.set_zoom(zoom)
        canvas.centerOn(*center)
    canvas.setFocus()
    return canvas


def segment_disc_brute(points: list[tuple[float, float]], radius: int,
                       shape: tuple[int, int]) -> np.ndarray:
    """Pixels whose centre is within ``radius`` of the polyline through the pixels
    under ``points``, by brute force in exact integers (independent of the core)."""
    h, w = shape
    yy, xx = np.mgrid[0:h, 0:w].astype(np.int64)
    pts = [(int(np.floor(x)), int(np.floor(y))) for x, y in points]
    out = np.zeros(shape, bool)
    r2 = radius * radius
    pairs = zip(pts, pts[1:], strict=False) if len(pts) > 1 else [(pts[0], pts[0])]
    for (ax, ay), (bx, by) in pairs:
        for cx, cy in ((ax, ay), (bx, by)):
            out |= (xx - cx) ** 2 + (yy - cy) ** 2 <= r2
        dx, dy = bx - ax, by - ay
        l2 = dx * dx + dy * dy
        if l2 == 0:
            continue
        u, v = xx - ax, yy - ay
        t = u * dx + v * dy
        cross = u * dy - v * dx
        out |= (t >= 0) & (t <= l2) & (cross * cross <= r2 * l2)
    return out
