"""Undo back to the start gives the image back as it was (issue 25, findings 3 and 6).

Editing an image without a human mask starts from a copy of its prediction (or an all
unlabelled mask).  Undoing every edit must show the prediction again, with no mask
file and the status from before (predicted / unlabelled), also when autosave already
wrote the mask; a redo brings the edit back.  An edit that changes no pixel makes
nothing: no mask shown, no undo step, the status as it was (as in labelme and CVAT,
where an action that changes nothing is no change of the document)."""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import Qt

from segstudio.core import maskio
from segstudio.core.footprint import stroke_footprint
from segstudio.core.project import HUMAN_STATUSES, Project
from segstudio.core.sample import CAR, ROAD, TREE

from .editor_helpers import CTRL, drag, open_editor, view_point
from .test_editor_save import _predict

SHAPE = (80, 120)


def _status_everywhere(window, rec) -> tuple[str, str, str]:
    """The image's status in the store, the document on screen and the browser."""
    model = window.browser.model
    return (window.controller.project.image(rec.id).status,
            window.controller.document.rec.status,
            model.record(model.row_of(rec.id)).status)


def _stored_status(folder, rec) -> str:
    with Project.open(folder, scan=False) as p:
        return p.image(rec.id).status


def _trashed(project, relpath: str) -> list:
    return sorted((project.project_dir / "trash").rglob(relpath + ".png"))


def _brush(qtbot, window, canvas, class_id: int = TREE) -> np.ndarray:
    """One brush stroke of radius 4; returns the stroke's pixels."""
    qtbot.keyClick(canvas, Qt.Key.Key_B)
    window.editor.set_radius(4)
    window.class_panel.set_active_class(class_id)
    got = drag(qtbot, canvas, [view_point(canvas, 30.5, 30.5), view_point(canvas, 70.5, 40.5)])
    return stroke_footprint(got, 4, SHAPE)


def test_undo_after_autosave_takes_the_copied_prediction_back(qtbot, window, street_project):
    folder, _images, labels = street_project
    pred = _predict(folder, 1, labels)
    canvas = open_editor(qtbot, window, folder, relpath="scene_2.png")
    ed, project = window.editor, window.controller.project
    rec = window.controller.current
    path = project.mask_path(rec)
    assert rec.status == "predicted" and canvas.mask() is None
    stroke = _brush(qtbot, window, canvas)
    want = pred.copy()
    want[stroke] = TREE
    assert np.array_equal(canvas.mask(), want)
    ed.save_now()                                    # as autosave would, 2 s later
    qtbot.waitUntil(lambda: _status_everywhere(window, rec) == ("corrected",) * 3, timeout=5000)
    assert np.array_equal(maskio.read_mask(path), want)

    qtbot.keyClick(canvas, Qt.Key.Key_Z, CTRL)
    # at once: the prediction is shown again, no human mask
    assert canvas.mask() is None and np.array_equal(canvas.document().prediction, pred)
    assert not ed.ui.undo.isEnabled() and ed.ui.redo.isEnabled()
    # and on disk: the mask this session wrote is gone (kept in trash/), status predicted
    qtbot.waitUntil(lambda: _status_everywhere(window, rec) == ("predicted",) * 3, timeout=5000)
    assert not path.exists()
    assert [np.array_equal(maskio.read_mask(t), want) for t in _trashed(project, rec.relpath)] \
        == [True]
    assert rec.id not in {r.id for r in project.images(statuses=HUMAN_STATUSES)}
    qtbot.waitUntil(lambda: not ed.current_session().dirty and not ed.saver.pending(),
                    timeout=5000)
    assert ed.ui.state_label.text() == "All changes saved" and not window.isWindowModified()

    # redo brings the edit back, on screen and on disk
    qtbot.keyClick(canvas, Qt.Key.Key_Y, CTRL)
    assert np.array_equal(canvas.mask(), want) and canvas.mask() is ed.current_session().mask
    ed.save_now()
    qtbot.waitUntil(lambda: _status_everywhere(window, rec) == ("corrected",) * 3, timeout=5000)
    assert np.array_equal(maskio.read_mask(path), want)
    # undone again and the window closed: the close's flush takes the mask back too
    qtbot.keyClick(canvas, Qt.Key.Key_Z, CTRL)
    window.close()
    assert not path.exists() and _stored_status(folder, rec) == "predicted"


