"""The window's features take narrow collaborators, never the window itself."""

from __future__ import annotations

import ast
from pathlib import Path

from PySide6.QtWidgets import QMainWindow

import segstudio.gui as gui
from segstudio.core import edits
from segstudio.core.sample import CAR
from segstudio.gui.editor import EditorController
from segstudio.gui.project_controller import ProjectController
from segstudio.gui.settings import AppSettings
from segstudio.gui.widgets.canvas import Canvas
from segstudio.gui.widgets.class_panel import ClassPanel

from .conftest import open_and_wait

FEATURES = ("editor", "training", "transfer", "widgets")


class Notes:
    """A Notifier that keeps what it was told."""

    def __init__(self) -> None:
        self.lines: list[str] = []

    def show_message(self, text: str, msecs: int = 10000) -> None:
        self.lines.append(text)


def test_no_feature_reads_attributes_of_a_window():
    root = Path(gui.__file__).parent
    reads = []
    for package in FEATURES:
        for path in sorted((root / package).rglob("*.py")):
            for node in ast.walk(ast.parse(path.read_text())):
                if isinstance(node, ast.Attribute) and (
                        isinstance(node.value, ast.Name) and node.value.id in ("window", "win")
                        or node.attr == "window"):
                    reads.append(f"{path.relative_to(root)}:{node.lineno}")
    assert reads == []


def test_the_editor_runs_on_its_collaborators_alone(qtbot, tmp_path):
    host = QMainWindow()  # chrome and Qt parent only: not the segstudio window
    qtbot.addWidget(host)
    controller = ProjectController(host)
    canvas, panel = Canvas(controller.workers, host), ClassPanel(host)
    settings, notes = AppSettings(tmp_path / "s.ini"), Notes()
    editor = EditorController(controller, canvas, panel, settings, notes, host, host)
    editor.message("a note")
    assert notes.lines == ["a note"]
    editor.set_radius(12)
    assert int(settings.value("editor/radius")) == 12
    assert any(a.text().replace("&", "") == "Edit" for a in host.menuBar().actions())
    assert editor.ui.undo in host.actions()  # its shortcuts work anywhere in the host
    editor.shutdown()
    controller.shutdown()


def test_the_window_answers_the_features_requests(qtbot, window, street_project):
    folder, _images, _labels = street_project
    open_and_wait(qtbot, window, folder, relpath="scene_1.png")
    editor = window.editor
    editor.saver.set_interval(3_600_000)  # no autosave of its own during the test
    assert editor.apply(lambda mask: edits.fill_rect(mask, (2, 2), (9, 9), CAR)) is not None
    assert editor.current_session().dirty and window.isWindowModified()
    before = editor.saver.saves_submitted
    window.training.flush_edits_requested.emit()  # training asks; the window has it saved
    assert editor.saver.saves_submitted == before + 1
    qtbot.waitUntil(lambda: not editor.current_session().dirty, timeout=5000)
    assert not window.isWindowModified()

    target = window.controller.records[3]
    window.browser.set_status_filter("reviewed")  # hides the target
    window.training.service.reveal_requested.emit(target, "uncertainty")
    assert window.browser.list_sort() == "uncertainty"
    assert window.browser.current_record().id == target.id
