"""The Review dock: the region on screen, zoomed with its context, and the answer keys.

Only the widgets: :class:`~.controller.ReviewQueue` fills them and hears the
answers.  While the dock has the keyboard focus its keys win over the window's
shortcuts (it claims them in ``ShortcutOverride``): Enter or Y accepts the
prediction, 1-9 label the region with the class of that row of the class panel,
Space or N skips, Backspace goes back.  The class buttons answer by click.
"""

from __future__ import annotations

from PySide6.QtCore import QEvent, QSize, Qt, Signal
from PySide6.QtGui import QColor, QKeyEvent, QPainter, QPixmap
from PySide6.QtWidgets import (
    QCheckBox,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QSizePolicy,
    QSpinBox,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from ...core.classes import ClassTable
from .crops import to_qimage

VIEW = QSize(240, 180)  # each of the two views, as drawn
SMALLEST = QSize(120, 90)  # what a narrow dock may shrink them to (aspect kept)
ACCEPT_KEYS = (Qt.Key.Key_Return, Qt.Key.Key_Enter, Qt.Key.Key_Y)
SKIP_KEYS = (Qt.Key.Key_Space, Qt.Key.Key_N)
DIGITS = {getattr(Qt.Key, f"Key_{n}"): n for n in range(1, 10)}


class FitView(QLabel):
    """A view that draws its picture as large as it fits, its aspect kept, so the dock
    may be narrower than the pictures are made (a laptop's screen)."""

    def __init__(self, parent: QWidget) -> None:
        super().__init__(parent)
        self._pix: QPixmap | None = None

    def setPixmap(self, pix: QPixmap) -> None:  # noqa: N802 - Qt's name
        self._pix = pix
        super().setText("")
        self.update()

    def clear(self) -> None:
        self._pix = None
        super().clear()

    def has_picture(self) -> bool:
        return self._pix is not None

    def sizeHint(self) -> QSize:  # noqa: N802 - Qt's name
        return VIEW

    def minimumSizeHint(self) -> QSize:  # noqa: N802 - Qt's name
        return SMALLEST

    def paintEvent(self, event) -> None:  # noqa: N802 - Qt's name
        if self._pix is None:
            super().paintEvent(event)
            return
        painter = QPainter(self)
        painter.fillRect(self.rect(), QColor("#202020"))
        pix = self._pix.scaled(self.size(), Qt.AspectRatioMode.KeepAspectRatio,
                               Qt.TransformationMode.SmoothTransformation)
        painter.drawPixmap((self.width() - pix.width()) // 2,
                           (self.height() - pix.height()) // 2, pix)
        painter.end()


class ReviewDock(QWidget):
    accept_requested = Signal()
    class_requested = Signal(int)  # class id
    skip_requested = Signal()
    back_requested = Signal()
    refresh_requested = Signal()
    round_settings_changed = Signal(bool, int)  # automatic rounds, answers per round

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self._table: ClassTable | None = None
        self._keyed: list[int] = []  # class id of key 1, 2, ...
        lay = QVBoxLayout(self)
        lay.setContentsMargins(6, 6, 6, 6)
        self.where = QLabel("Open a project to review regions", self)
        self.where.setObjectName("review-where")
        font = self.where.font()
        font.setBold(True)
        self.where.setFont(font)
        lay.addWidget(self.where)
        views = QHBoxLayout()
        self.image_view = self._view("The region (outlined) in its image")
        self.prediction_view = self._view("The model's prediction there")
        views.addWidget(self.image_view)
        views.addWidget(self.prediction_view)
        lay.addLayout(views)
        self.detail = QLabel("", self)
        self.detail.setWordWrap(True)
        lay.addWidget(self.detail)
        row = QHBoxLayout()
        self.accept = self._button("Accept (Enter)", "Take the prediction for this region",
                                   self.accept_requested.emit)
        self.skip = self._button("Skip (Space)", "Leave this region for now",
                                 self.skip_requested.emit)
        self.back = self._button("Back (⌫)", "The previous region", self.back_requested.emit)
        for b in (self.accept, self.skip, self.back):
            row.addWidget(b)
        lay.addLayout(row)
        self.classes_box = QWidget(self)
        self.classes_grid = QGridLayout(self.classes_box)
        self.classes_grid.setContentsMargins(0, 0, 0, 0)
        lay.addWidget(self.classes_box)
        rounds = QHBoxLayout()
        self.auto_round = QCheckBox("Train a round every", self)
        self.auto_round.setChecked(True)
        self.round_size = QSpinBox(self)
        self.round_size.setRange(5, 100_000)
        self.round_size.setSuffix(" answers")
        self.round_size.setFocusPolicy(Qt.FocusPolicy.ClickFocus)
        self.auto_round.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        rounds.addWidget(self.auto_round)
        rounds.addWidget(self.round_size)
        rounds.addStretch(1)
        lay.addLayout(rounds)
        self.auto_round.toggled.connect(self._rounds_changed)
        self.round_size.valueChanged.connect(self._rounds_changed)
        bottom = QHBoxLayout()
        self.status = QLabel("", self)
        self.status.setWordWrap(True)
        self.refresh = self._button("Propose regions", "Score every image's superpixels with "
                                    "the active model (on a worker)", self.refresh_requested.emit)
        bottom.addWidget(self.status, 1)
        bottom.addWidget(self.refresh)
        lay.addLayout(bottom)
        lay.addStretch(1)

    def _view(self, tip: str) -> FitView:
        v = FitView(self)
        v.setMinimumSize(SMALLEST)
        v.setMaximumSize(VIEW)
        v.setAlignment(Qt.AlignmentFlag.AlignCenter)
        v.setStyleSheet("background: #202020; color: #c0c0c0")
        v.setToolTip(tip)
        v.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Preferred)
        return v

    def _button(self, text: str, tip: str, slot) -> QPushButton:
        b = QPushButton(text, self)
        b.setToolTip(tip)
        b.setFocusPolicy(Qt.FocusPolicy.NoFocus)  # the keys stay the dock's
        b.clicked.connect(lambda _=False: slot())
        return b

    # -- filling -------------------------------------------------------------------------
    def set_classes(self, table: ClassTable) -> None:
        """One button per class that keys 1-9 reach (the class panel's first rows)."""
        self._table = table
        while self.classes_grid.count():
            item = self.classes_grid.takeAt(0)
            if item.widget() is not None:
                item.widget().deleteLater()
        self._keyed = [c.id for c in table.classes[:9]]
        for i, c in enumerate(table.classes[:9]):
            b = QToolButton(self.classes_box)
            b.setText(f"{i + 1} {c.name}")
            pix = QPixmap(10, 10)
            pix.fill(QColor(*c.color))
            b.setIcon(pix)
            b.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
            b.setFocusPolicy(Qt.FocusPolicy.NoFocus)
            b.setEnabled(not c.ignore)
            b.setToolTip(f"{i + 1}: the whole region is {c.name}")
            b.clicked.connect(lambda _=False, cid=c.id: self.class_requested.emit(cid))
            self.classes_grid.addWidget(b, i // 3, i % 3)

    def set_rounds(self, auto: bool, every: int) -> None:
        self.auto_round.blockSignals(True)
        self.round_size.blockSignals(True)
        self.auto_round.setChecked(auto)
        self.round_size.setValue(every)
        self.auto_round.blockSignals(False)
        self.round_size.blockSignals(False)

    def _rounds_changed(self, *_args) -> None:
        self.round_settings_changed.emit(self.auto_round.isChecked(), self.round_size.value())

    def show_region(self, where: str, detail: str, views) -> None:
        self.where.setText(where)
        self.detail.setText(detail)
        if views is None:
            for v in (self.image_view, self.prediction_view):
                v.clear()
                v.setText("…")
            return
        left, right = views
        self.image_view.setPixmap(QPixmap.fromImage(to_qimage(left)))
        self.prediction_view.setPixmap(QPixmap.fromImage(to_qimage(right)))

    def show_empty(self, where: str, detail: str) -> None:
        self.where.setText(where)
        self.detail.setText(detail)
        for v in (self.image_view, self.prediction_view):
            v.clear()

    def set_answerable(self, on: bool) -> None:
        for b in (self.accept, self.skip, self.back):
            b.setEnabled(on)
        self.classes_box.setEnabled(on)

    # -- keys ----------------------------------------------------------------------------
    def _claims(self, e: QKeyEvent) -> bool:
        mods = e.modifiers() & ~Qt.KeyboardModifier.KeypadModifier
        if mods != Qt.KeyboardModifier.NoModifier:
            return False
        k = e.key()
        return k in ACCEPT_KEYS or k in SKIP_KEYS or k in DIGITS or k == Qt.Key.Key_Backspace

    def event(self, e) -> bool:
        if e.type() == QEvent.Type.ShortcutOverride and self._claims(e):
            e.accept()  # the dock's key, not the window's shortcut
            return True
        return super().event(e)

    def keyPressEvent(self, e: QKeyEvent) -> None:
        if not self._claims(e):
            super().keyPressEvent(e)
            return
        k = e.key()
        if k in ACCEPT_KEYS:
            self.accept_requested.emit()
        elif k in SKIP_KEYS:
            self.skip_requested.emit()
        elif k == Qt.Key.Key_Backspace:
            self.back_requested.emit()
        else:
            n = DIGITS[k]
            if n <= len(self._keyed):
                self.class_requested.emit(self._keyed[n - 1])
        e.accept()
