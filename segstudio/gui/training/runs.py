"""The Runs panel: the project's training runs, their checkpoints, the active model.

Every run the engine recorded (``project.runs.all()``: config, device, status,
checkpoints, best mIoU) is a row; the active model (project setting
``active_checkpoint``, used by every prediction) is marked.  Buttons make a
run's best or last checkpoint the active model, show its per-epoch metrics
in the plots, evaluate it, or save its metrics as CSV.  "Use file…" makes any
checkpoint file the active model (one trained elsewhere, or one shipped in the
repository's ``models/`` folder) once it is checked against the project's
class table and channel count on a worker.
"""

from __future__ import annotations

import time
from pathlib import Path

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QAbstractItemView,
    QFileDialog,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPushButton,
    QSizePolicy,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from ...core.errors import SegStudioError
from ...core.run_types import RunRecord
from .training_jobs import ACTIVE_SETTING, active_checkpoint, write_metrics_csv

# checkpoints that ship with segstudio (a source checkout's models/ folder)
SHIPPED_MODELS = Path(__file__).resolve().parents[3] / "models"

COLUMNS = ("Run", "Started", "Status", "Device", "Model", "Epochs", "Best mIoU", "Active")


class RunsView(QWidget):
    active_changed = Signal(str)          # checkpoint path
    show_requested = Signal(object, list)  # RunRecord, its EpochMetrics
    evaluate_requested = Signal(str)      # checkpoint path
    message = Signal(str)
    loaded = Signal()                     # the table shows the project's runs as they are now

    def __init__(self, runner, parent: QWidget | None = None):
        super().__init__(parent)
        self.runner = runner  # the database is read on a worker: a write may hold it a while
        self.project = None
        self.runs: list[RunRecord] = []
        self.active: str | None = None
        self.table = QTableWidget(0, len(COLUMNS), self)
        self.table.setHorizontalHeaderLabels(COLUMNS)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.verticalHeader().setVisible(False)
        self.table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        self.table.horizontalHeader().setStretchLastSection(True)
        self.table.itemSelectionChanged.connect(self._sync_buttons)
        self.table.itemDoubleClicked.connect(lambda _i: self.show_selected())
        self.active_label = QLabel(self)
        self.active_label.setWordWrap(True)
        self.active_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.active_label.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        self.use_best = QPushButton("Use best", self)
        self.use_best.setToolTip("Make the run's best checkpoint the active model")
        self.use_last = QPushButton("Use last", self)
        self.use_last.setToolTip("Make the run's last checkpoint the active model")
        self.show_button = QPushButton("Plot", self)
        self.show_button.setToolTip("Show the run's per-epoch metrics in the plots")
        self.evaluate_button = QPushButton("Evaluate", self)
        self.evaluate_button.setToolTip("Evaluate the run's best checkpoint")
        self.use_file = QPushButton("Use file…", self)
        self.use_file.setToolTip("Make a checkpoint file the active model (checked against "
                                 "the project's classes first)")
        self.csv_button = QPushButton("CSV…", self)
        self.csv_button.setToolTip("Save the run's per-epoch metrics as CSV")
        self.use_best.clicked.connect(lambda: self.make_active("best_checkpoint"))
        self.use_last.clicked.connect(lambda: self.make_active("checkpoint"))
        self.show_button.clicked.connect(self.show_selected)
        self.evaluate_button.clicked.connect(self._evaluate)
        self.csv_button.clicked.connect(self.ask_save_csv)
        self.use_file.clicked.connect(self.ask_checkpoint_file)
        buttons = QVBoxLayout()
        for b in (self.use_best, self.use_last, self.use_file, self.show_button,
                  self.evaluate_button, self.csv_button):
            buttons.addWidget(b)
        buttons.addStretch(1)
        body = QHBoxLayout()
        body.addWidget(self.table, 1)
        body.addLayout(buttons)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addWidget(self.active_label)
        layout.addLayout(body, 1)
        self._sync_buttons()

    # -- content -----------------------------------------------------------------------------
    def set_project(self, project) -> None:
        self.project = project
        self.refresh()

    def refresh(self) -> None:
        """Read the runs again (on a worker); ``loaded`` follows."""
        project = self.project
        if project is None:
            self._show([], {}, None)
            return

        def job(ctx):
            return project.runs.all(), project.runs.epoch_counts(), active_checkpoint(project)

        self.runner.submit(job, key="runs", on_result=lambda r: self._show(*r))

    def _show(self, runs: list[RunRecord], done: dict, active: str | None) -> None:
        keep = self.selected_run()
        self.runs = runs
        self.active = active
        self.active_label.setText(f"Active model: {active}" if active else
                                  "Active model: none yet (train one, or make a run's "
                                  "checkpoint active)")
        self.table.setRowCount(len(self.runs))
        for row, run in enumerate(reversed(self.runs)):  # newest first
            cfg = run.config or {}
            cells = (str(run.id), time.strftime("%Y-%m-%d %H:%M", time.localtime(
                         run.started_at)), run.status or "",
                     run.device or "", f"{cfg.get('arch', '?')} {cfg.get('width', 1):g}",
                     f"{done.get(run.id, 0)}/{cfg.get('epochs', '?')}",
                     f"{run.best_miou * 100:.1f} %" if run.best_miou is not None else "-",
                     self._active_mark(run, active))
            for col, text in enumerate(cells):
                item = QTableWidgetItem(text)
                item.setData(Qt.ItemDataRole.UserRole, run.id)
                if col == 0:
                    item.setToolTip(run.message or "")
                self.table.setItem(row, col, item)
        if keep is not None:
            self.select_run(keep.id)
        self._sync_buttons()
        self.loaded.emit()

    @staticmethod
    def _active_mark(run: RunRecord, active: str | None) -> str:
        if not active:
            return ""
        if run.best_checkpoint == active:
            return "best"
        if run.checkpoint == active:
            return "last"
        return ""

    def checkpoints(self) -> list[tuple[str, str]]:
        """(label, path) of every checkpoint file that exists, newest run first."""
        out = []
        for run in reversed(self.runs):
            for path, name in ((run.checkpoint, "last"), (run.best_checkpoint, "best")):
                if path and Path(path).is_file():
                    out.append((f"run {run.id} {name} ({Path(path).name})", path))
        return out

    # -- selection -------------------------------------------------------------------------------
    def selected_run(self) -> RunRecord | None:
        rows = self.table.selectionModel().selectedRows()
        if not rows:
            return None
        run_id = self.table.item(rows[0].row(), 0).data(Qt.ItemDataRole.UserRole)
        return next((r for r in self.runs if r.id == run_id), None)

    def select_run(self, run_id: int) -> bool:
        for row in range(self.table.rowCount()):
            if self.table.item(row, 0).data(Qt.ItemDataRole.UserRole) == run_id:
                self.table.selectRow(row)
                return True
        return False

    def _sync_buttons(self) -> None:
        run = self.selected_run()
        self.use_best.setEnabled(bool(run and run.best_checkpoint))
        self.use_last.setEnabled(bool(run and run.checkpoint))
        self.evaluate_button.setEnabled(bool(run and (run.best_checkpoint or run.checkpoint)))
        self.show_button.setEnabled(run is not None)
        self.csv_button.setEnabled(run is not None)

    # -- actions -----------------------------------------------------------------------------------
    def make_active(self, key: str) -> bool:
        run = self.selected_run()
        path = getattr(run, key) if run else None
        if self.project is None or not path:
            return False
        if not Path(path).is_file():
            self.message.emit(f"{path}: the checkpoint file is gone; choose another run")
            return False
        try:
            self.project.settings.set(ACTIVE_SETTING, path)
        except SegStudioError as exc:
            self.message.emit(str(exc))
            return False
        self.refresh()
        self.active_changed.emit(path)
        self.message.emit(f"Active model: {path}")
        return True

    def ask_checkpoint_file(self) -> None:
        start = SHIPPED_MODELS if SHIPPED_MODELS.is_dir() else Path.home()
        path, _ = QFileDialog.getOpenFileName(self, "Use a checkpoint as the active model",
                                              str(start), "Checkpoints (*.pt);;All files (*)")
        if path:
            self.use_checkpoint_file(path)

    def use_checkpoint_file(self, path: str | Path) -> None:
        """Check ``path`` on a worker (a real segstudio checkpoint for this project's
        classes and channels, loaded with weights_only), then make it the active model;
        a refusal is a message and the active model stays as it was."""
        project = self.project
        if project is None:
            return
        path = str(Path(path).resolve())

        def job(ctx):
            from ...nn.plan.fingerprint import project_channels
            from ...nn.runs.checkpoint import check_compatible, checkpoint_summary, load_checkpoint

            ckpt = load_checkpoint(path)
            check_compatible(ckpt, project.classes, project_channels(project))
            return checkpoint_summary(ckpt)

        def done(summary: str) -> None:
            try:
                project.settings.set(ACTIVE_SETTING, path)
            except SegStudioError as exc:
                self.message.emit(str(exc))
                return
            self.refresh()
            self.active_changed.emit(path)
            self.message.emit(f"Active model: {path} ({summary})")

        self.runner.submit(job, key="use-checkpoint", on_result=done,
                           on_error=self.message.emit, label="checking the checkpoint")

    def show_selected(self) -> None:
        run = self.selected_run()
        if run is not None and self.project is not None:
            self.show_requested.emit(run, self.project.runs.epochs(run.id))

    def _evaluate(self) -> None:
        run = self.selected_run()
        if run is not None:
            self.evaluate_requested.emit(run.best_checkpoint or run.checkpoint)

    def save_csv(self, path: str | Path, run_id: int | None = None) -> Path | None:
        if run_id is None:
            run = self.selected_run()
            run_id = run.id if run is not None else None
        if run_id is None or self.project is None:
            return None
        try:
            return write_metrics_csv(self.project, run_id, path)
        except OSError as exc:
            self.message.emit(f"{path}: the metrics were not saved ({exc.strerror or exc})")
            return None

    def ask_save_csv(self, run_id: int | None = None) -> None:
        if run_id is None:
            run = self.selected_run()
            run_id = run.id if run is not None else None
        if run_id is None:
            self.message.emit("choose a run in the Runs panel first")
            return
        path, _ = QFileDialog.getSaveFileName(self, "Save the run's metrics",
                                              f"run-{run_id}-metrics.csv", "CSV (*.csv)")
        if path and self.save_csv(path, run_id) is not None:
            self.message.emit(f"Saved the metrics of run {run_id} to {path}")