def test_undo_before_any_save_writes_nothing(qtbot, window, street_project):
    folder, _images, labels = street_project
    pred = _predict(folder, 1, labels)
    canvas = open_editor(qtbot, window, folder, relpath="scene_2.png")
    ed, project = window.editor, window.controller.project
    ed.saver.set_interval(10 ** 7)
    rec = window.controller.current
    _brush(qtbot, window, canvas)
    assert "Unsaved" in ed.ui.state_label.text()
    qtbot.keyClick(canvas, Qt.Key.Key_Z, CTRL)
    assert canvas.mask() is None and np.array_equal(canvas.document().prediction, pred)
    assert not ed.current_session().dirty and not window.isWindowModified()
    assert ed.saver.saves_submitted == 0
    window.close()                                   # nothing to save, nothing written
    assert not project.mask_path(rec).exists() and not _trashed(project, rec.relpath)
    assert _stored_status(folder, rec) == "predicted"


def test_undo_while_the_first_save_is_in_flight(qtbot, window, street_project):
    """The save queued before the undo lands first (or is skipped); the mask goes either
    way, and the session ends clean."""
    folder, _images, labels = street_project
    _predict(folder, 1, labels)
    canvas = open_editor(qtbot, window, folder, relpath="scene_2.png")
    ed, project = window.editor, window.controller.project
    rec = window.controller.current
    _brush(qtbot, window, canvas)
    ed.save_now()
    assert ed.current_session().saving == 1
    qtbot.keyClick(canvas, Qt.Key.Key_Z, CTRL)       # before the save's result came back
    assert canvas.mask() is None
    qtbot.waitUntil(lambda: not ed.saver.pending() and not ed.current_session().saving,
                    timeout=5000)
    qtbot.waitUntil(lambda: not ed.current_session().dirty, timeout=5000)
    assert not project.mask_path(rec).exists()
    assert _status_everywhere(window, rec) == ("predicted",) * 3
    assert not ed.current_session().on_disk


def test_an_existing_human_mask_stays_when_every_edit_is_undone(qtbot, window, street_project):
    folder, _images, labels = street_project
    canvas = open_editor(qtbot, window, folder)      # scene_1 has a corrected mask
    ed, project = window.editor, window.controller.project
    rec = window.controller.current
    _brush(qtbot, window, canvas, CAR)
    ed.save_now()
    qtbot.waitUntil(lambda: not ed.saver.pending(), timeout=5000)
    qtbot.keyClick(canvas, Qt.Key.Key_Z, CTRL)
    assert np.array_equal(canvas.mask(), labels[0]) and canvas.mask() is not None
    ed.save_now()
    qtbot.waitUntil(lambda: not ed.saver.pending() and not ed.current_session().dirty,
                    timeout=5000)
    assert np.array_equal(project.load_mask(rec), labels[0])
    assert project.image(rec.id).status == "corrected" and not _trashed(project, rec.relpath)


