"""The main window's actions and menus (File, View, Image, Help), built once by
:class:`~segstudio.gui.main_window.MainWindow`; every action is added to the window,
so its shortcut works whichever widget has the focus."""

from __future__ import annotations

from types import SimpleNamespace

from PySide6.QtCore import QSignalBlocker, Qt
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QStyle

from .shortcuts import show_shortcuts
from .transfer import open_export_dialog, open_import_dialog
from .widgets.class_panel import KEYED_ROWS, class_key

# (style field, text, shortcut, tip)
LAYER_TOGGLES = (
    ("show_mask", "Human mask", "M", "Show the human mask"),
    ("show_prediction", "Prediction", "Shift+P", "Show the model's prediction"),  # P: polygon
    ("outline", "Outlines", "O", "Draw class boundaries only"),
    ("difference", "Difference", "X", "Highlight pixels where prediction and mask disagree"),
    ("uncertainty", "Uncertainty", "U", "Heat map of the prediction's uncertainty"),
)
# (style field, text, tip): View menu switches without a tool bar button
VIEW_SWITCHES = (
    ("hatch_prediction", "Hatch the prediction",
     "Show the prediction on diagonal stripes, the human mask solid"),
)


def window_action(win, text: str, slot=None, shortcuts=(), tip: str = "", checkable=False,
                  icon=None) -> QAction:
    act = QAction(text, win)
    if shortcuts:
        act.setShortcuts([QKeySequence(s) for s in shortcuts])
    if tip:
        act.setStatusTip(tip)
        act.setToolTip(f"{tip} ({shortcuts[0]})" if shortcuts else tip)
    if icon is not None:
        act.setIcon(win.style().standardIcon(icon))
    act.setCheckable(checkable)
    if slot is not None:
        (act.toggled if checkable else act.triggered).connect(slot)
    act.setShortcutContext(Qt.ShortcutContext.WindowShortcut)
    win.addAction(act)  # shortcuts work whichever widget has the focus
    return act


def build_actions(win) -> SimpleNamespace:
    """The window's actions (File, View, Image, Help); each works whichever widget has the focus."""
    SP = QStyle.StandardPixmap
    a = SimpleNamespace()
    a.open = window_action(win, "&Open folder…", win.choose_folder, ["Ctrl+O"],
                           "Open a folder of images", icon=SP.SP_DirOpenIcon)
    a.sample = window_action(win, "Open the &sample project", win.open_sample)
    a.close = window_action(win, "&Close project", win.close_project, ["Ctrl+W"])
    a.quit = window_action(win, "&Quit", win.close, ["Ctrl+Q"])
    a.fit = window_action(win, "&Fit to window", win.canvas.fit, ["Ctrl+0"],
                          "Fit the image to the window")
    a.actual = window_action(win, "&Actual pixels (100 %)", win.canvas.actual_size, ["Ctrl+1"],
                             "One image pixel per screen pixel")
    a.zoom_in = window_action(win, "Zoom &in", lambda: win.canvas.zoom_by(1.25),
                              ["Ctrl++", "+", "="])
    a.zoom_out = window_action(win, "Zoom &out", lambda: win.canvas.zoom_by(0.8), ["Ctrl+-", "-"])
    a.next = window_action(win, "&Next image", win.next_image, ["PgDown", "D"], "Next image")
    a.previous = window_action(win, "&Previous image", win.previous_image, ["PgUp", "A"],
                               "Previous image")
    a.find = window_action(win, "&Filter images…", win.browser.focus_filter, ["Ctrl+F"])
    a.layers = {}
    for field, text, key, tip in LAYER_TOGGLES:
        a.layers[field] = window_action(win, text, lambda on, f=field: win._toggle_layer(f, on),
                                        [key], tip, checkable=True)
    for field, text, tip in VIEW_SWITCHES:
        a.layers[field] = window_action(win, text, lambda on, f=field: win._toggle_layer(f, on),
                                        [], tip, checkable=True)
        with QSignalBlocker(a.layers[field]):
            a.layers[field].setChecked(getattr(win.controller.style, field))
    a.classes = [window_action(win, f"Class in row {n}",  # named by the project's classes
                               lambda _=False, n=n: win.class_panel.select_by_key(n),
                               [class_key(n - 1)]) for n in range(1, KEYED_ROWS + 1)]
    a.import_masks = window_action(
        win, "&Import masks…", lambda: open_import_dialog(win.controller, win.settings, win, win),
        ["Ctrl+I"], "Import masks from a folder or a COCO / labelme JSON file")
    a.export_masks = window_action(
        win, "&Export masks…",
        lambda: open_export_dialog(win.controller, win.settings, win, win.browser, win),
        ["Ctrl+E"], "Export masks for other tools (PNG, VOC, CamVid, COCO, labelme)")
    a.import_classes = window_action(win, "Import class &table…", win._import_classes, [],
                                     "Adopt the classes of a JSON file (e.g. classes.json)")
    a.export_classes = window_action(win, "Export class ta&ble…", win._export_classes, [],
                                     "Write the project's classes as JSON")
    a.about = window_action(win, "&About segstudio", win._about)
    a.shortcuts = window_action(win, "&Keyboard shortcuts", lambda: show_shortcuts(win),
                                ["?", "F1"], "Every key of the window, by menu")
    return a


def build_menus(win) -> None:
    a = win.actions_
    file_menu = win.menuBar().addMenu("&File")
    for act in (a.open, a.sample):
        file_menu.addAction(act)
    win.recent_menu = file_menu.addMenu("Open &recent")
    win.recent_menu.aboutToShow.connect(win._fill_recent_menu)
    file_menu.addSeparator()
    file_menu.addAction(a.import_masks)
    file_menu.addAction(a.export_masks)
    file_menu.addAction(a.import_classes)
    file_menu.addAction(a.export_classes)
    file_menu.addSeparator()
    file_menu.addAction(a.close)
    file_menu.addAction(a.quit)
    view = win.menuBar().addMenu("&View")
    for act in (a.fit, a.actual, a.zoom_in, a.zoom_out):
        view.addAction(act)
    view.addSeparator()
    for act in a.layers.values():
        view.addAction(act)
    view.addSeparator()
    win.panels_menu = view.addMenu("&Panels")
    for dock in win.docks.values():
        win.panels_menu.addAction(dock.toggleViewAction())
    image = win.menuBar().addMenu("&Image")
    for act in (a.next, a.previous, a.find):
        image.addAction(act)
    help_menu = win.menuBar().addMenu("&Help")
    help_menu.addAction(a.shortcuts)
    help_menu.addAction(a.about)

