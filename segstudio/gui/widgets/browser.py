"""The image browser dock: a list model over the project's records, lazy thumbnails.

A QListView with uniform item sizes over :class:`ImageListModel` (never one
widget per image): only painted rows are asked for data, and only those ask
for thumbnails.  Filtering and sorting rebuild a list of records (fast even
for 10,000 images) via :mod:`segstudio.core.browse`.
"""

from __future__ import annotations

from PySide6.QtCore import (
    QAbstractListModel,
    QEvent,
    QModelIndex,
    QPoint,
    Qt,
    QTimer,
    Signal,
)
from PySide6.QtGui import QAction
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListView,
    QVBoxLayout,
    QWidget,
)

from ...core.browse import SORT_KEYS, SORT_LABELS, STATUS_FILTERS, filter_records, sort_records
from ...core.project import ImageRecord
from ..thumbnails import ThumbnailLoader
from .browser_rows import ROW_HEIGHT, BrowserDelegate, record_metrics

RecordRole = Qt.ItemDataRole.UserRole + 1


class ImageListModel(QAbstractListModel):
    def __init__(self, thumbs: ThumbnailLoader, parent=None):
        super().__init__(parent)
        self.thumbs = thumbs
        self._all: list[ImageRecord] = []
        self._rows: list[ImageRecord] = []
        self._row_of: dict[int, int] = {}
        self._status = "all"
        self._text = ""
        self._sort = "name"
        self._name_keys: dict[str, tuple] = {}
        # the model whose predictions are current (a ModelRef) and the folder its relative
        # paths start from: the others are marked, and do not rank in Label next's order
        self._model = None
        self._base = None

    # -- content -------------------------------------------------------------------
    def set_records(self, records: list[ImageRecord],
                    name_keys: dict[str, tuple] | None = None) -> None:
        self.beginResetModel()
        if name_keys is not None:
            self._name_keys = name_keys
        self._all = list(records)
        self._rebuild()
        self.endResetModel()

    def set_filter(self, status: str | None = None, text: str | None = None) -> None:
        if status is not None:
            self._status = status
        if text is not None:
            self._text = text
        self.beginResetModel()
        self._rebuild()
        self.endResetModel()

    def set_sort(self, key: str) -> None:
        self._sort = key
        self.beginResetModel()
        self._rebuild()
        self.endResetModel()

    def set_prediction_model(self, model, base=None) -> None:
        """The model whose predictions are current (None: not known)."""
        if model == self._model and base == self._base:
            return
        self.beginResetModel()
        self._model, self._base = model, base
        self._rebuild()
        self.endResetModel()

    def prediction_current(self, rec: ImageRecord) -> bool | None:
        """Whether ``rec``'s prediction is the current model's; None when it has none or
        the model is not known."""
        if self._model is None or not rec.has_prediction:
            return None
        return self._model.made(rec, self._base)

    def _rebuild(self) -> None:
        rows = filter_records(self._all, self._status, self._text)
        current = (lambda r: self._model.made(r, self._base)) if self._model else None
        self._rows = sort_records(rows, self._sort, self._name_keys, current)
        self._row_of = {rec.id: i for i, rec in enumerate(self._rows)}

    def update_record(self, rec: ImageRecord, notify: bool = True) -> int | None:
        """Show a changed record in place (it stays until the next filter/sort);
        returns its row."""
        self._all = [rec if r.id == rec.id else r for r in self._all]
        row = self._row_of.get(rec.id)
        if row is not None:
            self._rows[row] = rec
            if notify:
                idx = self.index(row)
                self.dataChanged.emit(idx, idx)
        return row

    @property
    def sort_key(self) -> str:
        return self._sort

    @property
    def status_filter(self) -> str:
        return self._status

    def total(self) -> int:
        return len(self._all)

    def record(self, row: int) -> ImageRecord | None:
        return self._rows[row] if 0 <= row < len(self._rows) else None

    def records(self) -> list[ImageRecord]:
        return list(self._rows)

    def row_of(self, image_id: int) -> int | None:
        return self._row_of.get(image_id)

    # -- QAbstractListModel ------------------------------------------------------------
    def rowCount(self, parent: QModelIndex = QModelIndex()) -> int:
        return 0 if parent.isValid() else len(self._rows)

    def data(self, index: QModelIndex, role: int = Qt.ItemDataRole.DisplayRole):
        if not index.isValid() or not 0 <= index.row() < len(self._rows):
            return None
        rec = self._rows[index.row()]
        if role == Qt.ItemDataRole.DisplayRole:
            return rec.name
        if role == RecordRole:
            return rec
        if role == Qt.ItemDataRole.DecorationRole:
            return self.thumbs.thumbnail(rec) if rec.usable else None
        if role == Qt.ItemDataRole.ToolTipRole:
            lines = [rec.relpath, f"status: {rec.status}"]
            if rec.width:
                lines.append(f"{rec.width} x {rec.height}")
            lines.extend(record_metrics(rec, self.prediction_current(rec)))
            if self.prediction_current(rec) is False:
                epoch = f", epoch {rec.predicted_epoch}" if rec.predicted_epoch is not None else ""
                lines.append(f"predicted by {rec.predicted_by}{epoch}: not the active model; "
                             "Predict all (Ctrl+Shift+P) predicts it again")
            error = rec.error or self.thumbs.error(rec.id)
            if error:
                lines.append(error)
            return "\n".join(lines)
        return None


