"""The window's layout as a user meets it (issue 25, item 16): the tool bars fit at
1600 px, the default layout gives the Display panel and the training log their room,
PgDown over the log scrolls it, the status bar's notes keep clear of the readouts,
browser rows show whole numbers, the class opacities show their values, the class keys
are named by their classes, and "Run in" is remembered."""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import Qt
from PySide6.QtGui import QFontMetrics, QImage
from PySide6.QtWidgets import QToolBar, QToolButton

from segstudio.core.project import Project

from .conftest import open_and_wait


def test_the_tool_bars_fit_in_1600_px(qtbot, window, street_project):
    window.resize(1600, 1000)
    open_and_wait(qtbot, window, street_project[0])
    bars = [b for b in window.findChildren(QToolBar) if b.isVisible()]
    assert len(bars) == 3
    for bar in bars:  # nothing behind a »
        ext = bar.findChild(QToolButton, "qt_toolbar_ext_button")
        assert ext is None or not ext.isVisible(), bar.windowTitle()
    ui = window.editor.ui
    assert ui.preserve_box.isVisible()
    assert ui.options_bar.widgetForAction(ui.reviewed).isVisible()
    assert ui.toolbar.widgetForAction(ui.tool_actions["click"]).isVisible()


def test_the_default_layout_gives_display_and_log_their_room(qtbot, window, street_project):
    window.resize(1400, 900)  # the size of a first start
    open_and_wait(qtbot, window, street_project[0])
    display = window.docks["dock-display"].widget()  # its scroll area
    need = window.display_panel.sizeHint().height()
    qtbot.waitUntil(lambda: display.viewport().height() >= need, timeout=3000)
    log = window.training.panel.log
    assert log.height() >= 8 * log.fontMetrics().lineSpacing()  # ~4 lines before
    classes = window.class_panel.list
    assert classes.viewport().height() >= 9 * classes.rowHeight(0)  # every street class


def test_page_down_over_the_training_log_scrolls_it(qtbot, window, street_project):
    open_and_wait(qtbot, window, street_project[0], relpath="scene_1.png")
    log = window.training.panel.log
    for i in range(200):
        log.appendPlainText(f"line {i}")
    bar = log.verticalScrollBar()
    bar.setValue(0)
    log.setFocus()
    qtbot.keyClick(log, Qt.Key.Key_PageDown)
    assert bar.value() > 0
    assert window.controller.current.relpath == "scene_1.png"  # not the next image
    window.canvas.setFocus()
    qtbot.keyClick(window.canvas, Qt.Key.Key_PageDown)  # on the canvas it still is
    qtbot.waitUntil(lambda: window.controller.current.relpath == "scene_2.png", timeout=5000)


def _ink_columns(image: QImage, top: int, bottom: int) -> np.ndarray:
    """x of every column with a text pixel (far from the bar's colour) in rows top..bottom."""
    from .conftest import qimage_rgb

    rgb = qimage_rgb(image)[top:bottom].astype(int)
    back = rgb[:, :3].reshape(-1, 3).mean(axis=0)
    return np.flatnonzero((np.abs(rgb - back).sum(axis=2) > 150).any(axis=0))


def test_a_long_note_keeps_clear_of_the_readout(qtbot, window, street_project):
    open_and_wait(qtbot, window, street_project[0])
    bar = window.statusBar()
    label = window.pixel_label
    window.canvas.pixel_hovered.emit(30, 20)
    assert label.text().startswith("x 30")
    note = "Training completed: 40 epochs; the active model is " + "/deep/folder" * 30 + \
        "/run-5/best.pt"
    window.show_message(note)
    assert bar.currentMessage() == note
    shown = bar.shown_message()
    assert "…" in shown and shown.startswith("Training completed") and \
        shown.endswith("run-5/best.pt")
    assert bar.toolTip() == note
    ink = _ink_columns(bar.grab().toImage(), 3, bar.height() - 3)
    before_label = ink[ink < label.x()]
    assert label.x() - before_label.max() >= 10  # a gap, not "…Road 1.000x 419 y 26"


def test_browser_rows_show_whole_numbers_and_all_in_the_tooltip(qtbot, window, street_project):
    from segstudio.gui.widgets.browser_rows import fitted_metrics

    folder, _images, labels = street_project
    with Project.open(folder) as p:
        rec = p.find("scene_1.png")  # corrected: its prediction gets an IoU
        p.save_prediction(rec, labels[0], "ckpt", uncertainty=0.531)
        p.set_iou(p.find("scene_1.png"), 0.714)
    open_and_wait(qtbot, window, folder)
    fm = QFontMetrics(window.browser.view.font())
    items = ["unc 0.53", "IoU 0.71"]
    full = fm.horizontalAdvance("unc 0.53  IoU 0.71")
    assert fitted_metrics(items, fm, full) == "unc 0.53  IoU 0.71"
    assert fitted_metrics(items, fm, full - 3) == "unc 0.53"  # never "unc 0.53  IoU 0.("
    assert fitted_metrics(items, fm, fm.horizontalAdvance("unc 0.5")) == ""
    model = window.browser.model
    tip = model.data(model.index(model.row_of(rec.id)), Qt.ItemDataRole.ToolTipRole)
    assert "unc 0.53" in tip and "IoU 0.71" in tip


def test_class_opacities_show_their_values(qtbot, window, street_project):
    from segstudio.core.sample import TREE

    open_and_wait(qtbot, window, street_project[0])
    panel = window.class_panel
    assert panel.opacity_value(TREE) == "100 %"
    panel.set_class_opacity(TREE, 0.4)
    assert panel.opacity_value(TREE) == "40 %"
    slider = panel._sliders[TREE]
    qtbot.keyClick(slider, Qt.Key.Key_Right)
    assert panel.opacity_value(TREE) == "41 %"
    qtbot.waitUntil(slider.isVisible)
    assert slider.width() >= 70  # it was 60 px


def test_class_keys_are_named_by_their_classes(qtbot, window, street_project, camvid):
    from segstudio.core.classes import ClassTable
    from segstudio.gui.shortcuts import show_shortcuts

    open_and_wait(qtbot, window, street_project[0])
    assert window.controller.set_classes(ClassTable.load_json(camvid / "classes.json"))
    table = window.class_panel.table()
    tenth = table.classes[9]
    assert (tenth.id, tenth.name) == (9, "Pedestrian")
    dialog = show_shortcuts(window)
    assert dialog.keys_of("Class Pedestrian (id 9)") == "Shift+1"
    assert dialog.keys_of("Class 10") is None  # read as id 10 before
    dialog.reject()


def test_run_in_is_remembered(qtbot, tmp_path, street_project):
    from segstudio.gui.main_window import MainWindow
    from segstudio.gui.settings import AppSettings

    path = tmp_path / "remember.ini"
    win = MainWindow(AppSettings(path))
    qtbot.addWidget(win)
    box = win.training.panel.run_in
    assert box.currentData() == "thread"
    box.setCurrentIndex(box.findData("process"))
    win.close()
    win2 = MainWindow(AppSettings(path))
    qtbot.addWidget(win2)
    assert win2.training.panel.run_in.currentData() == "process"
    win2.close()
