"""The class panel: visibility, colour, opacity and the active class; class edits.

The panel only edits copies: it emits ``style_edited`` (visibility and
opacity, a colour-table change on the canvas), ``table_edited`` (add, rename,
recolour, reorder: the controller saves it to the project) and
``delete_requested(class_id, target_id)`` (the controller remaps the pixels
on a worker, then saves the table).  ``active_class_changed(id)`` tells the
mask editor which class it paints with; keys 1-9 pick rows 1-9 and Shift+1-9
rows 10-18 (:func:`class_key`); the Id column shows the value the masks store.
The "BG" box marks a class as background: the editor's "preserve other
classes" paints over unlabelled pixels and those classes only.
"""

from __future__ import annotations

from dataclasses import replace

from PySide6.QtCore import QSignalBlocker, QSize, Qt, Signal
from PySide6.QtGui import QColor, QFont, QIcon, QPainter, QPixmap
from PySide6.QtWidgets import (
    QAbstractItemView,
    QColorDialog,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QSlider,
    QTableWidget,
    QTableWidgetItem,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from ...core.classes import ClassInfo, ClassTable, default_classes
from ..overlay import OverlayStyle

COL_SHOW, COL_COLOR, COL_KEY, COL_ID, COL_NAME, COL_BG, COL_OPACITY = range(7)
UNLABELLED_TARGET = -1
KEYED_ROWS = 18  # 1-9, then Shift+1-9
OPACITY_COLUMN = 124  # px: an 80 px slider and its "100 %"


def class_key(row: int) -> str:
    """The key that picks the class of ``row`` (0-based): "1".."9", "Shift+1".."Shift+9"
    for rows 10-18, "" beyond."""
    if row < 9:
        return str(row + 1)
    return f"Shift+{row - 8}" if row < KEYED_ROWS else ""


def swatch_icon(rgb: tuple[int, int, int]) -> QIcon:
    pix = QPixmap(16, 16)
    pix.fill(QColor(*rgb))
    p = QPainter(pix)
    p.setPen(QColor(90, 90, 90))
    p.drawRect(0, 0, 15, 15)
    p.end()
    return QIcon(pix)


class RemapDialog(QDialog):
    """Asks where the pixels of a deleted class go: another class or unlabelled."""

    def __init__(self, table: ClassTable, class_id: int, parent=None):
        super().__init__(parent)
        info = table.by_id(class_id)
        self.setWindowTitle(f"Delete class {info.name}")
        self.target = QComboBox(self)
        if not info.ignore:
            self.target.addItem("Unlabelled (ignored in training)", table.unlabelled_value())
        for c in table.classes:
            if c.id != class_id and not c.ignore:
                self.target.addItem(f"{c.name} (id {c.id})", c.id)
        text = QLabel(f"Every mask and prediction that uses <b>{info.name}</b> will be "
                      "rewritten, and the undo history of the images edited so far is "
                      "cleared (their edits are saved first). Its pixels become:", self)
        text.setWordWrap(True)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok
                                   | QDialogButtonBox.StandardButton.Cancel, self)
        buttons.button(QDialogButtonBox.StandardButton.Ok).setText("Delete and remap")
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(text)
        layout.addWidget(self.target)
        layout.addWidget(buttons)

    def target_id(self) -> int:
        return int(self.target.currentData())


class ClassList(QTableWidget):
    """The class rows.  No type-ahead: a letter pressed here is a tool key of the
    window (B brush, E eraser ...), never "go to the row starting with B"."""

    def keyboardSearch(self, _text: str) -> None:
        pass


