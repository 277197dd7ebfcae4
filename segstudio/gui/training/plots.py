"""Live training plots (pyqtgraph): loss, IoU, timing, GPU memory, inference time.

The plots draw a :class:`~.plot_history.RunHistory`.  Events only append to its
arrays and mark plots dirty; a single-shot 100 ms timer redraws the dirty
plots (``setData`` on array views), so the plots update at most ~10 times a
second however fast steps come.  Step curves clip to the view and downsample
(peak mode).  ``curves`` holds every PlotDataItem by name (tests read their
``xData``/``yData``).  :meth:`save_png` writes the plots as a PNG and
:meth:`save_csv` a run's per-epoch metrics (both atomically).
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QBuffer, QByteArray, QIODevice, Qt, QTimer, Signal
from PySide6.QtGui import QColor, QFont, QImage, QPainter
from PySide6.QtWidgets import (
    QFileDialog,
    QGraphicsItem,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QSizePolicy,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from ...core.atomic import atomic_write_bytes
from ...core.run_types import EpochMetrics, RunRecord
from ...nn.runs.events import EpochEnd, Finished, RunStarted
from .plot_history import RunHistory

REDRAW_MS = 100
# (curve name, plot, history series, pen colour, width, symbol)
STEP_CURVES = (
    ("loss", "loss", "loss", (170, 170, 185), 1, None),
    ("loss_smooth", "loss", "loss_smooth", (31, 119, 180), 2, None),
    ("step_ips", "speed", "step_ips", (150, 190, 230), 1, None),
    ("data_ms", "step_time", "data_ms", (255, 127, 14), 1, None),
    ("compute_ms", "step_time", "compute_ms", (44, 160, 44), 1, None),
)
EPOCH_CURVES = (
    ("train_loss", "loss", "train_loss", (31, 119, 180), 1, "t"),
    ("val_loss", "loss", "val_loss", (214, 39, 40), 2, "o"),
    ("miou", "iou", "miou", (20, 20, 20), 3, "o"),
    ("epoch_seconds", "epoch", "epoch_seconds", (148, 103, 189), 2, "s"),
    ("epoch_ips", "speed", "epoch_ips", (31, 119, 180), 2, "o"),
)
TITLES = {  # x is the epoch (predictions for inference); the timing plots have no legends
    "loss": "Loss per epoch (log scale)",
    "iou": "Validation IoU per epoch",
    "epoch": "Seconds per epoch",
    "speed": "Training images/s: <span style='color:#96bee6'>per step</span>, "
             "<span style='color:#1f77b4'>per epoch</span>",
    "step_time": "ms per step: <span style='color:#ff7f0e'>data</span> vs "
                 "<span style='color:#2ca02c'>compute</span>",
    "inference": "Inference ms per image",
    "gpu": "GPU MiB: <span style='color:#17becf'>allocated</span>, "
           "<span style='color:#7f7f7f'>reserved</span>",
}
LEGEND_PLOTS = ("loss", "iou")
LEGENDS = {
    "loss": "loss per step", "loss_smooth": "loss (smoothed)", "train_loss": "train loss (epoch)",
    "val_loss": "validation loss", "miou": "mIoU", "step_ips": "per step",
    "epoch_ips": "per epoch", "data_ms": "data", "compute_ms": "compute",
    "epoch_seconds": "epoch", "inference": "ms / image", "gpu_allocated": "allocated",
    "gpu_reserved": "reserved",
}


TAB_OF = {"loss": "learning", "iou": "learning", "classes": "learning", "epoch": "timing",
          "speed": "timing", "step_time": "timing", "inference": "timing", "gpu": "timing"}


def nice_ceil(v: float) -> float:
    """The smallest of 1, 2, 5 x 10^k that is >= v (1 for nothing)."""
    if not math.isfinite(v) or v <= 0:
        return 1.0
    e = 10.0 ** math.floor(math.log10(v))
    for m in (1, 2, 5, 10):
        if m * e >= v * (1 - 1e-9):
            return m * e
    return 10 * e


def fmt_seconds(s: float | None) -> str:
    if s is None or not math.isfinite(s):
        return "-"
    s = int(round(s))
    if s < 60:
        return f"{s} s"
    if s < 3600:
        return f"{s // 60} min {s % 60:02d} s"
    return f"{s // 3600} h {(s % 3600) // 60:02d} min"


class TrainingPlots(QWidget):
    save_csv_requested = Signal()

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.history = RunHistory()
        self.class_colors: dict[str, tuple[int, int, int]] = {}
        self.redraws = 0
        pg.setConfigOptions(antialias=False)
        self.summary = QLabel("No training yet: start one in the Training panel (Ctrl+T).", self)
        self.summary.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.summary.setWordWrap(True)
        self.summary.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        self.save_png_button = QPushButton("PNG…", self)
        self.save_png_button.setToolTip("Save the plots as a PNG picture")
        self.save_csv_button = QPushButton("CSV…", self)
        self.save_csv_button.setToolTip("Save the run's per-epoch metrics as CSV")
        self.save_png_button.clicked.connect(self.ask_save_png)
        self.save_csv_button.clicked.connect(self.save_csv_requested)
        top = QHBoxLayout()
        top.addWidget(self.summary, 1)
        top.addWidget(self.save_png_button)
        top.addWidget(self.save_csv_button)
        self.learning = pg.GraphicsLayoutWidget()
        self.timing = pg.GraphicsLayoutWidget()
        self.tabs = QTabWidget(self)
        self.tabs.setDocumentMode(True)
        for graphics, title in ((self.learning, "Learning"), (self.timing, "Timing")):
            graphics.setBackground("w")
            self.tabs.addTab(graphics, title)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 2, 4, 2)
        layout.setSpacing(2)
        layout.addLayout(top)
        layout.addWidget(self.tabs, 1)

        self._pending: set[str] = set()
        self._ranges: dict[str, tuple[float, float]] = {}
        self._manual: set[str] = set()  # plots the user zoomed or panned: left alone
        self.plots: dict[str, pg.PlotItem] = {}
        self.curves: dict[str, pg.PlotDataItem] = {}
        self.class_curves: dict[str, pg.PlotDataItem] = {}
        for name, graphics, row, col in (
                ("loss", self.learning, 0, 0), ("iou", self.learning, 0, 1),
                ("epoch", self.timing, 0, 0), ("speed", self.timing, 0, 1),
                ("step_time", self.timing, 1, 0), ("inference", self.timing, 1, 1)):
            self.plots[name] = self._plot(name, graphics, row, col)
        for name, plot, _key, color, width, symbol in STEP_CURVES + EPOCH_CURVES:
            self.curves[name] = self._curve(plot, name, color, width, symbol)
            if plot in ("loss", "speed", "step_time") and symbol is None:
                self.curves[name].setClipToView(True)
                self.curves[name].setDownsampling(auto=True, method="peak")
        self.curves["inference"] = self._curve("inference", "inference", (227, 119, 194), 1, "o")
        self.plots["iou"].setYRange(0, 1, padding=0.02)
        self.tabs.currentChanged.connect(lambda _i: self.redraw())
        self._timer = QTimer(self, singleShot=True, interval=REDRAW_MS)
        self._timer.timeout.connect(self.redraw)

    # -- building ------------------------------------------------------------------------
    def _plot(self, name: str, graphics, row: int, col: int, rowspan: int = 1) -> pg.PlotItem:
        plot = graphics.addPlot(row=row, col=col, rowspan=rowspan)
        plot.setTitle(TITLES[name], size="8pt", color="#333")
        plot.showGrid(x=False, y=True, alpha=0.2)
        # text is the costly part of a repaint: axes, title and legends repaint from a
        # pixmap until they change
        cache = QGraphicsItem.CacheMode.DeviceCoordinateCache
        for axis in plot.axes.values():
            axis["item"].setCacheMode(cache)
        plot.titleLabel.setCacheMode(cache)
        plot.hideButtons()
        plot.disableAutoRange()
        plot.getViewBox().sigRangeChangedManually.connect(
            lambda *_a, n=name: self._manual.add(n))
        font = QFont()
        font.setPointSize(7)
        for axis in ("left", "bottom"):
            ax = plot.getAxis(axis)
            ax.setTickFont(font)
            ax.setPen(pg.mkPen("#666"))
            ax.setTextPen(pg.mkPen("#333"))
        if name == "loss":
            plot.setLogMode(y=True)
        if name == "iou":  # many classes: the legend gets its own column
            self.iou_legend = pg.LegendItem(labelTextSize="7pt", verSpacing=-8)
            graphics.addItem(self.iou_legend, row=row, col=col + 1)
            self.iou_legend.setCacheMode(cache)
        elif name in LEGEND_PLOTS:
            plot.addLegend(offset=(-4, 4), labelTextSize="7pt",
                           brush=pg.mkBrush(255, 255, 255, 200), verSpacing=-8)
            plot.legend.setCacheMode(cache)
        return plot

    def _curve(self, plot: str, name: str, color, width: int, symbol: str | None
               ) -> pg.PlotDataItem:
        kw = {}
        if symbol:
            kw = dict(symbol=symbol, symbolSize=5, symbolBrush=pg.mkBrush(*color),
                      symbolPen=None)
        curve = self.plots[plot].plot([], [], pen=pg.mkPen(color=color, width=width),
                                      name=LEGENDS.get(name, name), **kw)
        if plot == "iou":
            self.iou_legend.addItem(curve, LEGENDS.get(name, name))
        return curve

    def _gpu_plot(self) -> pg.PlotItem:
        if "gpu" not in self.plots:
            self.plots["gpu"] = self._plot("gpu", self.timing, 0, 2, rowspan=2)
            self.curves["gpu_allocated"] = self._curve("gpu", "gpu_allocated", (23, 190, 207),
                                                       2, None)
            self.curves["gpu_reserved"] = self._curve("gpu", "gpu_reserved", (127, 127, 127),
                                                      1, None)
        return self.plots["gpu"]

    def set_class_colors(self, colors: dict[str, tuple[int, int, int]]) -> None:
        """The project's classes: their IoU curves are made now (a legend entry costs
        a few ms, too much to add while an epoch ends)."""
        self.class_colors = dict(colors)
        for name in list(self.class_curves):
            if name not in colors and name not in self.history.class_iou:
                self._drop_class_curve(name)
        for name in colors:
            self._class_curve(name)
        for name, curve in self.class_curves.items():
            curve.setPen(pg.mkPen(color=self.class_colors.get(name, (120, 120, 120)), width=1))

    def _class_curve(self, name: str) -> pg.PlotDataItem:
        curve = self.class_curves.get(name)
        if curve is None:
            color = self.class_colors.get(name, (120, 120, 120))
            curve = self.plots["iou"].plot([], [], pen=pg.mkPen(color=color, width=1))
            self.iou_legend.addItem(curve, name)
            self.class_curves[name] = curve
        return curve

    def _drop_class_curve(self, name: str) -> None:
        curve = self.class_curves.pop(name)
        self.plots["iou"].removeItem(curve)
        self.iou_legend.removeItem(curve)

    # -- data ------------------------------------------------------------------------------
    def clear(self) -> None:
        """Forget the run shown (another project)."""
        self.history.reset()
        self._ranges.clear()
        self._manual.clear()
        self.summary.setText("No training yet: start one in the Training panel (Ctrl+T).")
        self.redraw(everything=True)

    def add_event(self, ev) -> None:
        if isinstance(ev, RunStarted) and not ev.start_epoch:
            self._ranges.clear()
            self._manual.clear()
        self.history.add(ev)
        if isinstance(ev, RunStarted | EpochEnd | Finished):
            self._update_summary(ev)
        self._schedule()

    def add_inference(self, ms: float) -> None:
        self.history.add_inference(ms)
        self._schedule()

    def show_run(self, run: RunRecord, rows: list[EpochMetrics]) -> None:
        """Draw a past run from the project database."""
        self.history.load_epochs(run, rows)
        self._ranges.clear()
        self._manual.clear()
        best = run.best_miou
        self.summary.setText(f"Run {run.id} ({run.status}): {len(rows)} epochs"
                             + (f", best val mIoU {best * 100:.1f} %" if best is not None
                                else ""))
        self.redraw()

    def _schedule(self) -> None:
        if not self._timer.isActive():
            self._timer.start()

    def _update_summary(self, ev) -> None:
        h = self.history
        if isinstance(ev, RunStarted):
            self.summary.setText(f"Run {ev.run_id} on {ev.device_name}: {ev.train_images} train "
                                 f"/ {ev.val_images} val images")
            if str(ev.device).startswith("cuda"):
                self._gpu_plot()
            return
        parts = [f"Run {h.run_id}", f"epoch {h.epoch}/{h.epochs}"]
        if isinstance(ev, EpochEnd):
            parts.append(f"{ev.metrics.images_per_sec or 0.0:.1f} img/s")
            parts.append(f"{ev.metrics.seconds or 0.0:.1f} s/epoch")
            parts.append(f"ETA {fmt_seconds(ev.eta_seconds)}")
        else:
            parts.append(ev.status)
        if h.best_miou is not None:
            parts.append(f"best val mIoU {h.best_miou * 100:.1f} %")
        gpu = self.history.series["gpu_allocated"]
        if len(gpu):
            parts.append(f"GPU {gpu.y[-1]:.0f} MiB")
        self.summary.setText(" · ".join(parts))

    # -- drawing ------------------------------------------------------------------------------
    def redraw(self, everything: bool = False) -> None:
        """Give the curves their new data: those of the tab on screen (or all)."""
        self._pending |= self.history.take_dirty()
        shown = self.tabs.currentWidget()
        todo = {n for n in self._pending
                if everything or TAB_OF.get(n) is None or
                (self.learning if TAB_OF[n] == "learning" else self.timing) is shown}
        if not todo:
            return
        self._pending -= todo
        self.redraws += 1
        s = self.history.series
        for name, plot, key, *_ in STEP_CURVES:
            if plot in todo:
                self.curves[name].setData(s[key].x, s[key].y, connect="finite")
        for name, plot, key, *_ in EPOCH_CURVES:  # epochs without a value are left out
            if plot in todo:
                x, y = s[key].x, s[key].y
                ok = np.isfinite(y)
                self.curves[name].setData(x[ok], y[ok])
        if "classes" in todo:
            for name in list(self.class_curves):
                if name not in self.history.class_iou and name not in self.class_colors:
                    self._drop_class_curve(name)
        if "iou" in todo or "classes" in todo:
            for name, curve in self.class_curves.items():
                if name not in self.history.class_iou:
                    curve.setData([], [])
            for name, series in self.history.class_iou.items():
                ok = np.isfinite(series.y)
                self._class_curve(name).setData(series.x[ok], series.y[ok])
        if "gpu" in todo and len(s["gpu_allocated"]):
            self._gpu_plot()
            for key in ("gpu_allocated", "gpu_reserved"):
                self.curves[key].setData(s[key].x, s[key].y)
        if "inference" in todo:
            inf = self.history.inference_ms
            self.curves["inference"].setData(inf.x, inf.y)
        for name in todo:
            if name in self.plots:
                self._fit(name)

    def _fit(self, name: str) -> None:
        """Axes from 0 to a round number above the data, changed only when the data
        outgrows them (or shrinks below 40 %): the axes are not redrawn on every point."""
        if name in self._manual:
            return
        xs, ys = [], []
        for curve in self._curves_of(name):
            if curve.xData is not None and len(curve.xData):
                xs.append(np.nanmax(curve.xData))
                y = curve.yData[np.isfinite(curve.yData)]
                if len(y):
                    ys.append(y.max())
        if not xs:
            return
        x_top = nice_ceil(max(xs))
        if name != "inference" and self.history.epochs:
            x_top = min(x_top, float(self.history.epochs))
        if name == "loss":  # log scale: whole decades around the data (the view is in log10)
            pos = [c.yData[np.isfinite(c.yData) & (c.yData > 0)] for c in self._curves_of(name)
                   if c.yData is not None]
            pos = [v for v in pos if len(v)]
            if not pos:
                return
            y_lo = math.floor(math.log10(min(v.min() for v in pos)))
            y_top = max(math.ceil(math.log10(max(v.max() for v in pos))), y_lo + 1)
            if self._ranges.get(name) == (x_top, y_top, y_lo):
                return
            self._ranges[name] = (x_top, y_top, y_lo)
            self.plots[name].setRange(xRange=(0, x_top), yRange=(y_lo, y_top), padding=0.02)
            return
        y_top = 1.0 if name == "iou" else nice_ceil(max(ys) * 1.05 if ys else 1.0)
        old = self._ranges.get(name)
        if old is not None and old[0] == x_top and y_top <= old[1] and y_top > 0.4 * old[1]:
            return
        self._ranges[name] = (x_top, y_top)
        self.plots[name].setRange(xRange=(0, x_top), yRange=(0, y_top), padding=0.02)

    def _curves_of(self, name: str) -> list:
        if name == "iou":
            return [self.curves["miou"]] + list(self.class_curves.values())
        keys = [n for n, plot, *_ in STEP_CURVES + EPOCH_CURVES if plot == name]
        if name == "inference":
            keys = ["inference"]
        elif name == "gpu":
            keys = ["gpu_allocated", "gpu_reserved"]
        return [self.curves[k] for k in keys if k in self.curves]

    def curve_data(self, name: str) -> tuple[np.ndarray, np.ndarray]:
        """The (x, y) arrays a curve was given (not clipped or downsampled)."""
        curve = self.curves.get(name) or self.class_curves[name]
        x = curve.xData if curve.xData is not None else np.empty(0)
        y = curve.yData if curve.yData is not None else np.empty(0)
        return x, y

    # -- saving ----------------------------------------------------------------------------------
    def png_bytes(self) -> bytes:
        self.redraw(everything=True)
        shown = self.tabs.currentWidget()
        for g in (self.learning, self.timing):
            if g is not shown:  # a tab never shown has no size of its own yet
                g.resize(shown.size())
        parts = [g.grab().toImage() for g in (self.learning, self.timing)]
        width = max(p.width() for p in parts)
        image = QImage(width, sum(p.height() for p in parts), QImage.Format.Format_RGB32)
        image.fill(QColor(255, 255, 255))
        painter = QPainter(image)
        y = 0
        for part in parts:
            painter.drawImage(0, y, part)
            y += part.height()
        painter.end()
        data = QByteArray()
        buf = QBuffer(data)
        buf.open(QIODevice.OpenModeFlag.WriteOnly)
        image.save(buf, "PNG")
        buf.close()
        return bytes(data.data())

    def save_png(self, path: str | Path) -> Path:
        path = Path(path)
        atomic_write_bytes(path, self.png_bytes())
        return path

    def ask_save_png(self) -> None:
        path, _ = QFileDialog.getSaveFileName(self, "Save plots as PNG", "training-plots.png",
                                              "PNG images (*.png)")
        if path:
            if not path.lower().endswith(".png"):
                path += ".png"
            try:
                self.save_png(path)
            except OSError as exc:
                self.summary.setText(f"the plots were not saved: {exc}")
