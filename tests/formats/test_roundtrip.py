"""Export then import gives back the masks: bit for bit for index PNG, colour,
VOC, CamVid and COCO RLE; labelme polygons at IoU >= 0.99 (exact in practice)."""

from __future__ import annotations

import json

import numpy as np
import pytest
from PIL import Image

from segstudio.core.classes import ClassInfo, ClassTable
from segstudio.core.formats import export_masks, import_masks
from segstudio.core.formats.labelme import mask_to_polygons, paint

from .conftest import build_project, fresh_copy, masks_of, shapes_mask

EXACT = ["index", "color", "voc", "camvid", "coco"]


@pytest.mark.parametrize("fmt", EXACT + ["labelme"])
def test_round_trip_edge_cases(tmp_path, edge_masks, fmt):
    project = build_project(tmp_path / "images", edge_masks)
    report = export_masks(project, tmp_path / "out", fmt)
    assert sorted(img for img, _ in report.exported) == sorted(edge_masks)
    assert not report.refused and not report.skipped
    target = fresh_copy(project, tmp_path / "again")
    back = import_masks(target, tmp_path / "out")
    assert back.format == ("index" if fmt == "color" else fmt)
    assert sorted(back.imported) and not back.skipped, back.skipped
    got = masks_of(target)
    assert sorted(got) == sorted(edge_masks)
    for rel, mask in edge_masks.items():
        assert target.find(rel).status == "corrected"
        assert np.array_equal(got[rel], mask), rel  # labelme too: exact on these shapes


def test_labelme_polygons_iou_on_generated_shapes():
    rng = np.random.default_rng(0)
    h, w = 96, 128
    yy, xx = np.mgrid[:h, :w]
    for trial in range(6):
        m = np.full((h, w), 11, np.uint8)
        for _ in range(6):  # random circles and rectangles with holes, touching and nested
            cid = int(rng.integers(0, 4))
            cy, cx, r = rng.integers(10, 86), rng.integers(10, 118), rng.integers(4, 25)
            if rng.random() < 0.5:
                m[(yy - cy) ** 2 + (xx - cx) ** 2 <= r * r] = cid
            else:
                m[max(0, cy - r):cy + r, max(0, cx - r):cx + r] = cid
                k = r // 2
                m[cy - k:cy + k, cx - k:cx + k] = rng.choice([11, (cid + 1) % 4])
        shapes, fidelity = mask_to_polygons(m, 11)
        back = paint(shapes, h, w, 11)
        for cid in np.unique(m):
            a, b = m == cid, back == cid
            assert (a & b).sum() / (a | b).sum() >= 0.99, (trial, cid)
        assert fidelity == pytest.approx(float((back == m).mean()))


def test_labelme_files_follow_the_format(tmp_path):
    m = shapes_mask()
    project = build_project(tmp_path / "images", {"sub/pic.png": m})
    export_masks(project, tmp_path / "out", "labelme")
    doc = json.loads((tmp_path / "out/sub/pic.json").read_text(encoding="utf-8"))
    assert doc["imagePath"] == "pic.png" and (tmp_path / "out/sub/pic.png").is_file()
    assert (doc["imageHeight"], doc["imageWidth"]) == m.shape
    assert all(s["shape_type"] == "polygon" and len(s["points"]) >= 3 for s in doc["shapes"])
    labels = [s["label"] for s in doc["shapes"]]
    # the holes with nothing in them are painted back with the unlabelled class
    assert "unlabelled" in labels and {"background", "Straße", "car", "tree"} <= set(labels)
    # painting in file order (as labelme does) gives the mask back
    names = {c.name: c.id for c in project.classes.classes}
    shapes = [(names[s["label"]], np.array(s["points"])) for s in doc["shapes"]]
    assert np.array_equal(paint(shapes, *m.shape, fill=11), m)


