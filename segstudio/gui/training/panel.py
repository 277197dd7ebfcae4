"""The Training panel: settings, start/pause/stop, and what the run is doing now.

The form is filled once the devices are known (detected on a worker when a
project opens: importing torch takes seconds), with the recipe the project's
fingerprint chooses (:meth:`set_recipe`).  :meth:`config` turns the fields into a
:class:`~segstudio.nn.config.TrainConfig`; :meth:`overrides` gives the fields the
user changed from the recipe (the run request's settings).  Every field's label,
tooltip, choices and range are the setting's own declaration
(:mod:`.panel_fields`).  :meth:`show_event` follows
the engine's events: epoch and step, how many images this epoch trains on
(and how many joined since the last one), speed, ETA, best mIoU, messages.
"""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
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

from . import panel_fields as PF
from .choices import (
    ARCH_LABELS,
    LOSS_LABELS,
    OPTIMIZERS,
    RUN_IN,
    SCORES,
    START,
    TASKS,
    WEIGHTS,
    WIDTHS,
    combo,
    select,
)
from .panel_status import RunStatusView


class TrainingPanel(RunStatusView, QWidget):
    start_requested = Signal()
    pause_requested = Signal()
    stop_requested = Signal()
    device_changed = Signal(str)
    defaults_requested = Signal()
    task_changed = Signal(str)  # "semantic" or "click": the form shows its defaults

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.imagenet = False
        # per task: the project has an active model a round can continue from
        self._active = {"semantic": False, "click": False}
        self._browsed: list[str] = []  # checkpoint files chosen with "…", kept on refreshes
        self._prev_train: set[int] = set()
        self.epochs_total = 0
        self.baseline = None  # the TrainConfig the recipe (or the defaults) gave
        self._build()
        select(self.start_mode, "scratch")  # "Active model" once the project has one
        self.set_ready(False, "Detecting devices …")
        self.set_running(False, False)

    # -- layout ------------------------------------------------------------------------------
    def _build(self) -> None:
        self.task_box = combo(self, TASKS)
        self.task_box.setToolTip("What to train: the segmentation model, or the Click "
                                 "tool's model (its own runs, checkpoints and active model)")
        self.arch = combo(self, ARCH_LABELS)
        self.width_box = combo(self, [(w, f"{w:g}") for w in WIDTHS])
        self.width_box.setToolTip(PF.tooltip("width"))
        self.arch.setToolTip(PF.tooltip("arch"))
        self.device = QComboBox(self)
        self.epochs = QSpinBox(self, minimum=1, maximum=1_000_000)  # the length's value
        self.unit = combo(self, PF.UNITS)
        self.unit.setToolTip(PF.tooltip("budget"))
        self.batch = PF.int_box(self, "batch_size", 1024)
        self.lr = PF.float_box(self, "lr", 5, 0.001)
        self.optimizer = combo(self, OPTIMIZERS)
        self.optimizer.setToolTip(PF.tooltip("optimizer"))
        self.loss = combo(self, LOSS_LABELS)
        self.loss.setToolTip(PF.tooltip("loss"))
        self.crop_h = QSpinBox(self, minimum=32, maximum=8192, singleStep=32)
        self.crop_w = QSpinBox(self, minimum=32, maximum=8192, singleStep=32)
        for box in (self.crop_h, self.crop_w):
            box.setToolTip(PF.tooltip("crop"))
        self.whole = QCheckBox("whole images", self)
        self.whole.toggled.connect(lambda on: (self.crop_h.setEnabled(not on),
                                               self.crop_w.setEnabled(not on)))
        self.val_split = PF.float_box(self, "val_split", 2, 0.05)
        self.val_split.setValue(0.3)
        self.weights = combo(self, WEIGHTS)
        self.weights.setToolTip(PF.tooltip("class_weights"))
        self.recipe_note = QLabel(self)
        self.recipe_note.setWordWrap(True)
        self.recipe_note.setToolTip("What the project's fingerprint chose (image sizes, "
                                    "channels, brightness, class shares and thickness); "
                                    "a field you change overrides it")
        self.score = combo(self, SCORES)
        self.score.setToolTip("How prediction scores images for Label next (stored per image, "
                              "shown in the browser)")
        self.start_mode = combo(self, START)
        self.run_in = combo(self, RUN_IN)
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
        form.addRow("Train", self.task_box)
        form.addRow(self.recipe_note)
        form.addRow("Model", row(self.arch, "width", self.width_box))
        form.addRow("Device", self.device)
        form.addRow("Length", row(self.epochs, self.unit, "batch", self.batch))
        form.addRow("Learning rate", row(self.lr, self.optimizer))
        form.addRow(PF.label("loss"), self.loss)
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
        for box in (self.task_box, self.arch, self.width_box, self.device, self.optimizer,
                    self.weights, self.start_mode, self.checkpoint, self.loss, self.unit):
            box.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
            box.setMinimumContentsLength(4 if box is self.width_box else 8)
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
        self.log.setMinimumHeight(self.log.fontMetrics().lineSpacing() * 8 + 12)  # 8 lines

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
        self.task_box.currentIndexChanged.connect(self._task_changed)
        self.crop_h.valueChanged.connect(
            lambda v: self.crop_w.setValue(v) if self.task() == "click" else None)

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
        """Show a TrainConfig in the fields (its task too)."""
        self.task_box.blockSignals(True)
        select(self.task_box, getattr(cfg, "task", "semantic"))
        self.task_box.blockSignals(False)
        select(self.arch, cfg.arch)
        if self.width_box.findData(cfg.width) < 0:
            self.width_box.addItem(f"{cfg.width:g}", cfg.width)
        select(self.width_box, cfg.width)
        value, unit = PF.length_of(cfg)
        self.epochs.setValue(value)
        PF.select_unit(self.unit, unit)
        self.batch.setValue(cfg.batch_size)
        self.lr.setValue(cfg.lr)
        select(self.optimizer, cfg.optimizer)
        self._losses_for(getattr(cfg, "task", "semantic"))
        select(self.loss, getattr(cfg, "loss", "ce"))
        self.whole.setChecked(cfg.crop is None)
        if cfg.crop is not None:
            self.crop_h.setValue(cfg.crop[0])
            self.crop_w.setValue(cfg.crop[1])
        self.val_split.setValue(cfg.val_split)
        select(self.weights, cfg.class_weights)
        if self.mode() != "resume":
            if self.task() == "click":
                start = "features" if getattr(cfg, "features_from", None) else "scratch"
            else:
                start = "imagenet" if cfg.imagenet and self._imagenet_ok() else "scratch"
            if self.mode() != "active" or not self.has_active:
                select(self.start_mode, start)
        self._sync_start()

    def set_config_dict(self, data: dict) -> bool:
        """Show the fields of a ``TrainConfig.to_dict()`` (a remembered form, shown
        before torch is imported); False when it does not read."""
        from types import SimpleNamespace

        try:
            crop = data.get("crop")
            cfg = SimpleNamespace(
                arch=str(data["arch"]), width=float(data["width"]), epochs=int(data["epochs"]),
                budget=data.get("budget"), loss=str(data.get("loss", "ce")),
                batch_size=int(data["batch_size"]), lr=float(data["lr"]),
                optimizer=str(data["optimizer"]), crop=None if crop is None else
                (int(crop[0]), int(crop[1])), val_split=float(data["val_split"]),
                class_weights=str(data["class_weights"]), imagenet=data.get("imagenet"),
                task=str(data.get("task", "semantic")), features_from=data.get("features_from"))
        except (KeyError, TypeError, ValueError, IndexError, AttributeError):
            return False
        self._placeholders(False)
        self.set_config(cfg)
        return True

    def config(self, base):
        """A TrainConfig with the fields on top of ``base`` (the device's defaults)."""
        from ...nn.config import switch_optimizer

        base = switch_optimizer(base, self.optimizer.currentData(), float(self.lr.value()))
        click = self.task() == "click"
        changes = dict(task=self.task(), arch=self.arch.currentData(),
                       width=float(self.width_box.currentData()),
                       batch_size=self.batch.value(), loss=self.loss.currentData(),
                       **PF.length_changes(self.epochs.value(), self.unit.currentData()),
                       crop=(self.crop_h.value(),) * 2 if click else None
                       if self.whole.isChecked() else (self.crop_h.value(), self.crop_w.value()),
                       val_split=round(float(self.val_split.value()), 4),
                       class_weights="none" if click else self.weights.currentData(),
                       imagenet="auto" if self.mode() == "imagenet" and not click else None)
        if click:
            changes["features_from"] = "auto" if self.mode() == "features" else None
        return base.replace(**changes)

    def overrides(self, cfg) -> dict:
        """The settings of ``cfg`` (the form's) that differ from what the recipe gave
        (:attr:`baseline`): what the user chose, for the run request."""
        base = self.baseline
        if base is None or base.task != cfg.task:
            return {}
        keep = ("arch", "width", "batch_size", "crop", "lr", "optimizer", "weight_decay",
                "loss", "val_split", "class_weights", "imagenet", "features_from")
        return {k: getattr(cfg, k) for k in keep if getattr(cfg, k) != getattr(base, k)}

    def length(self) -> dict:
        """The run's length as the form gives it: {"epochs": N, "budget": None} or
        {"budget": "10m" | "N steps"}."""
        return PF.length_changes(self.epochs.value(), self.unit.currentData())

    def set_recipe(self, cfg, lines: list[str]) -> None:
        """The recipe the project's fingerprint chose (the baseline the user's changes
        are measured from), and what it says."""
        self.baseline = cfg
        project = [ln.split(": ", 1)[1] for ln in lines if ln.startswith("project: ")]
        rules = [ln.split(": ", 2)[1] for ln in lines if ln.startswith("recipe: ")]
        other = [ln for ln in lines if not ln.startswith(("project: ", "recipe: "))]
        text = project + other
        if project:
            text.append("Recipe: " + (", ".join(rules) if rules else "the defaults"))
        self.recipe_note.setText("\n".join(text))
        self.recipe_note.setToolTip("\n".join(ln.split(": ", 1)[1] if ": " in ln else ln
                                              for ln in lines) + "\n\nA field you change "
                                    "overrides the recipe.")
        self.recipe_note.setVisible(bool(text))

    def _losses_for(self, task: str) -> None:
        from ...nn.registry import losses_for

        allowed = set(losses_for(task))
        view = self.loss.view()
        for i in range(self.loss.count()):
            view.setRowHidden(i, self.loss.itemData(i) not in allowed)
        if self.loss.currentData() not in allowed:
            select(self.loss, "ce")

    def task(self) -> str:
        return self.task_box.currentData() or "semantic"

    def set_task(self, task: str) -> None:
        select(self.task_box, task)

    def _task_changed(self, _i: int) -> None:
        if self.has_active and self.mode() in ("scratch", "features", "imagenet"):
            self.set_mode("active")  # the task's model exists: a round, not a restart
        self._sync_start()
        self.task_changed.emit(self.task())

    @property
    def has_active(self) -> bool:
        """The project has an active model of the chosen task."""
        return self._active[self.task()]

    def mode(self) -> str:
        return self.start_mode.currentData()

    def set_mode(self, mode: str) -> None:
        select(self.start_mode, mode)

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
            select(self.checkpoint, keep)
        self._sync_start()

    def set_has_active(self, on: bool, task: str = "semantic") -> None:
        """Whether "Continue from the active model" can be chosen for ``task``; when a
        project first has one, it becomes the choice (rounds, not restarts)."""
        first = on and not self._active[task]
        self._active[task] = on
        if first and task == self.task() and self.mode() in ("scratch", "features"):
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
            select(self.checkpoint, path)
            self.set_mode("resume")

    def _imagenet_ok(self) -> bool:
        return (self.task() == "semantic" and self.imagenet and self.arch.currentData() == "segnet"
                and self.width_box.currentData() == 1.0)

    def _sync_start(self) -> None:
        model = self.start_mode.model()
        item = model.item(self.start_mode.findData("imagenet"))
        ok = self._imagenet_ok()
        click = self.task() == "click"
        item.setEnabled(ok)
        item.setToolTip("" if ok else "the click model starts from a segmentation model's "
                        "features instead" if click else "needs SegNet at width 1.0 and "
                        "torchvision's VGG16-BN file (vgg16_bn-6c64b313.pth) in its cache; "
                        "nothing is downloaded")
        features = model.item(self.start_mode.findData("features"))
        features.setEnabled(click)
        features.setToolTip("Start from the active segmentation model's features (when it "
                            "has the same architecture and width)" if click else
                            "for the click model only")
        resume_item = model.item(self.start_mode.findData("resume"))
        resume_item.setEnabled(self.checkpoint.count() > 0)
        active_item = model.item(self.start_mode.findData("active"))
        active_item.setEnabled(self.has_active)
        active_item.setToolTip("" if self.has_active else "the project has no active "
                               + ("click model" if click else "model") + " yet")
        mode = self.mode()
        if ((mode == "features" and not click) or (mode == "imagenet" and not ok)
                or (mode == "resume" and self.checkpoint.count() == 0)
                or (mode == "active" and not self.has_active)):
            self.set_mode("scratch")
        resume = self.mode() == "resume"
        self.checkpoint.setEnabled(resume)
        self.browse.setEnabled(True)
        for w in (self.arch, self.width_box, self.batch, self.lr, self.optimizer, self.crop_h,
                  self.crop_w, self.whole, self.val_split, self.weights):
            w.setEnabled(not resume)
        self.weights.setEnabled(not resume and not click)  # every object is drawn alike
        self.score.setEnabled(not click)
        self.refresh.setEnabled(not click)  # a click model predicts no image
        self.weights.setToolTip("The click model weighs every object alike" if click
                                else "Class weighting of the loss")
        if click:  # the model sees square object boxes, resized to this side
            self.whole.setChecked(False)
            self.whole.setEnabled(False)
            self.crop_w.setValue(self.crop_h.value())
        if not resume:
            self.crop_h.setEnabled(not self.whole.isChecked())
            self.crop_w.setEnabled(not self.whole.isChecked() and not click)
        self.epochs.setToolTip("Epochs to add to the checkpoint" if resume else
                               PF.tooltip("budget"))
        self.unit.setEnabled(not resume)
        if resume:
            PF.select_unit(self.unit, "epochs")
        self.loss.setEnabled(not resume)

    # -- running ------------------------------------------------------------------------------
    def set_running(self, running: bool, paused: bool) -> None:
        self.start_button.setEnabled(not running and self.device.count() > 0)
        self.pause_button.setEnabled(running)
        self.pause_button.setText("Resume" if paused else "Pause")
        self.stop_button.setEnabled(running)
        self.settings_box.setEnabled(not running and self.device.count() > 0)
