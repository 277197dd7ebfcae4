"""Autosave, save on switch and close, save order, provenance (corrected, reviewed, reset)."""

from __future__ import annotations

import time

import numpy as np
from PySide6.QtCore import Qt

from segstudio.core import maskio
from segstudio.core.footprint import stroke_footprint
from segstudio.core.project import Project
from segstudio.core.sample import CAR, TREE
from segstudio.gui.editor.autosave import AUTOSAVE_MS, SaveLedger

from .conftest import wait_document
from .editor_helpers import CTRL, drag, open_editor, view_point


def _predict(folder, index: int, labels) -> np.ndarray:
    pred = labels[index].copy()
    pred[5:25, 5:40] = CAR
    with Project.open(folder, scan=False) as p:
        p.save_prediction(p.images()[index], pred, "model.pt")
    return pred


def test_edit_of_a_prediction_autosaves_within_2s_as_corrected(qtbot, window, street_project):
    folder, _images, labels = street_project
    pred = _predict(folder, 1, labels)
    canvas = open_editor(qtbot, window, folder, relpath="scene_2.png")
    ed = window.editor
    project = window.controller.project
    rec = window.controller.current
    assert rec.status == "predicted" and canvas.mask() is None
    assert ed.saver.interval_ms == AUTOSAVE_MS == 2000
    qtbot.keyClick(canvas, Qt.Key.Key_B)
    ed.set_radius(4)
    window.class_panel.set_active_class(TREE)
    # what the autosave timer's timeout finds already submitted when it fires
    at_timeout: list[int] = []
    ed.saver.timer.timeout.connect(lambda: at_timeout.append(ed.saver.saves_submitted))
    got = drag(qtbot, canvas, [view_point(canvas, 30.5, 30.5), view_point(canvas, 70.5, 40.5)])
    want = pred.copy()                          # editing starts from a copy of the prediction
    want[stroke_footprint(got, 4, (80, 120))] = TREE
    assert np.array_equal(canvas.mask(), want)
    assert canvas.document().prediction is not canvas.mask()
    assert window.isWindowModified() and "Unsaved" in ed.ui.state_label.text()
    path = project.mask_path(rec)
    # not on the stroke: the stroke (re)started the 2 s single-shot timer and saved nothing
    assert ed.saver.timer.isActive() and ed.saver.timer.isSingleShot()
    assert ed.saver.saves_submitted == 0 and not path.exists()
    qtbot.waitUntil(path.exists, timeout=6000)
    assert at_timeout == [1]   # the one save was submitted when the quiet interval ended
    qtbot.waitUntil(lambda: not window.isWindowModified(), timeout=3000)
    assert np.array_equal(maskio.read_mask(path), want)
    assert np.array_equal(project.load_prediction(rec), pred)     # the prediction stays
    assert project.image(rec.id).status == "corrected"
    assert window.browser.model.record(window.browser.model.row_of(rec.id)).status == "corrected"
    assert ed.ui.state_label.text() == "All changes saved"
    assert ed.current_session().stack.is_clean()


def test_switching_and_closing_save_at_once(qtbot, window, street_project):
    folder, _images, labels = street_project
    canvas = open_editor(qtbot, window, folder)
    ed = window.editor
    ed.saver.set_interval(10 ** 7)   # only the switch and the close save here
    project = window.controller.project
    recs = project.images()
    qtbot.keyClick(canvas, Qt.Key.Key_R)
    window.class_panel.set_active_class(TREE)
    drag(qtbot, canvas, [view_point(canvas, 10.5, 10.5), view_point(canvas, 30.5, 30.5)])
    first = canvas.mask().copy()
    qtbot.keyClick(canvas, Qt.Key.Key_D)
    wait_document(qtbot, window, "scene_2.png")
    qtbot.waitUntil(lambda: np.array_equal(project.load_mask(recs[0]), first), timeout=3000)
    drag(qtbot, canvas, [view_point(canvas, 50.5, 10.5), view_point(canvas, 60.5, 70.5)])
    second = canvas.mask().copy()
    assert ed.current_session().dirty
    # Ctrl+S saves now
    qtbot.keyClick(canvas, Qt.Key.Key_S, CTRL)
    qtbot.waitUntil(lambda: project.mask_path(recs[1]).exists(), timeout=3000)
    assert np.array_equal(project.load_mask(recs[1]), second)
    drag(qtbot, canvas, [view_point(canvas, 80.5, 10.5), view_point(canvas, 90.5, 70.5)])
    third = canvas.mask().copy()
    assert not np.array_equal(third, second)
    root = project.project_dir
    window.close()                   # waits for the write
    with Project.open(folder, scan=False) as p:
        assert p.project_dir == root
        assert np.array_equal(p.load_mask(p.images()[1]), third)
        assert np.array_equal(p.load_mask(p.images()[0]), first)