def test_255_classes(tmp_path):
    table = ClassTable(tuple(ClassInfo(i, f"class {i}", (i, 255 - i, (7 * i) % 256))
                             for i in range(255)) + (ClassInfo(255, "void", (1, 2, 3), True),))
    every = np.arange(256, dtype=np.uint8).reshape(16, 16)
    masks = {"all.png": every, "shuffled.png": np.random.default_rng(1).permutation(
        every.ravel()).reshape(16, 16)}
    project = build_project(tmp_path / "images", masks, table)
    for fmt in ["index", "voc", "camvid", "coco", "labelme"]:
        export_masks(project, tmp_path / fmt, fmt)
        target = fresh_copy(project, tmp_path / f"again_{fmt}")
        report = import_masks(target, tmp_path / fmt)
        assert len(report.imported) == 2, (fmt, report.skipped)
        got = masks_of(target)
        for rel, mask in masks.items():
            assert np.array_equal(got[rel], mask), (fmt, rel)
    coco = json.loads((tmp_path / "coco/annotations.json").read_text(encoding="utf-8"))
    assert len(coco["categories"]) == 255 and len(coco["annotations"]) == 2 * 255


def test_index_and_voc_files_hold_ids_and_palette(tmp_path):
    m = shapes_mask()
    project = build_project(tmp_path / "images", {"a.png": m})
    export_masks(project, tmp_path / "voc", "voc")
    export_masks(project, tmp_path / "camvid", "camvid")
    export_masks(project, tmp_path / "color", "color")
    with Image.open(tmp_path / "voc/SegmentationClass/a.png") as im:
        assert im.mode == "P" and np.array_equal(np.array(im), m)
        assert im.getpalette()[:6] == [0, 0, 0, 200, 30, 30]
    assert (tmp_path / "voc/JPEGImages/a.jpg").read_bytes()[:2] == b"\xff\xd8"
    with Image.open(tmp_path / "camvid/trainannot/a.png") as im:
        assert im.mode == "L" and np.array_equal(np.array(im), m)
    copied = (tmp_path / "camvid/train/a.png").read_bytes()
    assert copied == (tmp_path / "images/a.png").read_bytes()
    assert (tmp_path / "camvid/classes.txt").read_text(encoding="utf-8").splitlines()[:2] == [
        "0 background", "1 Straße"]
    with Image.open(tmp_path / "color/a.png") as im:
        rgb = np.array(im)
    assert np.array_equal(rgb, project.classes.palette()[m])


def test_voc_and_camvid_follow_the_project_splits(tmp_path):
    masks = {f"img_{i}.png": np.full((8, 8), i % 3, np.uint8) for i in range(6)}
    project = build_project(tmp_path / "images", masks)
    for i, rec in enumerate(project.images()):
        project.splits.set(rec, ["train", "val", "test"][i % 3] if i < 5 else None)
    report = export_masks(project, tmp_path / "voc", "voc")
    sets = tmp_path / "voc/ImageSets/Segmentation"
    read = lambda name: (sets / name).read_text().split()  # noqa: E731
    assert read("train.txt") == ["img_0", "img_3", "img_5"]
    assert read("val.txt") == ["img_1", "img_4"]
    assert read("trainval.txt") == ["img_0", "img_1", "img_3", "img_4", "img_5"]
    assert read("test.txt") == ["img_2"]
    assert any("1 images have no train/val split" in n for n in report.notes)
    export_masks(project, tmp_path / "camvid", "camvid")
    assert sorted(p.name for p in (tmp_path / "camvid/valannot").iterdir()) == [
        "img_1.png", "img_4.png"]
    assert (tmp_path / "camvid/test.txt").read_text() == "test/img_2.png testannot/img_2.png\n"


def test_overlay_blends_labelled_pixels_only(tmp_path):
    m = np.full((10, 12), 11, np.uint8)
    m[2:5, 3:9] = 1
    project = build_project(tmp_path / "images", {"a.png": m})
    export_masks(project, tmp_path / "ov", "overlay",
                 __import__("segstudio.core.formats", fromlist=["ExportOptions"]).ExportOptions(
                     opacity=0.25))
    with Image.open(tmp_path / "images/a.png") as im:
        src = np.array(im).astype(np.float64)
    with Image.open(tmp_path / "ov/a.png") as im:
        out = np.array(im).astype(np.float64)
    lab = m == 1
    assert np.array_equal(out[~lab], src[~lab])
    want = np.floor(src[lab] * 0.75 + np.array([200, 30, 30]) * 0.25 + 0.5)
    assert np.abs(out[lab] - want).max() <= 1
