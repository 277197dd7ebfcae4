"""The smart tools' one async rule and their narrow host.

* A result whose image is no longer the one asked for is never painted, whichever
  tool made it: the computation is held until the user has asked for the next image
  (which is held in its turn, so the old one is still on screen), then let go.
* Tools take a :class:`ToolHost` and use nothing of the editor it does not list;
  the window's :class:`EditorController` is one.
"""

from __future__ import annotations

import ast
import threading
from pathlib import Path

import pytest
from PySide6.QtCore import Qt

import segstudio.gui.editor as editor_pkg
import segstudio.gui.project_controller as project_controller
from segstudio.core.sample import TREE
from segstudio.gui.editor import grabcut_tool, scissors_tool, wand_tool, watershed_tool
from segstudio.gui.editor.tool_host import ToolHost

from .conftest import wait_document
from .editor_helpers import click, drag, open_editor, view_point
from .test_smart_tools import RECT, SHIFT, shapes_project  # noqa: F401 - a fixture

RIGHT = Qt.MouseButton.RightButton
HELD_S = 30  # a held computation or load never waits longer than this


def _grabcut(qtbot, canvas, tool):
    drag(qtbot, canvas, [view_point(canvas, 6.5, 11.5), view_point(canvas, 50.5, 55.5)])


def _watershed(qtbot, canvas, tool):
    drag(qtbot, canvas, [view_point(canvas, 20.5, 30.5), view_point(canvas, 34.5, 33.5)])
    drag(qtbot, canvas, [view_point(canvas, 3.5, 5.5), view_point(canvas, 60.5, 5.5)],
         button=RIGHT)


def _wand(qtbot, canvas, tool):
    click(qtbot, canvas, view_point(canvas, 20.5, 30.5))


def _scissors(qtbot, canvas, tool):
    x0, y0, x1, y1 = RECT
    for x, y in ((x0, y0), (x1 - 1, y0), (x1 - 1, y1 - 1)):
        click(qtbot, canvas, view_point(canvas, x + 0.5, y + 0.5))
        qtbot.waitUntil(lambda: tool.map is not None, timeout=10000)


CASES = {  # tool: (key, modifier, module, the core function it computes with, marks, lane key)
    "grabcut": (Qt.Key.Key_G, None, grabcut_tool, "grabcut_region", _grabcut, "grabcut"),
    "watershed": (Qt.Key.Key_W, None, watershed_tool, "watershed_labels", _watershed,
                  "watershed"),
    "wand": (Qt.Key.Key_F, SHIFT, wand_tool, "wand_region", _wand, "wand"),
    "scissors": (Qt.Key.Key_S, None, scissors_tool, "scissors_region", _scissors,
                 "scissors-fill"),
}


def _held(monkeypatch, module, name: str, gate: threading.Event, when=lambda *a: True):
    real = getattr(module, name)

    def held(*args, **kwargs):
        if when(*args):
            gate.wait(HELD_S)
        return real(*args, **kwargs)

    monkeypatch.setattr(module, name, held)


@pytest.mark.parametrize("name", sorted(CASES))
def test_a_result_for_an_image_the_user_left_is_never_painted(
        qtbot, window, shapes_project, monkeypatch, name):  # noqa: F811
    key, modifier, module, compute, mark, lane_key = CASES[name]
    folder, _images = shapes_project
    computed, loaded = threading.Event(), threading.Event()
    _held(monkeypatch, module, compute, computed)
    _held(monkeypatch, project_controller, "load_document", loaded,
          when=lambda project, rec, *a: rec.relpath == "shapes_2.png")
    window.controller.prefetch_enabled = False  # the next image is read only when asked for
    try:
        canvas = open_editor(qtbot, window, folder, relpath="shapes_1.png", center=(60, 40))
        ed = window.editor
        qtbot.keyClick(canvas, key, modifier or Qt.KeyboardModifier.NoModifier)
        tool = ed.tools[name]
        assert ed.tool is tool
        window.class_panel.set_active_class(TREE)
        mark(qtbot, canvas, tool)
        qtbot.keyClick(canvas, Qt.Key.Key_Return)    # fill (once the result is there)
        assert tool.running is not None              # held on the worker
        first = canvas.document()

        qtbot.keyClick(canvas, Qt.Key.Key_D)         # the user moves on ...
        assert window.controller.current.relpath == "shapes_2.png"
        assert canvas.document() is first            # ... the next image still loading
        computed.set()                               # now the result comes back
        qtbot.waitUntil(lambda: window.controller.runner.pending(lane_key) == 0,
                        timeout=10000)
        assert list(ed.sessions) == [] and first.mask is None  # not painted on the old image
        assert tool.running is None

        loaded.set()
        wait_document(qtbot, window, "shapes_2.png")
        assert list(ed.sessions) == [] and canvas.mask() is None
    finally:
        computed.set()
        loaded.set()


def _host_members() -> set[str]:
    return {n for n in vars(ToolHost) if not n.startswith("_")}


def test_tools_use_only_what_the_tool_host_lists():
    members = _host_members()
    assert {"document", "current_image_id", "apply", "runner", "project_setting"} <= members
    root = Path(editor_pkg.__file__).parent
    modules = sorted(p for p in root.glob("*.py")
                     if p.stem.endswith(("_tool", "_tools")) or p.stem in (
                         "base", "smart_base", "smart_overlay", "tool_jobs"))
    assert len(modules) >= 12
    used, outside = set(), []
    for path in modules:
        for node in ast.walk(ast.parse(path.read_text())):
            if not isinstance(node, ast.Attribute):
                continue
            v = node.value
            if (isinstance(v, ast.Attribute) and v.attr == "host"
                    and isinstance(v.value, ast.Name) and v.value.id == "self") or (
                    isinstance(v, ast.Name) and v.id == "host"):
                used.add(node.attr)
                if node.attr not in members:
                    outside.append(f"{path.name}:{node.lineno} host.{node.attr}")
            if isinstance(v, ast.Name) and v.id == "self" and node.attr == "editor":
                outside.append(f"{path.name}:{node.lineno} self.editor")
    assert outside == []
    assert used == members  # and the protocol lists nothing the tools do not use


def test_the_editor_is_a_tool_host_and_gives_each_tool_itself(qtbot, window):
    ed = window.editor
    assert isinstance(ed, ToolHost)
    assert all(tool.host is ed for tool in ed.tools.values())
    assert ed.current_image_id() is None and ed.project_setting("anything") is None
