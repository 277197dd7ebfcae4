"""A project moved with its image folder (mv mvA mvB) keeps its active model and its runs'
checkpoints: the store keeps those paths relative to the project, and absolute paths an
older segstudio stored are found again under the moved project's checkpoints/."""

from __future__ import annotations

import json
import shutil
import sqlite3

import numpy as np
import torch

from segstudio.cli.main import main
from segstudio.core.project import Project
from segstudio.nn.models.segnet import IMAGENET_MEAN, IMAGENET_STD, SegNetBasic
from segstudio.nn.runs.checkpoint import checkpoint_dict, save_checkpoint
from tests.conftest import write_png


def _project(folder):
    rng = np.random.default_rng(0)
    for i in range(4):
        write_png(folder / f"im{i}.png", rng.integers(0, 255, (32, 32, 3), dtype=np.uint8))
    with Project.open(folder) as p:
        for rec in p.images()[:3]:
            m = np.zeros((32, 32), np.uint8)
            m[8:24, 8:24] = 1
            p.save_mask(rec, m)
        torch.manual_seed(0)
        data = checkpoint_dict(SegNetBasic(2, 3, width=0.25), p.classes, IMAGENET_MEAN,
                               IMAGENET_STD)
        best = save_checkpoint(p.checkpoints_dir / "run-1" / "best.pt", data)
        run = p.runs.create({"arch": "segnet-basic"}, "cpu")
        p.runs.finish(run, "completed", checkpoint=str(best), best_checkpoint=str(best))
        p.settings.set("active_checkpoint", str(best))
    return best


def _stored(folder, sql):
    conn = sqlite3.connect(folder / ".segstudio" / "project.db")
    try:
        return conn.execute(sql).fetchone()
    finally:
        conn.close()


def test_a_moved_project_keeps_its_active_model(tmp_path, capsys):
    _project(tmp_path / "mvA")
    assert json.loads(_stored(tmp_path / "mvA", "SELECT value FROM settings WHERE "
                              "key='active_checkpoint'")[0]) == "checkpoints/run-1/best.pt"
    assert _stored(tmp_path / "mvA", "SELECT checkpoint, best_checkpoint FROM runs") == (
        "checkpoints/run-1/best.pt", "checkpoints/run-1/best.pt")
    shutil.move(tmp_path / "mvA", tmp_path / "mvB")
    moved = tmp_path / "mvB" / ".segstudio" / "checkpoints" / "run-1" / "best.pt"
    with Project.open(tmp_path / "mvB") as p:
        assert p.settings.get("active_checkpoint") == str(moved)
        assert p.runs.all()[0].best_checkpoint == str(moved)
    assert main(["predict", str(tmp_path / "mvB"), "--device", "cpu"]) == 0, \
        capsys.readouterr().err
    assert main(["eval", str(tmp_path / "mvB"), "--device", "cpu", "--split", "all"]) == 0
    capsys.readouterr()
    assert main(["train", str(tmp_path / "mvB"), "--epochs", "1", "--batch-size", "2",
                 "--crop", "32x32", "--device", "cpu", "--imagenet", "none"]) == 0
    out = capsys.readouterr().out
    assert f"info: continuing from the active model {moved}" in out


def test_absolute_paths_of_an_older_store_are_found_in_the_moved_project(tmp_path, capsys):
    best = _project(tmp_path / "mvA")
    conn = sqlite3.connect(tmp_path / "mvA" / ".segstudio" / "project.db")
    with conn:  # as segstudio stored them before: absolute
        conn.execute("UPDATE settings SET value=? WHERE key='active_checkpoint'",
                     (json.dumps(str(best)),))
        conn.execute("UPDATE runs SET checkpoint=?, best_checkpoint=?", (str(best), str(best)))
    conn.close()
    shutil.move(tmp_path / "mvA", tmp_path / "mvB")
    moved = tmp_path / "mvB" / ".segstudio" / "checkpoints" / "run-1" / "best.pt"
    with Project.open(tmp_path / "mvB") as p:
        assert p.settings.get("active_checkpoint") == str(moved)
        assert p.runs.all()[0].checkpoint == str(moved)
    assert main(["predict", str(tmp_path / "mvB"), "--device", "cpu"]) == 0, \
        capsys.readouterr().err
