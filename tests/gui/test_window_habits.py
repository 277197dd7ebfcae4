"""Issue 13, items 9-13: the window as an annotator expects it (qtbot, real widgets)."""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication

from segstudio.core.sample import CAR

from .editor_helpers import click, open_editor, view_point
from .training_helpers import streets, trained

__all__ = ["streets", "trained"]


def _button(bar, act):
    return bar.widgetForAction(act)


def test_undo_redo_buttons_keep_their_text_and_nothing_after_them_moves(qtbot, window,
                                                                         street_project):
    folder, _images, _labels = street_project
    canvas = open_editor(qtbot, window, folder)
    ed = window.editor
    bar = ed.ui.toolbar
    undo_act, redo_act = bar.actions()[:2]
    brush_btn = _button(bar, ed.ui.tool_actions["brush"])
    x_before = brush_btn.mapTo(bar, brush_btn.rect().topLeft()).x()
    assert not undo_act.isEnabled()
    qtbot.keyClick(canvas, Qt.Key.Key_B)
    window.class_panel.set_active_class(CAR)
    before = canvas.mask().copy()
    click(qtbot, canvas, view_point(canvas, 30.5, 20.5))
    assert not np.array_equal(canvas.mask(), before)
    # the Edit menu says which step; the tool bar button keeps its word
    assert ed.ui.undo.text() == "Undo Brush"
    assert _button(bar, undo_act).text() == "Undo" and undo_act.isEnabled()
    assert undo_act.toolTip() == "Undo Brush (Ctrl+Z)"
    qtbot.wait(1)
    assert brush_btn.mapTo(bar, brush_btn.rect().topLeft()).x() == x_before
    # the tool bar button undoes like Ctrl+Z
    _button(bar, undo_act).click()
    assert np.array_equal(canvas.mask(), before)
    assert _button(bar, redo_act).text() == "Redo"
    assert redo_act.toolTip() == "Redo Brush (Ctrl+Shift+Z)"
    assert not undo_act.isEnabled()
    _button(bar, redo_act).click()
    assert not np.array_equal(canvas.mask(), before)


def test_shortcut_list_opens_on_question_mark_and_keys_reach_beyond_nine_classes(
        qtbot, window, street_project):
    from segstudio.gui.widgets.class_panel import COL_ID, COL_KEY, COL_NAME

    folder, _images, _labels = street_project
    canvas = open_editor(qtbot, window, folder)
    panel = window.class_panel
    while len(panel.table().classes) < 12:
        panel.add_class()
        want = len(panel.table().classes)
        qtbot.waitUntil(lambda n=want: len(window.controller.classes().classes) == n)
    panel.list.closePersistentEditor(panel.list.currentItem())
    classes = panel.table().classes
    assert len({c.color for c in classes}) == len(classes)  # no two added classes alike
    # the panel shows each class's id and key
    for row, c in enumerate(classes):
        assert panel.list.item(row, COL_ID).text() == str(c.id)
        assert panel.list.item(row, COL_NAME).text() == c.name
    assert panel.list.item(8, COL_KEY).text() == "9"
    assert panel.list.item(9, COL_KEY).text() == "⇧1"
    canvas.setFocus()
    qtbot.keyClick(canvas, Qt.Key.Key_1, Qt.KeyboardModifier.ShiftModifier)
    assert panel.active_class() == classes[9].id
    qtbot.keyClick(canvas, Qt.Key.Key_2, Qt.KeyboardModifier.ShiftModifier)
    assert panel.active_class() == classes[10].id
    qtbot.keyClick(canvas, Qt.Key.Key_2)
    assert panel.active_class() == classes[1].id

    # ? opens the list, built from the window's own actions
    qtbot.keyClick(canvas, "?")
    dialog = window.shortcuts_dialog
    qtbot.waitUntil(dialog.isVisible)
    assert dialog.keys_of("Brush") == "B"
    assert dialog.keys_of("Undo") == "Ctrl+Z"
    assert dialog.keys_of(f"Class {classes[9].name} (id {classes[9].id})") == "Shift+1"
    assert dialog.keys_of("Keyboard shortcuts") == "?, F1"
    assert dialog.keys_of("Fill the polygon") == "Enter, double-click"
    dialog.filter.setText("grabcut")
    shown = [dialog.table.item(r, 1).text() for r in range(dialog.table.rowCount())
             if not dialog.table.isRowHidden(r)]
    assert "GrabCut" in shown and "Brush" not in shown
    help_menu = next(a.menu() for a in window.menuBar().actions() if a.text() == "&Help")
    assert window.actions_.shortcuts in help_menu.actions()
    dialog.reject()


