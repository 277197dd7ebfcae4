"""Import and export dialogs (File > Import masks…, File > Export masks…).

The window calls :func:`open_export_dialog` / :func:`open_import_dialog`; the
dialogs call the Qt-free :mod:`segstudio.core.formats` on workers (jobs.py).
"""

from __future__ import annotations

from PySide6.QtCore import Qt

from .export_dialog import ExportDialog
from .import_dialog import ImportDialog


def open_export_dialog(window) -> ExportDialog | None:
    """Show the export dialog for the window's project (None without a project)."""
    if window.controller.project is None:
        window.show_message("Open a project first: there is nothing to export.")
        return None
    dialog = ExportDialog(window.controller, window.settings, window.browser, window)
    _open(dialog)
    return dialog


def open_import_dialog(window) -> ImportDialog | None:
    """Show the import dialog for the window's project (None without a project)."""
    if window.controller.project is None:
        window.show_message("Open a project first: masks are imported into a project.")
        return None
    dialog = ImportDialog(window.controller, window.settings, window)
    _open(dialog)
    return dialog


def _open(dialog) -> None:
    dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose, True)
    dialog.show()  # window-modal: the window keeps painting, the user waits for the dialog
    dialog.raise_()
    dialog.activateWindow()


__all__ = ["ExportDialog", "ImportDialog", "open_export_dialog", "open_import_dialog"]
