"""Per-user window settings (QSettings): geometry, dock layout, recent projects.

Project-specific view settings (overlay style) live in the project itself.
``SEGSTUDIO_SETTINGS=/path/file.ini`` (or the ``path`` argument) keeps them in
an INI file instead of the platform's default place (tests use this).
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

from PySide6.QtCore import QByteArray, QSettings

MAX_RECENT = 10


@dataclass(frozen=True)
class RecentProject:
    folder: str
    project_dir: str | None = None

    @property
    def title(self) -> str:
        return Path(self.folder).name or self.folder

    def exists(self) -> bool:
        return Path(self.folder).is_dir()


class AppSettings:
    def __init__(self, path: str | os.PathLike | None = None):
        path = path or os.environ.get("SEGSTUDIO_SETTINGS")
        if path:
            self.qs = QSettings(str(path), QSettings.Format.IniFormat)
        else:
            self.qs = QSettings(QSettings.Format.NativeFormat, QSettings.Scope.UserScope,
                                "segstudio", "segstudio")

    # -- recent projects --------------------------------------------------------
    def recent_projects(self) -> list[RecentProject]:
        raw = self.qs.value("recent/projects", "[]")
        try:
            items = json.loads(raw if isinstance(raw, str) else "[]")
        except json.JSONDecodeError:
            return []
        out = []
        for item in items if isinstance(items, list) else []:
            if isinstance(item, dict) and isinstance(item.get("folder"), str):
                pdir = item.get("project_dir")
                out.append(RecentProject(item["folder"], pdir if isinstance(pdir, str) else None))
        return out

    def add_recent(self, folder: str | os.PathLike, project_dir: str | os.PathLike | None) -> None:
        entry = RecentProject(str(Path(folder).resolve()),
                              str(Path(project_dir).resolve()) if project_dir else None)
        rest = [r for r in self.recent_projects() if r.folder != entry.folder]
        self._store([entry] + rest)

    def remove_recent(self, folder: str) -> None:
        self._store([r for r in self.recent_projects() if r.folder != folder])

    def project_dir_for(self, folder: str | os.PathLike) -> str | None:
        """The project directory last used for ``folder`` (read-only folders)."""
        key = str(Path(folder).resolve())
        for r in self.recent_projects():
            if r.folder == key:
                return r.project_dir
        return None

    def _store(self, items: list[RecentProject]) -> None:
        data = [{"folder": r.folder, "project_dir": r.project_dir} for r in items[:MAX_RECENT]]
        self.qs.setValue("recent/projects", json.dumps(data))

    # -- window ---------------------------------------------------------------------
    def window_geometry(self) -> QByteArray | None:
        value = self.qs.value("window/geometry")
        return value if isinstance(value, QByteArray) and not value.isEmpty() else None

    def window_state(self) -> QByteArray | None:
        value = self.qs.value("window/state")
        return value if isinstance(value, QByteArray) and not value.isEmpty() else None

    def save_window(self, geometry: QByteArray, state: QByteArray | None) -> None:
        self.qs.setValue("window/geometry", geometry)
        if state is not None:
            self.qs.setValue("window/state", state)

    def value(self, key: str, default=None):
        return self.qs.value(key, default)

    def set_value(self, key: str, value) -> None:
        self.qs.setValue(key, value)

    def sync(self) -> None:
        self.qs.sync()
