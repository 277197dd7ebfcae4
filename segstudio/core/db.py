"""The project database: SQLite in WAL mode with a schema version and migrations.

SQLite's journal makes every transaction atomic and crash-safe; with
``synchronous=FULL`` a committed transaction also survives power loss.  The
schema version lives in ``PRAGMA user_version``; each entry of
:data:`MIGRATIONS` moves the schema one version up, inside a transaction.
"""

from __future__ import annotations

import shutil
import sqlite3
import threading
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Any

from .errors import DiskFullError, ProjectError, SegStudioError

Params = tuple[Any, ...] | dict[str, Any]  # a statement's ? or :name parameters

SCHEMA_V1 = """
CREATE TABLE meta (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
CREATE TABLE images (
    id                INTEGER PRIMARY KEY,
    relpath           TEXT NOT NULL UNIQUE,
    width             INTEGER,
    height            INTEGER,
    channels          INTEGER,
    bit_depth         INTEGER,
    size_bytes        INTEGER NOT NULL,
    mtime_ns          INTEGER NOT NULL,
    added_at          REAL NOT NULL,
    changed_at        REAL,
    missing           INTEGER NOT NULL DEFAULT 0,
    error             TEXT,
    status            TEXT NOT NULL DEFAULT 'unlabelled'
                      CHECK (status IN ('unlabelled', 'predicted', 'corrected', 'reviewed')),
    status_at         REAL,
    mask_saved_at     REAL,
    predicted_at      REAL,
    predicted_by      TEXT,
    uncertainty       REAL,
    iou               REAL,
    split             TEXT CHECK (split IS NULL OR split IN ('train', 'val', 'test'))
);
CREATE INDEX images_status ON images(status);
CREATE TABLE classes (
    id        INTEGER PRIMARY KEY CHECK (id BETWEEN 0 AND 255),
    name      TEXT NOT NULL,
    r         INTEGER NOT NULL,
    g         INTEGER NOT NULL,
    b         INTEGER NOT NULL,
    ignore    INTEGER NOT NULL DEFAULT 0,
    position  INTEGER NOT NULL
);
CREATE TABLE settings (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
CREATE TABLE runs (
    id              INTEGER PRIMARY KEY,
    started_at      REAL NOT NULL,
    finished_at     REAL,
    status          TEXT NOT NULL DEFAULT 'running',
    config_json     TEXT NOT NULL,
    device          TEXT,
    checkpoint      TEXT,
    best_checkpoint TEXT,
    best_miou       REAL,
    message         TEXT
);
CREATE TABLE epochs (
    run_id          INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
    epoch           INTEGER NOT NULL,
    train_loss      REAL,
    val_loss        REAL,
    val_miou        REAL,
    val_global_acc  REAL,
    val_class_acc   REAL,
    per_class_iou   TEXT,
    lr              REAL,
    seconds         REAL,
    images_per_sec  REAL,
    data_seconds    REAL,
    compute_seconds REAL,
    train_images    INTEGER,
    recorded_at     REAL NOT NULL,
    PRIMARY KEY (run_id, epoch)
);
"""

FULL_BELOW = 1 << 20  # bytes free under which an I/O error is taken for a full disk

# v2: which process (pid on host) runs a training run, so that a run whose process is gone
# (killed, crashed) can be marked interrupted instead of staying 'running' forever.
SCHEMA_V2 = """
ALTER TABLE runs ADD COLUMN pid INTEGER;
ALTER TABLE runs ADD COLUMN host TEXT;
"""

# v3: the epoch of the checkpoint that made an image's prediction (predicted_by holds the
# checkpoint file): predictions of different models, or of one file rewritten by a later
# epoch, are told apart (segstudio.core.prediction_model); NULL: not known.
SCHEMA_V3 = """
ALTER TABLE images ADD COLUMN predicted_epoch INTEGER;
"""

