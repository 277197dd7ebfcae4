"""COCO output checked with pycocotools, and pycocotools' encodings read back."""

from __future__ import annotations

import json

import numpy as np
import pytest

from segstudio.core.formats import ExportOptions, export_masks, import_masks
from segstudio.core.formats.coco import fill_polygon

from .conftest import build_project, fresh_copy, masks_of, shapes_mask

mask_api = pytest.importorskip("pycocotools.mask")
coco_api = pytest.importorskip("pycocotools.coco")
# pycocotools (test-only) trips numpy 2's copy-keyword deprecation on decode
pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


def test_pycocotools_reads_our_export(tmp_path, edge_masks):
    project = build_project(tmp_path / "images", edge_masks)
    export_masks(project, tmp_path / "out", "coco")
    path = tmp_path / "out/annotations.json"
    coco = coco_api.COCO(str(path))
    by_id = {c["id"]: c for c in coco.loadCats(coco.getCatIds())}
    assert {c["name"] for c in by_id.values()} == {"background", "Straße", "car", "tree"}
    assert all(c["id"] == c["segstudio_id"] + 1 for c in by_id.values())
    seen = 0
    for img in coco.loadImgs(coco.getImgIds()):
        mask = edge_masks[img["file_name"]]
        assert (img["height"], img["width"]) == mask.shape
        assert (tmp_path / "out/images" / img["file_name"]).is_file()
        anns = coco.loadAnns(coco.getAnnIds(imgIds=[img["id"]]))
        present = {int(v) for v in np.unique(mask)} - {11}
        assert {by_id[a["category_id"]]["segstudio_id"] for a in anns} == present
        for a in anns:
            want = mask == by_id[a["category_id"]]["segstudio_id"]
            assert a["iscrowd"] == 1 and isinstance(a["segmentation"]["counts"], str)
            assert np.array_equal(coco.annToMask(a).astype(bool), want)
            rle = coco.annToRLE(a)
            assert a["area"] == int(mask_api.area(rle)) == int(want.sum())
            assert a["bbox"] == [float(v) for v in mask_api.toBbox(rle)]
            seen += 1
    assert seen == len(coco.getAnnIds())
    empty = [i for i in coco.loadImgs(coco.getImgIds()) if i["file_name"] == "empty.png"][0]
    assert coco.getAnnIds(imgIds=[empty["id"]]) == []


def _doc(images, anns, cats):
    return {"images": images, "annotations": anns, "categories": cats}


def test_we_decode_pycocotools_encodings_and_polygons(tmp_path):
    m = shapes_mask()
    project = build_project(tmp_path / "images", {}, extra_images={"a.png": m.shape,
                                                                   "b.png": (30, 40)})
    h, w = m.shape
    anns = []
    for cid in (1, 2, 3):
        enc = mask_api.encode(np.asfortranarray((m == cid).astype(np.uint8)))
        anns.append({"id": cid, "image_id": 7, "category_id": 10 + cid, "iscrowd": 1,
                     "segmentation": {"size": enc["size"], "counts": enc["counts"].decode()},
                     "area": float(mask_api.area(enc))})
    # an uncompressed (list) RLE as some datasets carry for crowds
    background = (m == 0).astype(np.uint8)
    flat = background.ravel(order="F")
    change = np.flatnonzero(np.diff(flat)) + 1
    bounds = np.concatenate(([0], change, [flat.size]))
    counts = np.diff(bounds).tolist()
    if flat[0] == 1:
        counts = [0] + counts
    anns.append({"id": 9, "image_id": 7, "category_id": 10, "iscrowd": 1,
                 "segmentation": {"size": [h, w], "counts": counts}, "area": 9999.0})
    poly = [[5.0, 4.0, 30.5, 6.0, 28.0, 25.5, 7.5, 22.0]]
    anns.append({"id": 10, "image_id": 8, "category_id": 12, "iscrowd": 0,
                 "segmentation": poly, "area": 500.0})
    cats = [{"id": 10 + i, "name": n} for i, n in enumerate(["Background", "straße", "CAR",
                                                               "tree"])]
    images = [{"id": 7, "file_name": "a.png", "height": h, "width": w},
              {"id": 8, "file_name": "b.png", "height": 30, "width": 40}]
    (tmp_path / "in.json").write_text(json.dumps(_doc(images, anns, cats)), encoding="utf-8")
    report = import_masks(project, tmp_path / "in.json")
    assert report.format == "coco" and len(report.imported) == 2, report.skipped
    assert np.array_equal(project.load_mask(project.find("a.png")), m)
    ref = mask_api.decode(mask_api.frPyObjects(poly, 30, 40))[..., 0].astype(bool)
    got = project.load_mask(project.find("b.png")) == 2
    assert np.array_equal(got, fill_polygon(poly[0], 30, 40))
    assert (got & ref).sum() / (got | ref).sum() >= 0.95  # outline pixels may differ
    assert not got[ref == 0].sum() > 0.05 * ref.sum()


def test_round_trip_and_predictions_layer(tmp_path):
    m = shapes_mask()
    project = build_project(tmp_path / "images", {"human.png": m}, extra_images={
        "pred.png": m.shape})
    pred = np.where(m == 11, 0, m).astype(np.uint8)
    project.save_prediction(project.find("pred.png"), pred, "ckpt.pt")
    report = export_masks(project, tmp_path / "out", "coco", ExportOptions(
        statuses=("corrected", "predicted"), include_images=False))
    assert report.layer_counts() == {"human": 1, "prediction": 1}
    assert "from predictions (not checked by a person): pred.png" in report.summary()
    doc = json.loads((tmp_path / "out/annotations.json").read_text(encoding="utf-8"))
    assert {i["file_name"]: i["segstudio_layer"] for i in doc["images"]} == {
        "human.png": "human", "pred.png": "prediction"}
    assert not (tmp_path / "out/images").exists()
    manifest = json.loads((tmp_path / "out/segstudio_export_coco.json").read_text(encoding="utf-8"))
    assert [(e["image"], e["layer"]) for e in manifest["images"]] == [
        ("human.png", "human"), ("pred.png", "prediction")]
    target = fresh_copy(project, tmp_path / "again")
    import_masks(target, tmp_path / "out")
    got = masks_of(target)
    assert np.array_equal(got["human.png"], m) and np.array_equal(got["pred.png"], pred)
