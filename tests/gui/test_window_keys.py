"""Tool keys and Ctrl shortcuts work after a dialog, whatever had the focus (issue 13,
item 4): real dialogs (the colour dialog, the Use file… file dialog), closed by a timer
as a user would close them; the key goes to whatever widget has the focus then."""

from __future__ import annotations

from PySide6.QtCore import Qt, QTimer
from PySide6.QtWidgets import QApplication, QDialog

from segstudio.core.sample import SKY

from .conftest import open_and_wait

CTRL = Qt.KeyboardModifier.ControlModifier


def _close_dialog_soon(qtbot, accept: bool) -> list:
    closed = []

    def close():
        dialog = QApplication.activeModalWidget()
        if dialog is None:  # not up yet
            QTimer.singleShot(50, close)
            return
        closed.append(type(dialog).__name__)
        dialog.accept() if accept else dialog.reject()

    QTimer.singleShot(50, close)
    return closed


def _key_to_focus(qtbot, window, key, modifier=Qt.KeyboardModifier.NoModifier):
    """Press ``key`` where the keyboard is now (the window when nothing has focus)."""
    target = QApplication.focusWidget() or window
    qtbot.keyClick(target, key, modifier)


def test_tool_keys_and_shortcuts_work_after_dialogs(qtbot, window, street_project, monkeypatch):
    folder = street_project[0]
    open_and_wait(qtbot, window, folder)
    panel, ed = window.class_panel, window.editor


    panel.set_active_class(SKY)
    panel.list.setFocus()
    restored = window.focus_keeper.restored

    # Colour… -> OK: the colour of Sky is kept as it was; then B is the brush
    closed = _close_dialog_soon(qtbot, accept=True)
    qtbot.mouseClick(panel.colour_button, Qt.MouseButton.LeftButton)
    assert closed == ["QColorDialog"]
    qtbot.waitUntil(lambda: window.focus_keeper.restored > restored, timeout=5000)
    assert QApplication.activeWindow() is window
    assert QApplication.focusWidget() is window.canvas
    _key_to_focus(qtbot, window, Qt.Key.Key_B)
    assert ed.tool is ed.tools["brush"]
    assert panel.active_class() == SKY          # no type-ahead to "Building"

    # a letter typed in the class list is never a row search
    panel.list.setFocus()
    panel.list.keyboardSearch("B")
    assert panel.active_class() == SKY

    # Runs › Use file… -> Cancel: Ctrl+P then predicts (here: says there is no model)
    runs = window.training.runs
    restored = window.focus_keeper.restored
    closed = _close_dialog_soon(qtbot, accept=False)
    runs.use_file.click()
    assert closed and closed[0] in ("QFileDialog", "QDialog")
    qtbot.waitUntil(lambda: window.focus_keeper.restored > restored, timeout=5000)
    assert QApplication.activeWindow() is window
    window.statusBar().clearMessage()
    _key_to_focus(qtbot, window, Qt.Key.Key_P, CTRL)
    assert "no model to predict with yet" in window.statusBar().currentMessage()


def test_focus_is_left_alone_while_a_dialog_is_open(qtbot, window, street_project):
    """The keeper gives the focus back only once the dialog is gone."""
    open_and_wait(qtbot, window, street_project[0])
    seen = []

    def check():
        dialog = QApplication.activeModalWidget()
        if dialog is None:
            QTimer.singleShot(50, check)
            return
        seen.append(window.focus_keeper.restored)
        dialog.reject()

    before = window.focus_keeper.restored
    QTimer.singleShot(50, check)
    QDialog(window).exec()
    assert seen == [before]
    qtbot.waitUntil(lambda: window.focus_keeper.restored == before + 1, timeout=5000)
    assert QApplication.focusWidget() is window.canvas
