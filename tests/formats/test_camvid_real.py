"""Round trips on real CamVid label maps (fixture camvid_subset)."""

from __future__ import annotations

import json

import numpy as np
import pytest

from segstudio.core.classes import ClassTable
from segstudio.core.formats import export_masks, import_masks
from segstudio.core.maskio import read_mask
from segstudio.core.project import Project

from .conftest import fresh_copy, masks_of


def test_camvid_labels_round_trip_through_camvid_voc_and_coco(camvid_subset, tmp_path):
    project = Project.open(camvid_subset / "images")
    project.set_classes(ClassTable.load_json(camvid_subset / "classes.json"))
    first = import_masks(project, camvid_subset / "labels", "index")
    assert len(first.imported) == 8 and not first.skipped
    truth = {p.name: read_mask(p) for p in (camvid_subset / "labels").iterdir()}
    project.splits.assign(0.25, seed=1)
    for fmt in ("camvid", "voc", "coco"):
        report = export_masks(project, tmp_path / fmt, fmt)
        assert len(report.exported) == 8 and not report.refused
        target = fresh_copy(project, tmp_path / f"again_{fmt}")
        back = import_masks(target, tmp_path / fmt)
        assert back.format == fmt and len(back.imported) == 8, back.skipped
        got = masks_of(target)
        for name, mask in truth.items():
            assert np.array_equal(got[name], mask), (fmt, name)
        target.close()
    # the CamVid export looks like the SegNet tutorial's folder
    out = tmp_path / "camvid"
    assert sorted(p.name for p in out.iterdir()) == [
        "classes.json", "classes.txt", "segstudio_export_camvid.json", "train", "train.txt",
        "trainannot", "val", "val.txt", "valannot"]
    assert len(list((out / "valannot").iterdir())) == 2
    assert (out / "classes.txt").read_text().splitlines()[11] == "11 Unlabelled"
    assert json.loads((out / "classes.json").read_text())["ignore_index"] == 11


def test_pycocotools_agrees_on_real_label_maps(camvid_subset, tmp_path):
    coco_api = pytest.importorskip("pycocotools.coco")
    project = Project.open(camvid_subset / "images")
    project.set_classes(ClassTable.load_json(camvid_subset / "classes.json"))
    import_masks(project, camvid_subset / "labels", "index")
    export_masks(project, tmp_path / "coco", "coco")
    import warnings
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        coco = coco_api.COCO(str(tmp_path / "coco/annotations.json"))
        for img in coco.loadImgs(coco.getImgIds()):
            label = read_mask(camvid_subset / "labels" / img["file_name"])
            painted = np.full(label.shape, 11, np.uint8)
            for a in coco.loadAnns(coco.getAnnIds(imgIds=[img["id"]])):
                painted[coco.annToMask(a).astype(bool)] = a["category_id"] - 1
            assert np.array_equal(painted, label), img["file_name"]
