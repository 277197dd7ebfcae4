"""File › Import / Export class table: JSON in and out of the open project."""

from __future__ import annotations

import json

from segstudio.core.classes import ClassTable
from segstudio.core.project import Project
from segstudio.core.sample import SAMPLE_CLASSES
from segstudio.gui.widgets.class_panel import COL_NAME

from .conftest import open_and_wait


def test_export_edit_import_and_a_refused_table(qtbot, window, street_project, tmp_path, camvid):
    folder = street_project[0]
    open_and_wait(qtbot, window, folder, relpath="scene_1.png")
    ctl = window.controller
    messages: list[str] = []
    ctl.message.connect(messages.append)

    out = tmp_path / "out" / "classes.json"
    out.parent.mkdir()
    assert ctl.export_class_table(out)
    data = json.loads(out.read_text(encoding="utf-8"))
    assert data == SAMPLE_CLASSES.to_json_dict()

    # rename and recolour one class in the file, then import it back
    data["classes"][5]["name"] = "Vehicle"
    data["classes"][5]["color"] = [1, 2, 3]
    edited = tmp_path / "edited.json"
    edited.write_text(json.dumps(data), encoding="utf-8")
    assert ctl.import_class_table(edited)
    table = ctl.project.classes
    car = table.classes[5]
    assert (car.name, car.color) == ("Vehicle", (1, 2, 3))
    panel = window.class_panel
    assert panel.list.item(panel.row_of(car.id), COL_NAME).text() == "Vehicle"
    with Project.open(folder, scan=False) as again:
        assert again.classes == table
    assert messages[-1] == f"Classes from {edited}: {len(table.classes)} classes"

    # CamVid's table drops ids that this project's masks use: refused, nothing changes
    assert not ctl.import_class_table(camvid / "classes.json")
    assert "drops ids" in messages[-1] and "not imported" in messages[-1]
    assert ctl.project.classes == table

    # a file that is not JSON
    broken = tmp_path / "broken.json"
    broken.write_text("{not json", encoding="utf-8")
    assert not ctl.import_class_table(broken)
    assert str(broken) in messages[-1] and "not valid JSON" in messages[-1]
    assert ClassTable.load_json(out) == SAMPLE_CLASSES


def test_class_table_dialogs_open_in_the_project_folder(qtbot, window, street_project,
                                                        monkeypatch, tmp_path):
    """Issue 25, item 17: File › Import class table opened in the process's current
    directory; both dialogs start in the open project's folder."""
    from PySide6.QtWidgets import QFileDialog

    folder = street_project[0]
    monkeypatch.chdir(tmp_path)  # somewhere that is not the project
    open_and_wait(qtbot, window, folder)
    seen = []
    monkeypatch.setattr(QFileDialog, "getOpenFileName",
                        staticmethod(lambda _parent, _title, start, *_a: seen.append(start)
                                     or ("", "")))
    monkeypatch.setattr(QFileDialog, "getSaveFileName",
                        staticmethod(lambda _parent, _title, start, *_a: seen.append(start)
                                     or ("", "")))
    window.actions_.import_classes.trigger()
    window.actions_.export_classes.trigger()
    root = window.controller.project.root
    assert seen == [str(root), str(root / "classes.json")]
