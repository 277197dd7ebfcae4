"""File > Import masks: exports of one project imported into another through the dialog."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np

from segstudio.core.classes import ClassInfo
from segstudio.core.formats import export_masks
from segstudio.core.project import Project
from segstudio.core.sample import CAR, IGNORE, SAMPLE_CLASSES
from segstudio.gui.transfer import ImportDialog
from segstudio.gui.transfer.import_dialog import UNLABELLED

from .conftest import open_and_wait
from .test_export_dialog import make_scenes, open_dialog

VEHICLE = 20  # project B calls the cars "Vehicle", under another id
TABLE_B = SAMPLE_CLASSES.without(CAR).with_class(ClassInfo(VEHICLE, "Vehicle", (10, 80, 230)))


def second_project(tmp_path: Path, source: Path) -> Path:
    """The images of ``source`` in a new folder, no masks, class table B."""
    folder = tmp_path / "b"
    shutil.copytree(source, folder, ignore=shutil.ignore_patterns(".segstudio"))
    with Project.open(folder) as project:
        project.set_classes(TABLE_B)
    return folder


def run_import(qtbot, dialog: ImportDialog, timeout: int = 15000):
    assert dialog.import_button.isEnabled()
    with qtbot.waitSignal(dialog.task_done, timeout=timeout):
        dialog.import_button.click()


def test_labelme_then_coco_with_a_mapping_and_overwrite(qtbot, window, tmp_path):
    a = tmp_path / "a"
    masks = make_scenes(a, 4, human={0: "corrected", 1: "reviewed", 3: "corrected"})
    with Project.open(a) as project:
        export_masks(project, tmp_path / "labelme", "labelme")
        export_masks(project, tmp_path / "coco", "coco")
    b = second_project(tmp_path, a)
    open_and_wait(qtbot, window, b, relpath="scene_000.png")
    assert window.actions_.import_masks.shortcut().toString() == "Ctrl+I"
    window.actions_.import_masks.trigger()
    dialog = window.findChild(ImportDialog)
    qtbot.waitExposed(dialog)

    # the source's format is detected on a worker
    dialog.set_source(str(tmp_path / "labelme"))
    qtbot.waitUntil(lambda: dialog.detected == "labelme", timeout=5000)
    assert dialog.detected_label.text() == "Detected: labelme JSON"

    # 'Car' is not a class of B: nothing is written, the dialog asks
    run_import(qtbot, dialog)
    assert dialog.report is None and dialog.mapping_box.isVisible()
    assert dialog.mapping_table.names == ["Car"]
    assert not dialog.import_button.isEnabled()  # until every name has a class
    assert all(r.status == "unlabelled" for r in window.controller.project.images())
    dialog.mapping_table.choose("Car", VEHICLE)
    assert dialog.import_button.text() == "Import with this mapping"
    run_import(qtbot, dialog)
    report = dialog.report
    assert report is not None and not dialog.mapping_box.isVisible()
    assert sorted(Path(f).name for f in report.imported) == [
        "scene_000.json", "scene_001.json", "scene_003.json"]
    project = window.controller.project
    for rel, mask in masks.items():
        want = mask.copy()
        want[mask == CAR] = VEHICLE
        np.testing.assert_array_equal(project.load_mask(project.find(rel)), want)
    rows = dialog.results.rows
    assert ("scene_000.json", "scene_000.png", "imported", "") in rows and len(rows) == 3
    # the browser learns the new statuses; the image on screen shows its new mask
    qtbot.waitUntil(lambda: [r.status for r in window.browser.model.records()] ==
                    ["corrected", "corrected", "unlabelled", "corrected"], timeout=5000)
    qtbot.waitUntil(lambda: window.canvas.document() is not None
                    and window.canvas.document().mask is not None, timeout=5000)
    want0 = masks["scene_000.png"].copy()
    want0[want0 == CAR] = VEHICLE
    np.testing.assert_array_equal(window.canvas.document().mask, want0)

    # the COCO file of the same masks, cars mapped to unlabelled this time: the masks
    # differ from B's, so without 'replace' every file is skipped and says why
    dialog.set_source(str(tmp_path / "coco" / "annotations.json"))
    qtbot.waitUntil(lambda: dialog.detected == "coco", timeout=5000)
    run_import(qtbot, dialog)
    assert dialog.mapping_table.names == ["Car"]
    dialog.mapping_table.choose("Car", UNLABELLED)
    run_import(qtbot, dialog)
    assert dialog.report.imported == [] and len(dialog.report.skipped) == 3
    reasons = {row[1]: (row[2], row[3]) for row in dialog.results.rows}
    assert reasons["scene_001.png"][0] == "skipped"
    assert "already has a different human mask" in reasons["scene_001.png"][1]
    assert reasons["scene_001.png"] and dialog.results.rows[0][0].startswith("annotations.json#")
    dialog.overwrite.setChecked(True)
    run_import(qtbot, dialog)  # the mapping stays for the same source
    assert len(dialog.report.imported) == 3
    for rel, mask in masks.items():
        want = mask.copy()
        want[mask == CAR] = IGNORE
        np.testing.assert_array_equal(project.load_mask(project.find(rel)), want)
    qtbot.waitUntil(lambda: window.canvas.document().mask is not None and np.array_equal(
        window.canvas.document().mask, np.where(masks["scene_000.png"] == CAR, IGNORE,
                                                masks["scene_000.png"])), timeout=5000)
    dialog.close()


def test_bad_sources_are_messages_in_the_dialog(qtbot, tmp_path):
    a = tmp_path / "a"
    make_scenes(a, 2, human={0: "corrected"})
    controller, dialog = open_dialog(qtbot, ImportDialog, a, tmp_path)
    assert not dialog.import_button.isEnabled()  # no source yet
    # a detection still running when the source is edited says nothing about the new text
    dialog.set_source(str(tmp_path / "gone"))
    dialog.source.setText("")
    qtbot.wait(200)
    assert dialog.panel.error.text() == "" and dialog.detected_label.text() == ""
    dialog.set_source(str(tmp_path / "missing"))
    qtbot.waitUntil(lambda: "no such file or folder" in dialog.panel.error.text(), timeout=5000)
    run_import(qtbot, dialog)
    assert dialog.isVisible() and dialog.report is None
    assert "missing" in dialog.panel.error.text()
    notes = tmp_path / "notes.json"
    notes.write_text('{"hello": "world"}', encoding="utf-8")
    dialog.set_source(str(notes))
    qtbot.waitUntil(lambda: "not a COCO or labelme JSON" in dialog.panel.error.text(),
                    timeout=5000)
    # forcing a format gives that format's own complaint
    dialog.set_format("coco")
    run_import(qtbot, dialog)
    assert "not COCO JSON" in dialog.panel.error.text() and dialog.report is None
    assert controller.project.find("scene_001.png").status == "unlabelled"
    dialog.close()
    controller.shutdown()


def test_cancelled_import_keeps_what_it_imported(qtbot, tmp_path):
    a = tmp_path / "a"
    n = 150
    masks = make_scenes(a, n, human={i: "corrected" for i in range(n)})
    with Project.open(a) as project:
        export_masks(project, tmp_path / "index", "index")
    b = second_project(tmp_path, a)
    with Project.open(b) as project:
        project.set_classes(SAMPLE_CLASSES)  # same classes: no mapping needed
    controller, dialog = open_dialog(qtbot, ImportDialog, b, tmp_path)
    dialog.set_source(str(tmp_path / "index"))
    qtbot.waitUntil(lambda: dialog.detected == "index", timeout=5000)
    dialog.progressed.connect(lambda d, t: dialog.cancel_button.isEnabled()
                              and dialog.cancel_button.click())
    with qtbot.waitSignal(dialog.task_done, timeout=15000) as done:
        dialog.import_button.click()
    assert done.args == [True]
    report = dialog.report
    assert report.cancelled and 0 < len(report.imported) < n
    assert dialog.panel.status.text().splitlines()[0].endswith("(cancelled).")
    assert len(dialog.results.rows) == len(report.imported)
    project = controller.project
    saved = {r.relpath for r in project.images() if r.status == "corrected"}
    assert saved == {f.image for f in report.files if f.action == "imported"}
    for rel in saved:
        np.testing.assert_array_equal(project.load_mask(project.find(rel)), masks[rel])
    qtbot.waitUntil(lambda: sum(r.status == "corrected" for r in controller.records)
                    == len(saved), timeout=5000)
    dialog.close()
    controller.shutdown()


def test_binary_masks_into_a_new_project_show_the_value_mapping_and_can_be_renamed(
        qtbot, tmp_path):
    from PIL import Image

    folder = tmp_path / "cells"
    masks = tmp_path / "binary"
    masks.mkdir()
    expected = {}
    for i in range(3):
        rng = np.random.default_rng(i)
        Image.fromarray(rng.integers(0, 255, (10, 14, 3), dtype=np.uint8)).save(
            (folder.mkdir(exist_ok=True) or folder) / f"c{i}.png")
        m = np.zeros((10, 14), np.uint8)
        m[2:6 + i, 3:9] = 255
        Image.fromarray(m).save(masks / f"c{i}.png")
        expected[f"c{i}.png"] = (m == 255).astype(np.uint8)
    controller, dialog = open_dialog(qtbot, ImportDialog, folder, tmp_path)
    seen = []
    controller.classes_changed.connect(seen.append)
    dialog.set_source(str(masks))
    qtbot.waitUntil(lambda: dialog.detected == "index", timeout=5000)
    run_import(qtbot, dialog)
    # nothing written yet: the dialog shows what each value becomes
    assert dialog.report is None and dialog.values_box.isVisible()
    assert controller.project.status_counts()["corrected"] == 0
    table = dialog.value_table
    rows = [tuple(table.item(r, c).text() for c in range(3)) for r in range(table.rowCount())]
    n_fg = sum(int(m.sum()) for m in expected.values())
    assert rows == [("0", f"{10 * 14 * 3 - n_fg:,}", "0"), ("255", f"{n_fg:,}", "1")]
    assert table.names() == {0: "value 0", 1: "value 255"}  # the user says which is which
    assert dialog.import_button.text() == "Import with these classes"
    table.set_name(1, "Value 0")  # a clash is refused before the import
    dialog.import_button.click()
    assert "Two classes are named" in dialog.panel.error.text() and dialog.report is None
    table.set_name(1, "nucleus")
    run_import(qtbot, dialog)
    report = dialog.report
    assert report is not None and len(report.imported) == 3
    assert "value 255 (" + f"{n_fg:,}" + " pixels) -> class 1 nucleus" in \
        dialog.panel.status.text()
    project = controller.project
    assert [(c.id, c.name) for c in project.classes.classes] == [
        (0, "value 0"), (1, "nucleus"), (255, "unlabelled")]
    assert [t.ids for t in seen] == [[0, 1, 255]]  # the window was told
    for rel, m in expected.items():
        np.testing.assert_array_equal(project.load_mask(project.find(rel)), m)
    dialog.close()
    controller.shutdown()


def test_binary_em_masks_show_their_membranes_in_the_window(qtbot, window, tmp_path):
    """Issue 25, item 15: 0/255 EM masks whose 0 is the membrane.  The proposal names the
    values, marks none BG, and both classes show on the pale image in their own colour
    (0 was black "background", ticked BG, and the membranes vanished in the overlay)."""
    import cv2
    from PIL import Image
    from PySide6.QtCore import Qt

    from segstudio.gui.widgets.class_panel import COL_BG

    from .conftest import qimage_rgb

    folder, masks = tmp_path / "em", tmp_path / "em_masks"
    folder.mkdir()
    masks.mkdir()
    em = np.full((40, 56), 200, np.uint8)
    membrane = np.zeros(em.shape, bool)
    membrane[::10, :] = membrane[:, ::14] = True
    em[membrane] = 120
    cv2.imwrite(str(folder / "em.png"), em)
    Image.fromarray(np.where(membrane, 0, 255).astype(np.uint8)).save(masks / "em.png")
    open_and_wait(qtbot, window, folder)
    window.actions_.import_masks.trigger()
    dialog = window.findChild(ImportDialog)
    dialog.set_source(str(masks))
    qtbot.waitUntil(lambda: dialog.detected == "index", timeout=5000)
    run_import(qtbot, dialog)
    assert dialog.value_table.names() == {0: "value 0", 1: "value 255"}
    run_import(qtbot, dialog)
    assert dialog.report is not None and len(dialog.report.imported) == 1
    dialog.close()
    panel = window.class_panel
    qtbot.waitUntil(lambda: panel.table().ids == [0, 1, 255], timeout=5000)
    for row in range(2):
        assert panel.list.item(row, COL_BG).checkState() == Qt.CheckState.Unchecked
    window.controller.reload_current()
    qtbot.waitUntil(lambda: window.canvas.document().mask is not None, timeout=5000)
    shot = qimage_rgb(window.canvas.render_scene()).astype(int)
    image = np.repeat(em[..., None], 3, axis=2).astype(int)
    for value, where in ((0, membrane), (255, ~membrane)):
        diff = np.abs(shot[where] - image[where]).max(axis=1)
        assert diff.min() >= 40, value  # tinted everywhere: the class shows on the image
        # in a colour, not a shade of grey that reads as more membrane
        chroma = shot[where].max(axis=1) - shot[where].min(axis=1)
        assert chroma.min() >= 40, value
