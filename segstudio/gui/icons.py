"""The application icon, drawn in code (nothing to install or find at run time)."""

from __future__ import annotations

from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QColor, QIcon, QPainter, QPainterPath, QPixmap


def _draw(size: int) -> QPixmap:
    pix = QPixmap(size, size)
    pix.fill(Qt.GlobalColor.transparent)
    p = QPainter(pix)
    p.setRenderHint(QPainter.RenderHint.Antialiasing, True)
    s = float(size)
    frame = QRectF(s * 0.06, s * 0.06, s * 0.88, s * 0.88)
    clip = QPainterPath()
    clip.addRoundedRect(frame, s * 0.18, s * 0.18)
    p.setClipPath(clip)
    p.fillRect(frame, QColor(70, 150, 235))                       # sky
    ground = QPainterPath()
    ground.addRect(QRectF(frame.left(), s * 0.55, frame.width(), s))
    p.fillPath(ground, QColor(240, 130, 200))                     # sidewalk
    road = QPainterPath()
    road.moveTo(QPointF(s * 0.47, s * 0.55))
    road.lineTo(QPointF(s * 0.53, s * 0.55))
    road.lineTo(QPointF(s * 0.95, s))
    road.lineTo(QPointF(s * 0.05, s))
    road.closeSubpath()
    p.fillPath(road, QColor(140, 70, 160))                        # road
    p.fillRect(QRectF(s * 0.12, s * 0.22, s * 0.22, s * 0.33), QColor(205, 75, 55))
    p.fillRect(QRectF(s * 0.62, s * 0.30, s * 0.26, s * 0.25), QColor(205, 75, 55))
    p.setClipping(False)
    p.setPen(QColor(255, 255, 255, 230))
    p.setBrush(Qt.BrushStyle.NoBrush)
    p.drawRoundedRect(frame, s * 0.18, s * 0.18)
    p.end()
    return pix


def app_icon() -> QIcon:
    icon = QIcon()
    for size in (16, 32, 64, 128, 256):
        icon.addPixmap(_draw(size))
    return icon