def _light(rgb_image, p, reach: int = 1) -> bool:
    """A near-white pixel within ``reach`` of viewport point ``p``."""
    patch = rgb_image[p.y() - reach:p.y() + reach + 1, p.x() - reach:p.x() + reach + 1]
    return bool((patch.min(axis=2) >= 200).any())


def test_polygon_and_grabcut_say_the_next_step_and_the_polygon_shows_corners_and_closing_edge(
        qtbot, window, street_project):
    from dataclasses import replace

    from segstudio.core.display import DisplayAdjust
    from segstudio.core.sample import TREE

    from .conftest import qimage_rgb

    folder, _images, _labels = street_project
    canvas = open_editor(qtbot, window, folder)
    ed = window.editor
    hint_label = ed.ui.hint_label
    # nothing but the overlay is light: image and masks hidden
    window.controller.set_style(replace(window.controller.style, show_mask=False,
                                        show_prediction=False))
    canvas.set_display(DisplayAdjust(), show_image=False)
    window.class_panel.set_active_class(CAR)
    qtbot.keyClick(canvas, Qt.Key.Key_P)
    assert canvas.hint() == hint_label.text() == "Polygon: click the first corner"
    corners = [(20.5, 10.5), (70.5, 12.5), (45.5, 40.5)]
    vps = [view_point(canvas, *c) for c in corners]
    click(qtbot, canvas, vps[0])
    click(qtbot, canvas, vps[1])
    assert canvas.hint().startswith("Polygon: click corner 3 (at least 3)")
    click(qtbot, canvas, vps[2])
    assert canvas.hint() == hint_label.text() == (
        "Polygon: click the first corner, Enter or double-click fills with Car; click to add "
        "corners, Backspace removes the last, Esc cancels")
    window.class_panel.set_active_class(TREE)
    assert "fills with Tree;" in canvas.hint()
    shot = qimage_rgb(canvas.viewport().grab().toImage())
    assert all(_light(shot, p) for p in vps)  # a dot on each corner
    # the dashed closing edge (corner 3 back to corner 1): light pixels along it
    n = 40
    along = [vps[2] + (vps[0] - vps[2]) * (i / n) for i in range(4, n - 3)]
    lit = sum(_light(shot, p, 0) for p in along)
    assert 0.25 * len(along) <= lit <= 0.85 * len(along)   # dashes, not a solid line
    assert canvas.hint_rect.width() > 0 and canvas.hint_rect.top() == 10
    qtbot.keyClick(canvas, Qt.Key.Key_Return)
    assert ed.current_session().stack.count() == 1
    assert canvas.hint() == "Polygon: click the first corner"

    # GrabCut: rectangle, then its preview running, then the preview, Enter: the start
    qtbot.keyClick(canvas, Qt.Key.Key_G)
    assert canvas.hint() == hint_label.text() == "GrabCut: drag a rectangle round the object"
    from .editor_helpers import drag
    drag(qtbot, canvas, [view_point(canvas, 38.5, 14.5), view_point(canvas, 88.5, 34.5)])
    assert ed.tool.running is not None and canvas.hint() == (
        "GrabCut: computing the preview … (Enter fills it when it is ready, Esc drops it)")
    qtbot.waitUntil(lambda: ed.tool.running is None, timeout=15000)
    assert canvas.hint().startswith("GrabCut: Enter fills the preview with Tree; refine: left")
    qtbot.keyClick(canvas, Qt.Key.Key_Return)
    assert ed.current_session().stack.count() == 2
    assert canvas.hint() == "GrabCut: drag a rectangle round the object"
    # a one-step tool has no hint: the box goes
    qtbot.keyClick(canvas, Qt.Key.Key_B)
    assert canvas.hint() == hint_label.text() == ""