# v4: the status "partial" (a human labelled some pixels of the image and left the rest
# unlabelled).  SQLite cannot change a CHECK constraint, so the images table is rebuilt
# with the same columns, rows and index (no foreign key refers to it).
SCHEMA_V4 = """
CREATE TABLE images_v4 (
    id                INTEGER PRIMARY KEY,
    relpath           TEXT NOT NULL UNIQUE,
    width             INTEGER,
    height            INTEGER,
    channels          INTEGER,
    bit_depth         INTEGER,
    size_bytes        INTEGER NOT NULL,
    mtime_ns          INTEGER NOT NULL,
    added_at          REAL NOT NULL,
    changed_at        REAL,
    missing           INTEGER NOT NULL DEFAULT 0,
    error             TEXT,
    status            TEXT NOT NULL DEFAULT 'unlabelled'
                      CHECK (status IN ('unlabelled', 'predicted', 'partial', 'corrected',
                                        'reviewed')),
    status_at         REAL,
    mask_saved_at     REAL,
    predicted_at      REAL,
    predicted_by      TEXT,
    uncertainty       REAL,
    iou               REAL,
    split             TEXT CHECK (split IS NULL OR split IN ('train', 'val', 'test')),
    predicted_epoch   INTEGER
);
INSERT INTO images_v4 (id, relpath, width, height, channels, bit_depth, size_bytes, mtime_ns,
    added_at, changed_at, missing, error, status, status_at, mask_saved_at, predicted_at,
    predicted_by, uncertainty, iou, split, predicted_epoch)
    SELECT id, relpath, width, height, channels, bit_depth, size_bytes, mtime_ns, added_at,
    changed_at, missing, error, status, status_at, mask_saved_at, predicted_at, predicted_by,
    uncertainty, iou, split, predicted_epoch FROM images;
DROP TABLE images;
ALTER TABLE images_v4 RENAME TO images;
CREATE INDEX images_status ON images(status);
"""

# MIGRATIONS[i] takes the schema from version i to version i + 1.
MIGRATIONS: list[str] = [SCHEMA_V1, SCHEMA_V2, SCHEMA_V3, SCHEMA_V4]
SCHEMA_VERSION = len(MIGRATIONS)


class Database:
    """One connection shared across threads, serialised by a lock."""

    def __init__(self, path: str | Path, readonly: bool = False):
        """``readonly``: a database in a folder that cannot be written, read as it is
        (no journal mode set, no migration; a write fails)."""
        self.path = Path(path)
        self._lock = threading.RLock()
        _refuse_empty(self.path)
        if readonly:
            self.conn = _connect_readonly(self.path)
            return
        try:
            self.conn = sqlite3.connect(
                self.path, timeout=10.0, check_same_thread=False, isolation_level=None
            )
        except sqlite3.Error as exc:
            raise ProjectError(f"cannot open the project database {self.path}: {exc}") from exc
        self.conn.row_factory = sqlite3.Row
        try:
            self.conn.execute("PRAGMA journal_mode=WAL")
            self.conn.execute("PRAGMA synchronous=FULL")
            self.conn.execute("PRAGMA foreign_keys=ON")
            self.conn.execute("PRAGMA busy_timeout=10000")
            self._migrate()
        except sqlite3.Error as exc:
            self.conn.close()
            raise describe_db_error(self.path, exc) from exc

    def _migrate(self) -> None:
        version = self.conn.execute("PRAGMA user_version").fetchone()[0]
        if version > SCHEMA_VERSION:
            raise ProjectError(
                f"{self.path} was made by a newer segstudio (schema {version} > "
                f"{SCHEMA_VERSION}); update segstudio to open it"
            )
        while version < SCHEMA_VERSION:
            with self.transaction() as cur:
                cur.executescript_safe(MIGRATIONS[version])
                version += 1
                cur.execute(f"PRAGMA user_version={version}")

    @property
    def schema_version(self) -> int:
        return int(self.conn.execute("PRAGMA user_version").fetchone()[0])

    @contextmanager
    def transaction(self) -> Iterator[_Cursor]:
        """BEGIN IMMEDIATE ... COMMIT, rolled back on any exception."""
        with self._lock:
            self.conn.execute("BEGIN IMMEDIATE")
            try:
                yield _Cursor(self.conn)
            except BaseException:
                self.conn.execute("ROLLBACK")
                raise
            else:
                self.conn.execute("COMMIT")

    def query(self, sql: str, params: Params = ()) -> list[sqlite3.Row]:
        with self._lock:
            return self.conn.execute(sql, params).fetchall()

    def query_one(self, sql: str, params: Params = ()) -> sqlite3.Row | None:
        with self._lock:
            row: sqlite3.Row | None = self.conn.execute(sql, params).fetchone()
            return row

    def execute(self, sql: str, params: Params = ()) -> int:
        """Run one statement in its own transaction; returns lastrowid."""
        with self.transaction() as cur:
            return cur.execute(sql, params).lastrowid or 0  # an int once a statement ran

    def integrity_check(self) -> str:
        with self._lock:
            return str(self.conn.execute("PRAGMA integrity_check").fetchone()[0])

    def close(self) -> None:
        with self._lock:
            with suppress(sqlite3.Error):
                self.conn.execute("PRAGMA wal_checkpoint(PASSIVE)")
            self.conn.close()


