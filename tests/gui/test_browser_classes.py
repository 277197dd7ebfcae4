"""The image browser (filter, sort, thumbnails) and class edits saved to the project."""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import Qt, QTimer
from PySide6.QtWidgets import QApplication

from segstudio.core import maskio
from segstudio.core.project import Project
from segstudio.core.sample import CAR, IGNORE, ROAD, SAMPLE_CLASSES, TREE
from segstudio.gui.widgets.class_panel import RemapDialog

from .conftest import open_and_wait, wait_document


def _names(browser):
    return [r.name for r in browser.model.records()]


def test_filter_sort_and_thumbnails(qtbot, window, street_project):
    folder, _images, labels = street_project
    with Project.open(folder) as p:
        recs = {r.name: r for r in p.images()}
        # predictions with uncertainties, and IoUs, as later work will fill them
        p.save_prediction(recs["scene_2.png"], labels[1], "ckpt", uncertainty=0.7)
        p.save_prediction(recs["scene_4.png"], labels[3], "ckpt", uncertainty=0.2)
        p.set_iou(recs["scene_1.png"], 0.9)
        p.set_iou(recs["scene_3.png"], 0.4)
    open_and_wait(qtbot, window, folder, relpath="scene_1.png")
    b = window.browser
    assert _names(b) == ["scene_1.png", "scene_2.png", "scene_3.png", "scene_4.png"]

    b.set_status_filter("predicted")
    assert _names(b) == ["scene_2.png", "scene_4.png"]
    assert b.count_label.text() == "2 of 4"
    b.set_status_filter("reviewed")
    assert _names(b) == ["scene_3.png"]
    b.set_status_filter("all")
    b.set_name_filter("_3")
    assert _names(b) == ["scene_3.png"]
    b.set_name_filter("*_[12].png")
    assert _names(b) == ["scene_1.png", "scene_2.png"]
    b.set_name_filter("")

    b.set_sort("uncertainty")
    assert _names(b) == ["scene_2.png", "scene_4.png", "scene_1.png", "scene_3.png"]
    b.set_sort("iou")
    assert _names(b) == ["scene_3.png", "scene_1.png", "scene_2.png", "scene_4.png"]
    b.set_sort("status")
    assert [r.status for r in b.model.records()] == ["predicted", "predicted", "corrected",
                                                      "reviewed"]
    # the current image stays current through filtering and sorting
    assert b.current_record().name == "scene_1.png"

    # thumbnails: made off the GUI thread for the rows on screen, cached on disk
    thumbs = window.thumbs
    qtbot.waitUntil(lambda: all(thumbs._cache.get(r.id) is not None for r in b.model.records()),
                    timeout=10000)
    cached = list((window.controller.project.cache_dir / "thumbs").rglob("*.jpg"))
    assert len(cached) == 4
    pix = thumbs._cache[b.current_record().id]
    assert max(pix.width(), pix.height()) == 96 and pix.width() == 96 and pix.height() == 64


def test_natural_name_order(qtbot, window, make_images):
    folder = make_images(12, size=(8, 8))
    open_and_wait(qtbot, window, folder)
    names = _names(window.browser)
    assert names[:3] == ["img_000.png", "img_001.png", "img_002.png"] and len(names) == 12
    window.browser.select_next(1)
    wait_document(qtbot, window, "img_001.png")


def test_active_class_keys_and_class_edits(qtbot, window, street_project):
    folder, _images, _labels = street_project
    open_and_wait(qtbot, window, folder)
    panel = window.class_panel
    with qtbot.waitSignal(panel.active_class_changed) as sig:
        qtbot.keyClick(window.canvas, Qt.Key.Key_3)
    assert sig.args == [SAMPLE_CLASSES.classes[2].id] and panel.active_class() == ROAD
    qtbot.keyClick(window.canvas, Qt.Key.Key_6)
    assert panel.active_class() == CAR

    project = window.controller.project
    panel.rename_class(CAR, "Vehicle")
    panel.set_class_color(CAR, (1, 2, 3))
    panel.move_active(-1)                       # Vehicle above Tree
    new_id = panel.add_class()
    assert project.classes.by_id(CAR).name == "Vehicle"
    assert project.classes.by_id(CAR).color == (1, 2, 3)
    ids = project.classes.ids
    assert ids.index(CAR) == ids.index(TREE) - 1
    assert project.classes.by_id(new_id) is not None and ids[-1] == IGNORE
    # the canvas draws with the new colour table (colour tables only)
    layer = window.canvas._mask
    assert layer.qimage.color(CAR) & 0xFFFFFF == 0x010203


