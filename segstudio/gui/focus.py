"""Keyboard focus back to the canvas after a dialog of the window closes.

Tool keys (B, E, ...) and Ctrl shortcuts are window shortcuts: they need the main
window to be the active window.  When a modal dialog (Colour…, Use file…, a
question) closes, some platforms (Xvfb without a window manager, offscreen) leave
no window active, and elsewhere the focus goes back to the button or list that
opened it, where a letter key types ahead in the list.  :class:`FocusKeeper`
watches every dialog of the main window that gets the focus (one event filter on
that dialog, none on the application): once it hides, the main window is
activated and the canvas (the window's choice) takes the keyboard focus, unless
the focus is in another window by then.
"""

from __future__ import annotations

from PySide6.QtCore import QEvent, QObject, Qt, QTimer
from PySide6.QtWidgets import QApplication

# the keys a text view scrolls with, which are also window shortcuts (PgDown: next image)
SCROLL_KEYS = (Qt.Key.Key_PageUp, Qt.Key.Key_PageDown, Qt.Key.Key_Home, Qt.Key.Key_End,
               Qt.Key.Key_Up, Qt.Key.Key_Down)


class FocusKeeper(QObject):
    def __init__(self, window, restore):
        """``restore()`` gives the focus back (the window's choice of widget)."""
        super().__init__(window)
        self.window = window
        self.restore = restore
        self.restored = 0  # how many times the focus was given back (tests)
        app = QApplication.instance()
        app.focusWindowChanged.connect(self._focus_window_changed)
        app.focusChanged.connect(lambda _old, new: self._watch(new.window() if new else None))

    def _focus_window_changed(self, focus) -> None:
        self._watch(QApplication.activeModalWidget())
        for widget in QApplication.topLevelWidgets():
            if focus is not None and widget.windowHandle() is focus:
                self._watch(widget)

    def _watch(self, top) -> None:
        """Filter the events of ``top`` when it is a dialog made for the main window
        (a widget of the main window is its parent)."""
        if top is None or top is self.window or not top.isWindow():
            return
        parent = top.parentWidget()
        if parent is not None and parent.window() is self.window:
            if not top.isVisible():  # the focus came late: the dialog is already closed
                QTimer.singleShot(0, self._give_back)
                return
            top.installEventFilter(self)  # installing twice keeps one filter

    def eventFilter(self, obj, event) -> bool:
        if event.type() == QEvent.Type.Hide and obj.isWindow():
            QTimer.singleShot(0, self._give_back)  # the filter stays: a dialog may show again
        return False

    def _give_back(self) -> None:
        if not self.window.isVisible() or QApplication.activeModalWidget() is not None:
            return
        self.restored += 1
        self.restore()


class ScrollKeys(QObject):
    """Page Up / Down, Home, End and the arrows scroll the text view that has the keyboard
    focus (a log) instead of reaching the window's shortcuts: PgDown over the training
    log moved to the next image.  ``ScrollKeys(view)`` filters that one view's events."""

    def __init__(self, view):
        super().__init__(view)
        view.installEventFilter(self)

    def eventFilter(self, obj, event) -> bool:
        if event.type() == QEvent.Type.ShortcutOverride and event.key() in SCROLL_KEYS \
                and event.modifiers() in (Qt.KeyboardModifier.NoModifier,
                                          Qt.KeyboardModifier.ControlModifier):
            event.accept()  # the view takes the key: no shortcut fires
            return True
        return False
