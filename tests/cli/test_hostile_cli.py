"""Hostile input to the command line: each case one clear line, a non-zero exit where
it failed, and nothing the user made lost."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from segstudio.cli.main import main
from segstudio.core.project import Project
from tests.conftest import write_png

from .conftest import fill

REPO = Path(__file__).resolve().parents[2]


def _images(folder: Path, n: int = 3, h: int = 8, w: int = 8) -> Path:
    for i in range(n):
        write_png(folder / f"im{i}.png", np.full((h, w, 3), 40 * i, np.uint8))
    return folder


def _one_error_line(capsys) -> str:
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1, err
    assert "Traceback" not in err[0]
    return err[0]


def test_directory_links_inside_or_out_of_the_tree_are_not_followed(tmp_path, capsys):
    folder = _images(tmp_path / "imgs")
    os.symlink(".", folder / "loop")
    os.symlink("/", folder / "root")
    assert main(["info", str(folder)]) == 0
    captured = capsys.readouterr()
    assert "images       3" in captured.out
    assert "not followed: folder link loop links back into the folder" in captured.err
    assert "not followed: folder link root leads out of the folder (to /)" in captured.err
    with Project.open(folder) as p:
        assert [r.relpath for r in p.images()] == ["im0.png", "im1.png", "im2.png"]


def test_a_full_disk_is_told_apart_from_a_broken_database(small_disk, capsys):
    folder = _images(small_disk / "imgs", 1)
    assert main(["info", str(folder)]) == 0
    capsys.readouterr()
    db = folder / ".segstudio" / "project.db"
    before = db.read_bytes()
    fill(small_disk)
    assert main(["info", str(folder)]) == 1
    line = _one_error_line(capsys)
    assert "disk is full" in line and "move it away" not in line
    (small_disk / "filler").unlink()
    (small_disk / "filler2").unlink(missing_ok=True)
    assert db.read_bytes() == before
    assert main(["info", str(folder)]) == 0
    # a really broken database is still called one
    capsys.readouterr()
    db.write_bytes(b"this is not sqlite" * 100)
    for side in (db.with_name("project.db-wal"), db.with_name("project.db-shm")):
        side.unlink(missing_ok=True)
    assert main(["info", str(folder)]) == 1
    assert "not a readable segstudio database" in _one_error_line(capsys)


def test_an_empty_database_is_refused_not_replaced(tmp_path, capsys):
    folder = _images(tmp_path / "imgs")
    with Project.open(folder) as p:
        p.save_mask(p.find("im0.png"), np.ones((8, 8), np.uint8))
    db = folder / ".segstudio" / "project.db"
    for side in (db.with_name("project.db-wal"), db.with_name("project.db-shm")):
        side.unlink(missing_ok=True)
    db.write_bytes(b"")
    assert main(["info", str(folder)]) == 1
    line = _one_error_line(capsys)
    assert "empty (0 bytes" in line and "masks" in line and "import-masks" in line
    assert db.stat().st_size == 0  # left as it was, no default classes written
    assert (folder / ".segstudio/masks/im0.png.png").exists()
