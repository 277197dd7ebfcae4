"""A project's settings: JSON values by key in the ``settings`` table.

Checkpoint paths (the active model, the active click model, a run's checkpoints
in :class:`.training_records.Runs`) are stored relative to the project directory
when they lie inside it, so a project that is moved or copied keeps its models;
they are given back as absolute paths.  Absolute paths stored by an older
segstudio are still read, and one that no longer exists but named a file under
the project's ``checkpoints/`` is found there again.
"""

from __future__ import annotations

import json
import os
from pathlib import Path, PurePosixPath
from typing import Any

from .db import Database

# settings that hold a checkpoint path
CHECKPOINT_SETTINGS = frozenset({"active_checkpoint", "active_click_checkpoint"})
CHECKPOINTS = "checkpoints"


def stored_path(project_dir: Path, path: str | None) -> str | None:
    """``path`` as the store keeps it: relative (POSIX) when inside ``project_dir``."""
    if not path:
        return path
    full = os.path.abspath(path)
    try:
        rel = Path(full).relative_to(os.path.abspath(project_dir))
    except ValueError:
        return full
    return rel.as_posix()


def resolved_path(project_dir: Path, stored: str | None) -> str | None:
    """The absolute path of a stored checkpoint path (see the module doc)."""
    if not stored:
        return stored
    if not os.path.isabs(stored):
        return str(Path(project_dir, *PurePosixPath(stored).parts))
    if not os.path.exists(stored):  # an older absolute path of a project since moved
        parts = Path(stored).parts
        if CHECKPOINTS in parts:
            i = len(parts) - 1 - parts[::-1].index(CHECKPOINTS)
            moved = Path(project_dir, *parts[i:])
            if moved.is_file():
                return str(moved)
    return stored


class ProjectSettings:
    """``project.settings``: the project's stored choices (active model, splits, the
    window's display, ...), each a JSON value."""

    def __init__(self, db: Database):
        self.db = db
        self.project_dir = db.path.parent

    def get(self, key: str, default: Any = None) -> Any:
        row = self.db.query_one("SELECT value FROM settings WHERE key=?", (key,))
        if row is None:
            return default
        value = json.loads(row["value"])
        if key in CHECKPOINT_SETTINGS and isinstance(value, str):
            return resolved_path(self.project_dir, value)
        return value

    def set(self, key: str, value: Any) -> None:
        if key in CHECKPOINT_SETTINGS and isinstance(value, (str, os.PathLike)):
            value = stored_path(self.project_dir, os.fspath(value))
        self.db.execute("INSERT OR REPLACE INTO settings (key, value) VALUES (?, ?)",
                        (key, json.dumps(value)))
