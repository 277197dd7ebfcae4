"""The Evaluation panel: a checkpoint against the human masks of a split.

``nn.evaluate_project`` runs on the prediction service's batch pool (with
progress and cancel); the result fills a per-class table (IoU, accuracy,
labelled pixels) and a confusion-matrix heat map (rows: true class, columns:
predicted class, each row normalised to 1 so every class reads as its
recall; the cells print the percentages).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QFont, QFontMetrics
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QFileDialog,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QProgressBar,
    QPushButton,
    QSizePolicy,
    QSplitter,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from .training_jobs import active_checkpoint, torch_threads

SPLITS = (("val", "validation split"), ("train", "training split"), ("all", "all human masks"))
ACTIVE = "__active__"


class EvaluationView(QWidget):
    message = Signal(str)
    evaluated = Signal(dict)

    def __init__(self, service, parent: QWidget | None = None):
        super().__init__(parent)
        self.service = service
        self.project = None
        self.result: dict | None = None
        self._handle = None
        self._chosen: list[str] = []  # files chosen outside the runs' list, kept on refreshes
        self.checkpoint = QComboBox(self)
        self.checkpoint.setSizeAdjustPolicy(
            QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
        self.checkpoint.setMinimumContentsLength(12)
        self.browse = QPushButton("…", self)
        self.browse.setFixedWidth(28)
        self.browse.clicked.connect(self._browse)
        self.split = QComboBox(self)
        for key, label in SPLITS:
            self.split.addItem(label, key)
        self.run_button = QPushButton("Evaluate", self)
        self.cancel_button = QPushButton("Cancel", self)
        self.cancel_button.setEnabled(False)
        self.run_button.clicked.connect(self.evaluate)
        self.cancel_button.clicked.connect(self.cancel)
        self.progress = QProgressBar(self)
        self.progress.setVisible(False)
        self.summary = QLabel("Choose a checkpoint and a split, then Evaluate.", self)
        self.summary.setWordWrap(True)
        self.summary.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.table = QTableWidget(0, 4, self)
        self.table.setHorizontalHeaderLabels(("Class", "IoU", "Accuracy", "Pixels"))
        self.table.verticalHeader().setVisible(False)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        # compact rows: CamVid's 11 classes fit where default rows showed 5
        row_h = self.table.fontMetrics().height() + 6
        self.table.verticalHeader().setMinimumSectionSize(row_h)
        self.table.verticalHeader().setDefaultSectionSize(row_h)
        self.heat = pg.GraphicsLayoutWidget(self)
        self.heat.setBackground("w")
        self.heat_plot = self.heat.addPlot()
        self.heat_plot.setTitle("Confusion matrix (rows: true, columns: predicted)", size="9pt",
                                color="#333")
        self.heat_plot.setAspectLocked(False)
        self.heat_plot.invertY(True)
        self.heat_plot.hideButtons()
        self.heat_plot.setMouseEnabled(False, False)
        self.image = pg.ImageItem()
        self.image.setColorMap(pg.colormap.get("viridis"))
        self.heat_plot.addItem(self.image)
        self.cell_texts: list[pg.TextItem] = []
        self.matrix: np.ndarray | None = None

        self.summary.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        top = QHBoxLayout()
        top.addWidget(QLabel("Checkpoint", self))
        top.addWidget(self.checkpoint, 1)
        top.addWidget(self.browse)
        second = QHBoxLayout()
        second.addWidget(self.split, 1)
        second.addWidget(self.run_button)
        second.addWidget(self.cancel_button)
        split = QSplitter(Qt.Orientation.Horizontal, self)
        split.addWidget(self.table)
        split.addWidget(self.heat)
        split.setStretchFactor(1, 2)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addLayout(top)
        layout.addLayout(second)
        layout.addWidget(self.progress)
        layout.addWidget(self.summary)
        layout.addWidget(split, 1)

    # -- choices --------------------------------------------------------------------------------
    def set_project(self, project) -> None:
        self.project = project
        self.clear()

    def set_checkpoints(self, items: list[tuple[str, str]]) -> None:
        keep = self.checkpoint.currentData()
        self.checkpoint.clear()
        self.checkpoint.addItem("Active model", ACTIVE)
        for label, path in items:
            self.checkpoint.addItem(label, path)
        listed = {path for _label, path in items}
        for path in self._chosen:
            if path not in listed:
                self.checkpoint.addItem(Path(path).name, path)
        i = self.checkpoint.findData(keep)
        self.checkpoint.setCurrentIndex(max(0, i))

    def choose(self, path: str) -> None:
        i = self.checkpoint.findData(path)
        if i < 0:
            self._chosen.append(path)
            self.checkpoint.addItem(Path(path).name, path)
            i = self.checkpoint.count() - 1
        self.checkpoint.setCurrentIndex(i)

    def set_split(self, split: str) -> None:
        self.split.setCurrentIndex(max(0, self.split.findData(split)))

    def _browse(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Evaluate a checkpoint", "",
                                              "Checkpoints (*.pt)")
        if path:
            self.choose(path)

    def checkpoint_path(self) -> str | None:
        data = self.checkpoint.currentData()
        if data == ACTIVE or data is None:
            return active_checkpoint(self.project) if self.project is not None else None
        return data

    # -- running --------------------------------------------------------------------------------
    def evaluate(self) -> bool:
        project, path, split = self.project, self.checkpoint_path(), self.split.currentData()
        if project is None:
            return False
        if not path:
            self.summary.setText("No model to evaluate yet: train one or choose a checkpoint.")
            return False
        service = self.service
        dev, threads, cache = service.device(), service.threads(), service.cache

        def job(ctx):
            from ...nn.evaluate import evaluate_project

            with torch_threads(threads):
                predictor = cache.get(path, dev, project)
                return evaluate_project(project, predictor, split, progress=ctx.progress)

        self.summary.setText(f"Evaluating {Path(path).name} on the {split} split …")
        self.progress.setVisible(True)
        self.progress.setRange(0, 0)
        self.run_button.setEnabled(False)
        self.cancel_button.setEnabled(True)
        self._handle = service.batch.submit(
            job, key="evaluate", on_result=self.show_result, on_error=self._failed,
            on_progress=self._progress, on_finished=self._finished)
        return True

    def cancel(self) -> None:
        if self._handle is not None:
            self._handle.cancel()

    def _progress(self, done: int, total: int) -> None:
        self.progress.setRange(0, max(total, 1))
        self.progress.setValue(done)

    def _failed(self, text: str) -> None:
        self.summary.setText(f"Evaluation failed: {text}")
        self.message.emit(f"evaluation failed: {text}")

    def _finished(self, cancelled: bool) -> None:
        self._handle = None
        self.progress.setVisible(False)
        self.run_button.setEnabled(True)
        self.cancel_button.setEnabled(False)
        if cancelled:
            self.summary.setText("Evaluation cancelled.")

    # -- results --------------------------------------------------------------------------------
    def clear(self) -> None:
        self.result = None
        self.table.setRowCount(0)
        self.image.clear()
        for t in self.cell_texts:
            self.heat_plot.removeItem(t)
        self.cell_texts = []
        self.matrix = None

    def show_result(self, result: dict) -> None:
        self.clear()
        self.result = result

        def pct(v):
            return "-" if v is None else f"{v * 100:.1f} %"

        skipped = result.get("skipped") or []
        self.summary.setText(
            f"{result['images']} images of the {result['split']} split in "
            f"{result['seconds']:.1f} s: global accuracy {pct(result['global_accuracy'])}, "
            f"class accuracy {pct(result['class_accuracy'])}, mIoU {pct(result['miou'])}"
            + (f"; {len(skipped)} skipped ({skipped[0]['error']})" if skipped else ""))
        names = result["class_names"]
        m = np.asarray(result["confusion_matrix"], dtype=np.float64)
        self.table.setRowCount(len(names))
        for row, name in enumerate(names):
            values = (name, pct(result["per_class_iou"].get(name)),
                      pct(result["per_class_accuracy"].get(name)), f"{int(m[row].sum()):,}")
            for col, text in enumerate(values):
                item = QTableWidgetItem(text)
                if col:
                    item.setTextAlignment(Qt.AlignmentFlag.AlignRight
                                          | Qt.AlignmentFlag.AlignVCenter)
                self.table.setItem(row, col, item)
        # the splitter may not squeeze the table below its columns (Pixels was cut off)
        self.table.resizeColumnsToContents()
        cols = sum(self.table.columnWidth(c) for c in range(self.table.columnCount()))
        bar = self.table.verticalScrollBar().sizeHint().width()
        self.table.setMinimumWidth(cols + bar + 2 * self.table.frameWidth() + 2)
        self._heat_map(m, names)
        self.evaluated.emit(result)

    def _heat_map(self, m: np.ndarray, names: list[str]) -> None:
        k = len(names)
        rows = m.sum(axis=1, keepdims=True)
        norm = np.divide(m, rows, out=np.zeros_like(m), where=rows > 0)
        self.matrix = norm
        # ImageItem indexes [x, y]: columns (predicted) along x, rows (true) along y
        self.image.setImage(norm.T, levels=(0.0, 1.0), autoLevels=False)
        self.image.setRect(0, 0, k, k)
        font = QFont()
        font.setPointSize(7)
        for i in range(k):
            for j in range(k):
                v = norm[i, j]
                if v < 0.005:
                    continue
                t = pg.TextItem(f"{v * 100:.0f}", color="k" if v > 0.6 else "w",
                                anchor=(0.5, 0.5))
                t.setFont(font)
                t.setPos(j + 0.5, i + 0.5)
                self.heat_plot.addItem(t)
                self.cell_texts.append(t)
        ticks = [(i + 0.5, n) for i, n in enumerate(names)]
        short = [(i + 0.5, n[:5]) for i, n in enumerate(names)]
        metrics = QFontMetrics(font)
        for axis, t in (("left", ticks), ("bottom", short)):
            ax = self.heat_plot.getAxis(axis)
            ax.setTicks([t])
            ax.setTickFont(font)
        # room for the longest class name, so no label is cut
        self.heat_plot.getAxis("left").setWidth(
            max(metrics.horizontalAdvance(n) for n in names) + 14)
        self.heat_plot.getAxis("bottom").setHeight(metrics.height() + 12)
        self.heat_plot.setXRange(0, k, padding=0)
        self.heat_plot.setYRange(0, k, padding=0)
