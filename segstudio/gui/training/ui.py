"""Training and prediction in the main window: docks, the Model menu, the wiring.

``TrainingUI(controller, canvas, listed, settings, notifier, host, parent)`` is
made once by the main window (``window.training``) with the collaborators it
uses (:mod:`..collaborators`; ``host`` takes its docks and the Model menu); it
never reads the window, and asks the editor to save its open edits before a
run starts through ``flush_edits_requested``, which the window connects.
It adds four docks (Training panel on the right; Training plots, Runs and
Evaluation tabbed at the bottom) and the Model menu:

* Ctrl+T starts training with the panel's settings (and stops a running one,
  asking first once it has run for more than a minute); pressed while the
  devices are still being detected, the start waits for them;
* Ctrl+P predicts the image on screen, Ctrl+Shift+P every unlabelled image;
  "Predict the listed images" predicts what the browser lists;
* Ctrl+L (label next) shows the most uncertain image without a human mask.

Torch is imported on a worker as soon as the first project starts opening
(the devices are detected there, and remembered in the user settings so the
next start shows them at once); pyqtgraph when the project view is first
needed, so the welcome window starts without either.  The engine's
epoch seconds and ETA leave pauses out.  Closing the window or the project
while training asks first, then stops the run after its current batch (the
last epoch's checkpoint is kept); a run in a separate process goes on, and the
window follows it again, or any run another process trains, when the project
opens (:mod:`.external`).
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

from PySide6.QtCore import QObject, Qt, QTimer, Signal
from PySide6.QtWidgets import (
    QVBoxLayout,
    QWidget,
)

from ...core.errors import SegStudioError
from ...nn.runs.events import EpochEnd, Finished, GpuMemory, Message, RunStarted
from ..dialogs import ask_yes_cancel
from ..window_status import finished_message
from .external import run_in_progress
from .model_menu import build_model_menu
from .panel import TrainingPanel
from .predict import PredictService
from .remembered import (
    fmt_age,
    remember_devices,
    remember_form,
    remembered_devices,
    remembered_form,
)
from .runs import RunsView
from .trainer import Trainer
from .training_jobs import (
    active_checkpoint,
    config_setting,
    cpu_threads,
    freeze_heap,
    has_active_click_model,
    imagenet_available,
    saved_config,
)

if TYPE_CHECKING:
    from ..collaborators import DockHost, ListedImages, Notifier, Settings
    from ..project_controller import ProjectController
    from ..widgets.canvas import Canvas

Area = Qt.DockWidgetArea
ASK_STOP_AFTER_S = 60.0                # Ctrl+T asks before stopping a run longer than this
JUST_ENDED_S = 5.0                     # Ctrl+T this soon after a run ended does not restart


class TrainingUI(QObject):
    flush_edits_requested = Signal()  # save the open edits now: they join the first epoch

    def __init__(self, controller: ProjectController, canvas: Canvas, listed: ListedImages,
                 settings: Settings, notifier: Notifier, host: DockHost, parent: QWidget):
        super().__init__(parent)
        self.parent_widget = parent  # of the confirmations and of the Model menu
        self.host = host
        self.settings = settings
        self.notifier = notifier
        self.controller = controller
        self.trainer = Trainer(self)
        self.panel = TrainingPanel()
        self.jobs = self.controller.workers.lane("training")
        self.runs = RunsView(self.jobs)
        self.service = PredictService(controller, canvas, notifier, listed, self.trainer,
                                      self.device, self)
        self.panel.score.currentIndexChanged.connect(
            lambda _i: setattr(self.service, "score", self.panel.score.currentData()))
        self.ready = False
        self.devices: list[tuple[str, str]] = []
        self.plots = None       # TrainingPlots, made with the project view (pyqtgraph)
        self.evaluation = None  # EvaluationView, likewise
        self.confirm = self._confirm  # (title, text) -> bool
        self._sized = False
        self._device_kind = ""
        self.clock = time.monotonic     # the run's age and its paused time (tests set it)
        self._ended_at: float | None = None  # when the last run ended (Ctrl+T's guard)
        self._run_started_at: float | None = None
        self._detecting = False
        self._start_queued = False
        self._click_run = False  # the run under way trains the click model
        self._build_docks()
        self.actions, self.menu = build_model_menu(self)
        self._connect()

    # -- building ------------------------------------------------------------------------------
    def _holder(self) -> QWidget:
        w = QWidget()
        lay = QVBoxLayout(w)
        lay.setContentsMargins(0, 0, 0, 0)
        return w

    def _build_docks(self) -> None:
        w = self.host
        self.plots_holder = self._holder()
        self.eval_holder = self._holder()
        bottom = Area.BottomDockWidgetArea
        self.panel_dock = w.add_dock(self.panel, "Training", "dock-training", bottom)
        self.plots_dock = w.add_dock(self.plots_holder, "Training plots", "dock-training-plots",
                                     bottom)
        self.runs_dock = w.add_dock(self.runs, "Runs", "dock-runs", bottom)
        self.eval_dock = w.add_dock(self.eval_holder, "Evaluation", "dock-evaluation", bottom)
        w.splitDockWidget(self.panel_dock, self.plots_dock, Qt.Orientation.Horizontal)
        w.tabifyDockWidget(self.plots_dock, self.runs_dock)
        w.tabifyDockWidget(self.runs_dock, self.eval_dock)
        self.plots_dock.raise_()

    def ensure_views(self) -> None:
        """Make the pyqtgraph views (plots, evaluation) if not made yet."""
        if self.plots is not None:
            return
        from .evaluation import EvaluationView
        from .plots import TrainingPlots

        self.plots = TrainingPlots(self.plots_holder)
        self.plots_holder.layout().addWidget(self.plots)
        self.plots.save_csv_requested.connect(self.save_csv)
        self.service.inference_ms.connect(self.plots.add_inference)
        self.evaluation = EvaluationView(self.service, self.eval_holder)
        self.eval_holder.layout().addWidget(self.evaluation)
        self.evaluation.message.connect(self.notifier.show_message)
        project = self.controller.project
        self.evaluation.set_project(project)
        if project is not None:
            self._classes_changed(project.classes)
        self._update_checkpoints()

    def _connect(self) -> None:
        c = self.controller
        p = self.panel
        p.start_requested.connect(self.start_training)
        p.pause_requested.connect(self.trainer.toggle_pause)
        p.stop_requested.connect(self.trainer.stop)
        p.device_changed.connect(self._device_changed)
        p.defaults_requested.connect(self._apply_defaults)
        p.task_changed.connect(lambda _t: self._apply_saved_config() if self.ready else None)
        self.trainer.event.connect(self._event)
        self.trainer.running_changed.connect(self._running_changed)
        self.trainer.paused_changed.connect(self._paused_changed)
        self.service.batch_running.connect(self.actions["stop_predict"].setEnabled)
        self.runs.message.connect(self.notifier.show_message)
        self.runs.show_requested.connect(self._show_run)
        self.runs.evaluate_requested.connect(self._evaluate_checkpoint)
        self.runs.loaded.connect(self._update_checkpoints)
        c.opening.connect(lambda _f: QTimer.singleShot(0, self.ensure_views))
        c.opening.connect(lambda _f: self._show_remembered())
        c.opening.connect(lambda _f: QTimer.singleShot(0, self.detect_devices))
        c.project_opened.connect(self._project_opened)
        c.about_to_close.connect(self._project_closing)
        c.project_closed.connect(self._project_closed)
        c.classes_changed.connect(self._classes_changed)

    # -- devices and settings ------------------------------------------------------------------
    def device(self) -> str:
        return self.panel.device_id() if self.ready else "auto"

    def detect_devices(self) -> None:
        """Import torch and list the devices on a worker (once)."""
        if self.ready or self._detecting:
            return
        self._detecting = True

        def job(ctx):
            from ...nn.device import available_devices

            return [(d.id, d.name) for d in available_devices()], imagenet_available()

        def failed(msg: str) -> None:
            self._detecting = False
            self._start_queued = False
            self.panel.set_ready(False, f"No device for training: {msg}")

        # the devices are the program's, not the project's: the job outlives a close
        self.jobs.submit(job, key="detect", on_result=self._detected, on_error=failed,
                         bound=False)

    def _show_remembered(self) -> None:
        """Before the detection: the devices and the form of the last session (no torch
        needed), greyed; Start can be pressed and waits for the detection."""
        if self.ready:
            return
        settings = self.settings
        devices, imagenet = remembered_devices(settings)
        device, form = remembered_form(settings)
        if devices and self.panel.device.count() == 0:
            self.panel.set_devices(devices, imagenet)
            self.panel.set_device(device)
        if form is not None:
            self.panel.set_config_dict(form)
        self.panel.set_ready(False, "Detecting devices … (Start now, and training begins as "
                                    "soon as they are known)", can_start=True)

    def _detected(self, result) -> None:
        self._detecting = False
        self.devices, imagenet = result
        freeze_heap()
        remember_devices(self.settings, self.devices, imagenet)
        self.panel.set_devices(self.devices, imagenet)
        self.ready = True
        if self.controller.project is not None:
            self._apply_saved_config()
        self.panel.set_ready(self.controller.project is not None,
                             "Ready: choose the settings and press Start (Ctrl+T)")
        self.panel.set_running(self.trainer.running, self.trainer.paused)
        if self._start_queued:
            self._start_queued = False
            self.start_training()

    def _defaults(self, device: str):
        """The device's default settings for the task the panel shows."""
        from ...nn.config import default_click_config, default_train_config

        if self.panel.task() == "click":
            return default_click_config(device)
        return default_train_config(device)

    def _apply_saved_config(self) -> None:
        if self.controller.project is None:
            return
        device, cfg = saved_config(self.controller.project, self.panel.task())
        if not self.panel.set_device(device):
            cfg = None
        defaults = self._defaults(self.panel.device_id())
        self.panel.set_recipe(defaults, [])
        self._device_kind = self.panel.device_id().split(":")[0]
        self.panel.set_config(cfg if cfg is not None else defaults)
        remember_form(self.settings, self.panel.device_id(), cfg or defaults)
        self._plan_recipe(show=cfg is None)

    def _plan_recipe(self, show: bool) -> None:
        """The recipe the project's fingerprint chooses, on a worker: the panel's baseline
        (and its fields, when the project has no settings of its own yet)."""
        project = self.controller.project
        if project is None or self.panel.task() != "semantic":
            return
        dev = self.panel.device_id()
        base = self._defaults(dev)

        def job(ctx):
            from ...nn.plan.recipe import planned

            _fp, cfg, lines = planned(project, base, dev)
            return cfg, lines

        def done(result) -> None:
            cfg, lines = result
            if self.panel.task() != "semantic" or self.trainer.running:
                return
            self.panel.set_recipe(cfg, lines)
            if show:
                self.panel.set_config(cfg)

        def failed(msg: str) -> None:  # no labelled images yet: the defaults stand
            self.panel.set_recipe(base, [f"No recipe yet: {msg}"])

        self.jobs.submit(job, key="recipe", on_result=done, on_error=failed)

    def _device_changed(self, dev: str) -> None:
        kind = dev.split(":")[0]
        if kind != self._device_kind:  # another kind of device: its own defaults
            self._device_kind = kind
            self._apply_defaults()

    def _apply_defaults(self) -> None:
        """"Defaults for the device": the device's defaults, then the project's recipe."""
        defaults = self._defaults(self.panel.device_id())
        self.panel.set_recipe(defaults, [])
        self.panel.set_config(defaults)
        self._plan_recipe(show=True)

    # -- training ------------------------------------------------------------------------------
    def toggle_training(self) -> None:
        """Ctrl+T: start, or stop the run under way (asking first when it has gone on
        for more than a minute: one key press should not end a long run)."""
        if self.trainer.running:
            age = self.clock() - (self._run_started_at or self.clock())
            if age > ASK_STOP_AFTER_S and not self.confirm(
                    "Stop training?",
                    f"The run has trained for {fmt_age(age)}. Stop it after the batch under "
                    "way? The checkpoint of the last completed epoch is kept."):
                self.notifier.show_message("Training goes on")
                return
            self.trainer.stop()
            self.notifier.show_message("Stopping training after the batch under way …")
        elif self._start_queued:
            self._start_queued = False
            self.notifier.show_message("The queued start of training was cancelled")
        elif self._ended_at is not None and self.clock() - self._ended_at < JUST_ENDED_S:
            # a press meant to stop a run that ended a moment before must not start one
            self._ended_at = None
            self.notifier.show_message("The run had just ended, so no new run was started; "
                                       "press Ctrl+T again to start one")
        else:
            self.start_training()

    def start_training(self) -> bool:
        project = self.controller.project
        if self.trainer.running:
            return False
        if project is None:
            self.notifier.show_message("Open a project first: training learns from its masks")
            return False
        if not self.ready:
            self._start_queued = True
            self.detect_devices()
            self.notifier.show_message("Training starts as soon as the devices are detected "
                                     "(Ctrl+T again cancels)")
            self.panel.status.setText("Detecting devices … training starts when they are known")
            return False
        dev = self.panel.device_id()
        task = self.panel.task()
        base = self._defaults(dev)
        saved_dev, saved = saved_config(project, task)
        if saved is not None and saved_dev.split(":")[0] == dev.split(":")[0]:
            base = saved  # the settings the panel does not show stay the project's
        try:
            cfg = self.panel.config(base).validate()
        except SegStudioError as exc:
            self.notifier.show_message(str(exc))
            self.panel.add_message(str(exc), "error")
            return False
        resume = self.panel.resume_path()
        if self.panel.mode() == "resume" and not resume:
            self.notifier.show_message("choose a checkpoint to continue from")
            return False
        try:
            project.set_setting(config_setting(task), {"device": dev, "config": cfg.to_dict()})
        except SegStudioError as exc:
            self.notifier.show_message(str(exc))
        self.flush_edits_requested.emit()  # open edits join the first epoch
        freeze_heap()
        self.ensure_views()
        separate = self.panel.separate_process()
        threads = cpu_threads() if dev == "cpu" and not separate else None
        self.panel.log.clear()
        remember_form(self.settings, dev, cfg)
        self._run_started_at = self.clock()
        self.service.training_checkpoint = None
        return self.trainer.start(project, self._request(cfg, resume), dev, threads,
                                  separate=separate)

    def _request(self, cfg, resume: str | None):
        """The run the panel describes: how it starts, and the settings the user changed
        from the recipe (the engine resolves the rest from the project's fingerprint, as
        for ``segstudio train``); a length changed from the recipe's is the user's too."""
        from ...nn.train.request import RunRequest
        from .panel_fields import length_changes, length_of

        if resume:
            return RunRequest(task=cfg.task, start="resume", checkpoint=resume,
                              add_epochs=self.panel.epochs.value())
        auto = self.panel.start_from() == "auto"
        length = self.panel.length()
        base = self.panel.baseline
        given = base is None or length != length_changes(*length_of(base))
        return RunRequest(task=cfg.task, start="auto" if auto else "scratch",
                          settings=self.panel.overrides(cfg),
                          budget=length.get("budget") if given else None,
                          epochs=length.get("epochs") if given else None)

    def _event(self, ev) -> None:
        if not isinstance(ev, GpuMemory):
            self.panel.show_event(ev)
        if self.plots is not None:
            self.plots.add_event(ev)
        match ev:
            case Message():
                text = ev.text.strip().splitlines()[-1] if ev.text.strip() else ""
                self.notifier.show_message(f"Training: {text}")
            case RunStarted():
                self._click_run = ev.config.get("task") == "click"
                self.runs.refresh()
            case EpochEnd():
                self.runs.refresh()
                if self._click_run:  # not a segmentation model: nothing to predict with
                    return
                self.service.training_checkpoint = (ev.last_checkpoint, ev.epoch)
                if self.panel.refresh.isChecked():
                    self.service.predict_current(ev.last_checkpoint, quiet=True)
            case Finished():
                self.service.training_checkpoint = None
                self.runs.refresh()
                project = self.controller.project
                active = active_checkpoint(project) if project is not None else None
                self.notifier.show_message(finished_message(ev, self._click_run, active), 20000)

    def _running_changed(self, running: bool) -> None:
        self._ended_at = None if running else self.clock()
        self.panel.set_running(running, self.trainer.paused)
        self.actions["train"].setText("Stop &training" if running else "Start &training")
        self.actions["pause"].setEnabled(running)

    def _paused_changed(self, paused: bool) -> None:
        self.panel.set_running(self.trainer.running, paused)
        self.actions["pause"].setText("&Resume training" if paused else "&Pause training")

    # -- views ---------------------------------------------------------------------------------
    def _show_dock(self, dock) -> None:
        self.ensure_views()
        dock.show()
        dock.raise_()

    def _show_run(self, run: dict, rows: list) -> None:
        self.ensure_views()
        if self.trainer.running:
            self.notifier.show_message("The plots follow the run under way; show the run after it")
            return
        self.plots.show_run(run, rows)
        self._show_dock(self.plots_dock)

    def _evaluate_checkpoint(self, path: str) -> None:
        self.ensure_views()
        self.evaluation.choose(path)
        self._show_dock(self.eval_dock)
        self.evaluation.evaluate()

    def _update_checkpoints(self) -> None:
        items = self.runs.checkpoints()
        self.panel.set_checkpoints(items)
        project = self.controller.project
        self.panel.set_has_active(project is not None and bool(active_checkpoint(project)))
        self.panel.set_has_active(project is not None and has_active_click_model(project), "click")
        if self.evaluation is not None:
            self.evaluation.set_checkpoints(items)

    def _classes_changed(self, table) -> None:
        if self.plots is not None:
            self.plots.set_class_colors({c.name: c.color for c in table.trainable})

    def save_csv(self) -> None:
        run_id = self.plots.history.run_id if self.plots is not None else None
        if run_id is None:
            selected = self.runs.selected_run()
            run_id = selected.id if selected else None
        if run_id is None:
            self.notifier.show_message("no run to save yet: train one first")
            return
        self.runs.ask_save_csv(run_id)

    def _save_png(self) -> None:
        self.ensure_views()
        self.plots.ask_save_png()

    def first_layout(self, _project) -> None:
        """The first project is shown (connected by the window)."""
        if self._sized:
            return
        self._sized = True
        if self.settings.window_state() is None:  # first start: give the plots room
            QTimer.singleShot(0, self._size_docks)

    def _size_docks(self) -> None:
        w = self.host
        w.resizeDocks([self.plots_dock], [max(320, w.height() * 2 // 5)], Qt.Orientation.Vertical)
        room = self.panel_dock.width() + self.plots_dock.width()  # beside the right column
        panel = max(room // 2, min(660, room - 360))  # the panel's form whole, if it can
        w.resizeDocks([self.panel_dock, self.plots_dock], [panel, room - panel],
                      Qt.Orientation.Horizontal)

    # -- project -------------------------------------------------------------------------------
    def _project_opened(self, project) -> None:
        self.ensure_views()
        self.runs.set_project(project)
        self.evaluation.set_project(project)
        self.plots.clear()
        run = run_in_progress(project)
        if run is not None and self.trainer.attach(project, run):
            self.ensure_views()
        if self.ready:
            self._apply_saved_config()
            self.panel.set_ready(True)
        else:
            self.detect_devices()

    def _project_closing(self) -> None:
        # the predictions and the runs' jobs stop with the project's generation
        self.trainer.stop_and_wait()

    def _project_closed(self) -> None:
        self._start_queued = False
        self.service.training_checkpoint = None
        self.service.cache.clear()
        self.runs.set_project(None)
        if self.evaluation is not None:
            self.evaluation.set_project(None)
        self.panel.set_ready(False, "Open a project to train")

    # -- closing -------------------------------------------------------------------------------
    def _confirm(self, title: str, text: str) -> bool:
        return ask_yes_cancel(self.parent_widget, title, text)

    def can_close(self) -> bool:
        """Ask before a running training is stopped (closing the window or project)."""
        if not self.trainer.running:
            return True
        if self.trainer.separate:
            return self.confirm("Training goes on", f"Training goes on in "
                                f"{self.trainer.external.describe()} after the window closes. "
                                "Open the project again to follow it.")
        return self.confirm("Training is running",
                            "Stop training? It stops after the batch under way; the checkpoint "
                            "of the last completed epoch is kept.")

    def shutdown(self) -> None:
        self.trainer.stop_and_wait()
        self.service.shutdown()
        self.jobs.shutdown()