def test_an_unlabelled_image_undone_is_not_a_corrected_one(qtbot, window, street_project):
    folder, _images, _labels = street_project
    canvas = open_editor(qtbot, window, folder, relpath="scene_2.png")   # no mask, no pred
    ed, project = window.editor, window.controller.project
    rec = window.controller.current
    assert rec.status == "unlabelled"
    qtbot.keyClick(canvas, Qt.Key.Key_R)
    window.class_panel.set_active_class(CAR)
    drag(qtbot, canvas, [view_point(canvas, 10.5, 10.5), view_point(canvas, 30.5, 30.5)])
    ed.save_now()
    qtbot.waitUntil(lambda: project.image(rec.id).status == "corrected", timeout=5000)
    qtbot.keyClick(canvas, Qt.Key.Key_Z, CTRL)
    assert canvas.mask() is None
    qtbot.waitUntil(lambda: _status_everywhere(window, rec) == ("unlabelled",) * 3, timeout=5000)
    assert not project.mask_path(rec).exists()
    assert rec.id not in {r.id for r in project.images(statuses=HUMAN_STATUSES)}


def test_mark_reviewed_at_the_start_keeps_the_mask(qtbot, window, street_project):
    """Mark reviewed is asked for: after every edit is undone it still saves the mask."""
    folder, _images, labels = street_project
    pred = _predict(folder, 1, labels)
    canvas = open_editor(qtbot, window, folder, relpath="scene_2.png")
    project = window.controller.project
    rec = window.controller.current
    _brush(qtbot, window, canvas)
    qtbot.keyClick(canvas, Qt.Key.Key_Z, CTRL)
    assert canvas.mask() is None
    qtbot.keyClick(canvas, Qt.Key.Key_Return, CTRL)
    assert np.array_equal(canvas.mask(), pred)
    qtbot.waitUntil(lambda: _status_everywhere(window, rec) == ("reviewed",) * 3, timeout=5000)
    assert np.array_equal(project.load_mask(rec), pred)


def test_an_edit_that_changes_nothing_makes_nothing(qtbot, window, street_project):
    folder, _images, labels = street_project
    pred = _predict(folder, 1, labels)               # Car at rows 5..24, columns 5..39
    canvas = open_editor(qtbot, window, folder, relpath="scene_2.png")
    ed, project = window.editor, window.controller.project
    rec = window.controller.current
    # a rectangle of Car inside the predicted Car
    qtbot.keyClick(canvas, Qt.Key.Key_R)
    window.class_panel.set_active_class(CAR)
    drag(qtbot, canvas, [view_point(canvas, 8.5, 8.5), view_point(canvas, 30.5, 20.5)])
    assert canvas.mask() is None and ed.current_session() is None
    assert not ed.ui.undo.isEnabled() and ed.ui.state_label.text() == ""
    assert not window.isWindowModified()
    # a brush stroke of the class already predicted under it
    road = np.argwhere(pred == ROAD)
    y, x = road[len(road) // 2]
    qtbot.keyClick(canvas, Qt.Key.Key_B)
    ed.set_radius(0)
    window.class_panel.set_active_class(ROAD)
    drag(qtbot, canvas, [view_point(canvas, x + 0.5, y + 0.5)] * 2)
    assert canvas.mask() is None and ed.current_session() is None
    # a stroke taken back with Esc before the release
    window.class_panel.set_active_class(TREE)
    p = view_point(canvas, 60.5, 50.5)
    qtbot.mousePress(canvas.viewport(), Qt.MouseButton.LeftButton, pos=p)
    assert canvas.mask() is not None and ed.tool.holds_mask       # painting: shown
    qtbot.keyClick(canvas, Qt.Key.Key_Escape)
    qtbot.mouseRelease(canvas.viewport(), Qt.MouseButton.LeftButton, pos=p)
    assert canvas.mask() is None and ed.current_session() is None
    # a brush with no class to paint begins nothing either
    ed.options.set_active_class(None)
    drag(qtbot, canvas, [view_point(canvas, 60.5, 50.5), view_point(canvas, 70.5, 50.5)])
    qtbot.waitUntil(lambda: ed.current_session() is None, timeout=1000)
    assert canvas.mask() is None
    window.close()
    assert not project.mask_path(rec).exists() and _stored_status(folder, rec) == "predicted"
    assert ed.saver.saves_submitted == 0
