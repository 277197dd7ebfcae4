"""Prefetch of the neighbouring images: used when valid, dropped when stale."""

from __future__ import annotations

import os

import cv2
import numpy as np
from PySide6.QtCore import Qt

from segstudio.core.sample import TREE

from .conftest import open_and_wait, wait_document
from .editor_helpers import drag, view_point


def test_next_image_comes_from_the_prefetch_cache(qtbot, window, street_project):
    folder, images, labels = street_project
    open_and_wait(qtbot, window, folder, relpath="scene_1.png")
    c = window.controller
    pre = c.prefetch
    recs = {r.relpath: r for r in c.records}
    qtbot.waitUntil(lambda: recs["scene_2.png"].id in pre.cached_ids(), timeout=5000)
    hits = pre.hits
    # shown at once (no worker round trip): the document is there right after the key
    qtbot.keyClick(window.canvas, Qt.Key.Key_D)
    doc = window.canvas.document()
    assert doc.rec.relpath == "scene_2.png" and pre.hits == hits + 1
    assert np.array_equal(doc.display, images[1])
    # now both neighbours of scene_2 are prefetched, and nothing else is kept
    qtbot.waitUntil(lambda: sorted(pre.cached_ids()) == sorted(
        [recs["scene_1.png"].id, recs["scene_3.png"].id]), timeout=5000)
    assert pre.nbytes() < 2 * 80 * 120 * 6

    # the image changed on disk after it was prefetched: the entry is not used
    changed = np.ascontiguousarray(images[2][::-1])
    path = folder / "scene_3.png"
    st = path.stat()
    cv2.imwrite(str(path), cv2.cvtColor(changed, cv2.COLOR_RGB2BGR))
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns + 10 ** 9))
    qtbot.keyClick(window.canvas, Qt.Key.Key_D)
    doc = wait_document(qtbot, window, "scene_3.png")
    assert pre.hits == hits + 1
    assert np.array_equal(doc.display, changed)

    # a record update (the editor saved a mask) drops the entry
    qtbot.waitUntil(lambda: recs["scene_2.png"].id in pre.cached_ids(), timeout=5000)
    c.update_record(recs["scene_2.png"])
    assert recs["scene_2.png"].id not in pre.cached_ids()


def test_edits_show_over_a_prefetched_document(qtbot, window, street_project):
    """An image with edits in memory shows those, even when its document was prefetched
    from the file before the save landed."""
    folder, _images, labels = street_project
    open_and_wait(qtbot, window, folder, relpath="scene_1.png")
    canvas, ed = window.canvas, window.editor
    ed.saver.set_interval(10 ** 7)
    ed.set_tool("rectangle")
    window.class_panel.set_active_class(TREE)
    drag(qtbot, canvas, [view_point(canvas, 5.5, 5.5), view_point(canvas, 50.5, 50.5)])
    edited = canvas.mask().copy()
    session = ed.current_session()
    qtbot.keyClick(canvas, Qt.Key.Key_D)
    wait_document(qtbot, window, "scene_2.png")
    qtbot.keyClick(canvas, Qt.Key.Key_A)
    doc = wait_document(qtbot, window, "scene_1.png")
    assert doc.mask is session.mask and np.array_equal(doc.mask, edited)
    assert not np.array_equal(edited, labels[0])
