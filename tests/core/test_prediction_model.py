"""Each prediction records the model that made it (issue 25, item 4): the checkpoint and
the epoch of its weights, in the project's database with the prediction; what predict-all
redoes; an older database gains the column."""

from __future__ import annotations

import sqlite3

import numpy as np

from segstudio.core.db import SCHEMA_V1, SCHEMA_V2, SCHEMA_VERSION, _split_sql
from segstudio.core.prediction_model import (
    CheckpointRef,
    ModelRef,
    latest_model,
    same_file,
    to_predict,
)
from segstudio.core.project import Project
from tests.conftest import write_png


def _project(tmp_path, n=4):
    folder = tmp_path / "imgs"
    for i in range(n):
        write_png(folder / f"s{i}.png", np.full((6, 8, 3), i * 20, np.uint8))
    return Project.open(folder)


def test_a_prediction_records_its_checkpoint_and_epoch(tmp_path):
    labels = np.zeros((6, 8), np.uint8)
    with _project(tmp_path) as p:
        s0, s1 = p.find("s0.png"), p.find("s1.png")
        rec = p.save_prediction(s0, labels, CheckpointRef("/runs/run-2/best.pt", 7), 0.4)
        assert (rec.predicted_by, rec.predicted_epoch) == ("/runs/run-2/best.pt", 7)
        assert type(rec.predicted_by) is str
        rec = p.save_prediction(s1, labels, "/runs/run-2/best.pt", 0.4)  # a bare path
        assert (rec.predicted_by, rec.predicted_epoch) == ("/runs/run-2/best.pt", None)
        # a new prediction by a plain path forgets the epoch of the one before
        rec = p.save_prediction(s0, labels, "/runs/run-2/best.pt", 0.5)
        assert rec.predicted_epoch is None
    with Project.open(tmp_path / "imgs", scan=False) as p:  # in the database
        assert p.find("s0.png").predicted_by == "/runs/run-2/best.pt"


def test_predict_all_redoes_the_predictions_of_other_models(tmp_path):
    labels = np.zeros((6, 8), np.uint8)
    active = ModelRef("/p/.segstudio/checkpoints/run-2/best.pt", 7)
    with _project(tmp_path, 6) as p:
        r = {f"s{i}": p.find(f"s{i}.png") for i in range(6)}
        p.save_mask(r["s0"], labels, "corrected")                        # human: never
        p.save_prediction(r["s1"], labels, CheckpointRef(active.checkpoint, 7), 0.1)  # current
        p.save_prediction(r["s2"], labels, CheckpointRef(active.checkpoint, 3), 0.9)  # earlier
        p.save_prediction(r["s3"], labels, CheckpointRef(                  # a run's last.pt
            "/p/.segstudio/checkpoints/run-2/last.pt", 7), 0.8)
        p.save_prediction(r["s4"], labels, active.checkpoint, 0.7)       # epoch not known
        chosen = [rec.relpath for rec in to_predict(p, active)]
        assert chosen == ["s2.png", "s3.png", "s4.png", "s5.png"]
        assert active.made(p.find("s1.png")) and not active.made(p.find("s2.png"))
        assert latest_model(p.images()) == ModelRef(active.checkpoint, None)  # s4, the newest


def test_checkpoint_paths_compare_as_files():
    assert same_file("/p/a/../best.pt", "/p/best.pt")
    assert same_file("checkpoints/run-1/best.pt", "/proj/.segstudio/checkpoints/run-1/best.pt",
                     base=__import__("pathlib").Path("/proj/.segstudio"))
    assert not same_file("/p/best.pt", "/p/last.pt") and not same_file(None, "/p/best.pt")
    ref = CheckpointRef("/p/best.pt", 4)
    assert ref == "/p/best.pt" and ModelRef.of(ref) == ModelRef("/p/best.pt", 4)
    assert ModelRef.of("/p/best.pt") == ModelRef("/p/best.pt", None)


def test_an_older_database_gains_the_epoch_column(tmp_path):
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
    db.execute("INSERT INTO images (relpath, size_bytes, mtime_ns, added_at, status, "
               "predicted_at, predicted_by, uncertainty) VALUES ('a.png', 1, 1, 1.0, "
               "'predicted', 5.0, '/old/best.pt', 0.3)")
    db.close()
    with Project.open(folder, scan=False) as p:
        assert p.db.schema_version == SCHEMA_VERSION == 4
        rec = p.find("a.png")
        assert (rec.predicted_by, rec.predicted_epoch) == ("/old/best.pt", None)
