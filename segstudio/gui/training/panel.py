"""The Training panel: settings, start/pause/stop, and what the run is doing now.

The form is filled once the devices are known (detected on a worker when a
project opens: importing torch takes seconds).  :meth:`config` turns the
fields into a :class:`~segstudio.nn.config.TrainConfig` on top of the
device's defaults (``default_train_config``).  :meth:`show_event` follows
the engine's events: epoch and step, how many images this epoch trains on
(and how many joined since the last one), speed, ETA, best mIoU, messages.
"""

from __future__ import annotations

import time

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDoubleSpinBox,
    QFileDialog,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QPlainTextEdit,
    QProgressBar,
    QPushButton,
    QScrollArea,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from ...nn.events import EpochEnd, EpochStarted, Finished, Message, RunStarted, Step
from .plots import fmt_seconds

# (key, the short text the closed combo shows, the full description as its tooltip)
ARCH_LABELS = (("segnet", "SegNet", "SegNet with the VGG16-BN encoder (the paper's model)"),
               ("segnet-basic", "SegNet-Basic", "SegNet-Basic: 4 + 4 layers, 7x7 kernels"))
WIDTHS = (0.25, 0.5, 1.0)
WEIGHTS = (("auto", "Auto", "Rare classes weighted up, the others 1 (from the masks)"),
           ("none", "None", "No class weights"),
           ("median", "Median freq.", "Median-frequency weights from the masks (SegNet)"),
           ("table", "Class table", "The weights stored with the class table"))
RUN_IN = (("thread", "This window", "Training runs inside the window and stops with it"),
          ("process", "Separate process",
           "Training runs as 'segstudio train' in its own process: it goes on when the window "
           "closes, and a crash of it never takes the window down"))
OPTIMIZERS = (("sgd", "SGD", "SGD with momentum 0.9"), ("adamw", "AdamW", "AdamW"))
SCORES = (("entropy", "Entropy", "Mean pixel entropy of the prediction"),
          ("mc-dropout", "MC dropout", "Disagreement of stochastic passes (a model trained "
                                       "with dropout)"),
          ("tta", "TTA", "Disagreement between the image, its mirror and 3/4 scale"),
          ("rare", "Rare classes", "Entropy weighted towards the rare classes"))
START = (("active", "Active model", "Continue from the active model: a short round with a "
                                    "quarter of the epochs at half the learning rate"),
         ("scratch", "Scratch", "From scratch (He initialisation)"),
         ("imagenet", "ImageNet", "ImageNet encoder (VGG16-BN)"),
         ("resume", "Checkpoint", "Continue a run from its checkpoint"))


def _combo(parent, items) -> QComboBox:
    box = QComboBox(parent)
    for key, label, *tip in items:
        box.addItem(label, key)
        if tip:
            box.setItemData(box.count() - 1, tip[0], Qt.ItemDataRole.ToolTipRole)
    return box


def _select(box: QComboBox, key) -> None:
    i = box.findData(key)
    if i >= 0:
        box.setCurrentIndex(i)


