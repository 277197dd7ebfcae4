"""Opening folders (read-only, broken images, the sample), persistence and closing."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PySide6.QtCore import Qt, QTimer
from PySide6.QtWidgets import QApplication

from segstudio.core.sample import SAMPLE_CLASSES, draw_scene
from segstudio.gui.dialogs import ProjectDirQuestion, suggested_project_dir
from segstudio.gui.main_window import MainWindow
from segstudio.gui.settings import AppSettings

from .conftest import open_and_wait, wait_document


def _click_when_shown(button_attr: str):
    def click():
        box = next((w for w in QApplication.topLevelWidgets()
                    if isinstance(w, ProjectDirQuestion) and w.isVisible()), None)
        if box is None:
            QTimer.singleShot(20, click)
            return
        getattr(box, button_attr).click()
    QTimer.singleShot(20, click)


def test_read_only_folder_asks_for_a_project_dir(qtbot, window, make_images, tmp_path):
    folder = make_images(2, size=(12, 16))
    (folder / ".segstudio").write_text("not a folder: the project cannot live here")
    _click_when_shown("use_suggested")
    open_and_wait(qtbot, window, folder)
    project = window.controller.project
    assert project.project_dir == suggested_project_dir(folder)
    assert str(project.project_dir).startswith(str(tmp_path / "userdata"))
    assert (folder / ".segstudio").is_file()  # the image folder is left alone
    # the choice is remembered: reopening does not ask again
    window.close_project()
    asked = []
    window.ask_project_dir = lambda f: asked.append(f)
    recent = window.settings.recent_projects()[0]
    assert recent.project_dir == str(project.project_dir)
    open_and_wait(qtbot, window, recent.folder)
    assert asked == [] and window.controller.project.project_dir == suggested_project_dir(folder)


def test_project_dir_that_cannot_be_made_asks_too(qtbot, window, make_images, tmp_path):
    folder = make_images(1, size=(12, 16))
    # looks writable, but the project directory cannot be created (a dangling link)
    (folder / ".segstudio").symlink_to(tmp_path / "gone" / "nowhere")
    _click_when_shown("use_suggested")
    open_and_wait(qtbot, window, folder)
    assert window.controller.project.project_dir == suggested_project_dir(folder)


def test_read_only_folder_cancelled_is_a_message(qtbot, window, make_images):
    folder = make_images(1, size=(12, 16))
    (folder / ".segstudio").write_text("x")

    def cancel():
        box = next(w for w in QApplication.topLevelWidgets()
                   if isinstance(w, ProjectDirQuestion) and w.isVisible())
        box.reject()
    QTimer.singleShot(50, cancel)
    assert window.open_folder(folder) is False
    assert "read-only" in window.statusBar().currentMessage()
    assert window.controller.project is None


def test_unreadable_image_is_a_message_not_a_crash(qtbot, window, make_images):
    folder = make_images(2, size=(12, 16))
    (folder / "img_001.png").write_bytes(b"\x89PNG\r\n\x1a\n broken")
    open_and_wait(qtbot, window, folder, relpath="img_000.png")
    qtbot.keyClick(window.canvas, Qt.Key.Key_D)
    doc = wait_document(qtbot, window, "img_001.png")
    assert doc.error and "img_001.png" in doc.error
    assert "img_001.png" in window.canvas.message()
    assert "img_001.png" in window.statusBar().currentMessage()
    assert window.browser.current_record().usable is False
    window.browser.set_status_filter("unreadable")
    assert [r.name for r in window.browser.model.records()] == ["img_001.png"]
    # moving on clears the placeholder
    window.browser.set_status_filter("all")
    qtbot.keyClick(window.canvas, Qt.Key.Key_A)
    wait_document(qtbot, window, "img_000.png")
    assert window.canvas.message() == ""


def test_missing_folder_and_empty_folder(qtbot, window, tmp_path):
    assert window.open_folder(tmp_path / "nowhere") is False
    assert "no such folder" in window.welcome.status.text()
    empty = tmp_path / "empty"
    empty.mkdir()
    window.open_folder(empty)
    qtbot.waitUntil(lambda: window.controller.project is not None, timeout=5000)
    qtbot.waitUntil(lambda: "no images" in window.canvas.message(), timeout=5000)


def test_geometry_docks_recent_persist_and_close_is_instant(qtbot, tmp_path, street_project):
    folder, _images, _labels = street_project
    settings_path = tmp_path / "persist.ini"
    win = MainWindow(AppSettings(settings_path))
    qtbot.addWidget(win)
    win.show()
    win.resize(711, 533)  # within the offscreen 800x600 screen
    open_and_wait(qtbot, win, folder)
    win.docks["dock-classes"].hide()
    win.close()
    assert win.close_seconds is not None   # closed without waiting for a dialog or a worker

    win2 = MainWindow(AppSettings(settings_path))
    qtbot.addWidget(win2)
    win2.show()
    assert (win2.width(), win2.height()) == (711, 533)
    assert [r.folder for r in win2.settings.recent_projects()] == [str(folder.resolve())]
    assert win2.welcome.recent.count() == 1
    # reopen from the welcome list: the dock layout comes back with the project view
    win2.welcome.recent.itemActivated.emit(win2.welcome.recent.item(0))
    wait_document(qtbot, win2)
    assert win2.docks["dock-images"].isVisible()
    assert not win2.docks["dock-classes"].isVisible()
    win2.close()


def test_sample_project_opens_offline_with_exact_masks(qtbot, window, tmp_path):
    window.welcome.sample_button.click()
    doc = wait_document(qtbot, window)
    project = window.controller.project
    # the project is named for what it holds (issue 25, item 17: it was "images")
    assert project.root == (tmp_path / "userdata" / "sample" / "street-scenes").resolve()
    assert window.windowTitle().endswith("— street-scenes — segstudio")
    assert [r.title for r in window.settings.recent_projects()] == ["street-scenes"]
    recs = project.images()
    assert len(recs) == 8
    assert [r.status for r in recs].count("unlabelled") == 3
    assert project.classes == SAMPLE_CLASSES
    _img, lab = draw_scene(1000)
    assert np.array_equal(project.load_mask(recs[0]), lab) and recs[0].status == "reviewed"
    assert doc.rec.relpath == "street_01.png"
    # a second request reuses the sample as it is
    mtime = (Path(project.root) / "street_01.png").stat().st_mtime_ns
    window.close_project()
    window.open_sample()
    wait_document(qtbot, window)
    assert (Path(window.controller.project.root) / "street_01.png").stat().st_mtime_ns == mtime


def test_run_gui_opens_the_folder_given_on_the_command_line(qtbot, street_project):
    from segstudio.gui.app import run_gui

    folder, _images, _labels = street_project
    seen = {}

    def check():
        win = next((w for w in QApplication.topLevelWidgets()
                    if isinstance(w, MainWindow) and w.isVisible()), None)
        doc = win.canvas.document() if win is not None else None
        if doc is None:
            QTimer.singleShot(20, check)
            return
        seen["image"] = doc.rec.relpath
        seen["title"] = win.windowTitle()
        win.close()

    QTimer.singleShot(20, check)
    assert run_gui(str(folder), None) == 0
    assert seen["image"] == "scene_1.png" and "streets" in seen["title"]
