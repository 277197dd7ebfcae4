"""File > Export masks: real projects, real files, the dialog driven with qtbot."""

from __future__ import annotations

import json
import threading
from pathlib import Path

import cv2
import numpy as np
import pytest
from PIL import Image
from PySide6.QtCore import Qt

from segstudio.core.project import Project
from segstudio.core.sample import IGNORE, SAMPLE_CLASSES, draw_scene
from segstudio.gui.project_controller import ProjectController
from segstudio.gui.settings import AppSettings
from segstudio.gui.transfer import ExportDialog, open_export_dialog, transfer_jobs
from segstudio.gui.transfer.transfer_jobs import EXPORT_FOLDER_SETTING

from .conftest import open_and_wait

SIZE = (60, 90)


def make_scenes(folder: Path, n: int, human: dict[int, str], predicted=(), seed: int = 0,
                table=SAMPLE_CLASSES) -> dict[str, np.ndarray]:
    """``n`` drawn street scenes in ``folder``; image i gets a human mask of status
    human[i] or (i in predicted) a prediction.  Returns {relpath: the mask exported
    for it} (the label map, shifted per image so no two are equal)."""
    folder.mkdir(parents=True, exist_ok=True)
    bases = [draw_scene(seed + k, SIZE) for k in range(4)]
    labels = {}
    for i in range(n):
        img, lab = bases[i % 4]
        rel = f"scene_{i:03d}.png"
        cv2.imwrite(str(folder / rel), cv2.cvtColor(np.roll(img, i, axis=1), cv2.COLOR_RGB2BGR))
        labels[rel] = np.roll(lab, i, axis=1)
    out = {}
    with Project.open(folder) as project:
        project.set_classes(table)
        for i, rec in enumerate(project.images()):
            if i in human:
                project.save_mask(rec, labels[rec.relpath], human[i])
                out[rec.relpath] = labels[rec.relpath]
            elif i in predicted:
                pred = labels[rec.relpath].copy()
                pred[:8] = IGNORE  # a prediction that differs from the drawing
                project.save_prediction(rec, pred, "ckpt.pt", 0.5)
                out[rec.relpath] = pred
    return out


def open_controller(qtbot, folder: Path) -> ProjectController:
    controller = ProjectController()
    controller.open(folder)
    qtbot.waitUntil(lambda: controller.project is not None, timeout=10000)
    return controller


def open_dialog(qtbot, dialog_class, folder: Path, tmp_path: Path):
    """A controller of ``folder`` and a shown ``dialog_class`` on it (own settings file)."""
    controller = open_controller(qtbot, folder)
    dialog = dialog_class(controller, AppSettings(tmp_path / "s.ini"))
    qtbot.addWidget(dialog)
    dialog.show()
    return controller, dialog


def wait_count(qtbot, dialog: ExportDialog):
    qtbot.waitUntil(lambda: dialog.count is not None, timeout=5000)
    return dialog.count


def run_export(qtbot, dialog: ExportDialog, fmt: str, folder: Path, timeout: int = 15000):
    dialog.set_format(fmt)
    dialog.folder.setText(str(folder))
    if fmt != "classes":
        wait_count(qtbot, dialog)
    assert dialog.export_button.isEnabled()
    with qtbot.waitSignal(dialog.task_done, timeout=timeout):
        dialog.export_button.click()
    assert dialog.report is not None, dialog.panel.error.text()
    return dialog.report


def coco_label_maps(path: Path, unlabelled: int) -> dict[str, np.ndarray]:
    """Decode a COCO export with pycocotools into label maps (category id - 1 = class id)."""
    from pycocotools.coco import COCO

    coco = COCO(str(path))
    out = {}
    for img in coco.dataset["images"]:
        lab = np.full((img["height"], img["width"]), unlabelled, np.uint8)
        for ann in coco.loadAnns(coco.getAnnIds(imgIds=[img["id"]])):
            lab[coco.annToMask(ann).astype(bool)] = ann["category_id"] - 1
        out[img["file_name"]] = lab
    return out


