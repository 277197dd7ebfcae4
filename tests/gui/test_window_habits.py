"""Issue 13, items 9-13: the window as an annotator expects it (qtbot, real widgets)."""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import Qt

from segstudio.core.sample import CAR

from .editor_helpers import click, open_editor, view_point


def _button(bar, act):
    return bar.widgetForAction(act)


def test_undo_redo_buttons_keep_their_text_and_nothing_after_them_moves(qtbot, window,
                                                                         street_project):
    folder, _images, _labels = street_project
    canvas = open_editor(qtbot, window, folder)
    ed = window.editor
    bar = ed.ui.toolbar
    undo_act, redo_act = bar.actions()[:2]
    brush_btn = _button(bar, ed.ui.tool_actions["brush"])
    x_before = brush_btn.mapTo(bar, brush_btn.rect().topLeft()).x()
    assert not undo_act.isEnabled()
    qtbot.keyClick(canvas, Qt.Key.Key_B)
    window.class_panel.set_active_class(CAR)
    before = canvas.mask().copy()
    click(qtbot, canvas, view_point(canvas, 30.5, 20.5))
    assert not np.array_equal(canvas.mask(), before)
    # the Edit menu says which step; the tool bar button keeps its word
    assert ed.ui.undo.text() == "Undo Brush"
    assert _button(bar, undo_act).text() == "Undo" and undo_act.isEnabled()
    assert undo_act.toolTip() == "Undo Brush (Ctrl+Z)"
    qtbot.wait(1)
    assert brush_btn.mapTo(bar, brush_btn.rect().topLeft()).x() == x_before
    # the tool bar button undoes like Ctrl+Z
    _button(bar, undo_act).click()
    assert np.array_equal(canvas.mask(), before)
    assert _button(bar, redo_act).text() == "Redo" and redo_act.toolTip() == "Redo Brush (Ctrl+Shift+Z)"
    assert not undo_act.isEnabled()
    _button(bar, redo_act).click()
    assert not np.array_equal(canvas.mask(), before)
