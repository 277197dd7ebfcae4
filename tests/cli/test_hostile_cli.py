"""Hostile input to the command line: each case one clear line, a non-zero exit where
it failed, and nothing the user made lost."""

from __future__ import annotations

import os
import shutil
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


def _labelled(folder: Path) -> Path:
    _images(folder, 2)
    with Project.open(folder) as p:
        for rec in p.images():
            p.save_mask(rec, np.ones((8, 8), np.uint8))
    return folder


@pytest.mark.parametrize("cmd", ["predict", "eval", "export-model", "train"])
def test_an_empty_checkpoint_is_one_line_everywhere(tmp_path, capsys, cmd):
    folder = _labelled(tmp_path / "imgs")
    empty = tmp_path / "empty.pt"
    empty.write_bytes(b"")
    args = {"predict": ["predict", folder, "--checkpoint", empty, "--device", "cpu"],
            "eval": ["eval", folder, "--checkpoint", empty, "--device", "cpu"],
            "export-model": ["export-model", empty, "--format", "torchscript", "--out",
                             tmp_path / "m.ts"],
            "train": ["train", folder, "--resume", empty, "--device", "cpu"]}[cmd]
    assert main([str(a) for a in args]) == 1
    line = _one_error_line(capsys)
    assert f"{empty}: the checkpoint file is empty (0 bytes" in line


def test_a_checkpoint_with_zero_std_is_refused(tmp_path):
    from segstudio.core.classes import default_classes
    from segstudio.nn.models.segnet import SegNetBasic
    from segstudio.nn.runs.checkpoint import (
        CheckpointError,
        checkpoint_dict,
        load_checkpoint,
        save_checkpoint,
    )

    model = SegNetBasic(num_classes=2, in_channels=3, width=0.25)
    path = save_checkpoint(tmp_path / "z.pt", checkpoint_dict(
        model, default_classes(), (0.5, 0.5, 0.5), (0.25, 0.0, 0.25)))
    with pytest.raises(CheckpointError, match=r"std \[0.25, 0.0, 0.25\] must be positive"):
        load_checkpoint(path)


@pytest.mark.parametrize("args, said", [
    (["train", "{f}", "--crop", "100000x100000"], "each side is at most 16384"),
    (["train", "{f}", "--seed", str(2 ** 64)],
     f"Seed {2 ** 64}: must be at most {2 ** 63 - 1}"),
    (["train", "{f}", "--seed", "-1"], "Seed -1: must be at least 0"),
    (["info", "{f}", "--max-pixels", "-5"], "--max-pixels: -5: must be at least 1"),
    (["info", "{f}", "--max-pixels", "0"], "--max-pixels: 0: must be at least 1"),
    (["predict", "{f}", "--tile", "0"], "--tile: 0: must be at least 1"),
    (["predict", "{f}", "--passes", "-2"], "--passes: -2: must be at least 1"),
    (["export", "{f}", "--format", "index", "--out", "{f}/x", "--workers", "0"],
     "--workers: 0: must be at least 1"),
    (["export", "{f}", "--format", "overlay", "--out", "{f}/x", "--opacity", "inf"],
     "--opacity: 'inf' is not a finite number"),
])
def test_out_of_range_options_are_one_line(tmp_path, capsys, args, said):
    folder = _images(tmp_path / "imgs", 1)
    with pytest.raises(SystemExit) as exit_:
        main([a.format(f=folder) for a in args])
    assert exit_.value.code == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err
    errors = [ln for ln in err.splitlines() if ": error: " in ln]  # argparse: usage + one line
    assert len(errors) == 1 and said in errors[0], err


def test_a_bad_max_pixels_variable_is_one_line(tmp_path):
    folder = _images(tmp_path / "imgs", 1)
    env = dict(os.environ, PYTHONPATH=str(REPO), SEGSTUDIO_MAX_PIXELS="abc")
    done = subprocess.run([sys.executable, "-m", "segstudio", "info", str(folder)],
                          capture_output=True, text=True, env=env, cwd=REPO)
    assert done.returncode == 1
    err = done.stderr.strip().splitlines()
    assert err == ["segstudio info: error: SEGSTUDIO_MAX_PIXELS='abc' is not a positive whole "
                   "number of pixels; fix or unset it (default 400,000,000)"]
    # --max-pixels given on the command line wins over the broken variable
    done = subprocess.run([sys.executable, "-m", "segstudio", "info", str(folder),
                           "--max-pixels", "1000"], capture_output=True, text=True, env=env,
                          cwd=REPO)
    assert done.returncode == 0, done.stderr


def test_every_mask_missing_fails_train_and_export(tmp_path, capsys):
    folder = _labelled(tmp_path / "imgs")
    for f in (folder / ".segstudio/masks").iterdir():
        f.unlink()
    assert main(["train", str(folder), "--epochs", "1", "--device", "cpu"]) == 1
    line = _one_error_line(capsys)
    assert "nothing to train on: 2 images are marked corrected or reviewed but none has its " \
           "mask file" in line
    with Project.open(folder) as p:
        assert p.runs.all() == [] and not (p.project_dir / "checkpoints").exists()
    assert main(["export", str(folder), "--format", "index", "--out",
                 str(tmp_path / "out")]) == 1
    line = _one_error_line(capsys)
    assert "nothing exported: none of the 2 selected masks could be read" in line
    assert not (tmp_path / "out" / "classes.json").exists()