@pytest.mark.filterwarnings("ignore::DeprecationWarning")  # pycocotools on numpy 2
def test_export_coco_and_voc_through_the_window(qtbot, window, tmp_path):
    folder = tmp_path / "streets"
    expected = make_scenes(folder, 5, human={0: "corrected", 1: "reviewed", 3: "corrected"},
                           predicted={2})
    open_and_wait(qtbot, window, folder)
    file_menu = window.menuBar().actions()[0].menu()
    assert window.actions_.export_masks in file_menu.actions()
    assert window.actions_.export_masks.shortcut().toString() == "Ctrl+E"
    window.actions_.export_masks.trigger()
    dialog = window.findChild(ExportDialog)
    assert dialog is not None
    qtbot.waitExposed(dialog)
    assert dialog.windowModality() == Qt.WindowModality.WindowModal
    # the live count follows the choices
    count = wait_count(qtbot, dialog)
    assert (count.human, count.predicted) == (3, 0)
    assert "3 images will be exported" in dialog.count_label.text()
    dialog.status_checks["predicted"].setChecked(True)
    count = wait_count(qtbot, dialog)
    assert (count.human, count.predicted) == (3, 1)
    dialog.status_checks["corrected"].setChecked(False)
    assert wait_count(qtbot, dialog).total == 2  # reviewed + predicted
    dialog.status_checks["corrected"].setChecked(True)
    # the current image alone
    dialog.set_scope("current")
    assert wait_count(qtbot, dialog).total == 1
    dialog.set_scope("all")
    wait_count(qtbot, dialog)

    # COCO, decoded by pycocotools, gives back every mask and the prediction exactly
    report = run_export(qtbot, dialog, "coco", tmp_path / "coco")
    assert not report.cancelled and sorted(report.exported) == sorted(
        [(r, "prediction" if r == "scene_002.png" else "human") for r in expected])
    maps = coco_label_maps(tmp_path / "coco" / "annotations.json", IGNORE)
    assert sorted(maps) == sorted(expected)
    for rel, lab in expected.items():
        np.testing.assert_array_equal(maps[rel], lab)
    assert "Exported 4 images" in dialog.panel.status.text()
    assert "(1 from model predictions)" in dialog.panel.status.text()
    assert dialog.open_button.isEnabled()
    opened = []
    dialog.open_url = opened.append
    dialog.open_button.click()
    assert opened == [str(tmp_path / "coco")]
    project = window.controller.project  # remembered by the project
    assert project.settings.get(EXPORT_FOLDER_SETTING) == str(tmp_path / "coco")

    # VOC of the human masks: palette PNGs whose indices are the class ids
    dialog.status_checks["predicted"].setChecked(False)
    report = run_export(qtbot, dialog, "voc", tmp_path / "voc")
    assert len(report.exported) == 3 and not report.refused
    for rel in ("scene_000.png", "scene_001.png", "scene_003.png"):
        png = Image.open(tmp_path / "voc" / "SegmentationClass" / rel)
        assert png.mode == "P"
        np.testing.assert_array_equal(np.asarray(png), expected[rel])
        assert (tmp_path / "voc" / "JPEGImages" / rel.replace(".png", ".jpg")).is_file()
    assert not (tmp_path / "voc" / "SegmentationClass" / "scene_002.png").exists()
    assert json.loads((tmp_path / "voc" / "classes.json").read_text())["ignore_index"] == IGNORE

    # the same export again: every file already identical; then a changed mask is refused
    report = run_export(qtbot, dialog, "voc", tmp_path / "voc")
    assert report.written == [] and report.refused == [] and len(report.unchanged) > 3
    project = window.controller.project
    rec = project.find("scene_001.png")
    changed = expected["scene_001.png"].copy()
    changed[20:30, 20:30] = 5
    project.save_mask(rec, changed, "reviewed")
    size, buttons = dialog.size(), dialog.buttons.geometry()
    report = run_export(qtbot, dialog, "voc", tmp_path / "voc")
    assert report.refused == ["SegmentationClass/scene_001.png"]
    assert dialog.problem_view.isVisible()
    # the result and the problem list fit in the room kept for them: nothing grows or moves
    qtbot.wait(20)
    assert dialog.size() == size and dialog.buttons.geometry() == buttons
    assert dialog.problems.rows[0] == ("SegmentationClass/scene_001.png", "refused",
                                       "differs from the existing file")
    assert "1 refused" in dialog.summary.text()
    np.testing.assert_array_equal(  # the file there was kept
        np.asarray(Image.open(tmp_path / "voc" / "SegmentationClass" / "scene_001.png")),
        expected["scene_001.png"])
    dialog.overwrite.setChecked(True)
    report = run_export(qtbot, dialog, "voc", tmp_path / "voc")
    assert report.written == ["SegmentationClass/scene_001.png"]
    np.testing.assert_array_equal(
        np.asarray(Image.open(tmp_path / "voc" / "SegmentationClass" / "scene_001.png")), changed)
    dialog.close()


