"""The welcome view: open a folder, reopen a recent project, or try the sample."""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QFrame,
    QHBoxLayout,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QProgressBar,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from ..settings import RecentProject


class WelcomeView(QWidget):
    open_folder_requested = Signal()
    open_sample_requested = Signal()
    open_recent_requested = Signal(object)  # RecentProject
    forget_missing_requested = Signal()     # drop the recent entries whose folder is gone

    def __init__(self, parent=None):
        super().__init__(parent)
        self.setObjectName("welcome")
        title = QLabel("<span style='font-size:26pt; font-weight:600'>segstudio</span>", self)
        subtitle = QLabel("Label images, train SegNet on your corrections, export masks.", self)
        subtitle.setStyleSheet("font-size: 11pt")
        self.open_button = QPushButton("Open a folder of images…", self)
        self.open_button.setMinimumHeight(36)
        self.open_button.setDefault(True)
        self.sample_button = QPushButton("Open the sample project", self)
        self.sample_button.setMinimumHeight(36)
        self.sample_button.setToolTip("Eight drawn street scenes with exact masks: "
                                      "a quick tour of the whole workflow")
        self.open_button.clicked.connect(self.open_folder_requested)
        self.sample_button.clicked.connect(self.open_sample_requested)

        self.recent = QListWidget(self)
        self.recent.setMinimumHeight(160)
        self.recent.itemActivated.connect(self._recent_activated)
        self.recent_label = QLabel("<b>Recent projects</b>", self)
        self.forget_button = QPushButton("Forget missing folders", self)
        self.forget_button.setToolTip("Remove the recent projects whose folder no longer "
                                      "exists from this list (nothing on disk changes)")
        self.forget_button.clicked.connect(self.forget_missing_requested)
        self.forget_button.setVisible(False)

        self.status = QLabel(self)
        self.status.setWordWrap(True)
        self.status.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.progress = QProgressBar(self)
        self.progress.setVisible(False)

        card = QFrame(self)
        card.setFrameShape(QFrame.Shape.StyledPanel)
        card.setMaximumWidth(640)
        card.setMaximumHeight(600)
        inner = QVBoxLayout(card)
        inner.setContentsMargins(32, 28, 32, 28)
        inner.setSpacing(10)
        inner.addWidget(title)
        inner.addWidget(subtitle)
        inner.addSpacing(12)
        buttons = QHBoxLayout()
        buttons.addWidget(self.open_button, 1)
        buttons.addWidget(self.sample_button, 1)
        inner.addLayout(buttons)
        inner.addSpacing(8)
        recent_head = QHBoxLayout()
        recent_head.addWidget(self.recent_label, 1)
        recent_head.addWidget(self.forget_button)
        inner.addLayout(recent_head)
        inner.addWidget(self.recent, 1)
        inner.addWidget(self.progress)
        inner.addWidget(self.status)
        inner.addStretch(1)
        hint = QLabel("Tip: <i>segstudio FOLDER</i> opens a folder directly. A read-only folder "
                      "is fine: segstudio asks where to keep its project.", self)
        hint.setWordWrap(True)
        hint.setStyleSheet("color: #666")
        inner.addWidget(hint)

        row = QHBoxLayout()
        row.addStretch(1)
        row.addWidget(card, 3)
        row.addStretch(1)
        outer = QVBoxLayout(self)
        outer.addStretch(1)
        outer.addLayout(row, 6)
        outer.addStretch(1)

    def set_recent(self, items: list[RecentProject]) -> None:
        self.recent.clear()
        for r in items:
            label = r.title + ("" if r.exists() else "  (missing)")
            item = QListWidgetItem(f"{label}\n{r.folder}")
            item.setData(Qt.ItemDataRole.UserRole, r)
            item.setToolTip(r.folder + (f"\nproject: {r.project_dir}" if r.project_dir else ""))
            if not r.exists():
                item.setFlags(item.flags() & ~Qt.ItemFlag.ItemIsEnabled)
            self.recent.addItem(item)
        empty = not items
        self.forget_button.setVisible(any(not r.exists() for r in items))
        self.recent.setVisible(not empty)
        self.recent_label.setText("<b>Recent projects</b>" if not empty else
                                  "No recent projects yet: open a folder or the sample.")

    def _recent_activated(self, item: QListWidgetItem) -> None:
        recent = item.data(Qt.ItemDataRole.UserRole)
        if recent is not None:
            self.open_recent_requested.emit(recent)

    def set_busy(self, text: str) -> None:
        """Opening: show what is happening, block the buttons."""
        self.status.setText(text)
        self.progress.setRange(0, 0)
        self.progress.setVisible(True)
        for w in (self.open_button, self.sample_button, self.recent):
            w.setEnabled(False)

    def set_progress(self, done: int, total: int) -> None:
        if total > 0:
            self.progress.setRange(0, total)
            self.progress.setValue(done)
            self.status.setText(f"Reading image headers: {done:,} of {total:,}")

    def set_idle(self, message: str = "", error: bool = False) -> None:
        self.progress.setVisible(False)
        self.status.setText(message)
        self.status.setStyleSheet("color: #d9534f" if error else "")
        for w in (self.open_button, self.sample_button, self.recent):
            w.setEnabled(True)