def test_delete_class_remaps_mask_files(qtbot, window, street_project):
    folder, _images, labels = street_project
    open_and_wait(qtbot, window, folder, relpath="scene_1.png")
    project = window.controller.project
    panel = window.class_panel
    panel.set_active_class(CAR)
    assert (labels[0] == CAR).any() and (labels[2] == CAR).any()

    def answer():
        dialog = next(w for w in QApplication.topLevelWidgets()
                      if isinstance(w, RemapDialog) and w.isVisible())
        dialog.target.setCurrentIndex(dialog.target.findData(ROAD))
        dialog.accept()

    QTimer.singleShot(50, answer)
    panel.ask_delete()
    qtbot.waitUntil(lambda: not window.controller.remapping and
                    project.classes.by_id(CAR) is None, timeout=10000)
    for i, rec in ((0, project.images()[0]), (2, project.images()[2])):
        on_disk = maskio.read_mask(project.mask_path(rec))
        want = labels[i].copy()
        want[want == CAR] = ROAD
        assert np.array_equal(on_disk, want)
    assert CAR not in [c.id for c in panel.table().classes]
    # the canvas shows the rewritten mask
    qtbot.waitUntil(lambda: window.canvas.mask() is not None and
                    not (window.canvas.mask() == CAR).any(), timeout=10000)


def test_delete_class_to_unlabelled(qtbot, window, street_project):
    folder, _images, labels = street_project
    open_and_wait(qtbot, window, folder)
    project = window.controller.project
    assert (labels[0] == TREE).any()
    assert window.controller.delete_class(TREE, IGNORE)
    qtbot.waitUntil(lambda: project.classes.by_id(TREE) is None, timeout=10000)
    rec = project.images()[0]
    want = labels[0].copy()
    want[want == TREE] = IGNORE
    assert np.array_equal(maskio.read_mask(project.mask_path(rec)), want)


def test_a_changed_record_shows_in_the_browser(qtbot, window, street_project):
    folder, _images, labels = street_project
    open_and_wait(qtbot, window, folder)
    project = window.controller.project
    rec = project.images()[1]
    assert rec.status == "unlabelled"
    new = project.save_mask(rec, labels[1], "reviewed")  # what the editor will do
    window.controller.update_record(new)
    row = window.browser.model.row_of(rec.id)
    assert window.browser.model.record(row).status == "reviewed"
    window.browser.set_status_filter("reviewed")
    assert [r.name for r in window.browser.model.records()] == ["scene_2.png", "scene_3.png"]


def test_the_filter_gives_the_keys_back_after_its_clear_button(qtbot, window, street_project):
    """Issue 25, item 13: after the filter's clear button (or Enter, or Esc) the next key
    is a window key again, not a letter typed into the filter."""
    from PySide6.QtWidgets import QToolButton

    open_and_wait(qtbot, window, street_project[0])
    b, style = window.browser, window.controller.style
    qtbot.keyClick(window, Qt.Key.Key_F, Qt.KeyboardModifier.ControlModifier)
    assert QApplication.focusWidget() is b.name_filter
    qtbot.keyClicks(b.name_filter, "scene_3")
    clear = next(w for w in b.name_filter.findChildren(QToolButton) if w.isVisible())
    qtbot.mouseClick(clear, Qt.MouseButton.LeftButton)
    assert b.name_filter.text() == "" and len(_names(b)) == 4
    assert QApplication.focusWidget() is window.canvas
    qtbot.keyClick(QApplication.focusWidget(), Qt.Key.Key_M)  # the human mask layer
    assert window.controller.style.show_mask is (not style.show_mask)
    assert b.name_filter.text() == ""
    # Enter applies the filter at once and hands the keys back too; Esc as well
    for key in (Qt.Key.Key_Return, Qt.Key.Key_Escape):
        b.focus_filter()
        qtbot.keyClicks(b.name_filter, "_2")
        qtbot.keyClick(b.name_filter, key)
        assert _names(b) == ["scene_2.png"]
        assert QApplication.focusWidget() is window.canvas
        b.set_name_filter("")
