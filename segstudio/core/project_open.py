"""Where a project lives and whether it may be changed: the checks before a project opens.

The project directory is ``<folder>/.segstudio`` unless the user names another
(``--project-dir``, for read-only image folders); the image folder itself is
never one (its masks would be scanned as images), and an empty name is not
taken for the current directory.  A project directory that exists but cannot
be written (a read-only mount, a folder marked read-only) opens read-only for
the commands that only read it (``info``, ``classes``, ``export``): its
database as it is, without a rescan; the others say why they cannot run.
"""

from __future__ import annotations

import os
from pathlib import Path

from .db import Database
from .errors import ProjectError

PROJECT_DIRNAME = ".segstudio"
DB_NAME = "project.db"


def resolve_project_dir(folder: Path, project_dir: str | os.PathLike[str] | None
                        ) -> tuple[Path, Path]:
    """(image root, project dir) for a folder, honouring a project dir given directly."""
    folder = Path(folder).expanduser().resolve()
    if project_dir is not None:
        if not os.fspath(project_dir).strip():
            raise ProjectError("--project-dir is empty; give the folder to keep the project in "
                               "(it is not taken for the current directory)")
        return folder, Path(project_dir).expanduser().resolve()
    if (folder / DB_NAME).is_file() and not (folder / PROJECT_DIRNAME).exists():
        # the user pointed at a project directory itself
        db = Database(folder / DB_NAME, readonly=True)
        try:
            row = db.query_one("SELECT value FROM meta WHERE key='image_root'")
        finally:
            db.close()
        if row is not None:
            return Path(row["value"]), folder
    return folder, folder / PROJECT_DIRNAME


def locate(folder: str | os.PathLike[str], project_dir: str | os.PathLike[str] | None,
           read_only_ok: bool = False) -> tuple[Path, Path, bool]:
    """(image root, project dir, read-only) for opening a project; ProjectError when it
    cannot be opened (for writing, unless ``read_only_ok``)."""
    if not os.fspath(folder).strip():
        raise ProjectError("the image folder is empty; give the folder that holds the images")
    folder = Path(folder)
    if not folder.exists():
        raise ProjectError(f"{folder}: no such folder")
    if not folder.is_dir():
        raise ProjectError(f"{folder}: not a folder; give the folder that holds the images")
    root, pdir = resolve_project_dir(folder, project_dir)
    if pdir == root:
        raise ProjectError(
            f"--project-dir {pdir} is the image folder itself: the project's masks would be "
            f"scanned as images; leave --project-dir out (the project goes to "
            f"{root / PROJECT_DIRNAME}) or give another folder")
    if (pdir / DB_NAME).is_file() and not folder_writable(pdir):
        if read_only_ok:
            return root, pdir, True
        raise ProjectError(
            f"the project directory {pdir} is read-only, so this command cannot change it; "
            "`segstudio info`, `classes` and `export` read it as it is (another "
            "--project-dir would start an empty project)")
    if not pdir.exists() and pdir.parent == root and not folder_writable(root):
        raise ProjectError(
            f"the image folder {root} is read-only, so the project cannot live in it; "
            "pass --project-dir DIR to keep the project elsewhere"
        )
    try:
        pdir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ProjectError(
            f"cannot create the project directory {pdir} ({exc.strerror}); if the image "
            "folder is read-only, pass --project-dir DIR to keep the project elsewhere"
        ) from exc
    if not os.access(pdir, os.W_OK):
        raise ProjectError(
            f"the project directory {pdir} is not writable; pass --project-dir DIR"
        )
    return root, pdir, False


def folder_writable(folder: Path) -> bool:
    """Writable for us *and* not marked read-only (root ignores the mode bits)."""
    try:
        mode = folder.stat().st_mode
    except OSError:
        return False
    return os.access(folder, os.W_OK) and bool(mode & 0o222)


def has_project(folder: str | os.PathLike[str], project_dir: str | os.PathLike[str] | None
                ) -> bool:
    """Whether a project exists for ``folder`` already (nothing is created)."""
    try:
        _root, pdir = resolve_project_dir(Path(folder), project_dir)
    except ProjectError:
        return False
    return (pdir / DB_NAME).is_file()
