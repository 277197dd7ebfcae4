"""A training run stopped by SIGTERM is cancelled cleanly; one whose process is killed
(SIGKILL) is marked interrupted when the project opens; old databases still open."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import threading
from pathlib import Path

import numpy as np
import pytest

from segstudio.core.db import SCHEMA_V1, SCHEMA_VERSION, _split_sql
from segstudio.core.project import Project
from tests.conftest import write_png

REPO = Path(__file__).resolve().parents[2]


def _labelled(folder: Path, n: int = 4) -> Path:
    rng = np.random.default_rng(0)
    for i in range(n):
        write_png(folder / f"im{i}.png", rng.integers(0, 255, (32, 32, 3), dtype=np.uint8))
    with Project.open(folder) as p:
        for rec in p.images():
            m = np.zeros((32, 32), np.uint8)
            m[8:24, 8 + rec.id:20 + rec.id] = 1
            p.save_mask(rec, m)
    return folder


def _train_until_first_epoch(folder: Path) -> subprocess.Popen:
    env = dict(os.environ, PYTHONPATH=str(REPO), OMP_NUM_THREADS="1")
    proc = subprocess.Popen(
        [sys.executable, "-m", "segstudio", "train", str(folder), "--model", "segnet-basic",
         "--width", "0.25", "--epochs", "100000", "--batch-size", "2", "--crop", "32x32",
         "--device", "cpu", "--imagenet", "none", "--val-split", "0.25"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env, cwd=REPO)
    seen = threading.Event()
    out: list[str] = []

    def read():
        for line in proc.stdout:
            out.append(line)
            if line.startswith("epoch   1/"):
                seen.set()
    threading.Thread(target=read, daemon=True).start()
    if not seen.wait(300):  # a hang guard, not a timing check
        proc.kill()
        pytest.fail("training never finished its first epoch: " + "".join(out)
                    + proc.stderr.read())
    proc.out = out  # type: ignore[attr-defined]
    return proc


@pytest.mark.parametrize("sig, rc, name", [(signal.SIGTERM, 143, "SIGTERM"),
                                          (signal.SIGINT, 130, "Ctrl+C")])
def test_sigterm_or_ctrl_c_cancels_the_run_and_keeps_the_last_checkpoint(tmp_path, sig, rc,
                                                                          name):
    """SIGTERM or a first Ctrl+C asks the engine to stop (it ends the run between batches,
    never inside a database write), says so, and exits 143 / 130 with the run recorded."""
    folder = _labelled(tmp_path / "imgs")
    proc = _train_until_first_epoch(folder)
    proc.send_signal(sig)
    assert proc.wait(120) == rc, proc.stderr.read()
    err = proc.stderr.read()
    assert "Traceback" not in err
    assert any(line.startswith(f"{name}: stopping after the batch under way")
               for line in proc.out)
    assert any("run is marked cancelled" in line for line in proc.out)
    with Project.open(folder) as p:
        run = p.runs.all()[-1]
        assert run.status == "cancelled"
        assert run.checkpoint and Path(run.checkpoint).is_file()
        assert run.pid == proc.pid


def test_a_killed_run_is_marked_interrupted_when_the_project_opens(tmp_path):
    folder = _labelled(tmp_path / "imgs")
    proc = _train_until_first_epoch(folder)
    proc.kill()
    proc.wait(60)
    db = sqlite3.connect(folder / ".segstudio/project.db")
    assert db.execute("SELECT status FROM runs").fetchall() == [("running",)]
    db.close()
    with Project.open(folder) as p:
        run = p.runs.all()[-1]
        assert run.status == "interrupted" and "killed or crashed" in run.message
    # a run of this process is alive: left alone
    with Project.open(folder) as p:
        rid = p.runs.create({"arch": "x"}, "cpu")
    with Project.open(folder) as p:
        assert {r.id: r.status for r in p.runs.all()}[rid] == "running"


def test_a_schema_1_database_opens_and_its_stale_runs_become_interrupted(tmp_path):
    folder = tmp_path / "imgs"
    write_png(folder / "a.png", np.zeros((4, 4, 3), np.uint8))
    pdir = folder / ".segstudio"
    pdir.mkdir()
    db = sqlite3.connect(pdir / "project.db", isolation_level=None)
    for statement in _split_sql(SCHEMA_V1):
        db.execute(statement)
    db.execute("PRAGMA user_version=1")
    db.execute("INSERT INTO meta VALUES ('image_root', ?)", (str(folder.resolve()),))
    db.execute("INSERT INTO classes VALUES (0, 'sky', 1, 2, 3, 0, 0)")
    db.execute("INSERT INTO classes VALUES (7, 'road', 4, 5, 6, 0, 1)")
    db.execute("INSERT INTO runs (started_at, config_json, status) VALUES (1.0, ?, 'running')",
               (json.dumps({"arch": "segnet"}),))
    db.close()
    with Project.open(folder) as p:
        assert p.db.schema_version == SCHEMA_VERSION
        assert [(c.id, c.name) for c in p.classes.classes] == [(0, "sky"), (7, "road")]
        run = p.runs.all()[0]
        assert run.status == "interrupted" and run.config == {"arch": "segnet"}
