"""Deleting a class rewrites every mask and prediction and changes the table as one step,
finished on the next open when a crash cut it short."""

from __future__ import annotations

import numpy as np
import pytest

from segstudio.core import class_delete
from segstudio.core.classes import BACKGROUND_SETTING, ClassInfo, ClassTable
from segstudio.core.errors import ClassTableError
from segstudio.core.maskio import read_mask
from segstudio.core.project import Project

TABLE = ClassTable((ClassInfo(0, "road", (128, 64, 128)), ClassInfo(1, "car", (64, 0, 128)),
                    ClassInfo(2, "tree", (0, 128, 0), background=True),
                    ClassInfo(255, "unlabelled", (0, 0, 0), ignore=True)))


@pytest.fixture()
def project(make_images):
    folder = make_images(3, size=(6, 8))
    p = Project.open(folder)
    p.set_classes(TABLE)
    p.settings.set(BACKGROUND_SETTING, [2])
    masks = []
    for i, rec in enumerate(p.images()):
        m = np.zeros((6, 8), np.uint8)
        m[:, i:i + 3] = 1
        m[0, :] = 2
        p.save_mask(rec, m)
        masks.append(m)
    yield p, masks
    p.close()


def _masks(p):
    return [read_mask(p.mask_path(r)) for r in p.images()]


def test_deleting_a_class_rewrites_its_pixels_and_the_table(project):
    p, masks = project
    changed, new = p.delete_class(1, 0)
    assert changed == 3
    assert [c.id for c in p.classes.classes] == [0, 2, 255]
    for got, before in zip(_masks(p), masks, strict=True):
        assert np.array_equal(got, np.where(before == 1, 0, before))
    assert p.settings.get(class_delete.PENDING) is None
    assert p.settings.get(BACKGROUND_SETTING) == [2]
    with pytest.raises(ClassTableError, match="class id 9 is not in the class table"):
        p.delete_class(9, 0)
    with pytest.raises(ClassTableError, match="class id 7 is not in the class table"):
        p.delete_class(0, 7)


def test_a_deletion_cut_short_is_finished_when_the_project_opens(project, monkeypatch):
    p, masks = project
    real = p.remap_class
    calls = []

    def crash_half_way(old, new, progress=None):
        # rewrite the first file, then the process dies
        lut = np.arange(256, dtype=np.uint8)
        lut[old] = new
        rec = p.images()[0]
        from segstudio.core.maskio import write_mask
        write_mask(p.mask_path(rec), lut[read_mask(p.mask_path(rec))], p.classes.palette())
        calls.append(1)
        raise KeyboardInterrupt

    monkeypatch.setattr(p, "remap_class", crash_half_way)
    with pytest.raises(KeyboardInterrupt):
        p.delete_class(1, 2)
    assert calls and [c.id for c in p.classes.classes] == [0, 1, 2, 255]  # the table waits
    half = _masks(p)
    assert (half[0] == 1).sum() == 0 and (half[1] == 1).sum() > 0
    monkeypatch.setattr(p, "remap_class", real)
    folder = p.root
    p.close()
    with Project.open(folder) as again:
        assert [c.id for c in again.classes.classes] == [0, 2, 255]
        for got, before in zip(_masks(again), masks, strict=True):
            assert np.array_equal(got, np.where(before == 1, 2, before))
        assert again.settings.get(class_delete.PENDING) is None
        assert again.settings.get(BACKGROUND_SETTING) == [2]
