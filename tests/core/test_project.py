"""The project store: opening, scanning, masks, status, splits, runs."""

from __future__ import annotations

import hashlib
import os
import pathlib
import sqlite3
import stat

import numpy as np
import pytest

from segstudio.core.classes import ClassInfo
from segstudio.core.db import SCHEMA_VERSION, Database
from segstudio.core.errors import MaskError, ProjectError
from segstudio.core.project import Project
from segstudio.core.run_types import EpochMetrics
from tests.conftest import write_png


def _digest(folder):
    out = {}
    for root, _, files in os.walk(folder):
        for f in files:
            p = os.path.join(root, f)
            if ".segstudio" in p:
                continue
            st = os.stat(p)
            digest = hashlib.sha256(pathlib.Path(p).read_bytes()).hexdigest()
            out[p] = (digest, st.st_mtime_ns, st.st_mode)
    return out


@pytest.fixture()
def folder(tmp_path):
    rng = np.random.default_rng(3)
    write_png(tmp_path / "imgs" / "a.png", rng.integers(0, 256, (20, 30, 3), dtype=np.uint8))
    write_png(tmp_path / "imgs" / "sub" / "b.png", rng.integers(0, 256, (10, 12), dtype=np.uint8))
    write_png(tmp_path / "imgs" / "sub" / "deep" / "c.png",
              rng.integers(0, 256, (8, 8, 3), dtype=np.uint8))
    (tmp_path / "imgs" / "notes.txt").write_text("not an image")
    (tmp_path / "imgs" / "broken.png").write_bytes(b"")
    return tmp_path / "imgs"


def test_open_scans_recursively_and_never_touches_images(folder):
    before = _digest(folder)
    with Project.open(folder) as p:
        recs = p.images()
        assert [r.relpath for r in recs] == ["a.png", "broken.png", "sub/b.png", "sub/deep/c.png"]
        a = p.find("a.png")
        assert (a.width, a.height, a.channels, a.bit_depth) == (30, 20, 3, 8)
        assert p.find("sub/b.png").channels == 1
        broken = p.find("broken.png")
        assert "broken.png" in broken.error and "empty" in broken.error and not broken.usable
        assert p.status_counts() == {"unlabelled": 4, "predicted": 0, "partial": 0,
                                     "corrected": 0, "reviewed": 0}
        mask = np.zeros((20, 30), np.uint8)
        p.save_mask(a, mask)
    assert (folder / ".segstudio" / "project.db").is_file()
    assert _digest(folder) == before


def test_project_dir_elsewhere_for_read_only_folder(folder, tmp_path):
    os.chmod(folder, stat.S_IRUSR | stat.S_IXUSR)
    try:
        with pytest.raises(ProjectError, match="--project-dir"):
            Project.open(folder)
        with Project.open(folder, tmp_path / "proj") as p:
            assert len(p.images()) == 4
    finally:
        os.chmod(folder, 0o755)


def test_project_dir_elsewhere(folder, tmp_path):
    with Project.open(folder, tmp_path / "proj") as p:
        p.save_mask(p.find("a.png"), np.ones((20, 30), np.uint8))
    assert not (folder / ".segstudio").exists()
    assert (tmp_path / "proj" / "masks" / "a.png.png").is_file()
    # the project directory itself can be opened: it remembers its image folder
    with Project.open(tmp_path / "proj") as p:
        assert p.root == folder.resolve()
        assert p.find("a.png").status == "corrected"


def test_project_dir_of_other_folder_is_refused(folder, tmp_path):
    other = tmp_path / "other"
    write_png(other / "x.png", np.zeros((4, 4), np.uint8))
    Project.open(folder, tmp_path / "proj").close()
    with pytest.raises(ProjectError, match="belongs to the image folder"):
        Project.open(other, tmp_path / "proj")


