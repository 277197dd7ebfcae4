"""How the image browser draws a row: thumbnail, file name, status badge and the numbers
that fit whole after it (uncertainty, IoU; "other model" for a prediction that is not
the current model's)."""

from __future__ import annotations

from PySide6.QtCore import QModelIndex, QRect, QSize, Qt
from PySide6.QtGui import QColor, QFont, QFontMetrics, QPainter, QPen
from PySide6.QtWidgets import QStyle, QStyledItemDelegate

from ...core.project import ImageRecord
from ..overlay import status_rgb

ROW_HEIGHT = 64
THUMB_BOX = QSize(80, 56)


class BrowserDelegate(QStyledItemDelegate):
    """Thumbnail, file name, status badge and (when known) uncertainty / IoU."""

    def sizeHint(self, option, index) -> QSize:
        return QSize(200, ROW_HEIGHT)

    def paint(self, painter: QPainter, option, index: QModelIndex) -> None:
        # ask the model directly: a None travelling through QVariant and back can
        # corrupt None's reference count in PySide (seen as a fatal none_dealloc)
        model = index.model()
        rec = model.record(index.row())
        if rec is None:
            return
        painter.save()
        r = option.rect
        pal = option.palette
        selected = bool(option.state & QStyle.StateFlag.State_Selected)
        if selected:
            painter.fillRect(r, pal.highlight())
        elif index.row() % 2:
            painter.fillRect(r, pal.alternateBase())
        text_color = pal.highlightedText().color() if selected else pal.text().color()
        box = QRect(r.left() + 6, r.top() + (r.height() - THUMB_BOX.height()) // 2,
                    THUMB_BOX.width(), THUMB_BOX.height())
        painter.fillRect(box, QColor(30, 30, 32))
        pix = model.thumbs.thumbnail(rec) if rec.usable else None
        error = rec.error or model.thumbs.error(rec.id)
        if pix is not None and not pix.isNull():
            size = pix.size().scaled(box.size(), Qt.AspectRatioMode.KeepAspectRatio)
            target = QRect(0, 0, size.width(), size.height())
            target.moveCenter(box.center())
            painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform, True)
            painter.drawPixmap(target, pix)
        elif error or not rec.usable:
            painter.setPen(QColor(235, 90, 80))
            painter.drawText(box, int(Qt.AlignmentFlag.AlignCenter), "!")
        x = box.right() + 10
        width = r.right() - x - 6
        font = QFont(option.font)
        font.setBold(True)
        painter.setFont(font)
        painter.setPen(text_color)
        fm = QFontMetrics(font)
        painter.drawText(QRect(x, r.top() + 6, width, fm.height()),
                         int(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter),
                         fm.elidedText(rec.name, Qt.TextElideMode.ElideMiddle, width))
        painter.setFont(option.font)
        small = QFontMetrics(option.font)
        status = "unreadable" if (error or not rec.usable) else rec.status
        y = r.top() + 10 + fm.height()
        badge_w = small.horizontalAdvance(status) + 12
        badge = QRect(x, y, badge_w, small.height() + 2)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing, True)
        painter.setPen(Qt.PenStyle.NoPen)
        painter.setBrush(QColor(*status_rgb(status)))
        painter.drawRoundedRect(badge, badge.height() / 2, badge.height() / 2)
        painter.setPen(QPen(QColor(255, 255, 255)))
        painter.drawText(badge, int(Qt.AlignmentFlag.AlignCenter), status)
        room = QRect(badge.right() + 8, y, max(0, r.right() - badge.right() - 14), badge.height())
        text = fitted_metrics(record_metrics(rec, model.prediction_current(rec)), small,
                              room.width())
        if text:
            painter.setPen(text_color)
            painter.drawText(room, int(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter),
                             text)
        painter.restore()


def record_metrics(rec: ImageRecord, current: bool | None = None) -> list[str]:
    """The numbers a row shows after its badge: the uncertainty, and the IoU of the
    prediction against the human mask; a prediction of another model than the current
    one (``current`` False) says so instead of a score that does not compare."""
    metrics = []
    if current is False:
        metrics.append("other model")
    elif rec.uncertainty is not None:
        metrics.append(f"unc {rec.uncertainty:.2f}")
    if rec.iou is not None and rec.has_human_mask:
        metrics.append(f"IoU {rec.iou:.2f}")
    return metrics


def fitted_metrics(metrics: list[str], fm: QFontMetrics, width: int) -> str:
    """The metrics that fit whole in ``width`` pixels, in order: a number cut in half
    ("IoU 0.(") reads as another number; the row's tooltip has them all."""
    shown: list[str] = []
    for m in metrics:
        if fm.horizontalAdvance("  ".join([*shown, m])) > width:
            break
        shown.append(m)
    return "  ".join(shown)