def test_class_table_overlay_and_errors_stay_in_the_dialog(qtbot, tmp_path):
    folder = tmp_path / "streets"
    make_scenes(folder, 3, human={1: "corrected"})
    controller, dialog = open_dialog(qtbot, ExportDialog, folder, tmp_path)
    # the class table alone: no image choices
    report = run_export(qtbot, dialog, "classes", tmp_path / "tables")
    assert not dialog.scope_box.isEnabled() and not dialog.mask_box.isEnabled()
    qtbot.wait(200)  # the count the opening format asked for is not due any more
    assert dialog.count_label.text().startswith("Writes classes.json")
    table = json.loads((tmp_path / "tables" / "classes.json").read_text(encoding="utf-8"))
    assert table == SAMPLE_CLASSES.to_json_dict() and report.written == ["classes.json"]
    # the overlay shows its opacity; 0 % gives the image back untouched
    dialog.set_format("overlay")
    assert dialog.opacity_row.isVisibleTo(dialog)
    dialog.opacity.setValue(0)
    run_export(qtbot, dialog, "overlay", tmp_path / "overlay")
    image = controller.project.load_image(controller.project.find("scene_001.png"))
    got = cv2.cvtColor(cv2.imread(str(tmp_path / "overlay" / "scene_001.png")), cv2.COLOR_BGR2RGB)
    np.testing.assert_array_equal(got, image)
    dialog.set_format("index")
    assert not dialog.opacity_row.isVisibleTo(dialog)
    # a folder inside the image folder: the core refuses, the dialog says why
    dialog.folder.setText(str(folder / "masks"))
    wait_count(qtbot, dialog)
    with qtbot.waitSignal(dialog.task_done, timeout=5000):
        dialog.export_button.click()
    assert dialog.isVisible() and dialog.report is None
    assert "inside the image folder" in dialog.panel.error.text()
    assert not (folder / "masks").exists()
    # no mask kind ticked: nothing to count, Export disabled
    for box in dialog.status_checks.values():
        box.setChecked(False)
    qtbot.waitUntil(lambda: "Tick at least one" in dialog.count_label.text(), timeout=3000)
    assert not dialog.export_button.isEnabled()
    dialog.close()
    controller.shutdown()