class ClassPanel(QWidget):
    active_class_changed = Signal(int)
    style_edited = Signal(object)        # OverlayStyle
    table_edited = Signal(object)        # ClassTable
    delete_requested = Signal(int, int)  # class id, id its pixels become

    def __init__(self, parent=None):
        super().__init__(parent)
        self._table: ClassTable = default_classes()
        self._style = OverlayStyle()
        self._active: int | None = None
        self._sliders: dict[int, QSlider] = {}
        self._opacity_values: dict[int, QLabel] = {}  # the "70 %" beside each slider

        self.list = ClassList(0, 7, self)
        self.list.setHorizontalHeaderLabels(["", "", "Key", "Id", "Class", "BG", "Opacity"])
        self.list.horizontalHeaderItem(COL_KEY).setToolTip(
            "The key that makes the class active (Shift+1-9 for the 10th to 18th class)")
        self.list.horizontalHeaderItem(COL_ID).setToolTip(
            "The class id: the value its pixels have in the mask files")
        self.list.horizontalHeaderItem(COL_BG).setToolTip(
            "Background: with Preserve others on, the editor paints over unlabelled pixels "
            "and the classes ticked here only")
        self.list.verticalHeader().setVisible(False)
        self.list.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.list.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.list.setEditTriggers(QAbstractItemView.EditTrigger.DoubleClicked
                                  | QAbstractItemView.EditTrigger.EditKeyPressed)
        self.list.setShowGrid(False)
        header = self.list.horizontalHeader()
        for col, mode in ((COL_SHOW, QHeaderView.ResizeMode.ResizeToContents),
                          (COL_COLOR, QHeaderView.ResizeMode.Fixed),
                          (COL_KEY, QHeaderView.ResizeMode.ResizeToContents),
                          (COL_ID, QHeaderView.ResizeMode.ResizeToContents),
                          (COL_NAME, QHeaderView.ResizeMode.Stretch),
                          (COL_BG, QHeaderView.ResizeMode.ResizeToContents),
                          (COL_OPACITY, QHeaderView.ResizeMode.Fixed)):
            header.setSectionResizeMode(col, mode)
        self.list.setColumnWidth(COL_COLOR, 30)
        # a slider long enough to set a value, and the value beside it (it was 60 px, bare)
        self.list.setColumnWidth(COL_OPACITY, OPACITY_COLUMN)
        self.list.setIconSize(QSize(16, 16))

        def button(text: str, tip: str, slot) -> QToolButton:
            b = QToolButton(self)
            b.setText(text)
            b.setToolTip(tip)
            b.clicked.connect(slot)
            return b

        self.add_button = button("Add", "Add a class", self.add_class)
        self.delete_button = button("Delete", "Delete the selected class (its pixels are remapped)",
                                    self.ask_delete)
        self.up_button = button("▲", "Move the selected class up", lambda: self.move_active(-1))
        self.down_button = button("▼", "Move the selected class down", lambda: self.move_active(1))
        self.colour_button = button("Colour…", "Change the colour of the selected class",
                                    self.ask_colour)
        buttons = QHBoxLayout()
        for b in (self.add_button, self.delete_button, self.colour_button):
            buttons.addWidget(b)
        buttons.addStretch(1)
        buttons.addWidget(self.up_button)
        buttons.addWidget(self.down_button)

        self.opacity = QSlider(Qt.Orientation.Horizontal, self)
        self.opacity.setRange(0, 100)
        self.opacity.setToolTip("Opacity of all overlays")
        self.opacity_label = QLabel(self)
        self.opacity_label.setMinimumWidth(36)
        row = QHBoxLayout()
        row.addWidget(QLabel("Overlay opacity", self))
        row.addWidget(self.opacity, 1)
        row.addWidget(self.opacity_label)

        self.active_label = QLabel(self)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addWidget(self.list, 1)
        layout.addLayout(buttons)
        layout.addLayout(row)
        layout.addWidget(self.active_label)

        self.list.itemChanged.connect(self._item_changed)
        self.list.currentCellChanged.connect(self._current_cell_changed)
        self.list.cellDoubleClicked.connect(self._cell_double_clicked)
        self.opacity.valueChanged.connect(self._global_opacity_changed)
        self._sync_opacity()

    # -- state in ------------------------------------------------------------------
    def table(self) -> ClassTable:
        return self._table

    def style(self) -> OverlayStyle:
        return self._style

    def active_class(self) -> int | None:
        return self._active

    def set_table(self, table: ClassTable) -> None:
        if table == self._table and self.list.rowCount() == len(table.classes):
            return  # our own edit coming back from the project
        self._table = table
        if self._active is None or table.by_id(self._active) is None:
            first = next((c for c in table.classes if not c.ignore), None)
            self._set_active(first.id if first else None, emit=True)
        self._rebuild()

    def set_style(self, style: OverlayStyle) -> None:
        if style is self._style:
            return  # our own edit coming back: keep the widgets (a slider may be dragged)
        self._style = style
        self._rebuild()
        self._sync_opacity()

    def set_busy(self, busy: bool) -> None:
        """Block edits while a remap runs."""
        for w in (self.list, self.add_button, self.delete_button, self.up_button,
                  self.down_button, self.colour_button):
            w.setEnabled(not busy)

    # -- rows --------------------------------------------------------------------------
    def _rebuild(self) -> None:
        blocker = QSignalBlocker(self.list)
        self.list.setRowCount(len(self._table.classes))
        self._sliders.clear()
        self._opacity_values.clear()
        for row, c in enumerate(self._table.classes):
            show = QTableWidgetItem()
            show.setFlags(Qt.ItemFlag.ItemIsUserCheckable | Qt.ItemFlag.ItemIsEnabled
                          | Qt.ItemFlag.ItemIsSelectable)
            show.setCheckState(Qt.CheckState.Checked if self._style.is_visible(c.id, self._table)
                               else Qt.CheckState.Unchecked)
            show.setToolTip("Show this class")
            self.list.setItem(row, COL_SHOW, show)
            swatch = QTableWidgetItem()
            swatch.setFlags(Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable)
            swatch.setIcon(swatch_icon(c.color))
            swatch.setToolTip("Double-click to change the colour")
            self.list.setItem(row, COL_COLOR, swatch)
            key = QTableWidgetItem(class_key(row).replace("Shift+", "⇧"))
            key.setFlags(Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable)
            key.setTextAlignment(Qt.AlignmentFlag.AlignCenter)
            if class_key(row):
                key.setToolTip(f"{class_key(row)} makes {c.name} the active class")
            self.list.setItem(row, COL_KEY, key)
            ident = QTableWidgetItem(str(c.id))
            ident.setFlags(Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable)
            ident.setTextAlignment(Qt.AlignmentFlag.AlignCenter)
            ident.setToolTip(f"{c.name} is stored as {c.id} in the mask files")
            self.list.setItem(row, COL_ID, ident)
            name = QTableWidgetItem(c.name)
            name.setData(Qt.ItemDataRole.UserRole, c.id)
            if c.ignore:
                font = QFont(self.font())
                font.setItalic(True)
                name.setFont(font)
                name.setToolTip("Unlabelled pixels: not trained on, transparent by default")
            self.list.setItem(row, COL_NAME, name)
            bg = QTableWidgetItem()
            if c.ignore:
                bg.setFlags(Qt.ItemFlag.ItemIsSelectable)
            else:
                bg.setFlags(Qt.ItemFlag.ItemIsUserCheckable | Qt.ItemFlag.ItemIsEnabled
                            | Qt.ItemFlag.ItemIsSelectable)
                bg.setCheckState(Qt.CheckState.Checked if c.background
                                 else Qt.CheckState.Unchecked)
                bg.setToolTip(f"{c.name} is background: Preserve others may paint over it"
                              if c.background else
                              f"Tick to let Preserve others paint over {c.name}")
            self.list.setItem(row, COL_BG, bg)
            slider = QSlider(Qt.Orientation.Horizontal)
            slider.setRange(0, 100)
            slider.setValue(round(self._style.class_opacity(c.id) * 100))
            slider.setToolTip(f"Opacity of {c.name}")
            # a drag here must not make the row current (= the class to paint with)
            slider.setFocusPolicy(Qt.FocusPolicy.NoFocus)
            slider.valueChanged.connect(lambda v, cid=c.id: self.set_class_opacity(cid, v / 100))
            value = QLabel(f"{slider.value()} %")
            value.setAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
            value.setFixedWidth(value.fontMetrics().horizontalAdvance("100 %") + 4)
            cell = QWidget()
            lay = QHBoxLayout(cell)
            lay.setContentsMargins(2, 0, 4, 0)
            lay.setSpacing(4)
            lay.addWidget(slider, 1)
            lay.addWidget(value)
            self.list.setCellWidget(row, COL_OPACITY, cell)
            self._sliders[c.id] = slider
            self._opacity_values[c.id] = value
            self.list.setRowHeight(row, 24)
        active_row = self.row_of(self._active)
        if active_row is not None:
            self.list.setCurrentCell(active_row, COL_NAME)
        del blocker
        self._update_active_label()

    def opacity_value(self, class_id: int) -> str:
        """The value shown beside the class's opacity slider ("70 %")."""
        label = self._opacity_values.get(class_id)
        return label.text() if label is not None else ""

    def row_of(self, class_id: int | None) -> int | None:
        for row, c in enumerate(self._table.classes):
            if c.id == class_id:
                return row
        return None

    def _item_changed(self, item: QTableWidgetItem) -> None:
        row, col = item.row(), item.column()
        if not 0 <= row < len(self._table.classes):
            return
        c = self._table.classes[row]
        if col == COL_SHOW:
            self.set_class_visible(c.id, item.checkState() == Qt.CheckState.Checked)
        elif col == COL_NAME:
            self.rename_class(c.id, item.text())
        elif col == COL_BG and not c.ignore:
            self.set_class_background(c.id, item.checkState() == Qt.CheckState.Checked)

    def _current_cell_changed(self, row: int, _col: int, _prow: int, _pcol: int) -> None:
        if 0 <= row < len(self._table.classes):
            self._set_active(self._table.classes[row].id, emit=True)

    def _cell_double_clicked(self, row: int, col: int) -> None:
        if col == COL_COLOR and 0 <= row < len(self._table.classes):
            self.ask_colour()

    # -- active class --------------------------------------------------------------------
    def _set_active(self, class_id: int | None, emit: bool) -> None:
        if class_id == self._active:
            return
        self._active = class_id
        self._update_active_label()
        if emit and class_id is not None:
            self.active_class_changed.emit(class_id)

    def set_active_class(self, class_id: int) -> bool:
        row = self.row_of(class_id)
        if row is None:
            return False
        self.list.setCurrentCell(row, COL_NAME)
        self._set_active(class_id, emit=True)
        return True

    def select_by_key(self, number: int) -> bool:
        """Keys 1-9 and Shift+1-9 (10-18): the n-th class of the list becomes active."""
        if not 1 <= number <= min(KEYED_ROWS, len(self._table.classes)):
            return False
        return self.set_active_class(self._table.classes[number - 1].id)

    def _update_active_label(self) -> None:
        info = self._table.by_id(self._active) if self._active is not None else None
        self.active_label.setText(f"Active class: <b>{info.name}</b>" if info else "")

    # -- style edits ------------------------------------------------------------------------
    def set_class_visible(self, class_id: int, visible: bool) -> None:
        self._style = replace(self._style, visible={**self._style.visible, class_id: visible})
        row = self.row_of(class_id)
        if row is not None:
            item = self.list.item(row, COL_SHOW)
            state = Qt.CheckState.Checked if visible else Qt.CheckState.Unchecked
            if item is not None and item.checkState() != state:
                with QSignalBlocker(self.list):
                    item.setCheckState(state)
        self.style_edited.emit(self._style)

    def set_class_opacity(self, class_id: int, opacity: float) -> None:
        opacity = min(1.0, max(0.0, float(opacity)))
        self._style = replace(self._style, opacity={**self._style.opacity, class_id: opacity})
        slider = self._sliders.get(class_id)
        if slider is not None and slider.value() != round(opacity * 100):
            with QSignalBlocker(slider):
                slider.setValue(round(opacity * 100))
        value = self._opacity_values.get(class_id)
        if value is not None:
            value.setText(f"{round(opacity * 100)} %")
        self.style_edited.emit(self._style)

    def set_global_opacity(self, opacity: float) -> None:
        self.opacity.setValue(round(min(1.0, max(0.0, opacity)) * 100))

    def _global_opacity_changed(self, value: int) -> None:
        self.opacity_label.setText(f"{value} %")
        if round(self._style.global_opacity * 100) != value:
            self._style = replace(self._style, global_opacity=value / 100)
            self.style_edited.emit(self._style)

    def _sync_opacity(self) -> None:
        with QSignalBlocker(self.opacity):
            self.opacity.setValue(round(self._style.global_opacity * 100))
        self.opacity_label.setText(f"{self.opacity.value()} %")

    # -- table edits ----------------------------------------------------------------------------
    def _replace_class(self, info: ClassInfo) -> None:
        classes = tuple(info if c.id == info.id else c for c in self._table.classes)
        self._emit_table(replace(self._table, classes=classes))

    def _emit_table(self, table: ClassTable) -> None:
        self._table = table
        self._rebuild()
        self.table_edited.emit(table)

    def rename_class(self, class_id: int, name: str) -> None:
        info = self._table.by_id(class_id)
        name = name.strip()
        if info is None or name == info.name:
            return
        if not name:  # an empty name is not allowed: put the old one back
            self._rebuild()
            return
        self._replace_class(replace(info, name=name))

    def set_class_background(self, class_id: int, background: bool) -> None:
        """Mark a class as background (or not) for "preserve other classes"."""
        info = self._table.by_id(class_id)
        if info is not None and not info.ignore and bool(background) != info.background:
            self._replace_class(replace(info, background=bool(background)))

    def set_class_color(self, class_id: int, rgb: tuple[int, int, int]) -> None:
        info = self._table.by_id(class_id)
        if info is not None and tuple(rgb) != info.color:
            self._replace_class(replace(info, color=tuple(int(v) for v in rgb)))

    def ask_colour(self) -> None:
        info = self._table.by_id(self._active) if self._active is not None else None
        if info is None:
            return
        color = QColorDialog.getColor(QColor(*info.color), self, f"Colour of {info.name}")
        if color.isValid():
            self.set_class_color(info.id, (color.red(), color.green(), color.blue()))

    def add_class(self) -> int:
        table = self._table
        cid = table.next_free_id()
        name, n = f"class {cid}", 1
        while table.by_name(name) is not None:
            n += 1
            name = f"class {cid} ({n})"
        info = ClassInfo(cid, name, table.next_color())
        classes = list(table.classes)
        # new classes go before the unlabelled class, which stays last
        pos = next((i for i, c in enumerate(classes) if c.ignore), len(classes))
        classes.insert(pos, info)
        self._active = cid
        self._emit_table(replace(table, classes=tuple(classes)))
        self.active_class_changed.emit(cid)
        row = self.row_of(cid)
        if row is not None:
            self.list.editItem(self.list.item(row, COL_NAME))
        return cid

    def move_active(self, step: int) -> None:
        row = self.row_of(self._active)
        if row is None or not 0 <= row + step < len(self._table.classes):
            return
        ids = self._table.ids
        ids[row], ids[row + step] = ids[row + step], ids[row]
        self._emit_table(self._table.reordered(ids))

    def ask_delete(self) -> None:
        if self._active is None or self._table.by_id(self._active) is None:
            return
        dialog = RemapDialog(self._table, self._active, self)
        if dialog.target.count() == 0:
            return
        if dialog.exec() == QDialog.DialogCode.Accepted:
            self.delete_requested.emit(self._active, dialog.target_id())

