"""Chunked masks of large images: a stroke writes exactly its chunks and the coarser
levels of its area, undo follows the window, a save round-trips bit-exactly, and a
SIGKILL during a chunk write leaves the old chunk or the new one."""

from __future__ import annotations

import threading
from pathlib import Path

import numpy as np
import pytest
import zarr

from segstudio.core import edits, large_store
from segstudio.core.chunked_mask import CHUNK, ChunkedMask, ChunkStore
from segstudio.core.editing import SessionStore
from segstudio.core.errors import ProjectError
from segstudio.core.large_edit import LargeEditSession, window_origin
from segstudio.core.project import Project
from tests.large.helpers import structured, write_pyramid_tiff
from tests.sigkill import run_and_kill

HERE = Path(__file__).resolve().parent


@pytest.fixture()
def large_project(tmp_path):
    folder = tmp_path / "slides"
    folder.mkdir()
    write_pyramid_tiff(folder / "slide.tif", structured(4096, 4096), levels=3)
    project = Project.open(folder)
    yield project
    project.close()


def chunk_files(store: Path) -> dict[str, bytes]:
    out = {}
    for p in store.rglob("*"):
        if p.is_file() and not p.name.startswith("."):
            out[str(p.relative_to(store))] = p.read_bytes()
    return out


def full_levels(mask: np.ndarray, n: int) -> list[np.ndarray]:
    return [mask[::1 << k, ::1 << k] for k in range(n)]