def test_an_older_save_never_lands_after_a_newer_one(tmp_path, street_project):
    folder, _images, labels = street_project
    ledger = SaveLedger()
    with Project.open(folder, scan=False) as p:
        rec = p.images()[1]
        newer, older = labels[1].copy(), labels[1].copy()
        newer[0:10] = TREE
        older[0:10] = CAR
        assert ledger.run(rec.id, 2, lambda: p.save_mask(rec, newer)) is not None
        assert ledger.run(rec.id, 1, lambda: p.save_mask(rec, older)) is None  # skipped
        assert np.array_equal(p.load_mask(rec), newer)
        assert ledger.run(rec.id, 3, lambda: p.save_mask(rec, older)) is not None
        assert np.array_equal(p.load_mask(rec), older)


def test_saves_queue_in_order_from_snapshots(qtbot, window, street_project):
    """Many quick saves of a changing mask: the file ends as the last state, and each
    save wrote the snapshot taken when it was asked (not the live array)."""
    folder, _images, labels = street_project
    canvas = open_editor(qtbot, window, folder)
    ed = window.editor
    ed.saver.set_interval(10 ** 7)
    qtbot.keyClick(canvas, Qt.Key.Key_B)
    ed.set_radius(3)
    project = window.controller.project
    rec = window.controller.current
    written = []
    real = project.save_mask

    def spy(r, mask, status="corrected"):
        written.append(mask.copy())
        time.sleep(0.02)
        return real(r, mask, status)

    project.save_mask = spy
    states = []
    for i in range(6):
        window.class_panel.set_active_class(TREE if i % 2 else CAR)
        drag(qtbot, canvas, [view_point(canvas, 10.5 + 15 * i, 20.5),
                             view_point(canvas, 10.5 + 15 * i, 60.5)])
        states.append(canvas.mask().copy())
        ed.save_now()
    qtbot.waitUntil(lambda: not ed.saver.pending(), timeout=5000)
    project.save_mask = real
    assert written and all(any(np.array_equal(w, s) for s in states) for w in written)
    assert np.array_equal(written[-1], states[-1])
    assert np.array_equal(project.load_mask(rec), states[-1])
    assert not ed.current_session().dirty


