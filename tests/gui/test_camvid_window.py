"""The whole window on real CamVid images with their imported masks (screenshot)."""

from __future__ import annotations

import shutil

import numpy as np

from segstudio.core.classes import ClassTable
from segstudio.core.imageio import read_image
from segstudio.core.importmasks import apply_class_table, import_index_masks
from segstudio.core.maskio import read_mask
from segstudio.core.project import Project

from .conftest import expected_over, open_and_wait, qimage_rgb

SHOT_COPY = "/tmp/segstudio-shot.png"


def test_camvid_window_screenshot(qtbot, window, camvid_subset, tmp_path):
    folder = camvid_subset / "images"
    table = ClassTable.load_json(camvid_subset / "classes.json")
    with Project.open(folder) as project:
        apply_class_table(project, table)
        report = import_index_masks(project, camvid_subset / "labels")
        assert len(report.imported) == 8
        recs = project.images()
        project.set_status(recs[1], "reviewed")
    window.resize(1400, 900)
    first = sorted(p.name for p in folder.iterdir() if p.suffix == ".png")[0]
    open_and_wait(qtbot, window, folder, relpath=first)
    assert window.browser.model.rowCount() == 8
    panel = window.class_panel
    assert panel.list.rowCount() == 12
    assert panel.list.item(panel.row_of(11), 0).checkState().name == "Unchecked"

    # exact overlay of the real mask over the real photo
    image = read_image(folder / first)
    labels = read_mask(camvid_subset / "labels" / first)
    style = window.canvas.style()
    got = qimage_rgb(window.canvas.render_scene())
    want = image.copy()
    for c in table.classes:
        sel = labels == c.id
        a = style.class_alpha(c.id, table)
        if a and sel.any():
            want[sel] = expected_over(image[sel], c.color, a)
    assert np.array_equal(got, want)
    unlabelled = labels == 11
    assert unlabelled.any() and np.array_equal(got[unlabelled], image[unlabelled])

    # hover a pixel so the status bar shows what a user sees there
    canvas = window.canvas
    pos = canvas.mapFromScene(240.5, 300.5)
    qtbot.mouseMove(canvas.viewport(), pos)
    assert "x 240  y 300" in window.pixel_label.text()
    qtbot.waitUntil(lambda: not window.thumbs.busy(), timeout=15000)
    qtbot.wait(50)
    shot = tmp_path / "segstudio-window.png"
    assert window.grab().save(str(shot))
    shutil.copy(shot, SHOT_COPY)
    assert shot.stat().st_size > 50_000