def changed_chunks(before: np.ndarray, after: np.ndarray, n: int) -> set[str]:
    out = set()
    for k, (b, a) in enumerate(zip(full_levels(before, n), full_levels(after, n), strict=True)):
        ys, xs = np.nonzero(b != a)
        out |= {f"{k}/{y}/{x}" for y, x in set(zip(ys // CHUNK, xs // CHUNK, strict=True))}
    return out


def test_a_stroke_writes_only_its_chunks_and_the_coarser_levels_of_its_area(large_project):
    project = large_project
    rec = project.images()[0]
    assert large_store.record_is_large(rec) and (rec.width, rec.height) == (4096, 4096)
    chunked, on_disk = large_store.open_human_mask(project, rec)
    assert not on_disk
    store = SessionStore()
    session = LargeEditSession(rec, chunked, on_disk, store, origin=(0, 0))
    # a first save makes the store (everything unlabelled)
    session.push(edits.paint_stroke(session.mask, [(10, 10)], 3, 1))
    session.save_job(project)("corrected")
    path = large_store.mask_store_path(project, rec)
    before = ChunkStore(path).read_level(0)
    files_before = chunk_files(path)

    # a stroke at full resolution, in a window far from the first
    session.move_to(window_origin((3000, 2500), chunked.shape))
    oy, ox = session.origin
    stroke = edits.BrushStroke(session.mask, 9, 2)
    for x in range(2300, 2800, 7):  # crosses the chunk line at x = 2560
        session.sync(stroke.add_point(x - ox, 3100 + (x - 2300) // 3 - oy))
    session.push(stroke.finish())
    rec = session.save_job(project)("corrected")
    assert rec.status == "corrected"

    after_files = chunk_files(path)
    written = {k for k in after_files if after_files[k] != files_before.get(k)}
    after = ChunkStore(path).read_level(0)
    levels = len(chunked.levels)
    expected = changed_chunks(before, after, levels)
    assert written == expected
    assert {k.split("/")[0] for k in written} == {str(k) for k in range(levels)}
    assert len([k for k in written if k.startswith("0/")]) == 2  # two chunks of level 0
    # the coarser levels are the nearest samples of level 0, read back by zarr itself
    group = zarr.open_group(str(path), mode="r")
    for k in range(levels):
        np.testing.assert_array_equal(group[str(k)][:], after[::1 << k, ::1 << k])


def test_undo_moves_the_window_back_and_restores_both_levels(large_project):
    project = large_project
    rec = project.images()[0]
    chunked, on_disk = large_store.open_human_mask(project, rec)
    session = LargeEditSession(rec, chunked, on_disk, SessionStore(), origin=(0, 0))
    original = chunked.to_array().copy()
    session.push(edits.fill_rect(session.mask, (5, 5), (700, 600), 3))
    session.move_to((2048, 2048))
    session.push(edits.fill_rect(session.mask, (100, 100), (300, 300), 4))
    edited = chunked.to_array().copy()
    assert (edited[2148:2349, 2148:2349] == 4).all() and (edited[5:601, 5:701] == 3).all()
    session.undo()
    assert session.origin == (2048, 2048)
    session.undo()
    assert session.origin == (0, 0)
    np.testing.assert_array_equal(chunked.to_array(), original)
    np.testing.assert_array_equal(chunked.read(2, 0, 0, 1024, 1024), original[::4, ::4])
    session.redo()
    session.redo()
    np.testing.assert_array_equal(chunked.to_array(), edited)


def test_a_chunked_mask_round_trips_through_save_and_reopen(large_project):
    project = large_project
    rec = project.images()[0]
    chunked, _ = large_store.open_human_mask(project, rec)
    rng = np.random.default_rng(3)
    mask = np.kron(rng.integers(0, 5, (64, 64), dtype=np.uint8), np.ones((64, 64), np.uint8))
    mask[1234, 2345] = 7
    chunked.write(0, 0, mask)
    large_store.save_chunks(project, rec, chunked, chunked.snapshot())
    again, on_disk = large_store.open_human_mask(project, rec)
    assert on_disk
    np.testing.assert_array_equal(again.to_array(), mask)
    np.testing.assert_array_equal(large_store.load_full_mask(project, rec), mask)
    assert project.image(rec.id).status == "corrected"
    assert not chunked.dirty()


def test_a_new_mask_starts_from_the_chunked_prediction(large_project):
    project = large_project
    rec = project.images()[0]
    pred = np.zeros((4096, 4096), np.uint8)
    pred[:, 2000:] = 2
    from segstudio.core.chunked_mask import write_full

    write_full(large_store.prediction_store_path(project, rec), pred, 255)
    chunked, on_disk = large_store.open_human_mask(project, rec)
    assert not on_disk
    chunked.write(0, 0, np.full((10, 10), 1, np.uint8))
    large_store.save_chunks(project, rec, chunked, chunked.snapshot())
    saved = large_store.load_full_mask(project, rec)
    want = pred.copy()
    want[:10, :10] = 1
    np.testing.assert_array_equal(saved, want)


def test_a_sigkill_during_chunk_writes_leaves_old_or_new_chunks(tmp_path):
    path = tmp_path / "m.zarr"
    mask = ChunkedMask(path, (2048, 2048), 255)
    mask.write(0, 0, np.full((512, 2048), 0, np.uint8))
    mask.save(mask.snapshot())
    for delay in (0.05, 0.2):
        lines = run_and_kill(HERE / "large_child.py", [str(path), "1"], delay, "begin")
        begun = [int(v) for w, v in (ln for ln in lines if len(ln) == 2) if w == "begin"]
        ended = [int(v) for w, v in (ln for ln in lines if len(ln) == 2) if w == "end"]
        store = ChunkStore(path)
        last_end = ended[-1] % 200 if ended else None
        allowed = {0 if last_end is None else last_end, begun[-1] % 200} | (
            {0} if not ended else set())
        for cx in range(4):
            block = store.read_chunk(0, 0, cx)  # decodes: never a torn chunk
            assert block is not None and block.shape == (512, 512)
            values = np.unique(block)
            assert len(values) == 1 and int(values[0]) in allowed, (values, allowed)


def test_a_chunked_mask_round_trips_through_export_and_import(large_project, tmp_path):
    from segstudio.core.formats import export_masks, import_masks

    project = large_project
    rec = project.images()[0]
    rng = np.random.default_rng(5)
    ids = np.array(sorted(c.id for c in project.classes.classes), np.uint8)
    mask = np.kron(rng.choice(ids, (32, 32)), np.ones((128, 128), np.uint8))
    mask[4095, 4095] = ids[0] if mask[4095, 4095] != ids[0] else ids[1]
    chunked, _ = large_store.open_human_mask(project, rec)
    chunked.write(0, 0, mask)
    large_store.save_chunks(project, rec, chunked, chunked.snapshot())
    out = tmp_path / "export"
    export_masks(project, out, "index")
    # a different mask now, then the export imported back over it
    chunked.write(0, 0, np.zeros((4096, 4096), np.uint8))
    large_store.save_chunks(project, rec, chunked, chunked.snapshot())
    report = import_masks(project, out, "index", overwrite=True)
    assert len(report.imported) == 1 and not report.skipped, report.skipped
    assert len(report.trashed) == 1
    assert not project.mask_path(rec).exists()  # still a chunked mask
    np.testing.assert_array_equal(large_store.load_full_mask(project, rec), mask)
    trashed = list((project.project_dir / "trash").rglob("*.zarr"))
    assert len(trashed) == 1  # the replaced chunked mask, kept
    np.testing.assert_array_equal(ChunkStore(trashed[0]).read_level(0), 0)


def test_a_save_that_fails_part_way_changes_no_chunk(tmp_path, monkeypatch):
    """The chunks of one save are all staged (written, fsynced) before any is renamed:
    a failure while staging leaves every chunk as it was and no temp file behind."""
    path = tmp_path / "m.zarr"
    mask = ChunkedMask(path, (2048, 2048), 255)
    mask.write(0, 0, np.zeros((2048, 2048), np.uint8))
    mask.save(mask.snapshot())
    before = chunk_files(path)
    mask.write(0, 0, np.ones((2048, 2048), np.uint8))
    snap = mask.snapshot()
    assert len(snap) > 4
    from segstudio.core.atomic import StagedWrites

    real = StagedWrites.add
    calls = []
    lock = threading.Lock()

    def fail_third(self, target, write):
        with lock:
            calls.append(target)
            n = len(calls)
        if n == 3:
            raise ProjectError(f"cannot write {target}: No space left on device")
        return real(self, target, write)

    monkeypatch.setattr(StagedWrites, "add", fail_third)
    with pytest.raises(ProjectError, match="No space"):
        mask.save(snap)
    assert chunk_files(path) == before
    assert not [p for p in path.rglob("*") if ".tmp-" in p.name]
    assert mask.dirty()  # left to the next save
    monkeypatch.setattr(StagedWrites, "add", real)
    mask.save(mask.snapshot())
    np.testing.assert_array_equal(ChunkStore(path).read_level(0), 1)
