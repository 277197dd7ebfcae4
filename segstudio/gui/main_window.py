"""The main window: layout and wiring only (work lives in the controller and widgets).

The window makes each feature with the collaborators it needs (typed in
collaborators.py) and is the only place that connects one feature to another:

* ``window.controller`` has the project, the current record and the document
  on screen (its one writer), ``controller.workers``, the one worker service
  every feature runs its jobs on (``controller.runner`` is its "jobs" lane).
* ``window.editor`` is the mask editor (segstudio/gui/editor), made in
  ``_setup_editor``: its tool bar, Edit menu and autosave; ``window.training``
  the training UI and its prediction service (segstudio/gui/training).
* The window is their dock host (``add_dock(widget, title, object_name, area)``:
  a toggle in View > Panels, a place that persists) and their notifier
  (``show_message``); it answers their requests: ``flush_edits_requested``,
  ``prediction_ready``, ``reveal_requested``, ``unsaved_changed``.
"""

from __future__ import annotations

import time
from dataclasses import replace
from pathlib import Path

from PySide6.QtCore import QSignalBlocker, QSize, Qt, Signal
from PySide6.QtGui import QAction
from PySide6.QtWidgets import (
    QDockWidget,
    QFileDialog,
    QLabel,
    QMainWindow,
    QMessageBox,
    QSizePolicy,
    QStackedWidget,
    QToolBar,
)

from .. import __version__
from ..core.project import ImageRecord
from ..core.sample import ensure_sample
from ..nn.runs.events import Finished
from .dialogs import ProjectDirQuestion
from .focus import FocusKeeper, ScrollKeys
from .icons import app_icon
from .project_controller import ProjectController, project_dir_writable
from .settings import AppSettings
from .thumbnails import ThumbnailLoader
from .widgets.browser import ImageBrowser
from .widgets.canvas import Canvas
from .widgets.class_panel import ClassPanel
from .widgets.display_panel import attach_display_panel
from .widgets.welcome import WelcomeView
from .window_actions import LAYER_TOGGLES, build_actions, build_menus, window_action
from .window_status import MessageBar, StatusReadout