def test_an_unwritable_out_is_refused_before_training(tmp_path, capsys):
    folder = _labelled(tmp_path / "imgs")
    locked = tmp_path / "locked"
    locked.mkdir()
    (locked / "x").mkdir()
    assert main(["train", str(folder), "--epochs", "1", "--device", "cpu", "--out",
                 str(locked / "x")]) == 1
    assert "is a folder; give a file name" in _one_error_line(capsys)
    blocker = tmp_path / "file"
    blocker.write_text("x")
    assert main(["train", str(folder), "--epochs", "1", "--device", "cpu", "--out",
                 str(blocker / "best.pt")]) == 1
    assert "cannot write into" in _one_error_line(capsys)
    with Project.open(folder) as p:
        assert p.runs.all() == []


def test_a_pixel_limit_verdict_is_rechecked_when_the_limit_changes(tmp_path, capsys):
    folder = _images(tmp_path / "imgs", 2, h=10, w=10)  # 100 pixels each
    assert main(["info", str(folder), "--max-pixels", "99"]) == 0
    capsys.readouterr()
    with Project.open(folder) as p:
        assert all("is above the limit of 99" in r.error for r in p.images())
    assert main(["info", str(folder), "--max-pixels", "100"]) == 0
    capsys.readouterr()
    with Project.open(folder) as p:
        assert [(r.error, r.width) for r in p.images()] == [(None, 10), (None, 10)]
    # lowered again: the stored images are refused again, and predict names them
    from segstudio.core.imageio import set_max_pixels
    try:
        assert main(["info", str(folder), "--max-pixels", "50"]) == 0
    finally:
        set_max_pixels(400_000_000)
    capsys.readouterr()
    with Project.open(folder, scan=False) as p:
        assert all("is above the limit of 50" in r.error for r in p.images())
    with Project.open(folder) as p:  # back at the default limit: accepted again
        assert [r.error for r in p.images()] == [None, None]


@pytest.mark.parametrize("fmt, name, listed", [
    ("voc", "a\nb.png", "ImageSets/Segmentation/train.txt"),
    ("camvid", "a\nb.png", "train.txt"), ("camvid", "c d.png", "train.txt")])
def test_names_that_would_break_the_split_lists_are_escaped(tmp_path, capsys, fmt, name,
                                                            listed):
    folder = tmp_path / "imgs"
    write_png(folder / name, np.zeros((8, 8, 3), np.uint8))
    write_png(folder / "ok.png", np.zeros((8, 8, 3), np.uint8))
    with Project.open(folder) as p:
        for rec in p.images():
            p.save_mask(rec, np.full((8, 8), rec.id % 2, np.uint8))
        want = {r.relpath: p.load_mask(r) for r in p.images()}
    out = tmp_path / "out"
    assert main(["export", str(folder), "--format", fmt, "--out", str(out)]) == 0
    text = capsys.readouterr().out
    assert "written percent-escaped (%0A line break, %20 blank): " + repr(name) in text
    lines = (out / listed).read_text(encoding="utf-8").splitlines()
    assert len(lines) == 2  # one entry per image, each whole
    if fmt == "camvid":
        assert all(len(line.split(" ")) == 2 for line in lines)
    esc = name.replace("\n", "%0A").replace(" ", "%20")[:-4]
    assert any(esc in line for line in lines)
    # and the export imports back to the same masks
    shutil.copytree(folder, tmp_path / "again", ignore=shutil.ignore_patterns(".segstudio"))
    assert main(["import-masks", str(tmp_path / "again"), str(out)]) == 0
    with Project.open(tmp_path / "again") as q:
        for rel, m in want.items():
            assert np.array_equal(q.load_mask(q.find(rel)), m), rel


def test_auto_detect_on_unknown_json_says_what_it_found(tmp_path, capsys):
    folder = _images(tmp_path / "imgs", 1)
    ann = tmp_path / "ann"
    ann.mkdir()
    (ann / "a.json").write_text('{"foo": [1, 2], "items": []}')
    (ann / "notes.txt").write_text("x")
    assert main(["import-masks", str(folder), str(ann)]) == 1
    line = _one_error_line(capsys)
    assert (f"{ann}: no masks found: 1 JSON file that is neither COCO nor labelme (a.json holds "
            "an object with keys 'foo', 'items'); 1 other file (.txt); give a folder") in line
    (ann / "b.json").write_text("not json")
    assert main(["import-masks", str(folder), str(ann / "b.json")]) == 1
    assert "b.json: not a COCO or labelme JSON file (it is not valid JSON: Expecting value" \
        in _one_error_line(capsys)
    for f in ann.iterdir():
        f.unlink()
    assert main(["import-masks", str(folder), str(ann)]) == 1
    assert f"{ann}: no masks found: the folder is empty" in _one_error_line(capsys)
    with Project.open(folder) as p:
        assert [r.has_human_mask for r in p.images()] == [False]
