"""Partially labelled images: their status, the schema that allows it, their splits."""

from __future__ import annotations

import sqlite3

import numpy as np
import pytest

from segstudio.core.browse import STATUS_FILTERS, filter_records
from segstudio.core.db import SCHEMA_V1, SCHEMA_V2, SCHEMA_VERSION, _split_sql
from segstudio.core.errors import MaskError
from segstudio.core.project import Project
from segstudio.core.training_records import FULL_VAL_MIN
from tests.conftest import write_png


def _project(tmp_path, n: int) -> Project:
    folder = tmp_path / "imgs"
    for i in range(n):
        write_png(folder / f"im{i:02d}.png", np.full((8, 10, 3), i, np.uint8))
    return Project.open(folder)


def _half(p: Project, rec) -> np.ndarray:
    mask = p.empty_mask(rec)
    mask[:, :5] = 1
    return mask


def test_a_partial_mask_has_its_own_status_count_and_filter(tmp_path):
    with _project(tmp_path, 3) as p:
        a, b, _c = p.images()
        a = p.save_mask(a, _half(p, a), "partial")
        p.save_mask(b, np.ones((8, 10), np.uint8), "corrected")
        assert a.status == "partial" and a.has_human_mask and not a.fully_labelled
        assert p.status_counts() == {"unlabelled": 1, "predicted": 0, "partial": 1,
                                     "corrected": 1, "reviewed": 0}
        assert "partial" in STATUS_FILTERS
        assert [r.relpath for r in filter_records(p.images(), "partial")] == ["im00.png"]
        # its pixels come back as saved: the unlabelled half stays unlabelled
        assert np.array_equal(p.load_mask(a), _half(p, a))
        with pytest.raises(MaskError, match="no mask to mark partially labelled"):
            p.set_status(p.images()[2], "partial")


def test_a_version_2_database_takes_the_partial_status(tmp_path):
    folder = tmp_path / "imgs"
    write_png(folder / "a.png", np.zeros((4, 4, 3), np.uint8))
    pdir = folder / ".segstudio"
    pdir.mkdir()
    db = sqlite3.connect(pdir / "project.db", isolation_level=None)
    for statement in _split_sql(SCHEMA_V1) + _split_sql(SCHEMA_V2):
        db.execute(statement)
    db.execute("PRAGMA user_version=2")
    db.execute("INSERT INTO meta VALUES ('image_root', ?)", (str(folder.resolve()),))
    db.execute("INSERT INTO classes VALUES (0, 'sky', 1, 2, 3, 0, 0)")
    db.execute("INSERT INTO images (relpath, width, height, channels, bit_depth, size_bytes,"
               " mtime_ns, added_at, status, split, uncertainty) VALUES"
               " ('old.png', 4, 4, 3, 8, 10, 1, 1.0, 'corrected', 'val', 0.25)")
    with pytest.raises(sqlite3.IntegrityError):  # version 2 refuses the new status
        db.execute("UPDATE images SET status='partial'")
    db.close()
    with Project.open(folder) as p:
        assert p.db.schema_version == SCHEMA_VERSION == 4  # through v3's predicted_epoch
        old = p.find("old.png")
        assert old is not None and (old.status, old.split, old.uncertainty) == \
            ("corrected", "val", 0.25)
        p.db.execute("UPDATE images SET status='partial' WHERE relpath='old.png'")
        assert p.find("old.png").status == "partial"
        row = p.db.query_one("SELECT predicted_epoch FROM images WHERE relpath='old.png'")
        assert row is not None and row["predicted_epoch"] is None  # v3's column kept
        with pytest.raises(sqlite3.IntegrityError):
            p.db.execute("UPDATE images SET status='bogus' WHERE relpath='old.png'")
        assert p.db.integrity_check() == "ok"


def _splits(p: Project) -> dict[str, str | None]:
    return {r.relpath: r.split for r in p.images()}


def test_validation_is_on_partial_images_only_until_enough_are_fully_labelled(tmp_path):
    with _project(tmp_path, 12) as p:
        recs = p.images()
        for rec in recs[:6]:
            p.save_mask(rec, _half(p, rec), "partial")
        p.splits.assign(0.3, 0)
        first = _splits(p)
        # no fully labelled image: partial ones validate (2 of 6), with the note's flag
        assert sorted(v for v in first.values() if v) == ["train"] * 4 + ["val"] * 2
        assert p.splits.validation_is_partial()
        # three fully labelled images give one val image: not enough yet, so partial
        # images still validate beside it
        for rec in recs[6:9]:
            p.save_mask(rec, np.ones((8, 10), np.uint8), "corrected")
        p.splits.assign(0.3, 0)
        mid = _splits(p)
        assert [mid[r.relpath] for r in recs[:6]] == [first[r.relpath] for r in recs[:6]]
        assert sum(mid[r.relpath] == "val" for r in recs[6:9]) == 1
        assert p.splits.validation_is_partial()
        # six fully labelled images give two (FULL_VAL_MIN): validation is on them alone,
        # every partial image trains
        for rec in recs[9:12]:
            p.save_mask(rec, np.ones((8, 10), np.uint8), "reviewed")
        p.splits.assign(0.3, 0)
        last = _splits(p)
        assert FULL_VAL_MIN == 2
        assert [last[r.relpath] for r in recs[:6]] == ["train"] * 6
        assert sum(last[r.relpath] == "val" for r in recs[6:]) == 2
        assert not p.splits.validation_is_partial()


def test_splits_without_partial_images_are_as_before(tmp_path):
    with _project(tmp_path, 10) as p:
        for rec in p.images():
            p.save_mask(rec, np.ones((8, 10), np.uint8), "corrected")
        assert p.splits.assign(0.3, 0) == {"train": 7, "val": 3, "test": 0}
        assert p.splits.assign(0.0, 0) == {"train": 10, "val": 0, "test": 0}