class MainWindow(QMainWindow):
    project_shown = Signal(object)  # Project, once its records are in the browser

    def __init__(self, settings: AppSettings | None = None, sample_base: Path | None = None):
        super().__init__()
        self.settings = settings or AppSettings()
        self.sample_base = sample_base
        self.controller = ProjectController(self)
        self.workers = self.controller.workers
        self.thumbs = ThumbnailLoader(self.workers, self)
        self.docks: dict[str, QDockWidget] = {}
        self._project_view = False
        self._dock_state = self.settings.window_state()
        self._pending_select: str | None = None
        self._opening: tuple[str, str | None] | None = None
        self.ask_project_dir = lambda folder: ProjectDirQuestion(folder, self).ask()
        self.setStatusBar(MessageBar(self))  # before anything adds to it
        self.setWindowIcon(app_icon())
        self.setWindowTitle("segstudio")
        self.setDockOptions(QMainWindow.DockOption.AnimatedDocks
                            | QMainWindow.DockOption.AllowTabbedDocks)
        # the right column (classes, display) runs down to the status bar: under the
        # training docks it was crushed to a few rows (issue 25, item 16)
        self.setCorner(Qt.Corner.BottomRightCorner, Qt.DockWidgetArea.RightDockWidgetArea)
        self._setup_central()
        self._setup_docks()
        self._setup_actions()
        self._setup_menus()
        self._setup_toolbar()
        self._setup_statusbar()
        self._connect_controller()
        self._setup_editor()
        self.display_panel = attach_display_panel(self, self.controller, self.canvas,
                                                  self.docks["dock-classes"],
                                                  self.actions_.layers["show_mask"])
        self.actions_.show_image = self.display_panel.show_image_action
        self._setup_training()
        self._setup_review()
        self._restore_geometry()
        self._show_welcome()
        self.focus_keeper = FocusKeeper(self, self.focus_canvas)

    # -- layout ------------------------------------------------------------------------
    def _setup_central(self) -> None:
        self.welcome = WelcomeView(self)
        self.canvas = Canvas(self.workers, self)
        self.stack = QStackedWidget(self)
        self.stack.addWidget(self.welcome)
        self.stack.addWidget(self.canvas)
        self.setCentralWidget(self.stack)
        self.welcome.open_folder_requested.connect(self.choose_folder)
        self.welcome.open_sample_requested.connect(self.open_sample)
        self.welcome.open_recent_requested.connect(
            lambda r: self.open_folder(r.folder, r.project_dir))
        self.welcome.forget_missing_requested.connect(self.forget_missing_recent)

    def _setup_docks(self) -> None:
        self.browser = ImageBrowser(self.thumbs, self)
        self.class_panel = ClassPanel(self)
        self.add_dock(self.browser, "Images", "dock-images", Qt.DockWidgetArea.LeftDockWidgetArea)
        self.add_dock(self.class_panel, "Classes", "dock-classes",
                      Qt.DockWidgetArea.RightDockWidgetArea)
        self.browser.image_selected.connect(self.controller.show_image)
        self.browser.view.clicked.connect(lambda _i: self.canvas.setFocus())
        self.browser.filter_done.connect(self.canvas.setFocus)
        self.class_panel.style_edited.connect(self.controller.set_style)
        self.class_panel.table_edited.connect(self.controller.set_classes)
        self.class_panel.delete_requested.connect(self.controller.delete_class)

    def add_dock(self, widget, title: str, object_name: str,
                 area: Qt.DockWidgetArea = Qt.DockWidgetArea.RightDockWidgetArea) -> QDockWidget:
        """Add a dockable panel; its position and visibility persist across sessions."""
        dock = QDockWidget(title, self)
        dock.setObjectName(object_name)
        dock.setWidget(widget)
        self.addDockWidget(area, dock)
        self.docks[object_name] = dock
        if hasattr(self, "panels_menu"):
            self.panels_menu.addAction(dock.toggleViewAction())
        if not self._project_view:
            dock.hide()
        return dock

    def _action(self, *args, **kw) -> QAction:
        return window_action(self, *args, **kw)

    def _setup_actions(self) -> None:
        self.actions_ = build_actions(self)

    def _setup_menus(self) -> None:
        build_menus(self)

    def _setup_toolbar(self) -> None:
        a = self.actions_
        bar = QToolBar("Main", self)
        bar.setObjectName("toolbar-main")
        bar.setIconSize(QSize(18, 18))
        bar.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
        bar.addAction(a.open)
        bar.addSeparator()
        for act in (a.fit, a.actual):
            bar.addAction(act)
        a.fit.setIconText("Fit")
        a.actual.setIconText("1:1")
        bar.addSeparator()
        bar.addWidget(QLabel(" Show: ", bar))
        for field, *_ in LAYER_TOGGLES:
            bar.addAction(a.layers[field])
        self.addToolBar(Qt.ToolBarArea.TopToolBarArea, bar)
        self.toolbar = bar

    def _setup_statusbar(self) -> None:
        self.status = StatusReadout(self.statusBar(), self.canvas, self)
        self.pixel_label, self.busy_bar = self.status.pixel_label, self.status.busy_bar

    def _setup_editor(self) -> None:
        from .editor import EditorController

        self.editor = EditorController(self.controller, self.canvas, self.class_panel,
                                       self.settings, self, self, self)
        self.editor.unsaved_changed.connect(self._show_unsaved)
        self.controller.neighbours = self.browser.neighbours

    def _setup_training(self) -> None:
        """Training panel, plots, runs, evaluation and the Model menu (Ctrl+T, Ctrl+P,
        Ctrl+Shift+P, Ctrl+L); see segstudio/gui/training."""
        from .training import TrainingUI
        from .training.remembered import RUN_IN_SETTING, keep_choice

        t = self.training = TrainingUI(self.controller, self.canvas, self.browser,
                                       self.settings, self, self, self)
        t.flush_edits_requested.connect(self.editor.saver.save_all)
        t.service.prediction_ready.connect(self._prediction_ready)
        t.service.reveal_requested.connect(
            lambda rec, key: self.browser.reveal(rec.id, key, self.controller.records))
        self.project_shown.connect(t.first_layout)
        ScrollKeys(t.panel.log)  # PgDown there scrolls the log, not to the next image
        # which model's predictions are current: the browser marks the others
        t.service.model_known.connect(self._prediction_model_known)
        self.project_shown.connect(t.service.refresh_model)
        t.runs.active_changed.connect(t.service.refresh_model)
        t.trainer.event.connect(lambda ev: t.service.refresh_model()
                                if isinstance(ev, Finished) else None)
        keep_choice(self.settings, t.panel.run_in, RUN_IN_SETTING)

    def _setup_review(self) -> None:
        """The Review queue dock (Ctrl+R): regions the model most likely got wrong, one key
        per answer; its rounds are the training UI's runs (segstudio/gui/review)."""
        from .review import ReviewQueue

        r = self.review = ReviewQueue(self.controller, self.editor, self.canvas, self, self,
                                      self)
        # a tab beside the image browser (Ctrl+R brings it to the front): stacked under
        # it, its two region views made the window taller than a laptop's screen
        self.tabifyDockWidget(self.docks["dock-images"], r.dock_widget)
        self.docks["dock-images"].raise_()
        r.show_requested.connect(
            lambda rec: self.browser.select_image(rec.id) or self.controller.show_image(rec))
        r.round_requested.connect(self.training.start_training)
        self.training.trainer.running_changed.connect(r.set_training)
        self.training.trainer.event.connect(r.training_event)

    # -- wiring --------------------------------------------------------------------------
    def _connect_controller(self) -> None:
        c = self.controller
        c.opening.connect(lambda folder: self.welcome.set_busy(f"Opening {folder} …"))
        c.opening.connect(lambda _f: self._show_welcome())
        c.open_progress.connect(self.welcome.set_progress)
        c.open_failed.connect(self._open_failed)
        c.project_opened.connect(self._project_opened)
        c.project_closed.connect(self._project_closed)
        c.records_changed.connect(self._records_changed)
        c.record_updated.connect(self.browser.update_record)
        c.record_updated.connect(self._record_updated)
        c.classes_changed.connect(self.class_panel.set_table)
        c.classes_changed.connect(self._name_class_keys)
        c.classes_changed.connect(self.canvas.set_class_table)
        c.style_changed.connect(self._style_changed)
        c.document_loaded.connect(self._document_loaded)
        c.mask_replaced.connect(self.canvas.show_new_mask)
        c.large_window_changed.connect(self.canvas.show_large_window)
        c.prediction_replaced.connect(self.canvas.show_new_prediction)
        c.message.connect(self.show_message)
        c.busy.connect(self._busy)

    def _project_opened(self, project) -> None:
        self._opening = None
        self.thumbs.set_project(project)
        self.settings.add_recent(project.root, None if project.project_dir == project.root /
                                 ".segstudio" else project.project_dir)
        self.welcome.set_idle()
        self._pending_select = self.controller.last_image()
        self._show_project_view()
        self.setWindowTitle(f"{project.root.name} — segstudio")

    def _records_changed(self, records: list[ImageRecord]) -> None:
        self.browser.set_records(records, self.controller.name_keys)
        if not records:
            self.canvas.set_document(None)
            self.canvas.set_message("This folder has no images yet.\nAdd PNG, JPEG, TIFF, BMP or "
                                    "WebP files to it and open it again.")
        elif self.browser.current_record() is None:
            rec = None
            if self._pending_select:
                rec = next((r for r in records if r.relpath == self._pending_select), None)
            if rec is None or not self.browser.select_image(rec.id):
                self.browser.select_row(0)
        self._pending_select = None
        self.project_shown.emit(self.controller.project)

    def _prediction_model_known(self, model) -> None:
        project = self.controller.project
        self.browser.set_prediction_model(model, project.project_dir if project else None)

    def _project_closed(self) -> None:
        self.browser.set_prediction_model(None)
        self.thumbs.set_project(None)
        self.browser.clear()
        self.canvas.set_document(None)
        self.setWindowTitle("segstudio")
        self._show_welcome()

    def _document_loaded(self, doc) -> None:
        # a zoomed-in view stays where it is for the next image of the same size
        self.canvas.set_document(doc, keep_view=not self.canvas.fit_mode)
        self.status.pixel_hovered(-1, -1)
        # model layers this image does not have are greyed out (their state is kept)
        pred = doc is not None and doc.prediction is not None
        self.actions_.layers["show_prediction"].setEnabled(pred)
        self.actions_.layers["difference"].setEnabled(pred)
        has_uncertainty = doc is not None and doc.uncertainty is not None
        self.actions_.layers["uncertainty"].setEnabled(has_uncertainty)
        if doc is not None:
            name = doc.rec.relpath
            self.setWindowTitle(f"{name}[*] — {self.controller.project.root.name} — segstudio"
                                if self.controller.project else "segstudio")

    def _name_class_keys(self, table) -> None:
        """The class keys' actions say which class they pick ("Class Pedestrian (id 9)"):
        "Class 10 = Shift+1" in the shortcut list read as id 10, where the table shows
        Pedestrian as id 9 in row 10."""
        classes = table.classes
        for row, act in enumerate(self.actions_.classes):
            c = classes[row] if row < len(classes) else None
            act.setText(f"Class {c.name} (id {c.id})" if c is not None
                        else f"Class in row {row + 1} (none)")

    def _style_changed(self, style) -> None:
        self.class_panel.set_style(style)
        self.canvas.set_style(style)
        for field, act in self.actions_.layers.items():
            if act.isChecked() != getattr(style, field):
                with QSignalBlocker(act):
                    act.setChecked(getattr(style, field))

    def _record_updated(self, rec) -> None:
        """A new status (predicted, reset, saved) shows in the status bar at once."""
        doc = self.canvas.document()
        if doc is not None and doc.rec.id == rec.id and not self.status.hovering():
            self.status.pixel_hovered(-1, -1)

    def _prediction_ready(self, _rec) -> None:
        """A new prediction of the image on screen: its layers can be shown, and are
        unless the user is painting."""
        for name in ("show_prediction", "difference", "uncertainty"):
            self.actions_.layers[name].setEnabled(True)
        style = self.controller.style
        if not style.show_prediction:
            if self.editor.tool is not None:  # painting: stay out of the way
                self.show_message("the prediction is ready: Shift+P shows it")
            else:
                self.controller.set_style(replace(style, show_prediction=True))

    def _show_unsaved(self, dirty: bool) -> None:
        if "[*]" in self.windowTitle():  # Qt warns without the placeholder
            self.setWindowModified(dirty)

    def _toggle_layer(self, field: str, on: bool) -> None:
        self.controller.set_style(replace(self.controller.style, **{field: on}))

    def _busy(self, label: str, done: int, total: int) -> None:
        self.status.show_busy(label, done, total)
        self.class_panel.set_busy(self.controller.remapping)

    def _open_failed(self, message: str) -> None:
        folder, project_dir = self._opening or (None, None)
        self._opening = None
        if folder is not None and project_dir is None and "project directory" in message:
            # the folder looked writable but the project cannot be made there
            # (read-only mount, permissions): ask instead of failing
            chosen = self.ask_project_dir(folder)
            if chosen is not None:
                self.open_folder(folder, chosen)
                return
        self.welcome.set_idle(message, error=True)
        self.show_message(message)

    def show_message(self, text: str, msecs: int = 10000) -> None:
        """A one-line note or error in the status bar (never a dialog)."""
        self.statusBar().showMessage(text, msecs)

    # -- opening -----------------------------------------------------------------------------
    def choose_folder(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Open a folder of images")
        if folder:
            self.open_folder(folder)

    def open_folder(self, folder: str | Path, project_dir: str | Path | None = None) -> bool:
        """Open ``folder``; a read-only one asks where to keep the project."""
        folder = str(folder)
        if not Path(folder).is_dir():
            self._open_failed(f"{folder}: no such folder")
            return False
        if project_dir is None and not project_dir_writable(folder, None):
            project_dir = self.settings.project_dir_for(folder)
            if project_dir is None or not project_dir_writable(folder, project_dir):
                project_dir = self.ask_project_dir(folder)
                if project_dir is None:
                    self.show_message(f"{folder} was not opened: it is read-only and no "
                                      "project folder was chosen")
                    return False
        if self.controller.project is not None and not (self.training.can_close()
                                                        and self.editor.can_close()):
            return False  # an edit of the open project could not be saved: stay
        self._opening = (folder, project_dir)
        self.controller.open(folder, project_dir)
        return True

    def open_sample(self) -> None:
        """Draw the sample project at first use (a second or so), then open it."""
        self.welcome.set_busy("Preparing the sample project …")
        self.controller.runner.submit(
            lambda ctx: ensure_sample(self.sample_base), key="sample",
            on_result=lambda folder: self.open_folder(folder),
            on_error=lambda msg: self._open_failed(f"the sample project could not be made: {msg}"))

    def close_project(self) -> None:
        if self.training.can_close() and self.editor.can_close():  # edits are saved first
            self.controller.close_project()

    def next_image(self) -> None:
        self.browser.select_next(1)

    def previous_image(self) -> None:
        self.browser.select_next(-1)

    def _fill_recent_menu(self) -> None:
        self.recent_menu.clear()
        recent = self.settings.recent_projects()
        for r in recent:
            act = self.recent_menu.addAction(r.folder + ("" if r.exists() else "  (missing)"))
            act.setEnabled(r.exists())
            act.triggered.connect(lambda _=False, r=r: self.open_folder(r.folder, r.project_dir))
        if any(not r.exists() for r in recent):
            self.recent_menu.addSeparator()
            self.recent_menu.addAction("Forget missing folders", self.forget_missing_recent)
        if self.recent_menu.isEmpty():
            self.recent_menu.addAction("(none)").setEnabled(False)

    def forget_missing_recent(self) -> int:
        """Drop the recent projects whose folder is gone; how many were dropped."""
        gone = [r for r in self.settings.recent_projects() if not r.exists()]
        for r in gone:
            self.settings.remove_recent(r.folder)
        self.welcome.set_recent(self.settings.recent_projects())
        self.show_message(f"{len(gone)} missing folder(s) removed from the recent projects")
        return len(gone)

    def _project_folder(self) -> str:
        """Where the class table dialogs start: the open project's image folder (the
        current directory of the process means nothing to the user)."""
        project = self.controller.project
        return str(project.root) if project is not None else str(Path.home())

    def _import_classes(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Import a class table", self._project_folder(),
                                              "Class tables (*.json);;All files (*)")
        if path:
            self.controller.import_class_table(path)

    def _export_classes(self) -> None:
        path, _ = QFileDialog.getSaveFileName(
            self, "Export the class table", str(Path(self._project_folder()) / "classes.json"),
            "Class tables (*.json)")
        if path:
            self.controller.export_class_table(path)

    def _about(self) -> None:
        QMessageBox.about(self, "About segstudio",
                          f"<b>segstudio {__version__}</b><br>Semantic segmentation with SegNet: "
                          "label, train, correct, export.")

    # -- views ---------------------------------------------------------------------------------
    def _show_welcome(self) -> None:
        if self._project_view:
            self._dock_state = self.saveState()
        self._project_view = False
        self.welcome.set_recent(self.settings.recent_projects())
        self._set_page(self.welcome)
        for dock in self.docks.values():
            dock.hide()
        self.toolbar.setVisible(False)

    def _show_project_view(self) -> None:
        self._project_view = True
        self._set_page(self.canvas)
        self.toolbar.setVisible(True)
        for dock in self.docks.values():
            dock.show()
        if self._dock_state is None or not self.restoreState(self._dock_state):
            self.resizeDocks([self.docks["dock-images"], self.docks["dock-classes"]], [300, 380],
                             Qt.Orientation.Horizontal)
            # the display panel gets all it shows; the classes the rest of the column
            display = self.display_panel.sizeHint().height() + 40
            self.resizeDocks([self.docks["dock-classes"], self.docks["dock-display"]],
                             [max(300, self.height() - 160 - display), display],
                             Qt.Orientation.Vertical)
        self.canvas.setFocus()

    def focus_canvas(self) -> None:  # after a dialog: the window active, keys to the canvas
        self.activateWindow()
        self.canvas.setFocus() if self._project_view else None

    def _set_page(self, page) -> None:
        """Show one page; hidden pages do not count for the window's minimum size."""
        for i in range(self.stack.count()):
            w = self.stack.widget(i)
            policy = QSizePolicy.Policy.Preferred if w is page else QSizePolicy.Policy.Ignored
            w.setSizePolicy(policy, policy)
        self.stack.setCurrentWidget(page)

    def _restore_geometry(self) -> None:
        geometry = self.settings.window_geometry()
        if geometry is None or not self.restoreGeometry(geometry):
            self.resize(1400, 900)

    # -- closing ---------------------------------------------------------------------------------
    def closeEvent(self, event) -> None:
        # a running training asks first; an edit that could not be saved keeps the window
        if not self.training.can_close() or not self.editor.can_close():
            event.ignore()
            return
        t0 = time.perf_counter()
        state = self.saveState() if self._project_view else self._dock_state
        self.settings.save_window(self.saveGeometry(), state)
        self.thumbs.shutdown()
        self.training.shutdown()  # stops after the batch under way, before the project closes
        self.controller.shutdown()
        self.editor.shutdown()
        self.settings.sync()
        self.close_seconds = time.perf_counter() - t0
        event.accept()