class TrainingPanel(QWidget):
    start_requested = Signal()
    pause_requested = Signal()
    stop_requested = Signal()
    device_changed = Signal(str)
    defaults_requested = Signal()

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.imagenet = False
        self.has_active = False  # the project has an active model a round can continue from
        self._browsed: list[str] = []  # checkpoint files chosen with "…", kept on refreshes
        self._prev_train: set[int] = set()
        self.epochs_total = 0
        self._build()
        _select(self.start_mode, "scratch")  # "Active model" once the project has one
        self.set_ready(False, "Detecting devices …")
        self.set_running(False, False)

    # -- layout ------------------------------------------------------------------------------
    def _build(self) -> None:
        self.arch = _combo(self, ARCH_LABELS)
        self.width_box = _combo(self, [(w, f"{w:g}") for w in WIDTHS])
        self.width_box.setToolTip("Channel width of the network: 1.0 is the paper's SegNet; "
                                  "0.25 is 16x cheaper (fits a CPU)")
        self.device = QComboBox(self)
        self.epochs = QSpinBox(self, minimum=1, maximum=100000)
        self.batch = QSpinBox(self, minimum=1, maximum=1024)
        self.lr = QDoubleSpinBox(self, decimals=5, minimum=0.00001, maximum=10.0,
                                 singleStep=0.001)
        self.optimizer = _combo(self, OPTIMIZERS)
        self.crop_h = QSpinBox(self, minimum=32, maximum=8192, singleStep=32)
        self.crop_w = QSpinBox(self, minimum=32, maximum=8192, singleStep=32)
        self.whole = QCheckBox("whole images", self)
        self.whole.toggled.connect(lambda on: (self.crop_h.setEnabled(not on),
                                               self.crop_w.setEnabled(not on)))
        self.val_split = QDoubleSpinBox(self, decimals=2, minimum=0.0, maximum=0.9,
                                        singleStep=0.05, value=0.3)
        self.weights = _combo(self, WEIGHTS)
        self.score = _combo(self, SCORES)
        self.score.setToolTip("How prediction scores images for Label next (stored per image, "
                              "shown in the browser)")
        self.start_mode = _combo(self, START)
        self.run_in = _combo(self, RUN_IN)
        self.run_in.setToolTip("Where training runs.  In a separate process it goes on when "
                               "the window closes, and the window follows it through the "
                               "project (as it follows runs started with segstudio train)")
        self.checkpoint = QComboBox(self)
        self.checkpoint.setToolTip("The checkpoint to continue from (its settings are kept; "
                                   "the epochs above are added to it)")
        self.browse = QPushButton("…", self)
        self.browse.setFixedWidth(28)
        self.browse.clicked.connect(self._browse_checkpoint)
        self.defaults = QPushButton("Defaults for the device", self)
        self.defaults.clicked.connect(self.defaults_requested)

        def row(*widgets) -> QHBoxLayout:
            lay = QHBoxLayout()
            for w in widgets:
                lay.addWidget(QLabel(w, self) if isinstance(w, str) else w,
                              0 if isinstance(w, str) else 1)
            return lay

        form = QFormLayout()
        form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        form.setVerticalSpacing(4)
        form.addRow("Model", row(self.arch, "width", self.width_box))
        form.addRow("Device", self.device)
        form.addRow("Epochs", row(self.epochs, "batch", self.batch))
        form.addRow("Learning rate", row(self.lr, self.optimizer))
        crop = row(self.crop_h, "x", self.crop_w)
        crop.addWidget(self.whole)
        form.addRow("Crop (H x W)", crop)
        form.addRow("Validation", row(self.val_split, "weights", self.weights))
        form.addRow("Start", self.start_mode)
        form.addRow("Run in", self.run_in)
        form.addRow("Label next by", self.score)
        ckpt = row(self.checkpoint)
        ckpt.addWidget(self.browse)
        form.addRow("Checkpoint", ckpt)
        form.addRow("", self.defaults)
        for box in (self.arch, self.width_box, self.device, self.optimizer, self.weights,
                    self.start_mode, self.checkpoint):
            box.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
            box.setMinimumContentsLength(4 if box is self.width_box else 8)
        self.val_split.setToolTip("Share of the human-labelled images kept for validation")
        self.weights.setToolTip("Class weighting of the loss")
        self.settings_box = QGroupBox("Settings", self)
        self.settings_box.setLayout(form)

        self.start_button = QPushButton("Start", self)
        self.start_button.setToolTip("Train with these settings (Ctrl+T; Ctrl+T again stops)")
        self.pause_button = QPushButton("Pause", self)
        self.stop_button = QPushButton("Stop", self)
        self.stop_button.setToolTip("Stop after the batch under way; the last epoch's "
                                    "checkpoint is kept")
        self.start_button.clicked.connect(self.start_requested)
        self.pause_button.clicked.connect(self.pause_requested)
        self.stop_button.clicked.connect(self.stop_requested)
        buttons = QHBoxLayout()
        for b in (self.start_button, self.pause_button, self.stop_button):
            buttons.addWidget(b)

        self.status = QLabel(self)
        self.status.setWordWrap(True)
        self.progress = QProgressBar(self)
        self.progress.setTextVisible(True)
        self.images = QLabel(self)
        self.images.setWordWrap(True)
        self.speed = QLabel(self)
        self.speed.setWordWrap(True)
        self.refresh = QCheckBox("Refresh the prediction after each epoch", self)
        self.refresh.setToolTip("After each epoch, predict the image on screen again with the "
                                "new last checkpoint")
        self.refresh.setChecked(True)
        self.log = QPlainTextEdit(self)
        self.log.setReadOnly(True)
        self.log.setMaximumBlockCount(300)
        self.log.setPlaceholderText("Messages of the training run")
        self.log.setMinimumHeight(70)

        self.predict_box = QGroupBox("Predict with the active model", self)
        run_col = QVBoxLayout()
        run_col.addLayout(buttons)
        run_col.addWidget(self.status)
        run_col.addWidget(self.progress)
        run_col.addWidget(self.images)
        run_col.addWidget(self.speed)
        run_col.addWidget(self.refresh)
        run_col.addWidget(self.predict_box)
        run_col.addWidget(self.log, 1)
        inner = QWidget(self)
        cols = QHBoxLayout(inner)
        cols.setContentsMargins(4, 4, 4, 4)
        cols.addWidget(self.settings_box, 0, Qt.AlignmentFlag.AlignTop)
        cols.addLayout(run_col, 1)
        scroll = QScrollArea(self)
        scroll.setWidgetResizable(True)
        scroll.setFrameShape(QScrollArea.Shape.NoFrame)
        scroll.setWidget(inner)
        outer = QVBoxLayout(self)
        outer.setContentsMargins(0, 0, 0, 0)
        outer.addWidget(scroll)
        self.device.currentIndexChanged.connect(
            lambda _i: self.device_changed.emit(self.device_id()))
        self.start_mode.currentIndexChanged.connect(lambda _i: self._sync_start())
        self.arch.currentIndexChanged.connect(lambda _i: self._sync_start())
        self.width_box.currentIndexChanged.connect(lambda _i: self._sync_start())

    def add_buttons(self, layout) -> None:
        """The prediction buttons (the window's actions), under the run's status."""
        self.predict_box.setLayout(layout)

    # -- devices and settings ------------------------------------------------------------------
    def set_ready(self, ready: bool, note: str = "", can_start: bool | None = None) -> None:
        """``can_start``: Start stays pressable while the devices are detected (the
        start is queued); default: as ``ready``."""
        self.settings_box.setEnabled(ready)
        self.start_button.setEnabled(ready if can_start is None else can_start)
        self._placeholders(not ready and self.device.count() == 0)
        if note:
            self.status.setText(note)

    def _placeholders(self, on: bool) -> None:
        """Before the first detection the fields have no values yet: they show "…"
        instead of their minimum (epochs 1, lr 0.00001, crop 32)."""
        for box in (self.epochs, self.batch, self.lr, self.crop_h, self.crop_w):
            box.setSpecialValueText("…" if on else "")
            if on:
                box.setValue(box.minimum())

    def set_devices(self, devices: list[tuple[str, str]], imagenet: bool) -> None:
        self.imagenet = imagenet
        self.device.blockSignals(True)
        self.device.clear()
        for dev_id, name in devices:
            self.device.addItem(name, dev_id)
        self.device.blockSignals(False)
        self._sync_start()

    def device_id(self) -> str:
        return self.device.currentData() or "cpu"

    def set_device(self, dev_id: str) -> bool:
        i = self.device.findData(dev_id)
        if i < 0:
            return False
        self.device.blockSignals(True)
        self.device.setCurrentIndex(i)
        self.device.blockSignals(False)
        return True

    def set_config(self, cfg) -> None:
        """Show a TrainConfig in the fields."""
        _select(self.arch, cfg.arch)
        if self.width_box.findData(cfg.width) < 0:
            self.width_box.addItem(f"{cfg.width:g}", cfg.width)
        _select(self.width_box, cfg.width)
        self.epochs.setValue(cfg.epochs)
        self.batch.setValue(cfg.batch_size)
        self.lr.setValue(cfg.lr)
        _select(self.optimizer, cfg.optimizer)
        self.whole.setChecked(cfg.crop is None)
        if cfg.crop is not None:
            self.crop_h.setValue(cfg.crop[0])
            self.crop_w.setValue(cfg.crop[1])
        self.val_split.setValue(cfg.val_split)
        _select(self.weights, cfg.class_weights)
        if self.mode() != "resume":
            _select(self.start_mode, "imagenet" if cfg.imagenet and self._imagenet_ok()
                    else "scratch")
        self._sync_start()

    def set_config_dict(self, data: dict) -> bool:
        """Show the fields of a ``TrainConfig.to_dict()`` (a remembered form, shown
        before torch is imported); False when it does not read."""
        from types import SimpleNamespace

        try:
            crop = data.get("crop")
            cfg = SimpleNamespace(
                arch=str(data["arch"]), width=float(data["width"]), epochs=int(data["epochs"]),
                batch_size=int(data["batch_size"]), lr=float(data["lr"]),
                optimizer=str(data["optimizer"]), crop=None if crop is None else
                (int(crop[0]), int(crop[1])), val_split=float(data["val_split"]),
                class_weights=str(data["class_weights"]), imagenet=data.get("imagenet"))
        except (KeyError, TypeError, ValueError, IndexError, AttributeError):
            return False
        self._placeholders(False)
        self.set_config(cfg)
        return True

    def config(self, base):
        """A TrainConfig with the fields on top of ``base`` (the device's defaults)."""
        from ...nn.config import switch_optimizer

        base = switch_optimizer(base, self.optimizer.currentData(), float(self.lr.value()))
        changes = dict(arch=self.arch.currentData(), width=float(self.width_box.currentData()),
                       epochs=self.epochs.value(), batch_size=self.batch.value(),
                       crop=None if self.whole.isChecked() else (self.crop_h.value(),
                                                                 self.crop_w.value()),
                       val_split=round(float(self.val_split.value()), 4),
                       class_weights=self.weights.currentData(),
                       imagenet="auto" if self.mode() == "imagenet" else None)
        return base.replace(**changes)

    def mode(self) -> str:
        return self.start_mode.currentData()

    def set_mode(self, mode: str) -> None:
        _select(self.start_mode, mode)

    def set_checkpoints(self, items: list[tuple[str, str]]) -> None:
        """(label, path) of checkpoints to continue from, newest first (then the files
        chosen with "…", so that a refresh of the runs never swaps the chosen one)."""
        keep = self.checkpoint.currentData()
        self.checkpoint.clear()
        listed = {path for _label, path in items}
        for label, path in list(items) + [(p, p) for p in self._browsed if p not in listed]:
            self.checkpoint.addItem(label, path)
            self.checkpoint.setItemData(self.checkpoint.count() - 1, path,
                                        Qt.ItemDataRole.ToolTipRole)
        if keep:
            _select(self.checkpoint, keep)
        self._sync_start()

    def set_has_active(self, on: bool) -> None:
        """Whether "Continue from the active model" can be chosen; when a project first
        has one, it becomes the choice (rounds, not restarts)."""
        first = on and not self.has_active
        self.has_active = on
        if first and self.mode() == "scratch":
            self.set_mode("active")
        self._sync_start()

    def start_from(self) -> str | None:
        """"auto" to continue from the active model (when it fits), else None."""
        return "auto" if self.mode() == "active" else None

    def separate_process(self) -> bool:
        return self.run_in.currentData() == "process"

    def resume_path(self) -> str | None:
        return self.checkpoint.currentData() if self.mode() == "resume" else None

    def _browse_checkpoint(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Continue from checkpoint", "",
                                              "Checkpoints (*.pt)")
        if path:
            if path not in self._browsed:
                self._browsed.append(path)
            if self.checkpoint.findData(path) < 0:
                self.checkpoint.insertItem(0, path, path)
            _select(self.checkpoint, path)
            self.set_mode("resume")

    def _imagenet_ok(self) -> bool:
        return (self.imagenet and self.arch.currentData() == "segnet"
                and self.width_box.currentData() == 1.0)

    def _sync_start(self) -> None:
        model = self.start_mode.model()
        item = model.item(self.start_mode.findData("imagenet"))
        ok = self._imagenet_ok()
        item.setEnabled(ok)
        item.setToolTip("" if ok else "needs SegNet at width 1.0 and torchvision's VGG16-BN "
                                      "file (vgg16_bn-6c64b313.pth) in its cache; nothing is "
                                      "downloaded")
        resume_item = model.item(self.start_mode.findData("resume"))
        resume_item.setEnabled(self.checkpoint.count() > 0)
        active_item = model.item(self.start_mode.findData("active"))
        active_item.setEnabled(self.has_active)
        active_item.setToolTip("" if self.has_active else "the project has no active model yet")
        if (self.mode() == "imagenet" and not ok) or (self.mode() == "resume"
                                                        and self.checkpoint.count() == 0) or (
                self.mode() == "active" and not self.has_active):
            self.set_mode("scratch")
        resume = self.mode() == "resume"
        self.checkpoint.setEnabled(resume)
        self.browse.setEnabled(True)
        for w in (self.arch, self.width_box, self.batch, self.lr, self.optimizer, self.crop_h,
                  self.crop_w, self.whole, self.val_split, self.weights):
            w.setEnabled(not resume)
        if not resume:
            self.crop_h.setEnabled(not self.whole.isChecked())
            self.crop_w.setEnabled(not self.whole.isChecked())
        self.epochs.setToolTip("Epochs to add to the checkpoint" if resume else "Epochs")

    # -- running ------------------------------------------------------------------------------
    def set_running(self, running: bool, paused: bool) -> None:
        self.start_button.setEnabled(not running and self.device.count() > 0)
        self.pause_button.setEnabled(running)
        self.pause_button.setText("Resume" if paused else "Pause")
        self.stop_button.setEnabled(running)
        self.settings_box.setEnabled(not running and self.device.count() > 0)

    def add_message(self, text: str, level: str = "info") -> None:
        stamp = time.strftime("%H:%M:%S")
        prefix = "" if level == "info" else f"{level}: "
        self.log.appendPlainText(f"{stamp}  {prefix}{text}")

    def show_event(self, ev) -> None:
        match ev:
            case RunStarted():
                self._show_run_started(ev)
            case EpochStarted():
                self._show_epoch_started(ev)
            case Step():  # only the progress bar: a label's new text relays the panel out
                if self.progress.maximum() != ev.steps_per_epoch:
                    self.progress.setMaximum(ev.steps_per_epoch)
                self.progress.setFormat(f"{ev.epoch}/{self.epochs_total} · step %v/%m · "
                                        f"loss {ev.loss:.3f}")
                self.progress.setValue(ev.step)
            case EpochEnd():
                self._show_epoch_end(ev)
            case Message():
                self.add_message(ev.text.strip().splitlines()[-1] if ev.level == "error"
                                 else ev.text, ev.level)
            case Finished():
                self._show_finished(ev)

    def _show_run_started(self, ev: RunStarted) -> None:
        self._prev_train = set()
        self.speed.setText("")   # the last run's img/s, ETA and best are not this run's
        self.images.setText("")
        what = "continues" if ev.start_epoch else "starts"
        self.status.setText(f"Run {ev.run_id} {what} on {ev.device_name} "
                            f"({ev.parameters:,} parameters)")
        self.progress.setRange(0, 1)
        self.progress.setValue(0)
        self.add_message(f"run {ev.run_id} on {ev.device_name}: {ev.config['arch']} width "
                         f"{ev.config['width']:g}, {ev.train_images} train / "
                         f"{ev.val_images} val images; checkpoints in {ev.checkpoint_dir}")

    def _show_epoch_started(self, ev: EpochStarted) -> None:
        ids = set(ev.train_ids)
        new = len(ids - self._prev_train) if self._prev_train else 0
        self._prev_train = ids
        self.epochs_total = ev.epochs
        self.progress.setRange(0, max(ev.steps, 1))
        self.progress.setValue(0)
        self.progress.setFormat(f"{ev.epoch}/{ev.epochs} · step %v/%m")
        joined = f" (+{new} since the last epoch)" if new else ""
        self.images.setText(f"Epoch {ev.epoch} trains on {len(ids)} images{joined}, "
                            f"validates on {len(ev.val_ids)}")
        self.status.setText(f"Epoch {ev.epoch} of {ev.epochs}")

    def _show_epoch_end(self, ev: EpochEnd) -> None:
        m = ev.metrics
        miou = f", val mIoU {m.miou * 100:.1f} %" if m.miou is not None else ""
        best = (f" · best {ev.best_miou * 100:.1f} %" if ev.best_miou is not None else "")
        self.speed.setText(f"{m.images_per_sec or 0.0:.1f} img/s · {m.seconds or 0.0:.1f} "
                           f"s/epoch · ETA {fmt_seconds(ev.eta_seconds)}{best}")
        loss = f"{m.train_loss:.3f}" if m.train_loss is not None else "-"
        trivial = ""
        if ev.beats_trivial is False:  # the guard: say it plainly, every epoch
            trivial = (f" -- not better than painting everything one class "
                       f"({ev.trivial_miou * 100:.1f} % mIoU)")
        self.add_message(f"epoch {ev.epoch}/{ev.epochs}: loss {loss}{miou}"
                         + (" (best)" if ev.is_best else "") + trivial,
                         "warning" if trivial else "info")

    def _show_finished(self, ev: Finished) -> None:
        self.status.setText(f"{ev.status.capitalize()}: {ev.message}")
        self.add_message(f"{ev.status}: {ev.message}"
                         + (f"; last checkpoint {ev.last_checkpoint}"
                            if ev.last_checkpoint else ""),
                         "error" if ev.status == "failed" else "info")
        verdict = (ev.details or {}).get("verdict")
        if verdict:
            self.add_message(verdict, "warning")
            self.status.setText(f"{ev.status.capitalize()}: {verdict}")
