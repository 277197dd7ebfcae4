"""predict on a full disk (no orphan prediction file) and on a huge image (the bar moves
per tile band)."""

from __future__ import annotations

import io
import itertools
import os
from pathlib import Path

import numpy as np
import pytest
import torch

from segstudio.cli.main import main
from segstudio.cli.progress import Progress
from segstudio.core.atomic import TEMP_MARK
from segstudio.core.classes import default_classes
from segstudio.core.project import Project
from segstudio.nn.inference import Predictor
from segstudio.nn.models.segnet import SegNetBasic
from segstudio.nn.runs.checkpoint import checkpoint_dict, save_checkpoint
from tests.conftest import write_png

from .conftest import fill


@pytest.fixture()
def checkpoint(tmp_path) -> Path:
    torch.manual_seed(0)
    model = SegNetBasic(num_classes=2, in_channels=3, width=0.25)
    return save_checkpoint(tmp_path / "model.pt", checkpoint_dict(
        model, default_classes(), (0.5, 0.5, 0.5), (0.25, 0.25, 0.25)))


def _noise(folder: Path, n: int, side: int) -> Path:
    for i in range(n):
        rng = np.random.default_rng(i)
        write_png(folder / f"im{i}.png", rng.integers(0, 255, (side, side, 3), dtype=np.uint8))
    return folder


def _free(disk: Path) -> None:
    for name in ("filler", "filler2"):
        (disk / name).unlink(missing_ok=True)


def test_a_full_disk_predict_leaves_no_orphan_prediction(small_disk, checkpoint, capsys):
    # The prediction, its entropy map and its database row need a few pages; leaving
    # between 8 and 20 of them free hits each step (first PNG, second PNG, database).
    for pages in range(8, 21, 2):
        folder = _noise(small_disk / f"imgs{pages}", 2, 64)
        assert main(["info", str(folder)]) == 0
        fill(small_disk)
        filler = small_disk / "filler"
        os.truncate(filler, filler.stat().st_size - pages * 4096)
        rc = main(["predict", str(folder), "--checkpoint", str(checkpoint), "--device", "cpu"])
        err = capsys.readouterr().err
        assert "Traceback" not in err
        store = folder / ".segstudio"
        assert not [p for p in store.rglob("*") if TEMP_MARK in p.name], pages
        _free(small_disk)
        with Project.open(folder) as p:
            recs = p.images()
            predicted = [r.relpath for r in recs if r.predicted_at is not None]
            on_disk = [r.relpath for r in recs if p.prediction_path(r).exists()]
            entropy = [r.relpath for r in recs if p.uncertainty_path(r).exists()]
            assert on_disk == predicted and entropy == predicted, (pages, on_disk, predicted)
            assert all(r.status == ("predicted" if r.relpath in predicted else "unlabelled")
                       for r in recs)
        assert rc == (0 if len(predicted) == 2 else 1), (pages, rc)
        for f in sorted(store.rglob("*"), reverse=True):  # room for the next round
            f.rmdir() if f.is_dir() else f.unlink()


def test_the_band_callback_counts_every_tile_band(checkpoint):
    pred = Predictor.from_checkpoint(checkpoint, "cpu", tile=64, overlap=16)
    calls: list[tuple[int, int]] = []
    pred.band_progress = lambda done, total: calls.append((done, total))
    image = np.random.default_rng(0).integers(0, 255, (150, 100, 3), dtype=np.uint8)
    res = pred.predict_tiled(image)
    # rows start at 0, 48, 96 (150 = 96 + 54): three bands, one strip of columns
    assert calls == [(1, 3), (2, 3), (3, 3)]
    assert res.tiles == 3 * 2
    pred.memory_budget = 1  # one column per strip: 2 strips of 3 bands
    calls.clear()
    assert np.array_equal(pred.predict_tiled(image).labels, res.labels)
    assert calls == [(i, 6) for i in range(1, 7)]


def test_a_huge_image_moves_the_bar_per_tile_band(tmp_path, checkpoint, capsys, monkeypatch):
    # 1600 x 1600 is above the 2.4 MP of a whole-image pass: 512-pixel tiles overlapping
    # by 128 start at rows 0, 384, 768, 1152, so the image is predicted in 4 bands
    folder = tmp_path / "imgs"
    write_png(folder / "huge.png", np.full((1600, 1600, 3), 90, np.uint8))
    ticks = itertools.count(0, 5)  # a clock that moves 5 s per look: every bar shows
    monkeypatch.setattr(Progress, "clock", staticmethod(lambda: next(ticks)))
    fed = []
    real = Progress.update

    def spy(bar, done, total=None, extra=""):
        if bar.label == "predicting":
            fed.append((done, extra))
        real(bar, done, total, extra)

    monkeypatch.setattr(Progress, "update", spy)
    assert main(["predict", str(folder), "--checkpoint", str(checkpoint),
                 "--device", "cpu"]) == 0
    assert fed == [*((i / 4, f"huge.png: tile band {i}/4") for i in range(1, 5)), (1, "")]
    # into a pipe or a file the bar is written once, as it ends
    lines = [ln for ln in capsys.readouterr().err.splitlines() if ln.startswith("predicting")]
    assert len(lines) == 1 and lines[0].split()[2:4] == ["1/1", "100%"], lines


def test_the_bar_shows_only_after_its_delay_and_counts_whole_items(monkeypatch):
    now = [0.0]
    monkeypatch.setattr(Progress, "clock", staticmethod(lambda: now[0]))
    out = io.StringIO()
    with Progress("quick", 10, stream=out) as bar:
        bar(10)                       # done within the second: no bar at all
    assert out.getvalue() == ""
    with Progress("slow", 4, stream=out) as bar:
        bar(1)
        now[0] = 1.5
        bar(2.5, extra="half-way")    # an item part-way counts as the ones finished
        assert bar.done == 2.5
    words = out.getvalue().split()
    assert words[0] == "slow" and words[2:4] == ["2/4", "62%"], out.getvalue()
    assert out.getvalue().rstrip().endswith("half-way")