def test_mark_reviewed_and_reset_to_prediction(qtbot, window, street_project):
    folder, _images, labels = street_project
    pred = _predict(folder, 0, labels)
    canvas = open_editor(qtbot, window, folder)
    ed = window.editor
    project = window.controller.project
    rec = window.controller.current
    assert rec.status == "corrected"
    qtbot.keyClick(canvas, Qt.Key.Key_R)
    window.class_panel.set_active_class(TREE)
    drag(qtbot, canvas, [view_point(canvas, 60.5, 60.5), view_point(canvas, 80.5, 70.5)])
    edited = canvas.mask().copy()
    qtbot.keyClick(canvas, Qt.Key.Key_Return, CTRL)        # mark reviewed (saves now)
    qtbot.waitUntil(lambda: project.image(rec.id).status == "reviewed", timeout=3000)
    assert np.array_equal(project.load_mask(rec), edited)
    qtbot.waitUntil(lambda: window.controller.current.status == "reviewed", timeout=3000)

    # reset asks first; "no" changes nothing
    asked = []
    ed.confirm = lambda title, text: asked.append(text) or False
    assert ed.reset_to_prediction() is False
    assert "trash" in asked[0] and np.array_equal(canvas.mask(), edited)
    ed.confirm = lambda title, text: True
    assert ed.reset_to_prediction() is True
    assert canvas.mask() is None and ed.current_session() is None
    qtbot.waitUntil(lambda: project.image(rec.id).status == "predicted", timeout=3000)
    assert not project.mask_path(rec).exists()
    trashed = list((project.project_dir / "trash").rglob("scene_1.png.png"))
    assert len(trashed) == 1 and np.array_equal(maskio.read_mask(trashed[0]), edited)
    qtbot.waitUntil(lambda: window.browser.model.record(0).status == "predicted", timeout=3000)
    # editing again starts from the prediction
    drag(qtbot, canvas, [view_point(canvas, 100.5, 5.5), view_point(canvas, 110.5, 10.5)])
    assert np.array_equal(canvas.mask()[40:], pred[40:])

    # an image with only a prediction: mark reviewed makes the prediction its mask
    qtbot.keyClick(canvas, Qt.Key.Key_D)
    doc = wait_document(qtbot, window, "scene_2.png")
    assert doc.prediction is None
    assert ed.mark_reviewed() is False                        # nothing to mark
    pred3 = _predict(folder, 3, labels)
    window.browser.select_row(3)
    wait_document(qtbot, window, "scene_4.png")
    assert ed.mark_reviewed() is True
    rec4 = window.controller.current
    qtbot.waitUntil(lambda: project.image(rec4.id).status == "reviewed", timeout=3000)
    assert np.array_equal(project.load_mask(rec4), pred3)
    qtbot.waitUntil(lambda: canvas.mask() is not None, timeout=3000)
    assert np.array_equal(canvas.mask(), pred3)


def test_close_with_an_unsavable_edit_asks_and_keeps_the_window(qtbot, window, street_project):
    folder, _images, _labels = street_project
    canvas = open_editor(qtbot, window, folder)
    ed = window.editor
    ed.saver.set_interval(10 ** 7)
    project = window.controller.project
    qtbot.keyClick(canvas, Qt.Key.Key_R)
    drag(qtbot, canvas, [view_point(canvas, 10.5, 10.5), view_point(canvas, 30.5, 30.5)])
    edited = canvas.mask().copy()
    real = project.save_mask

    def full_disk(*args, **kwargs):
        raise OSError(28, "No space left on device")

    project.save_mask = full_disk
    asked = []
    ed.confirm = lambda title, text: asked.append(text) or False
    window.close()
    assert asked and "No space left" in asked[0]
    assert window.isVisible() and ed.current_session().dirty   # nothing dropped
    project.save_mask = real
    window.close()
    assert not window.isVisible()
    with Project.open(folder, scan=False) as p:
        assert np.array_equal(p.load_mask(p.images()[0]), edited)


def test_undo_is_saved_too_and_class_deletion_saves_edits_first(qtbot, window, street_project):
    folder, _images, labels = street_project
    canvas = open_editor(qtbot, window, folder)
    ed = window.editor
    ed.saver.set_interval(50)
    project = window.controller.project
    rec = window.controller.current
    qtbot.keyClick(canvas, Qt.Key.Key_R)
    window.class_panel.set_active_class(CAR)
    drag(qtbot, canvas, [view_point(canvas, 60.5, 5.5), view_point(canvas, 110.5, 30.5)])
    edited = canvas.mask().copy()
    qtbot.waitUntil(lambda: np.array_equal(project.load_mask(rec), edited), timeout=3000)
    qtbot.keyClick(canvas, Qt.Key.Key_Z, CTRL)
    qtbot.waitUntil(lambda: np.array_equal(project.load_mask(rec), labels[0]), timeout=3000)
    qtbot.keyClick(canvas, Qt.Key.Key_Y, CTRL)
    # deleting CAR (its pixels become TREE) first saves the redone edit, then rewrites it
    ed.saver.set_interval(10 ** 7)
    assert ed.current_session().dirty
    assert window.controller.delete_class(CAR, TREE)
    assert len(ed.sessions) == 0
    want = edited.copy()
    want[want == CAR] = TREE
    qtbot.waitUntil(lambda: not window.controller.remapping, timeout=5000)
    assert np.array_equal(project.load_mask(rec), want)
    wait_document(qtbot, window, "scene_1.png")
    qtbot.waitUntil(lambda: np.array_equal(canvas.mask(), want), timeout=5000)
