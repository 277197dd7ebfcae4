"""Pieces both transfer dialogs use: the running-task state (progress bar, status
line, Cancel), the error line, a report table and opening a folder."""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from pathlib import Path

from PySide6.QtCore import QAbstractTableModel, QModelIndex, Qt, QUrl, Signal
from PySide6.QtGui import QColor, QDesktopServices
from PySide6.QtWidgets import (
    QAbstractItemView,
    QDialog,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QProgressBar,
    QPushButton,
    QTableView,
    QVBoxLayout,
    QWidget,
)

# colours of a report row, by action
ACTION_COLOURS = {
    "refused": QColor(190, 40, 40),
    "skipped": QColor(190, 110, 0),
    "unchanged": QColor(110, 110, 110),
}


class ReportModel(QAbstractTableModel):
    """A read-only table of strings; the column named "Result" colours its row."""

    def __init__(self, headers: Sequence[str], parent=None):
        super().__init__(parent)
        self.headers = list(headers)
        self.rows: list[tuple[str, ...]] = []
        self._result_col = self.headers.index("Result") if "Result" in self.headers else -1

    def set_rows(self, rows: Sequence[Sequence[str]]) -> None:
        self.beginResetModel()
        self.rows = [tuple(str(v) for v in r) for r in rows]
        self.endResetModel()

    def rowCount(self, parent: QModelIndex = QModelIndex()) -> int:
        return 0 if parent.isValid() else len(self.rows)

    def columnCount(self, parent: QModelIndex = QModelIndex()) -> int:
        return 0 if parent.isValid() else len(self.headers)

    def data(self, index: QModelIndex, role: int = Qt.ItemDataRole.DisplayRole):
        if not index.isValid():
            return None
        row = self.rows[index.row()]
        if role in (Qt.ItemDataRole.DisplayRole, Qt.ItemDataRole.ToolTipRole):
            return row[index.column()]
        if role == Qt.ItemDataRole.ForegroundRole and self._result_col >= 0:
            return ACTION_COLOURS.get(row[self._result_col])
        return None

    def headerData(self, section: int, orientation: Qt.Orientation,
                   role: int = Qt.ItemDataRole.DisplayRole):
        if role == Qt.ItemDataRole.DisplayRole and orientation == Qt.Orientation.Horizontal:
            return self.headers[section]
        return None


def report_view(model: ReportModel, parent: QWidget) -> QTableView:
    view = QTableView(parent)
    view.setModel(model)
    view.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
    view.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
    view.setAlternatingRowColors(True)
    view.setWordWrap(False)
    view.verticalHeader().setVisible(False)
    view.verticalHeader().setDefaultSectionSize(22)
    header = view.horizontalHeader()
    header.setStretchLastSection(True)
    header.setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
    view.setMinimumHeight(140)
    return view


class RunPanel(QWidget):
    """Progress bar and status line of a task, and an error line (red)."""

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.bar = QProgressBar(self)
        self.bar.setTextVisible(True)
        self.status = QLabel(self)
        self.status.setWordWrap(True)
        self.status.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.error = QLabel(self)
        self.error.setWordWrap(True)
        self.error.setStyleSheet("color: #c62828;")
        self.error.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.error.setVisible(False)
        row = QHBoxLayout()
        row.setContentsMargins(0, 0, 0, 0)
        row.addWidget(self.bar, 1)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.addLayout(row)
        lay.addWidget(self.status)
        lay.addWidget(self.error)
        self.bar.setVisible(False)

    def start(self, text: str) -> None:
        self.show_error("")
        self.bar.setRange(0, 0)  # busy until the first progress report
        self.bar.setVisible(True)
        self.status.setText(text)

    def progress(self, verb: str, done: int, total: int) -> None:
        self.bar.setRange(0, max(total, 1))
        self.bar.setValue(done)
        self.status.setText(f"{verb} {done:,} of {total:,} images …")

    def finish(self, text: str) -> None:
        self.bar.setVisible(False)
        self.status.setText(text)

    def show_error(self, text: str) -> None:
        self.error.setText(text)
        self.error.setVisible(bool(text))


class TaskDialog(QDialog):
    """A dialog that runs one job at a time on ``controller.runner``.

    Cancel sets ``self.stop`` (the job stops between images and still reports);
    closing the dialog while a job runs cancels it and closes once it stopped,
    so no callback ever reaches a deleted dialog."""

    progressed = Signal(int, int)  # images done, total (GUI thread)
    task_done = Signal(bool)  # a job ended; True when it was stopped before its end

    def __init__(self, controller, parent: QWidget | None = None):
        super().__init__(parent)
        self.controller = controller
        self.project = controller.project
        self.stop = threading.Event()
        self.handle = None
        self._close_when_done = False
        self.setWindowModality(Qt.WindowModality.WindowModal)
        controller.project_closed.connect(self._project_closed)

    @property
    def running(self) -> bool:
        return self.handle is not None

    def run(self, job: Callable, *args, on_result: Callable) -> None:
        """Run ``job(ctx, *args, stop)`` on the controller's runner."""
        self.stop = threading.Event()
        self.handle = self.controller.runner.submit(
            job, *args, self.stop, on_result=on_result, on_error=self._failed,
            on_progress=self._progress, on_finished=self._finished)
        self.set_running(True)

    def _progress(self, done: int, total: int) -> None:
        if not self.stop.is_set():  # after Cancel the status line says "Cancelling"
            self.panel.progress(self.progress_verb, done, total)
        self.progressed.emit(done, total)

    def cancel(self) -> None:
        if self.running:
            self.stop.set()
            self.cancel_button.setEnabled(False)
            self.panel.status.setText("Cancelling: finishing the image in hand …")

    def _failed(self, message: str) -> None:
        self.panel.finish("")
        self.panel.show_error(message)

    def _finished(self, aborted: bool) -> None:
        self.handle = None
        self.set_running(False)
        if aborted:  # the runner itself stopped it (project closing)
            self.panel.finish("Stopped.")
        stopped = aborted or self.stop.is_set()
        if self._close_when_done:
            super().reject()
        self.task_done.emit(stopped)

    aux_keys: tuple[str, ...] = ()  # runner keys of the dialog's small jobs (counting, detecting)

    def done(self, result: int) -> None:
        for key in self.aux_keys:  # their results must not reach a closed dialog
            self.controller.runner.cancel(key)
        super().done(result)

    def reject(self) -> None:
        if self.running:
            self._close_when_done = True
            self.cancel()
            return
        super().reject()

    def _project_closed(self) -> None:
        self._close_when_done = True
        if not self.running:
            super().reject()

    def set_running(self, running: bool) -> None:
        """While a job runs the inputs are off and Cancel stands in for Close."""
        self.set_inputs_enabled(not running)
        self.cancel_button.setVisible(running)
        self.cancel_button.setEnabled(running)
        self.close_button.setVisible(not running)
        self._update_buttons()

    # -- for subclasses -----------------------------------------------------------------
    panel: RunPanel
    cancel_button: QPushButton
    close_button: QPushButton
    progress_verb = "Done"  # the status line says "<verb> n of m images"

    def set_inputs_enabled(self, enabled: bool) -> None:
        raise NotImplementedError

    def _update_buttons(self) -> None:
        raise NotImplementedError


def open_folder(path: str | Path) -> bool:
    return bool(QDesktopServices.openUrl(QUrl.fromLocalFile(str(path))))


def elide_middle(text: str, limit: int = 70) -> str:
    return text if len(text) <= limit else text[: limit // 2 - 1] + "…" + text[-(limit // 2):]