def test_rescan_added_removed_changed_and_masks_kept(folder):
    p = Project.open(folder)
    b = p.find("sub/b.png")
    p.save_mask(b, np.full((10, 12), 1, np.uint8))
    write_png(folder / "new.png", np.zeros((5, 6, 3), np.uint8))
    os.remove(folder / "sub" / "b.png")
    write_png(folder / "a.png", np.zeros((40, 50, 3), np.uint8))
    report = p.scan()
    assert report.added == ["new.png"]
    assert report.removed == ["sub/b.png"]
    assert report.changed == ["a.png"]
    assert p.find("a.png").width == 50
    assert p.find("sub/b.png").missing
    assert "sub/b.png" not in [r.relpath for r in p.images()]
    assert p.mask_path(b).is_file()  # masks of a removed image are kept
    write_png(folder / "sub" / "b.png", np.zeros((10, 12), np.uint8))
    report = p.scan()
    assert report.changed == ["sub/b.png"] and report.restored == ["sub/b.png"]
    back = p.find("sub/b.png")
    assert not back.missing and back.status == "corrected"
    assert np.array_equal(p.load_mask(back), np.full((10, 12), 1, np.uint8))
    assert not p.scan().touched
    p.close()


def test_mask_wrong_size_and_unknown_class_are_refused(folder):
    with Project.open(folder) as p:
        a = p.find("a.png")
        with pytest.raises(MaskError, match=r"mask is 29x20 but the image a\.png is 30x20"):
            p.save_mask(a, np.zeros((20, 29), np.uint8))
        bad = np.zeros((20, 30), np.uint8)
        bad[3, 3] = 200
        with pytest.raises(MaskError, match=r"class ids \[200\] are not in the class table"):
            p.save_mask(a, bad)
        with pytest.raises(MaskError, match="unreadable or missing"):
            p.save_mask(p.find("broken.png"), np.zeros((1, 1), np.uint8))
        assert not p.mask_path(a).exists()
        assert p.find("a.png").status == "unlabelled"


def test_prediction_never_overwrites_correction(folder):
    with Project.open(folder) as p:
        a = p.find("a.png")
        pred = np.zeros((20, 30), np.uint8)
        a = p.save_prediction(a, pred, checkpoint="run-1/best.pt", uncertainty=0.25,
                              entropy_map=np.full((20, 30), 9, np.uint8))
        assert a.status == "predicted" and a.predicted_by == "run-1/best.pt"
        assert a.uncertainty == 0.25
        human = np.ones((20, 30), np.uint8)
        a = p.save_mask(a, human)
        assert a.status == "corrected"
        a = p.save_prediction(a, pred)
        assert a.status == "corrected"
        assert np.array_equal(p.load_mask(a), human)
        assert np.array_equal(p.load_prediction(a), pred)
        assert p.load_uncertainty(a)[0, 0] == 9
        # reset to prediction keeps the human mask in the trash
        a = p.reset_to_prediction(a)
        assert a.status == "predicted" and p.load_mask(a) is None
        trashed = list((p.project_dir / "trash").rglob("a.png.png"))
        assert len(trashed) == 1
        # mark reviewed with no human mask accepts the prediction
        a = p.set_status(a, "reviewed")
        assert a.status == "reviewed" and np.array_equal(p.load_mask(a), pred)


def test_classes_edit_and_remap(folder):
    with Project.open(folder) as p:
        a = p.find("a.png")
        m = np.zeros((20, 30), np.uint8)
        m[:5] = 1
        p.save_mask(a, m)
        p.save_prediction(a, m)
        t = p.classes.with_class(ClassInfo(2, "car", (1, 2, 3)))
        p.set_classes(t)
        assert p.classes.by_id(2).name == "car"
        assert p.remap_class(1, 2) == 2
        expected = np.where(m == 1, 2, m).astype(np.uint8)
        assert np.array_equal(p.load_mask(a), expected)
        assert np.array_equal(p.load_prediction(a), expected)


