"""What the window's features are given instead of the window.

The editor, the training UI and its prediction service, the import/export
dialogs and the display panel each take the few collaborators they use, typed
here, and never read the main window's attributes.  A request one feature has
of another (flush the edits before training, reveal an image in the list, a
prediction is ready) is a Qt signal of the feature that only
:class:`~.main_window.MainWindow` connects.

Where one implementation is all there is, the concrete class is used:
:class:`~.project_controller.ProjectController` (the project, the document on screen,
the workers), :class:`~.widgets.canvas.Canvas`, :class:`~.widgets.class_panel.ClassPanel`
and the user settings, :data:`Settings`.  A ``QWidget`` parent is passed for
dialogs and for the Qt ownership of what a feature makes.
"""

from __future__ import annotations

from typing import Protocol

from PySide6.QtCore import Qt
from PySide6.QtGui import QAction
from PySide6.QtWidgets import QDockWidget, QMenuBar, QStatusBar, QToolBar, QWidget

from ..core.project import ImageRecord
from .settings import AppSettings

Settings = AppSettings  # the per-user settings (QSettings): value, set_value, recent, layout


class Notifier(Protocol):
    """A one-line note or error for the user (the status bar; never a dialog)."""

    def show_message(self, text: str, msecs: int = 10000) -> None: ...


class WindowChrome(Protocol):
    """Where a feature puts its window-wide actions (their shortcuts work anywhere in
    the window), its menus, tool bars and status-bar widgets (a QMainWindow)."""

    def addAction(self, action: QAction) -> None: ...

    def menuBar(self) -> QMenuBar: ...

    def statusBar(self) -> QStatusBar: ...

    def addToolBar(self, area: Qt.ToolBarArea, toolbar: QToolBar) -> None: ...

    def addToolBarBreak(self, area: Qt.ToolBarArea = Qt.ToolBarArea.TopToolBarArea) -> None: ...


class DockHost(WindowChrome, Protocol):
    """Adds dockable panels (each with its View > Panels toggle, its place kept across
    sessions) and arranges them."""

    def add_dock(self, widget: QWidget, title: str, object_name: str,
                 area: Qt.DockWidgetArea = Qt.DockWidgetArea.RightDockWidgetArea
                 ) -> QDockWidget: ...

    def splitDockWidget(self, first: QDockWidget, second: QDockWidget,
                        orientation: Qt.Orientation) -> None: ...

    def tabifyDockWidget(self, first: QDockWidget, second: QDockWidget) -> None: ...

    def resizeDocks(self, docks: list[QDockWidget], sizes: list[int],
                    orientation: Qt.Orientation) -> None: ...

    def width(self) -> int: ...


class ListedImages(Protocol):
    """The image list the user sees (the browser), after its filter, in its order."""

    def listed_records(self) -> list[ImageRecord]: ...

    def listed_total(self) -> int:
        """How many images the list holds before its filter."""
        ...

    def list_sort(self) -> str:
        """The list's sort key (``core.browse.SORT_KEYS``)."""
        ...