def _connect_readonly(path: Path) -> sqlite3.Connection:
    """A read-only connection; ``immutable`` where the WAL's shared memory cannot be
    made (a read-only file system)."""
    uri = path.resolve().as_uri()
    last: sqlite3.Error | None = None
    for query in ("?mode=ro", "?mode=ro&immutable=1"):
        conn = None
        try:
            conn = sqlite3.connect(uri + query, uri=True, timeout=10.0, check_same_thread=False,
                                   isolation_level=None)
            conn.row_factory = sqlite3.Row
            version = conn.execute("PRAGMA user_version").fetchone()[0]
            conn.execute("SELECT count(*) FROM sqlite_master").fetchone()
        except sqlite3.Error as exc:
            last = exc
            if conn is not None:
                conn.close()
            continue
        if version > SCHEMA_VERSION:
            conn.close()
            raise ProjectError(f"{path} was made by a newer segstudio (schema {version} > "
                               f"{SCHEMA_VERSION}); update segstudio to open it")
        return conn
    assert last is not None
    raise describe_db_error(path, last)


def _refuse_empty(path: Path) -> None:
    """A 0-byte database (a crash or a full disk) would silently become a new project
    with the default classes, on top of the masks already there: refuse instead."""
    try:
        size = path.stat().st_size
    except OSError:
        return  # absent: a new project
    wal = path.with_name(path.name + "-wal")
    try:
        wal_size = wal.stat().st_size
    except OSError:
        wal_size = 0
    if size == 0 and wal_size == 0:
        masks = path.parent / "masks"
        raise ProjectError(
            f"{path}: the project database is empty (0 bytes; a crash or a full disk?), so the "
            f"class table and mask statuses are gone, but the masks in {masks} are untouched; "
            "segstudio will not start a new project over them: restore project.db from a "
            "backup, or move it away and re-import the masks with 'segstudio import-masks "
            f"FOLDER {masks}'")


def _nearly_full(folder: Path) -> bool:
    """SQLite reports a full disk while opening as a mere 'disk I/O error' (its -shm file
    cannot be made): ask the file system."""
    try:
        return shutil.disk_usage(folder).free < FULL_BELOW
    except OSError:
        return False


def describe_db_error(path: Path, exc: BaseException) -> SegStudioError:
    """One line for an SQLite error: a full disk, a lock or permissions are not a broken
    database, and only a broken one is worth moving away."""
    text = str(exc).lower()
    code = getattr(exc, "sqlite_errorcode", None)
    if code == getattr(sqlite3, "SQLITE_FULL", 13) or "disk is full" in text or (
            ("disk i/o" in text or "unable to open" in text) and _nearly_full(path.parent)):
        return DiskFullError(
            f"{path}: the disk is full, so the project database cannot be written (it is "
            "intact); free some space and try again")
    if "locked" in text or "busy" in text:
        return ProjectError(f"{path}: the project database is in use by another program "
                            "(locked); close it and try again")
    if "readonly" in text or "read-only" in text or "unable to open" in text or \
            "disk i/o" in text:
        return ProjectError(f"{path}: cannot open or write the project database ({exc}); "
                            "check the folder's permissions, free space and the drive")
    if isinstance(exc, sqlite3.DatabaseError) and (
            "not a database" in text or "malformed" in text or "corrupt" in text):
        return ProjectError(f"{path}: not a readable segstudio database ({exc}); move it away "
                            "to start a new project (the masks beside it are kept)")
    return ProjectError(f"{path}: the project database failed ({exc})")


class _Cursor:
    """The connection inside a transaction (executescript would commit it)."""

    def __init__(self, conn: sqlite3.Connection):
        self._conn = conn

    def execute(self, sql: str, params: Params = ()) -> sqlite3.Cursor:
        return self._conn.execute(sql, params)

    def executemany(self, sql: str, rows: Iterable[Sequence[Any]]) -> sqlite3.Cursor:
        return self._conn.executemany(sql, rows)

    def executescript_safe(self, script: str) -> None:
        for statement in _split_sql(script):
            self._conn.execute(statement)


def _split_sql(script: str) -> list[str]:
    parts, current = [], []
    for line in script.splitlines():
        current.append(line)
        joined = "\n".join(current)
        if line.rstrip().endswith(";") and sqlite3.complete_statement(joined):
            parts.append(joined.strip())
            current = []
    tail = "\n".join(current).strip()
    if tail:
        parts.append(tail)
    return parts
