"""Import and export dialogs (File > Import masks…, File > Export masks…).

The window calls :func:`open_export_dialog` / :func:`open_import_dialog` with
the collaborators they need (see :mod:`..collaborators`); the dialogs call the
Qt-free :mod:`segstudio.core.formats` on workers (:mod:`.transfer_jobs`).
"""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QWidget

from ..collaborators import ListedImages, Notifier, Settings
from ..project_controller import ProjectController
from .export_dialog import ExportDialog
from .import_dialog import ImportDialog


def open_export_dialog(controller: ProjectController, settings: Settings, notifier: Notifier,
                       listed: ListedImages | None, parent: QWidget) -> ExportDialog | None:
    """Show the export dialog for the controller's project (None without a project)."""
    if controller.project is None:
        notifier.show_message("Open a project first: there is nothing to export.")
        return None
    dialog = ExportDialog(controller, settings, listed, parent)
    _open(dialog)
    return dialog


def open_import_dialog(controller: ProjectController, settings: Settings, notifier: Notifier,
                       parent: QWidget) -> ImportDialog | None:
    """Show the import dialog for the controller's project (None without a project)."""
    if controller.project is None:
        notifier.show_message("Open a project first: masks are imported into a project.")
        return None
    dialog = ImportDialog(controller, settings, parent)
    _open(dialog)
    return dialog


def _open(dialog) -> None:
    dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose, True)
    dialog.show()  # window-modal: the window keeps painting, the user waits for the dialog
    dialog.raise_()
    dialog.activateWindow()


__all__ = ["ExportDialog", "ImportDialog", "open_export_dialog", "open_import_dialog"]