def test_prediction_is_hatched_and_named_in_a_legend(qtbot, window, street_project):
    from segstudio.core.project import Project
    from segstudio.core.sample import SAMPLE_CLASSES
    from segstudio.gui.widgets.layers import hatch_mask

    from .conftest import expected_over, open_and_wait, qimage_rgb

    folder, images, labels = street_project
    pred = np.full_like(labels[0], CAR)
    entropy = np.tile(np.arange(120, dtype=np.uint8) * 2, (80, 1))
    with Project.open(folder) as p:
        p.save_prediction(p.images()[0], pred, "ckpt", uncertainty=0.5, entropy_map=entropy)
    open_and_wait(qtbot, window, folder, relpath="scene_1.png")
    canvas, acts = window.canvas, window.actions_.layers
    assert window.controller.style.hatch_prediction and acts["hatch_prediction"].isChecked()
    assert canvas.legend_entries() == ["Human mask", "Prediction (hatched)"]
    canvas.viewport().grab()
    assert canvas.legend_rect.height() > 0
    # mask hidden: the prediction shows on the stripes only, the photo between them
    acts["show_mask"].setChecked(False)
    assert canvas.legend_entries() == []  # one label layer needs no telling apart
    got = qimage_rgb(canvas.render_scene())
    stripes = hatch_mask(120, 80)
    assert 0.5 < stripes.mean() < 0.75
    alpha = canvas.style().class_alpha(CAR, SAMPLE_CLASSES)
    car = SAMPLE_CLASSES.by_id(CAR).color
    assert np.array_equal(got[stripes], expected_over(images[0][stripes], car, alpha))
    assert np.array_equal(got[~stripes], images[0][~stripes])
    # the switch in the View menu: solid again
    acts["hatch_prediction"].setChecked(False)
    got = qimage_rgb(canvas.render_scene())
    assert np.array_equal(got.reshape(-1, 3), expected_over(images[0].reshape(-1, 3), car, alpha))
    # the uncertainty map gets its legend (low to high)
    acts["uncertainty"].setChecked(True)
    assert canvas.legend_entries() == ["Prediction", "Uncertainty"]
    acts["show_prediction"].setChecked(False)
    assert canvas.legend_entries() == ["Uncertainty"]
    shot = qimage_rgb(canvas.viewport().grab().toImage())
    box = canvas.legend_rect
    assert box.height() > 0
    row = shot[int(box.center().y()), int(box.left()) + 8:int(box.left()) + 34]
    assert row[0].sum() < row[-1].sum()  # dark (certain) on the left, bright on the right


def test_a_prediction_does_not_switch_its_layer_on_while_the_user_paints(qtbot, window, trained):
    from dataclasses import replace

    from .conftest import wait_document
    from .training_helpers import open_ready

    folder, _ckpt = trained
    open_ready(qtbot, window, folder)
    svc = window.training.service
    window.controller.set_style(replace(window.controller.style, show_prediction=False))
    rec = next(r for r in window.controller.records if r.relpath == "scene_7.png")
    window.browser.select_image(rec.id)
    wait_document(qtbot, window, "scene_7.png")
    window.canvas.setFocus()
    qtbot.keyClick(window.canvas, Qt.Key.Key_B)          # the user is painting
    with qtbot.waitSignal(svc.saved, timeout=30000):
        qtbot.keyClick(window, Qt.Key.Key_P, Qt.KeyboardModifier.ControlModifier)
    assert window.canvas.document().prediction is not None
    assert not window.controller.style.show_prediction
    assert not window.canvas._prediction.isVisible()
    assert window.statusBar().currentMessage() == "the prediction is ready: Shift+P shows it"
    assert window.actions_.layers["show_prediction"].isEnabled()
    qtbot.keyClick(window.canvas, Qt.Key.Key_P, Qt.KeyboardModifier.ShiftModifier)
    assert window.controller.style.show_prediction and window.canvas._prediction.isVisible()


def test_recent_projects_mark_missing_folders_and_offer_to_forget_them(qtbot, window, tmp_path):
    here = tmp_path / "here"
    here.mkdir()
    gone = tmp_path / "gone"
    gone.mkdir()
    window.settings.add_recent(here, None)
    window.settings.add_recent(gone, None)
    gone.rmdir()
    window._show_welcome()
    welcome = window.welcome
    assert welcome.forget_button.isVisibleTo(window)
    texts = [welcome.recent.item(i).text() for i in range(welcome.recent.count())]
    assert texts[0].startswith("gone  (missing)") and texts[1].startswith("here\n")
    window._fill_recent_menu()
    menu = [a.text() for a in window.recent_menu.actions() if not a.isSeparator()]
    assert menu == [f"{gone.resolve()}  (missing)", str(here.resolve()), "Forget missing folders"]
    welcome.forget_button.click()
    assert [r.folder for r in window.settings.recent_projects()] == [str(here.resolve())]
    assert welcome.recent.count() == 1 and not welcome.forget_button.isVisibleTo(window)
    window._fill_recent_menu()
    assert [a.text() for a in window.recent_menu.actions()] == [str(here.resolve())]


def test_dragging_a_class_opacity_slider_leaves_the_active_class(qtbot, window, street_project):
    from PySide6.QtWidgets import QSlider

    from segstudio.core.sample import SKY, TREE
    from segstudio.gui.widgets.class_panel import COL_OPACITY

    folder, _images, _labels = street_project
    open_editor(qtbot, window, folder)
    panel = window.class_panel
    panel.set_active_class(SKY)
    slider = panel.list.cellWidget(panel.row_of(TREE), COL_OPACITY).findChild(QSlider)
    qtbot.waitUntil(slider.isVisible)
    r = slider.rect()
    left = r.topLeft() + (r.bottomLeft() - r.topLeft()) / 2  # the groove left of the handle
    qtbot.mousePress(slider, Qt.MouseButton.LeftButton, pos=left)
    qtbot.mouseRelease(slider, Qt.MouseButton.LeftButton, pos=left)
    assert slider.value() < 100
    qtbot.keyClick(slider, Qt.Key.Key_Left)
    assert panel.style().class_opacity(TREE) < 1.0
    assert panel.active_class() == SKY and window.editor.active_class == SKY


