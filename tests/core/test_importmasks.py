"""Importing label maps: CamVid exactly, and every way a label map can be wrong."""

from __future__ import annotations

import os
from dataclasses import replace

import numpy as np
import pytest
from PIL import Image

from segstudio.core.classes import ClassTable
from segstudio.core.errors import ClassTableError
from segstudio.core.formats import UnknownValuesError
from segstudio.core.importmasks import apply_class_table, import_index_masks
from segstudio.core.project import Project
from tests.conftest import write_png


def test_camvid_train_imports_exactly(camvid, tmp_path):
    with Project.open(camvid / "train", tmp_path / "proj") as p:
        apply_class_table(p, ClassTable.load_json(camvid / "classes.json"))
        report = import_index_masks(p, camvid / "trainannot")
        assert len(report.imported) == 367 and not report.skipped
        assert report.images_without_mask == 0
        assert p.status_counts()["corrected"] == 367
        for rec in p.images()[::23]:
            src = np.asarray(Image.open(camvid / "trainannot" / rec.relpath))
            assert np.array_equal(p.load_mask(rec), src), rec.relpath
        # a second import finds everything identical and writes nothing
        again = import_index_masks(p, camvid / "trainannot")
        assert len(again.unchanged) == 367 and not again.imported
    assert not (camvid / "train" / ".segstudio").exists()


@pytest.fixture()
def proj(tmp_path):
    folder = tmp_path / "imgs"
    for name in ("a", "b", "c", "d"):
        write_png(folder / "x" / f"{name}.jpg", np.zeros((6, 8, 3), np.uint8))
    p = Project.open(folder)
    yield p
    p.close()


def test_bad_label_maps_are_skipped_with_reasons(proj, tmp_path):
    # a project whose classes were chosen (not the untouched default table), so the
    # values are checked against it instead of proposing a table from them
    proj.set_classes(ClassTable(tuple(c if c.id != 1 else replace(c, name="cell")
                                      for c in proj.classes.classes), name="chosen"))
    masks = tmp_path / "masks"
    ok = np.ones((6, 8), np.uint8)
    write_png(masks / "x" / "a.png", ok)                      # matched by relative path
    write_png(masks / "b.png", ok)                            # matched by stem
    write_png(masks / "x" / "c.png", np.ones((5, 8), np.uint8))  # wrong size
    bad = ok.copy()
    bad[0, 0] = 200
    write_png(masks / "x" / "d.png", bad)                     # unknown class id
    write_png(masks / "zzz.png", ok)                          # no image
    # a value the class table lacks stops the import before anything is written
    with pytest.raises(UnknownValuesError, match=r"200 \(1 pixels\)"):
        import_index_masks(proj, masks)
    assert proj.status_counts()["corrected"] == 0
    write_png(masks / "x" / "d.png", ok)
    report = import_index_masks(proj, masks)
    assert sorted(os.path.basename(f) for f in report.imported) == ["a.png", "b.png", "d.png"]
    reasons = {os.path.basename(f): r for f, r in report.skipped}
    assert "mask is 8x5 but image x/c.jpg is 8x6" in reasons["c.png"]
    assert "no image" in reasons["zzz.png"]
    assert proj.find("x/c.jpg").status == "unlabelled"
    write_png(masks / "x" / "d.png", bad)
    report = import_index_masks(proj, masks, unknown_to_ignore=True, overwrite=True)
    d = proj.load_mask(proj.find("x/d.jpg"))
    assert d[0, 0] == 255 and d[0, 1] == 1


def test_existing_different_mask_not_overwritten(proj, tmp_path):
    a = proj.find("x/a.jpg")
    proj.save_mask(a, np.zeros((6, 8), np.uint8))
    write_png(tmp_path / "m" / "x" / "a.png", np.ones((6, 8), np.uint8))
    report = import_index_masks(proj, tmp_path / "m")
    assert not report.imported and "already has a different human mask" in report.skipped[0][1]
    assert not proj.load_mask(a).any()
    import_index_masks(proj, tmp_path / "m", overwrite=True)
    assert proj.load_mask(a).all()


def test_class_table_that_orphans_masks_refused(proj, camvid):
    proj.save_mask(proj.find("x/a.jpg"), np.ones((6, 8), np.uint8))
    table = ClassTable.load_json(camvid / "classes.json")  # has no id 255
    with pytest.raises(ClassTableError, match=r"drops ids \[255\]"):
        apply_class_table(proj, table)
