"""Deleting a class rewrites the chunked masks and predictions of large images too, every
level of them, and a deletion a crash cut short is finished on the next open."""

from __future__ import annotations

import numpy as np
import pytest

from segstudio.core import class_delete, large_store
from segstudio.core.chunked_mask import ChunkedMask, ChunkStore, write_full
from segstudio.core.classes import ClassInfo, ClassTable
from segstudio.core.project import Project
from tests.large.helpers import structured, write_pyramid_tiff

TABLE = ClassTable((ClassInfo(0, "stroma", (128, 64, 128)), ClassInfo(1, "tumour", (64, 0, 128)),
                    ClassInfo(2, "fat", (0, 128, 0)),
                    ClassInfo(255, "unlabelled", (0, 0, 0), ignore=True)))
SIDE = 2048


@pytest.fixture()
def slide(tmp_path):
    folder = tmp_path / "slides"
    folder.mkdir()
    write_pyramid_tiff(folder / "slide.tif", structured(SIDE, SIDE), levels=2)
    with Project.open(folder) as project:
        project.set_classes(TABLE)
        rec = project.images()[0]
        mask = np.full((SIDE, SIDE), 255, np.uint8)  # most chunks never written (fill)
        mask[100:700, 50:1800] = 1
        mask[900:1000, 900:1000] = 2
        mask[1500:1501, 3:5] = 1  # a sliver seen at level 0 only
        chunked, _ = large_store.open_human_mask(project, rec)
        chunked.write(0, 0, mask)
        large_store.save_chunks(project, rec, chunked, chunked.snapshot())
        pred = np.zeros((SIDE, SIDE), np.uint8)
        pred[1200:2048, 0:600] = 1
        write_full(large_store.prediction_store_path(project, rec), pred, 255)
    return folder, mask, pred


def levels_of(path) -> list[np.ndarray]:
    store = ChunkStore(path)
    return [store.read_level(k) for k in range(len(store.names))]


def want_levels(full: np.ndarray, n: int) -> list[np.ndarray]:
    return [full[::1 << k, ::1 << k] for k in range(n)]


def test_deleting_a_class_rewrites_every_level_of_chunked_masks_and_predictions(slide):
    folder, mask, pred = slide
    with Project.open(folder) as project:
        rec = project.images()[0]
        before = set(p.name for p in large_store.mask_store_path(project, rec).rglob("*"))
        changed, _new = project.delete_class(1, 2)
        assert changed == 2  # the mask and the prediction
        for path, full in ((large_store.mask_store_path(project, rec), mask),
                           (large_store.prediction_store_path(project, rec), pred)):
            got = levels_of(path)
            want = want_levels(np.where(full == 1, 2, full), len(got))
            for g, w in zip(got, want, strict=True):
                np.testing.assert_array_equal(g, w)
        after = set(p.name for p in large_store.mask_store_path(project, rec).rglob("*"))
        assert after == before  # the same chunks, rewritten in place (no temp files left)
        assert not project.mask_path(rec).exists()  # no PNG beside it
        np.testing.assert_array_equal(project.load_mask(rec), np.where(mask == 1, 2, mask))


def test_deleting_the_fill_class_changes_what_unwritten_chunks_hold(slide):
    folder, mask, _pred = slide
    with Project.open(folder) as project:
        rec = project.images()[0]
        project.delete_class(255, 0)
        path = large_store.mask_store_path(project, rec)
        assert ChunkStore(path).fill == 0
        reopened = ChunkedMask(path, (SIDE, SIDE), project.classes.unlabelled_value())
        np.testing.assert_array_equal(reopened.to_array(), np.where(mask == 255, 0, mask))
        np.testing.assert_array_equal(reopened.read(1, 0, 0, 1024, 1024),
                                      np.where(mask == 255, 0, mask)[::2, ::2])


def test_a_chunked_deletion_cut_short_is_finished_on_the_next_open(slide, monkeypatch):
    folder, mask, pred = slide
    project = Project.open(folder)
    rec = project.images()[0]
    real = ChunkStore.write_chunks
    calls = []

    def die_after_one(self, items):
        calls.append(1)
        if len(calls) > 1:
            raise KeyboardInterrupt  # the process dies between two chunk writes
        return real(self, items)

    monkeypatch.setattr(ChunkStore, "write_chunks", die_after_one)
    with pytest.raises(KeyboardInterrupt):
        project.delete_class(1, 0)
    monkeypatch.setattr(ChunkStore, "write_chunks", real)
    assert project.settings.get(class_delete.PENDING) is not None
    half = levels_of(large_store.mask_store_path(project, rec))
    assert not (half[0] == 1).any() and (half[1] == 1).any()  # level 0 done, level 1 not yet
    project.close()
    with Project.open(folder) as again:
        assert again.settings.get(class_delete.PENDING) is None
        assert [c.id for c in again.classes.classes] == [0, 2, 255]
        for path, full in ((large_store.mask_store_path(again, rec), mask),
                           (large_store.prediction_store_path(again, rec), pred)):
            got = levels_of(path)
            for g, w in zip(got, want_levels(np.where(full == 1, 0, full), len(got)),
                            strict=True):
                np.testing.assert_array_equal(g, w)
