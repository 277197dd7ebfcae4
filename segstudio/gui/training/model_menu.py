"""The Model menu: train, pause, predict, label next, evaluate, runs, save plots and metrics.

:func:`build_model_menu` makes the window-wide actions of :class:`~.ui.TrainingUI`, the
menu (before Help) and the prediction buttons under the Training panel's status.
"""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QGridLayout, QMenu, QSizePolicy, QToolButton


def _action(ui, text: str, slot, shortcut: str | None = None, tip: str = "") -> QAction:
    act = QAction(text, ui.parent_widget)
    if shortcut:
        act.setShortcut(QKeySequence(shortcut))
    if tip:
        act.setStatusTip(tip)
        act.setToolTip(f"{tip} ({shortcut})" if shortcut else tip)
    act.setShortcutContext(Qt.ShortcutContext.WindowShortcut)
    act.triggered.connect(lambda _checked=False: slot())
    ui.host.addAction(act)
    return act


def build_model_menu(ui) -> tuple[dict[str, QAction], QMenu]:
    """The Model menu's actions (by key) and the menu, placed before Help; the panel gets
    the prediction buttons."""
    a: dict[str, QAction] = {}

    def act(*args) -> QAction:
        return _action(ui, *args)

    a["train"] = act("Start &training", ui.toggle_training, "Ctrl+T",
                     "Train with the Training panel's settings; again to stop")
    a["pause"] = act("&Pause training", ui.trainer.toggle_pause, None,
                     "Pause training between batches, or resume it")
    a["predict"] = act("&Predict this image", ui.service.predict_current,
                       "Ctrl+P", "Predict the image on screen with the active model")
    a["predict_all"] = act("Predict all &unlabelled images",
                           ui.service.predict_unlabelled, "Ctrl+Shift+P",
                           "Predict every image without mask or prediction")
    a["predict_listed"] = act("Predict the &listed images",
                              ui.service.predict_listed, None,
                              "Predict the images the browser lists (its filter)")
    a["stop_predict"] = act("&Stop predicting", ui.service.cancel_batch, None,
                            "Stop predicting many images (those done are kept)")
    a["label_next"] = act("Label &next (most uncertain)", ui.service.label_next,
                          "Ctrl+L", "Show the unlabelled image the model is least "
                          "sure about")
    a["evaluate"] = act("&Evaluate a checkpoint…", lambda: ui._show_dock(
                        ui.eval_dock), None, "Per-class IoU and confusion matrix on a split")
    a["runs"] = act("&Runs…", lambda: ui._show_dock(ui.runs_dock), None,
                    "Training runs and the active model")
    a["save_png"] = act("Save training plots as P&NG…", ui._save_png)
    a["save_csv"] = act("Save run metrics as &CSV…", ui.save_csv)
    a["stop_predict"].setEnabled(False)
    a["pause"].setEnabled(False)
    menu = QMenu("&Model", ui.parent_widget)
    for key in ("train", "pause", None, "predict", "predict_all", "predict_listed",
                "stop_predict", "label_next", None, "evaluate", "runs", None, "save_png",
                "save_csv"):
        menu.addSeparator() if key is None else menu.addAction(a[key])
    bar = ui.host.menuBar()
    menus = bar.actions()
    if menus:
        bar.insertMenu(menus[-1], menu)  # before Help
    else:
        bar.addMenu(menu)
    for key, short in (("predict", "This image"), ("predict_all", "All unlabelled"),
                       ("predict_listed", "Listed images"), ("label_next", "Label next")):
        a[key].setIconText(short)
    grid = QGridLayout()
    grid.setContentsMargins(4, 2, 4, 2)
    for i, key in enumerate(("predict", "predict_all", "predict_listed", "label_next")):
        b = QToolButton(ui.panel)
        b.setDefaultAction(a[key])
        b.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextOnly)
        b.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Preferred)
        grid.addWidget(b, i // 2, i % 2)
    ui.panel.add_buttons(grid)
    return a, menu