class ImageBrowser(QWidget):
    """Filter bar, sort choice and the list; emits ``image_selected`` on a new current image."""

    image_selected = Signal(object)  # ImageRecord
    # the filter is done with (its clear button, Enter, Esc): the keys go back to the
    # canvas, so that the next Shift+P or M is not typed into the filter
    filter_done = Signal()

    def __init__(self, thumbs: ThumbnailLoader, parent=None):
        super().__init__(parent)
        self.thumbs = thumbs
        self.model = ImageListModel(thumbs, self)
        self.name_filter = QLineEdit(self)
        self.name_filter.setPlaceholderText("Filter by name (e.g. 0016 or *.png)")
        self.name_filter.setClearButtonEnabled(True)
        self.status_filter = QComboBox(self)
        for key in STATUS_FILTERS:
            self.status_filter.addItem("All statuses" if key == "all" else key.capitalize(), key)
        self.sort_box = QComboBox(self)
        for key in SORT_KEYS:
            self.sort_box.addItem(f"Sort: {SORT_LABELS[key]}", key)
        self.count_label = QLabel(self)
        # the sort box may shrink (it stretches to the dock's width anyway): its long labels
        # set the dock's minimum width, which the count's room would otherwise raise
        self.sort_box.setSizeAdjustPolicy(
            QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
        self.sort_box.setMinimumContentsLength(16)
        self.sort_box.setToolTip("The order of the image list")
        self.view = QListView(self)
        self.view.setModel(self.model)
        self.view.setItemDelegate(BrowserDelegate(self.view))
        self.view.setUniformItemSizes(True)
        self.view.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.view.setVerticalScrollMode(QAbstractItemView.ScrollMode.ScrollPerPixel)
        self.view.verticalScrollBar().setSingleStep(ROW_HEIGHT // 2)
        self.view.setAlternatingRowColors(True)

        top = QHBoxLayout()
        top.addWidget(self.name_filter, 1)
        top.addWidget(self.status_filter)
        bottom = QHBoxLayout()
        bottom.addWidget(self.sort_box, 1)
        bottom.addWidget(self.count_label)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addLayout(top)
        layout.addLayout(bottom)
        layout.addWidget(self.view, 1)

        self._text_timer = QTimer(self, singleShot=True, interval=150)
        self._text_timer.timeout.connect(lambda: self._refilter(text=self.name_filter.text()))
        self.name_filter.textChanged.connect(lambda _t: self._text_timer.start())
        self.name_filter.returnPressed.connect(self._filter_finished)
        clear = self.name_filter.findChild(QAction, "_q_qlineeditclearaction")
        if clear is not None:  # Qt's clear button: it triggers before Qt clears the text
            clear.triggered.connect(lambda: (self.name_filter.clear(), self._filter_finished()))
        self.name_filter.installEventFilter(self)
        self.status_filter.currentIndexChanged.connect(
            lambda _i: self._refilter(status=self.status_filter.currentData()))
        self.sort_box.currentIndexChanged.connect(lambda _i: self._resort())
        self.view.selectionModel().currentChanged.connect(self._current_changed)
        self.thumbs.set_wanted(self._is_wanted)
        # a new thumbnail repaints its row only: QListView's dataChanged costs O(rows)
        self.thumbs.ready.connect(self._thumb_ready)
        self._current_id: int | None = None
        self._update_count()

    # -- records -----------------------------------------------------------------
    def set_records(self, records: list[ImageRecord],
                    name_keys: dict[str, tuple] | None = None) -> None:
        self.model.set_records(records, name_keys)
        self._restore_current()
        self._update_count()

    def update_record(self, rec: ImageRecord) -> None:
        row = self.model.update_record(rec, notify=False)  # our view: repaint one row
        if row is not None:
            self.view.update(self.model.index(row))

    def set_prediction_model(self, model, base=None) -> None:
        """Mark the predictions that are not ``model``'s (a ModelRef; None: unknown)."""
        self.model.set_prediction_model(model, base)
        self._restore_current()

    def current_record(self) -> ImageRecord | None:
        return self.model.record(self.view.currentIndex().row())

    # -- the list as others see it (collaborators.ListedImages) ---------------------
    def listed_records(self) -> list[ImageRecord]:
        """The records listed, after the filter, in the list's order."""
        return self.model.records()

    def listed_total(self) -> int:
        return self.model.total()

    def list_sort(self) -> str:
        return self.model.sort_key

    def neighbours(self, rec: ImageRecord) -> list[ImageRecord]:
        """The next and previous image of the list (prefetched)."""
        row = self.model.row_of(rec.id)
        return [] if row is None else [r for r in (self.model.record(row + 1),
                                                   self.model.record(row - 1)) if r is not None]

    def reveal(self, image_id: int, sort_key: str, records: list[ImageRecord]) -> None:
        """Select image ``image_id`` in the list sorted by ``sort_key`` (when it is sorted
        so already, sorted again with the new values of ``records``); a filter that
        hides the image is cleared."""
        if self.model.sort_key == sort_key:
            self.set_records(list(records))
        else:
            self.set_sort(sort_key)
        if not self.select_image(image_id):
            self.set_status_filter("all")
            self.set_name_filter("")
            self.select_image(image_id)

    def select_image(self, image_id: int) -> bool:
        row = self.model.row_of(image_id)
        if row is None:
            return False
        self._set_row(row)
        return True

    def select_row(self, row: int) -> bool:
        if not 0 <= row < self.model.rowCount():
            return False
        self._set_row(row)
        return True

    def select_next(self, step: int = 1) -> bool:
        """Move to the next (or with -1 the previous) image of the filtered list."""
        n = self.model.rowCount()
        if n == 0:
            return False
        row = self.view.currentIndex().row()
        row = (0 if step > 0 else n - 1) if row < 0 else min(n - 1, max(0, row + step))
        if row == self.view.currentIndex().row():
            return False
        self._set_row(row)
        return True

    def _filter_finished(self) -> None:
        self._text_timer.stop()
        self._refilter(text=self.name_filter.text())
        self.filter_done.emit()

    def eventFilter(self, obj, event) -> bool:
        if (obj is self.name_filter and event.type() == QEvent.Type.KeyPress
                and event.key() == Qt.Key.Key_Escape):
            self._filter_finished()  # Esc leaves the filter as it is
            return True
        return super().eventFilter(obj, event)

    def focus_filter(self) -> None:
        self.name_filter.setFocus()
        self.name_filter.selectAll()

    def set_sort(self, key: str) -> None:
        self.sort_box.setCurrentIndex(max(0, self.sort_box.findData(key)))

    def set_status_filter(self, status: str) -> None:
        self.status_filter.setCurrentIndex(max(0, self.status_filter.findData(status)))

    def set_name_filter(self, text: str) -> None:
        """Set the name filter and apply it now (typing applies it after a pause)."""
        self.name_filter.setText(text)
        self._text_timer.stop()
        self._refilter(text=text)

    def visible_rows(self) -> tuple[int, int]:
        """(first, last) rows on screen; (-1, -1) when empty."""
        n = self.model.rowCount()
        if n == 0:
            return -1, -1
        vp = self.view.viewport().rect()
        first = self.view.indexAt(QPoint(4, 0)).row()
        last = self.view.indexAt(QPoint(4, vp.height() - 1)).row()
        return max(first, 0), (n - 1 if last < 0 else last)

    # -- internals ----------------------------------------------------------------
    def _set_row(self, row: int) -> None:
        idx = self.model.index(row)
        self.view.setCurrentIndex(idx)
        self.view.scrollTo(idx, QAbstractItemView.ScrollHint.EnsureVisible)

    def _is_wanted(self, image_id: int) -> bool:
        row = self.model.row_of(image_id)
        if row is None:
            return False
        first, last = self.visible_rows()
        margin = 4
        return first - margin <= row <= last + margin

    def _thumb_ready(self, image_id: int) -> None:
        row = self.model.row_of(image_id)
        if row is not None:
            self.view.update(self.model.index(row))

    def _current_changed(self, current: QModelIndex, _previous: QModelIndex) -> None:
        rec = self.model.record(current.row())
        if rec is None or rec.id == self._current_id:
            return
        self._current_id = rec.id
        self.image_selected.emit(rec)

    def _restore_current(self) -> None:
        if self._current_id is None:
            return
        row = self.model.row_of(self._current_id)
        if row is not None:  # same id: _current_changed does not reload it
            idx = self.model.index(row)
            self.view.setCurrentIndex(idx)
            self.view.scrollTo(idx, QAbstractItemView.ScrollHint.PositionAtCenter)

    def _refilter(self, status: str | None = None, text: str | None = None) -> None:
        self.model.set_filter(status, text)
        self._restore_current()
        self._update_count()

    def _resort(self) -> None:
        self.model.set_sort(self.sort_box.currentData())
        self._restore_current()
        self._update_count()

    def _update_count(self) -> None:
        shown, total = self.model.rowCount(), self.model.total()
        self.count_label.setText(f"{shown:,}" if shown == total else f"{shown:,} of {total:,}")
        # room for the widest count from the start: filtering never widens the dock
        widest = self.count_label.fontMetrics().horizontalAdvance(f"{total:,} of {total:,}")
        if self.count_label.minimumWidth() != widest:
            self.count_label.setMinimumWidth(widest)
        self.count_label.setAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)

    def clear(self) -> None:
        self._current_id = None
        self.model.set_records([])
        self._update_count()