def test_brush_radius_replace_target_and_deleting_a_class_say_what_they_do(
        qtbot, window, street_project):
    from segstudio.core.sample import BUILDING, SAMPLE_CLASSES, TREE
    from segstudio.gui.widgets.class_panel import RemapDialog

    folder, _images, _labels = street_project
    canvas = open_editor(qtbot, window, folder)
    ed, ui = window.editor, window.editor.ui
    labels = [w.text() for w in ui.options_bar.findChildren(type(ui.replace_to))]
    assert " Radius " in labels and " Size " not in labels
    ed.set_radius(6)
    assert ui.radius.toolTip().startswith("Brush radius in image pixels: the brush is 13 px across")
    window.class_panel.set_active_class(BUILDING)
    assert ui.replace_to.text() == " → Building "
    window.class_panel.set_active_class(TREE)
    assert ui.replace_to.text() == " → Tree "

    # deleting a class clears the undo history: the dialog and the final message say so
    dialog = RemapDialog(SAMPLE_CLASSES, CAR, window)
    assert "undo history" in dialog.findChild(type(ui.replace_to)).text()
    dialog.deleteLater()
    qtbot.keyClick(canvas, Qt.Key.Key_B)
    click(qtbot, canvas, view_point(canvas, 30.5, 20.5))
    assert ed.current_session().stack.count() == 1
    assert window.controller.delete_class(CAR, TREE)
    qtbot.waitUntil(lambda: not window.controller.remapping, timeout=10000)
    msg = window.statusBar().currentMessage()
    assert msg.startswith("Deleted class 'Car': its pixels are now 'Tree'")
    assert msg.endswith("; the undo history of 1 image(s) was cleared (their masks were "
                        "rewritten; the edits themselves are saved)")


def test_status_bar_progress_shows_its_whole_text_and_filtering_keeps_the_images_dock_width(
        qtbot, window, street_project):
    from .conftest import open_and_wait

    folder, _images, _labels = street_project
    open_and_wait(qtbot, window, folder)
    label = "Predicting the unlabelled images of the training split"
    window._busy(label, 1, 4)
    bar = window.busy_bar
    need = bar.fontMetrics().horizontalAdvance(f"{label} 25%")
    qtbot.waitUntil(lambda: bar.isVisible() and bar.width() >= need + 20)
    assert bar.format() == f"{label} %p%"
    window._busy(label, 0, 0)
    assert not bar.isVisible()

    browser = window.browser
    row = browser.layout().itemAt(1).layout()  # sort box and count
    assert browser.count_label.text() == "4"
    before = row.minimumSize().width(), browser.minimumSizeHint().width()
    browser.set_name_filter("scene_1")
    assert browser.count_label.text() == "1 of 4"
    QApplication.sendPostedEvents()  # the label's layout request
    browser.layout().activate()
    assert (row.minimumSize().width(), browser.minimumSizeHint().width()) == before


def test_label_next_says_when_it_changes_the_list_sort(qtbot, window, street_project):
    from segstudio.core.project import Project

    from .conftest import open_and_wait, wait_document

    folder, _images, labels = street_project
    with Project.open(folder) as p:
        recs = {r.relpath: r for r in p.images()}
        p.save_prediction(recs["scene_2.png"], labels[1], "ckpt", uncertainty=0.2)
        p.save_prediction(recs["scene_4.png"], labels[3], "ckpt", uncertainty=0.7)
    open_and_wait(qtbot, window, folder)
    browser = window.browser
    browser.set_sort("name")
    assert browser.model.sort_key == "name"
    qtbot.keyClick(window.canvas, Qt.Key.Key_L, Qt.KeyboardModifier.ControlModifier)
    wait_document(qtbot, window, "scene_4.png")
    assert browser.model.sort_key == "label_next"
    assert window.statusBar().currentMessage() == (
        "Label next: scene_4.png (uncertainty 0.700); the image list is now sorted by Label "
        "next (the Sort box changes it back)")
    # already sorted so: nothing more to say
    qtbot.keyClick(window.canvas, Qt.Key.Key_L, Qt.KeyboardModifier.ControlModifier)
    assert window.statusBar().currentMessage() == "Label next: scene_4.png (uncertainty 0.700)"

