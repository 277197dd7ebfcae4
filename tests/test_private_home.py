"""The test suite never writes into the user's home (issue 25, item 18): Qt's own
settings (the file dialog's history in QtProject.conf) and every per-user folder go to
a temp folder that tests/conftest.py makes for the session, for this process and for
the commands it starts."""

from __future__ import annotations

import os
import pwd
import subprocess
import sys
import tempfile
from pathlib import Path

REAL_HOME = Path(pwd.getpwuid(os.getuid()).pw_dir).resolve()


def _inside(path: Path, folder: Path) -> bool:
    path, folder = path.resolve(), folder.resolve()
    return path == folder or folder in path.parents


def test_home_and_config_folders_are_private_temp_folders():
    temp = Path(tempfile.gettempdir())
    for var in ("HOME", "XDG_CONFIG_HOME", "XDG_DATA_HOME", "XDG_CACHE_HOME"):
        value = Path(os.environ[var])
        assert _inside(value, temp), f"{var}={value} is not a temp folder"
        assert not _inside(value, REAL_HOME) or _inside(REAL_HOME, temp), var
    assert _inside(Path.home(), temp)


def test_qt_file_dialog_settings_go_to_the_private_folder(qapp):
    """QFileDialog keeps its history in QSettings("QtProject"): that file must be in the
    session's folder, and a dialog that saves its state writes it there."""
    from PySide6.QtCore import QSettings
    from PySide6.QtWidgets import QFileDialog

    qt = QSettings(QSettings.Scope.UserScope, "QtProject")
    where = Path(qt.fileName())
    assert _inside(where, Path(os.environ["XDG_CONFIG_HOME"]))
    assert not _inside(where, REAL_HOME) or _inside(REAL_HOME, Path(tempfile.gettempdir()))
    import shiboken6

    dialog = QFileDialog(None, "x", str(Path(tempfile.gettempdir())))
    dialog.setOption(QFileDialog.Option.DontUseNativeDialog, True)
    dialog.show()
    dialog.reject()
    shiboken6.delete(dialog)  # Qt's file dialog writes its history as it goes
    assert where.is_file()
    assert "FileDialog" in where.read_text(encoding="utf-8", errors="replace")


def test_commands_the_tests_start_see_the_private_home():
    out = subprocess.run([sys.executable, "-c", "import pathlib; print(pathlib.Path.home())"],
                         capture_output=True, text=True, check=True).stdout.strip()
    assert Path(out) == Path.home()
    assert _inside(Path(out), Path(tempfile.gettempdir()))
