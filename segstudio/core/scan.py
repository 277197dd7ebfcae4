"""Finding the images of a folder and keeping the database in step with it."""

from __future__ import annotations

import os
import sqlite3
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from .errors import SegStudioError
from .imageio import PIXEL_LIMIT_MARK, is_image_file, max_pixels, read_info

if TYPE_CHECKING:
    from .db import Database


@dataclass
class FileEntry:
    relpath: str  # POSIX separators, relative to the image root
    size: int
    mtime_ns: int


@dataclass
class ScanReport:
    added: list[str] = field(default_factory=list)
    changed: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    restored: list[str] = field(default_factory=list)
    errors: list[tuple[str, str]] = field(default_factory=list)
    skipped_links: list[tuple[str, str]] = field(default_factory=list)  # (folder link, why)
    total: int = 0
    seconds: float = 0.0

    @property
    def touched(self) -> bool:
        return bool(self.added or self.changed or self.removed or self.restored)


def walk_images(root: Path, skip: set[Path] | None = None,
                skipped_links: list[tuple[str, str]] | None = None) -> list[FileEntry]:
    """All image files under ``root`` (recursively), hidden folders skipped.

    Directory links are not followed: one that leads back into the tree would list
    its images again (a loop ``loop -> .`` forever), one that leads out of it could
    scan the whole file system.  Each is added to ``skipped_links`` as (relative
    path, why)."""
    skip = {p.resolve() for p in (skip or set())}
    root_real = Path(os.path.realpath(root))
    out: list[FileEntry] = []
    stack: list[tuple[str, str]] = [(str(root), "")]
    while stack:
        folder, prefix = stack.pop()
        try:
            entries = list(os.scandir(folder))
        except OSError:
            continue
        for entry in entries:
            name = entry.name
            if name.startswith("."):
                continue
            try:
                if entry.is_dir():
                    if entry.is_symlink():
                        if skipped_links is not None:
                            target = Path(os.path.realpath(entry.path))
                            inside = target == root_real or root_real in target.parents
                            why = ("links back into the folder" if inside else
                                   f"leads out of the folder (to {target})")
                            skipped_links.append((prefix + name, why))
                        continue
                    if skip and Path(entry.path).resolve() in skip:
                        continue
                    stack.append((entry.path, prefix + name + "/"))
                elif is_image_file(name) and entry.is_file():
                    st = entry.stat()
                    out.append(FileEntry(prefix + name, st.st_size, st.st_mtime_ns))
            except OSError:
                continue
    out.sort(key=lambda e: e.relpath)
    return out


def _limit_changed(row: sqlite3.Row) -> bool:
    """An unchanged image whose verdict depends on the pixel limit and no longer holds:
    refused for its size though the limit now allows it, or stored though it is now
    above the limit."""
    error = row["error"] or ""
    if PIXEL_LIMIT_MARK in error:
        stored = error.split(PIXEL_LIMIT_MARK, 1)[1].strip().split(" ", 1)[0]
        try:
            return int(stored.replace(",", "")) != max_pixels()
        except ValueError:
            return True
    if row["width"] is not None and row["height"] is not None:
        return bool(row["width"] * row["height"] > max_pixels())
    return False


def scan_into(db: Database, root: Path, skip: set[Path],
              progress: Callable[[int, int], None] | None = None) -> ScanReport:
    """Bring the ``images`` table in line with the files under ``root``."""
    t0 = time.perf_counter()
    report = ScanReport()
    files = walk_images(root, skip, report.skipped_links)
    report.total = len(files)
    known = {
        row["relpath"]: row
        for row in db.query("SELECT id, relpath, size_bytes, mtime_ns, missing, width, height,"
                            " error FROM images")
    }
    now = time.time()
    inserts, updates, restores = [], [], []
    seen = set()
    todo: list[tuple[str, FileEntry, sqlite3.Row | None]] = []
    for entry in files:
        seen.add(entry.relpath)
        row = known.get(entry.relpath)
        if row is None:
            todo.append(("add", entry, None))
        elif row["size_bytes"] != entry.size or row["mtime_ns"] != entry.mtime_ns:
            todo.append(("change", entry, row))
        elif row["missing"]:
            restores.append(row["id"])
            report.restored.append(entry.relpath)
        elif _limit_changed(row):  # refused or accepted under another --max-pixels
            todo.append(("change", entry, row))
    for i, (kind, entry, row) in enumerate(todo):
        if progress is not None and i % 256 == 0:
            progress(i, len(todo))
        width = height = channels = depth = None
        error = None
        try:
            info = read_info(root / entry.relpath)
            width, height, channels, depth = info.width, info.height, info.channels, info.bit_depth
        except SegStudioError as exc:
            error = str(exc)
            report.errors.append((entry.relpath, error))
        if kind == "add":
            inserts.append((entry.relpath, width, height, channels, depth, entry.size,
                            entry.mtime_ns, now, error))
            report.added.append(entry.relpath)
        else:
            assert row is not None  # a change of a known row
            updates.append((width, height, channels, depth, entry.size, entry.mtime_ns, now,
                            error, row["id"]))
            if row["missing"]:
                report.restored.append(entry.relpath)
            report.changed.append(entry.relpath)
    gone = [row["id"] for rel, row in known.items() if rel not in seen and not row["missing"]]
    report.removed = [rel for rel, row in known.items() if rel not in seen and not row["missing"]]
    if inserts or updates or restores or gone:
        with db.transaction() as cur:
            cur.executemany(
                "INSERT INTO images (relpath, width, height, channels, bit_depth, size_bytes,"
                " mtime_ns, added_at, error) VALUES (?,?,?,?,?,?,?,?,?)",
                inserts,
            )
            cur.executemany(
                "UPDATE images SET width=?, height=?, channels=?, bit_depth=?, size_bytes=?,"
                " mtime_ns=?, changed_at=?, error=?, missing=0 WHERE id=?",
                updates,
            )
            cur.executemany("UPDATE images SET missing=0 WHERE id=?", [(i,) for i in restores])
            cur.executemany("UPDATE images SET missing=1 WHERE id=?", [(i,) for i in gone])
    if progress is not None:
        progress(len(todo), len(todo))
    report.seconds = time.perf_counter() - t0
    return report