def test_cancel_midway_reports_cancelled_and_the_gui_keeps_running(qtbot, tmp_path,
                                                                   monkeypatch):
    folder = tmp_path / "many"
    n = 240
    make_scenes(folder, n, human={i: "corrected" for i in range(n)})
    controller, dialog = open_dialog(qtbot, ExportDialog, folder, tmp_path)
    dialog.set_format("voc")
    dialog.folder.setText(str(tmp_path / "voc"))
    assert wait_count(qtbot, dialog).total == n
    # the threads the exports ran on: never the GUI thread
    ran_on: list[int] = []
    export_masks = transfer_jobs.export_masks

    def spy(*args, **kwargs):
        ran_on.append(threading.get_ident())
        return export_masks(*args, **kwargs)

    monkeypatch.setattr(transfer_jobs, "export_masks", spy)
    # first a whole export (a second or so of work on the workers) ...
    full = run_export(qtbot, dialog, "voc", tmp_path / "full")
    assert len(full.exported) == n and not full.cancelled
    # ... then one cancelled as soon as the first progress report reaches the GUI
    progress: list[tuple[int, int]] = []

    def first_progress(done: int, total: int) -> None:
        progress.append((done, total))
        if len(progress) == 1:
            assert dialog.cancel_button.isVisible() and not dialog.export_button.isEnabled()
            dialog.cancel_button.click()
            assert "Cancelling" in dialog.panel.status.text()

    dialog.progressed.connect(first_progress)
    dialog.folder.setText(str(tmp_path / "voc"))
    with qtbot.waitSignal(dialog.task_done, timeout=15000) as done:
        dialog.export_button.click()
    assert done.args == [True]
    report = dialog.report
    assert report is not None and report.cancelled
    assert progress and len(report.exported) < n
    assert "Cancelled after" in dialog.panel.status.text()
    # files written before the cancel are complete; shared files were not written
    masks = sorted((tmp_path / "voc" / "SegmentationClass").glob("*.png"))
    assert len(masks) == len(report.exported)
    for path in masks:
        assert np.asarray(Image.open(path)).shape == SIZE
    assert not (tmp_path / "voc" / "segstudio_export_voc.json").exists()
    assert not (tmp_path / "voc" / "classes.json").exists()
    assert len(ran_on) == 2 and threading.get_ident() not in ran_on  # exported off the GUI
    assert not dialog.cancel_button.isVisible() and dialog.export_button.isEnabled()
    dialog.close()
    controller.shutdown()


def test_closing_the_dialog_while_exporting_cancels_first(qtbot, tmp_path):
    folder = tmp_path / "many"
    make_scenes(folder, 120, human={i: "corrected" for i in range(120)})
    controller, dialog = open_dialog(qtbot, ExportDialog, folder, tmp_path)
    dialog.set_format("index")
    dialog.folder.setText(str(tmp_path / "out"))
    wait_count(qtbot, dialog)
    dialog.progressed.connect(lambda d, t: dialog.isVisible() and dialog.reject())
    with qtbot.waitSignal(dialog.task_done, timeout=15000):
        dialog.export_button.click()
    assert not dialog.isVisible() and dialog.report is not None and dialog.report.cancelled
    assert controller.runner.pending() == 0
    controller.shutdown()


def test_browser_filter_offers_the_listed_images(qtbot, window, tmp_path):
    folder = tmp_path / "streets"
    expected = make_scenes(folder, 4, human={0: "corrected", 2: "corrected", 3: "reviewed"})

    def export():
        return open_export_dialog(window.controller, window.settings, window, window.browser,
                                  window)

    assert export() is None  # no project yet: a note, no dialog
    assert "Open a project first" in window.statusBar().currentMessage()
    open_and_wait(qtbot, window, folder)
    window.browser.set_status_filter("reviewed")
    dialog = export()
    assert "filtered: 1" in dialog.scope_buttons["listed"].text()
    dialog.set_scope("listed")
    assert wait_count(qtbot, dialog).total == 1
    report = run_export(qtbot, dialog, "index", tmp_path / "idx")
    assert report.exported == [("scene_003.png", "human")]
    np.testing.assert_array_equal(np.asarray(Image.open(tmp_path / "idx" / "scene_003.png")),
                                  expected["scene_003.png"])
    dialog.close()


