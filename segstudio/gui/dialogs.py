"""Small dialogs the window needs (asked only on the user's own actions)."""

from __future__ import annotations

import hashlib
from pathlib import Path

from PySide6.QtWidgets import QFileDialog, QMessageBox, QWidget

from ..core.sample import user_data_dir


def ask_yes_cancel(parent: QWidget | None, title: str, text: str) -> bool:
    """A Yes / Cancel question (Cancel is the default); True for Yes."""
    answer = QMessageBox.question(parent, title, text,
                                  QMessageBox.StandardButton.Yes
                                  | QMessageBox.StandardButton.Cancel,
                                  QMessageBox.StandardButton.Cancel)
    return answer == QMessageBox.StandardButton.Yes


def suggested_project_dir(folder: str | Path) -> Path:
    """A per-user place for the project of a read-only folder."""
    folder = Path(folder).resolve()
    digest = hashlib.blake2b(str(folder).encode(), digest_size=4).hexdigest()
    return user_data_dir() / "projects" / f"{folder.name or 'images'}-{digest}"


class ProjectDirQuestion(QMessageBox):
    """'This folder is read-only: where should the project go?'"""

    def __init__(self, folder: str | Path, parent: QWidget | None = None):
        super().__init__(parent)
        self.folder = Path(folder)
        self.suggested = suggested_project_dir(folder)
        self.setIcon(QMessageBox.Icon.Question)
        self.setWindowTitle("Read-only folder")
        self.setText(f"segstudio cannot write into <b>{self.folder}</b>.")
        self.setInformativeText(
            "The images stay where they are and are never modified; masks, predictions and "
            f"training runs need a project folder elsewhere.\n\nSuggested: {self.suggested}")
        self.use_suggested = self.addButton("Use the suggested folder",
                                            QMessageBox.ButtonRole.AcceptRole)
        self.choose = self.addButton("Choose a folder…", QMessageBox.ButtonRole.ActionRole)
        self.addButton(QMessageBox.StandardButton.Cancel)
        self.setDefaultButton(self.use_suggested)

    def ask(self) -> str | None:
        """Run the question; the chosen project directory or None (cancelled)."""
        self.exec()
        clicked = self.clickedButton()
        if clicked is self.use_suggested:
            return str(self.suggested)
        if clicked is self.choose:
            path = QFileDialog.getExistingDirectory(self.parentWidget(), "Keep the project in")
            return path or None
        return None
