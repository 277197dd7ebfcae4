"""Starting the window: ``segstudio`` or ``segstudio FOLDER``."""

from __future__ import annotations

import contextlib
import os
import signal
import sys
import traceback
from pathlib import Path

from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QApplication

_window = None


def _excepthook(kind, value, tb) -> None:
    """An unexpected error in a slot: print it, say so in the status bar, keep running."""
    traceback.print_exception(kind, value, tb, file=sys.stderr)
    if _window is not None:
        with contextlib.suppress(Exception):  # never fail while reporting
            _window.show_message(f"unexpected error ({kind.__name__}: {value}); "
                                 "details are in the terminal")


def has_display() -> bool:
    """False on Linux without X11/Wayland (Qt would abort the process there)."""
    if not sys.platform.startswith("linux") or os.environ.get("QT_QPA_PLATFORM"):
        return True
    return bool(os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))


def make_app() -> QApplication:
    app = QApplication.instance() or QApplication(sys.argv[:1])
    app.setApplicationName("segstudio")
    app.setOrganizationName("segstudio")
    app.setApplicationDisplayName("segstudio")
    return app


def run_gui(folder: str | None = None, project_dir: str | None = None) -> int:
    """Open the main window (on ``folder`` if given) and run until it closes."""
    global _window
    if not has_display():
        print("segstudio: no display (DISPLAY and WAYLAND_DISPLAY are unset). Run it in a desktop "
              "session, or under xvfb-run; the subcommands (segstudio --help) work without one.",
              file=sys.stderr)
        return 1
    app = make_app()
    from .main_window import MainWindow  # after QApplication: widgets need it

    window = MainWindow()
    _window = window
    sys.excepthook = _excepthook
    window.show()
    if folder:
        path = Path(folder).expanduser()
        QTimer.singleShot(0, lambda: window.open_folder(path, project_dir))
    # let Ctrl+C in the terminal close the window (Python sees signals between Qt events)
    signal.signal(signal.SIGINT, lambda *_: window.close())
    tick = QTimer(window, interval=250)
    tick.timeout.connect(lambda: None)
    tick.start()
    try:
        return int(app.exec())
    finally:
        _window = None
        sys.excepthook = sys.__excepthook__
