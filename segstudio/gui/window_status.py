"""The main window's status-bar readouts: the pixel under the cursor (else the image's
name, size and status), the zoom, and the progress of a long task; and the line that
says how a training run ended (:func:`finished_message`)."""

from __future__ import annotations

from PySide6.QtCore import QRect, Qt
from PySide6.QtGui import QPainter
from PySide6.QtWidgets import QLabel, QProgressBar, QStatusBar, QStyle, QStyleOption, QWidget

from .widgets.canvas import Canvas

BUSY_MAX_WIDTH = 420  # the status bar's progress bar, at most


class MessageBar(QStatusBar):
    """The window's status bar: a note ends ``GAP`` pixels before the readouts on the
    right (x, y, class, zoom), shortened in the middle with "…" when it is longer (Qt's
    own ran into them: "…Road 1.000x 419 y 26"); the whole note is the bar's tooltip."""

    GAP = 16

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self._permanent: list[QWidget] = []
        self.messageChanged.connect(self.setToolTip)

    def addPermanentWidget(self, widget: QWidget, stretch: int = 0) -> None:
        self._permanent.append(widget)
        super().addPermanentWidget(widget, stretch)

    def message_rect(self) -> QRect:
        """Where the note is drawn: from the left edge to the first readout, less GAP."""
        right = self.width() - 12
        shown = [w.x() for w in self._permanent if w.isVisible()]
        if shown:
            right = min(shown) - self.GAP
        return QRect(6, 0, max(0, right - 6), self.height())

    def shown_message(self) -> str:
        """The note as drawn (elided to fit)."""
        return self.fontMetrics().elidedText(self.currentMessage(), Qt.TextElideMode.ElideMiddle,
                                             self.message_rect().width())

    def paintEvent(self, event) -> None:
        if not self.currentMessage():
            super().paintEvent(event)
            return
        painter = QPainter(self)  # what QStatusBar paints, with the note kept in its room
        opt = QStyleOption()
        opt.initFrom(self)
        self.style().drawPrimitive(QStyle.PrimitiveElement.PE_PanelStatusBar, opt, painter, self)
        for w in self._permanent:
            if w.isVisible():
                opt.rect = w.geometry().adjusted(-2, -1, 2, 1)
                self.style().drawPrimitive(QStyle.PrimitiveElement.PE_FrameStatusBarItem, opt,
                                           painter, w)
        painter.setPen(self.palette().windowText().color())
        painter.drawText(self.message_rect(), int(Qt.AlignmentFlag.AlignLeading
                                                  | Qt.AlignmentFlag.AlignVCenter
                                                  | Qt.TextFlag.TextSingleLine),
                         self.shown_message())
        painter.end()


class StatusReadout:
    """The permanent widgets of ``bar``, following ``canvas``."""

    def __init__(self, bar: QStatusBar, canvas: Canvas, parent: QWidget):
        self.canvas = canvas
        self.pixel_label = QLabel(parent)
        self.pixel_label.setMinimumWidth(200)
        self.zoom_label = QLabel(parent)
        self.zoom_label.setMinimumWidth(80)
        self.busy_bar = QProgressBar(parent)
        self.busy_bar.setVisible(False)
        bar.addPermanentWidget(self.pixel_label)
        bar.addPermanentWidget(self.busy_bar)
        bar.addPermanentWidget(self.zoom_label)
        canvas.pixel_hovered.connect(self.pixel_hovered)
        canvas.zoom_changed.connect(lambda z: self.zoom_label.setText(f"Zoom {z * 100:.0f} %"))

    def pixel_hovered(self, x: int, y: int) -> None:
        """The pixel (x, y) under the cursor; (-1, -1): the image on screen instead."""
        text = self.canvas.describe_pixel(x, y)
        doc = self.canvas.document()
        if not text and doc is not None and doc.ok:
            text = f"{doc.rec.relpath}   {doc.width} x {doc.height}   {doc.rec.status}"
        self.pixel_label.setText(text)

    def hovering(self) -> bool:
        """Whether the readout shows a pixel (not the image)."""
        return self.pixel_label.text().startswith("x ")

    def show_busy(self, label: str, done: int, total: int) -> None:
        """A long task's progress (total 0: it finished)."""
        running = total > 0
        self.busy_bar.setVisible(running)
        if running:
            self.busy_bar.setRange(0, total)
            self.busy_bar.setValue(done)
            fm = self.busy_bar.fontMetrics()
            text = fm.elidedText(label, Qt.TextElideMode.ElideMiddle, BUSY_MAX_WIDTH - 60)
            self.busy_bar.setFormat(f"{text} %p%")
            # wide enough for its whole text (it was clipped at 180 px)
            self.busy_bar.setFixedWidth(min(BUSY_MAX_WIDTH,
                                            fm.horizontalAdvance(f"{text} 100%") + 40))
            self.busy_bar.setToolTip(label)


def run_outcome(status: str, message: str) -> str:
    """"cancelled", "completed: 40 epochs": the status, then the message unless it only
    says the status again ("cancelled: cancelled")."""
    message = (message or "").strip()
    return status if not message or message.lower() == status.lower() else f"{status}: {message}"


def finished_message(ev, click: bool, active: str | None) -> str:
    """The status bar's line at the end of a run: how it ended and which model is active
    now, read from the project (``active``), never guessed from the run: a round that was
    not better is not made active, and the line must not name it."""
    text = f"Training {run_outcome(ev.status, ev.message)}"
    if click:
        if ev.best_checkpoint and (ev.details or {}).get("activated", True):
            text += f"; the Click tool (C) now uses {ev.best_checkpoint}"
    elif ev.best_checkpoint and active == ev.best_checkpoint:
        text += f"; the active model is {active}"
    elif ev.best_checkpoint:
        kept = f"the active model stays {active}" if active else "no model is active"
        text += f"; this run's best was not made active, {kept}"
    return text
