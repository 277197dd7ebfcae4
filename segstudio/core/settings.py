"""A project's settings: JSON values by key in the ``settings`` table."""

from __future__ import annotations

import json
from typing import Any

from .db import Database


class ProjectSettings:
    """``project.settings``: the project's stored choices (active model, splits, the
    window's display, ...), each a JSON value."""

    def __init__(self, db: Database):
        self.db = db

    def get(self, key: str, default: Any = None) -> Any:
        row = self.db.query_one("SELECT value FROM settings WHERE key=?", (key,))
        return default if row is None else json.loads(row["value"])

    def set(self, key: str, value: Any) -> None:
        self.db.execute("INSERT OR REPLACE INTO settings (key, value) VALUES (?, ?)",
                        (key, json.dumps(value)))
