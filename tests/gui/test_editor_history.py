"""Undo history per image: survives image switches, bounded memory per step."""

from __future__ import annotations

import gc
import tracemalloc

import cv2
import numpy as np
from PySide6.QtCore import Qt

from segstudio.core.classes import ClassInfo, ClassTable
from segstudio.core.footprint import stroke_footprint
from segstudio.core.project import Project
from segstudio.core.sample import CAR, IGNORE, SKY, TREE

from .conftest import open_and_wait, wait_document
from .editor_helpers import CTRL, click, drag, open_editor, view_point


def test_each_image_keeps_its_history_across_switches(qtbot, window, street_project):
    folder, _images, labels = street_project
    canvas = open_editor(qtbot, window, folder)
    ed = window.editor
    qtbot.keyClick(canvas, Qt.Key.Key_B)
    ed.set_radius(5)
    window.class_panel.set_active_class(CAR)
    drag(qtbot, canvas, [view_point(canvas, 20.5, 20.5), view_point(canvas, 60.5, 30.5)])
    first = ed.current_session()
    after1 = canvas.mask().copy()
    assert first.stack.count() == 1

    # image 2 has no mask and no prediction: editing starts from all unlabelled
    qtbot.keyClick(canvas, Qt.Key.Key_D)
    wait_document(qtbot, window, "scene_2.png")
    assert canvas.mask() is None and ed.current_session() is None
    assert not ed.ui.undo.isEnabled()
    window.class_panel.set_active_class(TREE)
    got = drag(qtbot, canvas, [view_point(canvas, 30.5, 30.5), view_point(canvas, 50.5, 50.5)])
    want2 = np.full((80, 120), IGNORE, np.uint8)
    want2[stroke_footprint(got, 5, (80, 120))] = TREE
    assert np.array_equal(canvas.mask(), want2)
    second = ed.current_session()
    assert second is not first and ed.ui.undo.text() == "Undo Brush"

    # back to image 1: the same array, its own undo; image 2 kept its history too
    qtbot.keyClick(canvas, Qt.Key.Key_A)
    wait_document(qtbot, window, "scene_1.png")
    assert canvas.mask() is first.mask and ed.current_session() is first
    assert np.array_equal(canvas.mask(), after1)
    qtbot.keyClick(canvas, Qt.Key.Key_Z, CTRL)
    assert np.array_equal(canvas.mask(), labels[0])
    assert second.stack.count() == 1 and second.stack.index() == 1
    qtbot.keyClick(canvas, Qt.Key.Key_D)
    wait_document(qtbot, window, "scene_2.png")
    assert canvas.mask() is second.mask
    qtbot.keyClick(canvas, Qt.Key.Key_Z, CTRL)
    # back at the start of an image that had no mask: no mask (not an all-unlabelled one)
    assert canvas.mask() is None and (second.mask == IGNORE).all()
    qtbot.keyClick(canvas, Qt.Key.Key_Y, CTRL)
    assert canvas.mask() is second.mask and np.array_equal(canvas.mask(), want2)


def test_sessions_are_bounded_and_only_saved_ones_are_dropped(qtbot, window, street_project):
    folder, _images, _labels = street_project
    canvas = open_editor(qtbot, window, folder)
    ed = window.editor
    ed.sessions.max_sessions = 1
    qtbot.keyClick(canvas, Qt.Key.Key_F)
    window.class_panel.set_active_class(SKY)
    click(qtbot, canvas, view_point(canvas, 45.5, 65.5))
    first = ed.current_session()
    qtbot.keyClick(canvas, Qt.Key.Key_D)
    wait_document(qtbot, window, "scene_2.png")
    click(qtbot, canvas, view_point(canvas, 45.5, 65.5))
    # image 1 is dropped only once its edits are on disk
    qtbot.waitUntil(lambda: ed.sessions.get(first.image_id) is None, timeout=5000)
    assert len(ed.sessions) == 1
    with Project.open(folder, scan=False) as p:
        assert np.array_equal(p.load_mask(p.images()[0]), first.mask)
    qtbot.keyClick(canvas, Qt.Key.Key_A)
    wait_document(qtbot, window, "scene_1.png")
    assert np.array_equal(canvas.mask(), first.mask)   # from the saved file
    assert not ed.ui.undo.isEnabled()


def test_hundred_steps_on_a_4096_mask_cost_little_memory(qtbot, window, tmp_path):
    n = 4096
    folder = tmp_path / "big"
    folder.mkdir()
    yy, xx = np.mgrid[0:n:64, 0:n:64]
    small = ((xx // 512 + yy // 512) % 7 * 30).astype(np.uint8)
    img = cv2.resize(np.dstack([small, small // 2, 255 - small]), (n, n),
                     interpolation=cv2.INTER_NEAREST)
    cv2.imwrite(str(folder / "big.png"), img, [cv2.IMWRITE_PNG_COMPRESSION, 1])
    table = ClassTable(tuple(ClassInfo(i, f"c{i}", (20 * i, 100, 200 - 20 * i)) for i in range(6))
                       + (ClassInfo(255, "unlabelled", (0, 0, 0), ignore=True),))
    start = cv2.resize((small // 30).astype(np.uint8) % 6, (n, n), interpolation=cv2.INTER_NEAREST)
    with Project.open(folder) as p:
        p.set_classes(table)
        p.save_mask(p.images()[0], start)
    open_and_wait(qtbot, window, folder)
    canvas = window.canvas
    ed = window.editor
    ed.saver.set_interval(10 ** 8)   # no autosave snapshots during the measurement
    qtbot.keyClick(canvas, Qt.Key.Key_B)
    ed.set_radius(30)
    rng = np.random.default_rng(3)
    gc.collect()
    tracemalloc.start()
    base = tracemalloc.get_traced_memory()[0]
    for _ in range(100):
        x0, y0 = rng.integers(100, n - 100, 2)
        # a class other than the one under the press: every stroke changes pixels
        window.class_panel.set_active_class(int(canvas.mask()[y0, x0] + 1) % 6)
        x1, y1 = np.clip([x0 + rng.integers(-600, 600), y0 + rng.integers(-600, 600)], 0, n - 1)
        drag(qtbot, canvas, [view_point(canvas, x0 + 0.5, y0 + 0.5),
                             view_point(canvas, (x0 + x1) / 2 + 0.5, (y0 + y1) / 2 + 0.5),
                             view_point(canvas, x1 + 0.5, y1 + 0.5)])
    gc.collect()
    grown = tracemalloc.get_traced_memory()[0] - base
    tracemalloc.stop()
    session = ed.current_session()
    assert session.stack.count() == 100 and session.stack.undo_limit() >= 100
    patch_bytes = session.patch_bytes()
    print(f"100 steps: patches {patch_bytes / 1e6:.1f} MB, traced growth {grown / 1e6:.1f} MB")
    assert patch_bytes < 50e6 and grown < 50e6, (patch_bytes, grown)
    assert patch_bytes > 100 * 1000  # the steps are real, not empty
    final = canvas.mask().copy()
    for _ in range(100):
        ed.undo()
    assert np.array_equal(canvas.mask(), start)
    for _ in range(100):
        ed.redo()
    assert np.array_equal(canvas.mask(), final)
    # a 101st step drops the oldest: the limit holds
    drag(qtbot, canvas, [view_point(canvas, 50.5, 50.5), view_point(canvas, 900.5, 900.5)])
    assert session.stack.count() == 100
