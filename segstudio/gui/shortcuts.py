"""Help > Keyboard shortcuts (also ``?`` and F1): every key of the window in one list.

The list is read from the window's actions when it opens (so a key added
anywhere shows up without being listed twice), grouped by the menu that holds
the action, plus the keys the canvas and its tools read themselves (pan,
zoom, Enter / Backspace / Esc of the multi-step tools).
"""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QKeySequence
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QHeaderView,
    QLineEdit,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
)

# (group, what, keys): read by the canvas and the tools, not by actions
CANVAS_KEYS = (
    ("Canvas", "Pan", "Space + drag, middle drag"),
    ("Canvas", "Zoom at the cursor", "Wheel"),
    ("Polygon", "Fill the polygon", "Enter, double-click"),
    ("Polygon", "Remove the last corner", "Backspace"),
    ("Polygon", "Cancel", "Esc"),
    ("GrabCut", "Run GrabCut on the rectangle", "Enter"),
    ("GrabCut", "Background stroke", "Right drag, Shift + drag"),
    ("GrabCut", "Redraw the rectangle", "Ctrl + drag"),
    ("GrabCut", "Remove the last stroke", "Backspace"),
    ("GrabCut", "Clear the rectangle and strokes", "Esc"),
    ("Scissors", "Close and fill the outline", "Enter, double-click, click the first anchor"),
    ("Scissors", "Remove the last anchor", "Backspace"),
    ("Scissors", "Cancel", "Esc"),
    ("Watershed", "Fill the regions of the strokes", "Enter"),
    ("Watershed", "Background stroke", "Right drag, Shift + drag"),
    ("Watershed", "Remove the last stroke", "Backspace"),
    ("Watershed", "Clear the strokes", "Esc"),
    ("Superpixels", "Take superpixels back to unlabelled", "Right click, Shift + click"),
    ("Superpixels", "Superpixel size", "[ and ]"),
    ("Wand", "Apply the previewed region", "Enter, click the same pixel again"),
    ("Wand", "Drop the preview", "Esc"),
)


def _plain(text: str) -> str:
    return text.replace("&&", "\0").replace("&", "").replace("\0", "&").rstrip("…").strip()


def _menu_of(window) -> dict[int, str]:
    """id(action) -> "Edit › Tools" for every action in the menu bar."""
    where: dict[int, str] = {}

    def walk(menu, path: str) -> None:
        for act in menu.actions():
            if act.menu() is not None:
                walk(act.menu(), f"{path} › {_plain(act.text())}")
            elif not act.isSeparator():
                where.setdefault(id(act), path)

    for top in window.menuBar().actions():
        if top.menu() is not None:
            walk(top.menu(), _plain(top.text()))
    return where


def shortcut_rows(window) -> list[tuple[str, str, str]]:
    """(group, action, keys) for every action of ``window`` with a shortcut, then the
    canvas keys; actions outside the menus go under "Classes" or "Other"."""
    where = _menu_of(window)
    rows, seen = [], set()
    for act in window.actions():
        keys = [k.toString(QKeySequence.SequenceFormat.NativeText) for k in act.shortcuts()]
        keys = [k for k in keys if k]
        if not keys:
            continue
        text = _plain(act.text())
        group = where.get(id(act)) or ("Classes" if text.startswith("Class ") else "Other")
        key = (group, text)
        if key in seen:
            continue
        seen.add(key)
        rows.append((group, text, ", ".join(keys)))
    order = {name: i for i, name in enumerate(_plain(a.text()) for a in window.menuBar().actions())}
    rows.sort(key=lambda r: (order.get(r[0].split(" › ")[0], len(order)), r[0]))
    return rows + list(CANVAS_KEYS)


class ShortcutsDialog(QDialog):
    def __init__(self, window):
        super().__init__(window)
        self.setWindowTitle("Keyboard shortcuts")
        self.filter = QLineEdit(self)
        self.filter.setPlaceholderText("Filter (e.g. brush, Ctrl)")
        self.filter.setClearButtonEnabled(True)
        self.filter.textChanged.connect(self._apply_filter)
        self.table = QTableWidget(0, 3, self)
        self.table.setHorizontalHeaderLabels(["Where", "Action", "Keys"])
        self.table.verticalHeader().setVisible(False)
        self.table.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        self.table.setSelectionBehavior(QTableWidget.SelectionBehavior.SelectRows)
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(1, QHeaderView.ResizeMode.Stretch)
        header.setSectionResizeMode(2, QHeaderView.ResizeMode.ResizeToContents)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close, self)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(self.filter)
        layout.addWidget(self.table)
        layout.addWidget(buttons)
        self.resize(620, 640)
        self.fill(shortcut_rows(window))

    def fill(self, rows: list[tuple[str, str, str]]) -> None:
        self.table.setRowCount(len(rows))
        for r, values in enumerate(rows):
            for c, value in enumerate(values):
                self.table.setItem(r, c, QTableWidgetItem(value))
        self._apply_filter(self.filter.text())

    def _apply_filter(self, text: str) -> None:
        needle = text.strip().lower()
        for r in range(self.table.rowCount()):
            hay = " ".join(self.table.item(r, c).text() for c in range(3)).lower()
            self.table.setRowHidden(r, bool(needle) and needle not in hay)

    def keys_of(self, action_text: str) -> str | None:
        """The keys listed for ``action_text`` (first match), for tests and callers."""
        for r in range(self.table.rowCount()):
            if self.table.item(r, 1).text() == action_text:
                return self.table.item(r, 2).text()
        return None


def show_shortcuts(window) -> ShortcutsDialog:
    """Open (or raise) the window's shortcut list; it is rebuilt each time it opens."""
    dialog = getattr(window, "shortcuts_dialog", None)
    if dialog is None:
        dialog = window.shortcuts_dialog = ShortcutsDialog(window)
        dialog.finished.connect(lambda _r: window.focus_canvas())
    else:
        dialog.fill(shortcut_rows(window))
    dialog.show()
    dialog.raise_()
    dialog.activateWindow()
    dialog.filter.setFocus(Qt.FocusReason.OtherFocusReason)
    return dialog