def test_a_second_project_never_exports_into_the_first_ones_folder(qtbot, window, tmp_path):
    """Issue 25, item 2: Ctrl+E in a second project pre-filled the first project's export
    folder and wrote its masks there, beside the other project's masks and under its
    class table.  Each project remembers its own folder (the first time: beside it), and
    a folder with another project's export is asked about; No writes nothing."""
    first, second = tmp_path / "first", tmp_path / "second"
    make_scenes(first, 3, human={0: "corrected", 1: "corrected"})
    theirs = make_scenes(second, 3, human={2: "reviewed"}, seed=7)
    shared = tmp_path / "exports"

    open_and_wait(qtbot, window, first)
    window.actions_.export_masks.trigger()
    dialog = window.findChild(ExportDialog)
    assert dialog.folder.text() == str(tmp_path / "first-export")  # beside the project
    run_export(qtbot, dialog, "index", shared)
    before = {p: p.read_bytes() for p in shared.rglob("*") if p.is_file()}
    dialog.close()
    dialog.deleteLater()

    open_and_wait(qtbot, window, second)
    window.actions_.export_masks.trigger()
    dialog = next(d for d in window.findChildren(ExportDialog) if d.isVisible())
    assert dialog.folder.text() == str(tmp_path / "second-export")  # its own, not the first's
    asked = []
    dialog.ask_beside_other_project = lambda message: asked.append(message) or False
    dialog.set_format("index")
    dialog.folder.setText(str(shared))
    wait_count(qtbot, dialog)
    with qtbot.waitSignal(dialog.task_done, timeout=15000):
        dialog.export_button.click()
    qtbot.waitUntil(lambda: bool(asked), timeout=5000)
    assert str(first.resolve() / ".segstudio") in asked[0]
    assert dialog.report is None and "Nothing was written" in dialog.panel.error.text()
    assert {p: p.read_bytes() for p in shared.rglob("*") if p.is_file()} == before
    assert window.controller.project.settings.get(EXPORT_FOLDER_SETTING) is None

    # asked again and told to go on: the masks are written beside the others
    dialog.ask_beside_other_project = lambda message: asked.append(message) or True
    with qtbot.waitSignal(dialog.task_done, timeout=15000):
        dialog.export_button.click()
    qtbot.waitUntil(lambda: dialog.report is not None, timeout=15000)
    assert len(asked) == 2 and dialog.report.exported == [("scene_002.png", "human")]
    np.testing.assert_array_equal(np.asarray(Image.open(shared / "scene_002.png")),
                                  theirs["scene_002.png"])
    dialog.close()


def test_copying_the_images_is_shown_only_where_images_are_copied(qtbot, tmp_path):
    """Issue 25, item 17: "Copy the images alongside the masks" was shown ticked (greyed)
    for Index PNG, which copies nothing; it shows unticked there, and the user's choice
    comes back for the formats that copy images."""
    folder = tmp_path / "streets"
    make_scenes(folder, 2, human={0: "corrected"})
    controller, dialog = open_dialog(qtbot, ExportDialog, folder, tmp_path)
    box = dialog.include_images
    dialog.set_format("index")
    assert not box.isChecked() and not box.isEnabled()
    assert not dialog.options().include_images
    dialog.set_format("voc")
    assert box.isChecked() and box.isEnabled()
    box.setChecked(False)
    dialog.set_format("color")
    assert not box.isChecked() and not box.isEnabled()
    dialog.set_format("camvid")
    assert not box.isChecked() and box.isEnabled()  # the user's choice, kept
    box.setChecked(True)
    run_export(qtbot, dialog, "index", tmp_path / "idx")
    assert sorted(p.name for p in (tmp_path / "idx").iterdir()) == [
        "classes.json", "scene_000.png", "segstudio_export_index.json"]
    dialog.close()
    controller.shutdown()