def test_splits_stored_and_stable(tmp_path):
    folder = tmp_path / "s"
    for i in range(10):
        write_png(folder / f"{i}.png", np.zeros((4, 4), np.uint8))
    with Project.open(folder) as p:
        for rec in p.images()[:7]:
            p.save_mask(rec, np.zeros((4, 4), np.uint8))
        counts = p.splits.assign(0.3)
        assert counts == {"train": 5, "val": 2, "test": 0}
        first = {r.relpath: r.split for r in p.images()}
        for rec in p.images()[7:]:
            p.save_mask(rec, np.zeros((4, 4), np.uint8))
        counts = p.splits.assign(0.3)
        assert counts == {"train": 7, "val": 3, "test": 0}
        now = {r.relpath: r.split for r in p.images()}
        assert all(now[k] == v for k, v in first.items() if v is not None)
    with Project.open(folder) as p:
        assert {r.relpath: r.split for r in p.images()} == now


def test_runs_and_epochs(folder):
    with Project.open(folder) as p:
        run = p.runs.create({"model": "segnet", "width": 0.25}, "cpu")
        p.runs.add_epoch(run, EpochMetrics(1, train_loss=1.5, miou=0.2,
                                           per_class_iou={"Sky": 0.9}, seconds=3.0,
                                           images_per_sec=4.0))
        best = p.project_dir / "checkpoints" / "run-1" / "best.pt"
        p.runs.finish(run, "completed", checkpoint=str(best.with_name("last.pt")),
                      best_checkpoint=str(best), best_miou=0.2)
        runs = p.runs.all()
        assert runs[0].config == {"model": "segnet", "width": 0.25}
        assert runs[0].status == "completed" and runs[0].best_checkpoint == str(best)
        assert p.runs.get(run) == runs[0] and p.runs.get(run + 1) is None
        ep = p.runs.epochs(run)
        assert ep[0].per_class_iou == {"Sky": 0.9} and ep[0].images_per_sec == 4.0


def test_settings_roundtrip(folder):
    with Project.open(folder) as p:
        ckpt = p.project_dir / "checkpoints" / "x.pt"
        p.settings.set("active_checkpoint", ckpt)
        assert p.settings.get("active_checkpoint") == str(ckpt)
        # stored relative to the project directory, so a moved project keeps it
        row = p.db.query_one("SELECT value FROM settings WHERE key='active_checkpoint'")
        assert row["value"] == '"checkpoints/x.pt"'
        assert p.settings.get("missing", 5) == 5


def test_schema_version_and_newer_schema_refused(folder, tmp_path):
    with Project.open(folder) as p:
        assert p.db.schema_version == SCHEMA_VERSION
        assert p.db.query_one("PRAGMA journal_mode")[0] == "wal"
        db_path = p.db.path
    con = sqlite3.connect(db_path)
    con.execute(f"PRAGMA user_version={SCHEMA_VERSION + 1}")
    con.close()
    with pytest.raises(ProjectError, match="newer segstudio"):
        Database(db_path)


def test_corrupt_database_is_reported(folder):
    pdir = folder / ".segstudio"
    pdir.mkdir()
    (pdir / "project.db").write_bytes(b"definitely not sqlite" * 100)
    with pytest.raises(ProjectError, match=r"project\.db: not a readable segstudio database"):
        Project.open(folder)


def test_stale_temp_files_are_swept(folder):
    Project.open(folder).close()
    stale = folder / ".segstudio" / "masks" / ".a.png.png.tmp-999999999-abcd"
    stale.parent.mkdir(parents=True, exist_ok=True)
    stale.write_bytes(b"half a file")
    Project.open(folder).close()
    assert not stale.exists()


def test_non_ascii_file_names(tmp_path):
    folder = tmp_path / "bilder"
    write_png(folder / "straße" / "ümlaut_画像.png", np.zeros((6, 7, 3), np.uint8))
    with Project.open(folder) as p:
        rec = p.find("straße/ümlaut_画像.png")
        assert rec is not None and rec.width == 7
        p.save_mask(rec, np.zeros((6, 7), np.uint8))
        assert np.array_equal(p.load_mask(rec), np.zeros((6, 7), np.uint8))
