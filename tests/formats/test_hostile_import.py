"""Hostile import input: malformed labelme shapes, overwrites, miscounts, huge polygons."""

from __future__ import annotations

import json

import numpy as np

from segstudio.cli.main import main
from segstudio.core.project import Project

from .conftest import TABLE, write_image


def _project(tmp_path, names=("a.png", "b.png"), h=8, w=8):
    for i, n in enumerate(names):
        write_image(tmp_path / "imgs" / n, h, w, seed=i)
    with Project.open(tmp_path / "imgs") as p:
        p.set_classes(TABLE)
    return tmp_path / "imgs"


def _labelme(path, shapes, image="a.png", h=8, w=8):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"shapes": shapes, "imagePath": image, "imageHeight": h,
                                "imageWidth": w}), encoding="utf-8")


def test_malformed_points_never_replace_a_human_mask_and_overwrites_keep_a_copy(
        tmp_path, capsys):
    folder = _project(tmp_path)
    good = np.full((8, 8), 2, np.uint8)
    with Project.open(folder) as p:
        p.save_mask(p.find("a.png"), good)
    _labelme(tmp_path / "lm/a.json", [{"label": "car", "points": "abc"}])
    assert main(["import-masks", str(folder), str(tmp_path / "lm"), "--overwrite"]) == 1
    out = capsys.readouterr().out
    assert "skipped" in out and "shape 'car' has malformed points: skipped" in out
    assert "no shape left to import, file skipped" in out
    with Project.open(folder) as p:
        assert np.array_equal(p.load_mask(p.find("a.png")), good)
        assert not (p.project_dir / "trash").exists()
    # one bad shape among good ones: the good ones import, the bad one is named
    _labelme(tmp_path / "lm/a.json", [{"label": "car", "points": "abc"},
                                      {"label": "tree", "points": [[0, 0], [3, 0], [3, 3],
                                                                   [0, 3]]}])
    assert main(["import-masks", str(folder), str(tmp_path / "lm"), "--overwrite"]) == 0
    out = capsys.readouterr().out
    assert "imported" in out and "malformed points: skipped" in out
    assert "1 replaced human masks kept in trash/" in out
    with Project.open(folder) as p:
        mask = p.load_mask(p.find("a.png"))
        assert (mask[:4, :4] == 3).all() and (mask[5:] == 11).all()
        kept = list((p.project_dir / "trash").rglob("a.png.png"))
        assert len(kept) == 1
        from segstudio.core.maskio import read_mask
        assert np.array_equal(read_mask(kept[0]), good)


def test_images_without_a_mask_counts_what_is_left_after_the_import(tmp_path, capsys):
    folder = _project(tmp_path, names=("a.png", "b.png", "c.png", "d.png"))
    with Project.open(folder) as p:
        p.save_mask(p.find("d.png"), np.zeros((8, 8), np.uint8))
    sq = [{"label": "car", "points": [[0, 0], [3, 0], [3, 3]]}]
    _labelme(tmp_path / "lm/a.json", sq, "a.png")
    _labelme(tmp_path / "lm/b.json", sq, "b.png", h=9)  # wrong size: skipped
    assert main(["import-masks", str(folder), str(tmp_path / "lm")]) == 0
    # b (skipped) and c (no file) still have no mask; d had one before
    assert "1 imported, 1 skipped, 2 images without a mask" in capsys.readouterr().out


def test_a_polygon_of_two_million_points_is_filled_in_bounded_work(tmp_path, capsys):
    from segstudio.core.formats.labelme import MAX_PIL_POINTS, paint

    folder = _project(tmp_path, names=("a.png",), h=64, w=64)
    t = np.linspace(0, 2 * np.pi, 2_000_000, endpoint=False)
    pts = np.stack([32 + 20 * np.cos(t), 32 + 20 * np.sin(t)], axis=1)
    _labelme(tmp_path / "lm/a.json", [{"label": "car", "points": pts.round(3).tolist()}],
             h=64, w=64)
    assert main(["import-masks", str(folder), str(tmp_path / "lm")]) == 0
    out = capsys.readouterr().out
    assert "polygon 'car' with 2,000,000 points filled with OpenCV" in out
    # the same disc as Pillow paints it from a coarser polygon, give or take the outline
    coarse = pts[:: len(pts) // MAX_PIL_POINTS + 1]
    ref = paint([(2, coarse)], 64, 64, 11)
    with Project.open(folder) as p:
        mask = p.load_mask(p.find("a.png"))
    assert set(np.unique(mask)) == {2, 11}
    assert (mask != ref).sum() <= 2 * 20 * 2 * np.pi  # at most the outline ring differs
    assert mask[32, 32] == 2 and mask[0, 0] == 11
