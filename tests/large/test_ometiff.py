"""The OME-TIFF label export of a large image: written chunk by chunk from its chunked
mask (never whole), laid out as the OME-TIFF specification's sub-resolutions say, its
OME-XML valid against the OME schema, and imported back bit for bit."""

from __future__ import annotations

import numpy as np
import ome_types
import pytest
import tifffile

from segstudio.core import large_store
from segstudio.core.chunked_mask import ChunkStore
from segstudio.core.formats import export_masks, import_masks
from segstudio.core.project import Project
from tests.large.helpers import structured, write_pyramid_tiff

H, W = 3000, 2200  # edges that cut chunks and tiles, odd level sizes


@pytest.fixture()
def project(tmp_path):
    folder = tmp_path / "slides"
    (folder / "case 1").mkdir(parents=True)
    write_pyramid_tiff(folder / "case 1" / "slide.tif", structured(H, W), levels=2)
    with Project.open(folder) as p:
        yield p


def a_mask(ids: np.ndarray) -> np.ndarray:
    rng = np.random.default_rng(3)
    mask = np.kron(rng.choice(ids, (24, 18)), np.ones((128, 128), np.uint8))[:H, :W]
    mask = np.ascontiguousarray(mask)
    mask[H - 1, W - 1] = ids[0] if mask[H - 1, W - 1] != ids[0] else ids[1]  # the last pixel
    mask[1, 1] = ids[-1]  # a single pixel only level 0 holds
    return mask


def test_a_chunked_mask_exports_as_an_ome_tiff_pyramid_and_imports_back(project, tmp_path,
                                                                        monkeypatch):
    rec = project.images()[0]
    ids = np.array(sorted(c.id for c in project.classes.classes), np.uint8)
    mask = a_mask(ids)
    chunked, _ = large_store.open_human_mask(project, rec)
    chunked.write(0, 0, mask)
    large_store.save_chunks(project, rec, chunked, chunked.snapshot())
    store = ChunkStore(large_store.mask_store_path(project, rec))

    def no_whole_mask(*_a, **_k):
        raise AssertionError("the export read the whole mask")

    monkeypatch.setattr(large_store, "load_full_mask", no_whole_mask)
    out = tmp_path / "export"
    report = export_masks(project, out, "ometiff")
    monkeypatch.undo()
    assert "case 1/slide.ome.tif" in report.written and report.exported == [
        (rec.relpath, "human")], report.summary()
    path = out / "case 1" / "slide.ome.tif"
    with tifffile.TiffFile(path) as tif:
        assert tif.is_ome and tif.is_bigtiff
        assert len(tif.pages) == 1  # sub-resolutions are not in the main chain of IFDs
        first = tif.pages[0]
        assert first.is_tiled and (first.tilelength, first.tilewidth) == (512, 512)
        assert first.compression == 8 and first.dtype == np.uint8  # deflate, class ids
        subifds = first.tags[330].value  # SubIFDs, largest first
        levels = tif.series[0].levels
        assert len(subifds) == len(levels) - 1 == len(store.shapes) - 1
        for k, level in enumerate(levels):
            assert level.shape == store.shapes[k] == mask[::1 << k, ::1 << k].shape
            np.testing.assert_array_equal(level.asarray(), mask[::1 << k, ::1 << k])
            if k:
                assert level.keyframe.tags[254].value == 1  # NewSubfileType: reduced
        xml = tif.ome_metadata
    ome = ome_types.from_xml(xml, validate=True)  # against the OME schema (2016-06)
    assert len(ome.images) == 1
    pixels = ome.images[0].pixels
    assert (pixels.size_x, pixels.size_y, pixels.size_c, pixels.size_z, pixels.size_t) == (
        W, H, 1, 1, 1)
    assert pixels.type.value == "uint8" and ome.images[0].name == rec.relpath
    assert [(b.ifd, b.plane_count) for b in pixels.tiff_data_blocks] == [(0, 1)]
    # a second export finds the same file there: unchanged, nothing rewritten
    again = export_masks(project, out, "ometiff")
    assert "case 1/slide.ome.tif" in again.unchanged
    # a different mask, then the export imported back over it: bit for bit
    chunked.write(0, 0, np.zeros((H, W), np.uint8))
    large_store.save_chunks(project, rec, chunked, chunked.snapshot())
    imported = import_masks(project, out, overwrite=True)  # detected from the manifest
    assert imported.format == "ometiff"
    assert len(imported.imported) == 1 and not imported.skipped, imported.skipped
    np.testing.assert_array_equal(large_store.load_full_mask(project, rec), mask)
    # the chunked mask's own levels follow the import
    back = ChunkStore(large_store.mask_store_path(project, rec))
    np.testing.assert_array_equal(back.read_level(2), mask[::4, ::4])


def test_an_ome_tiff_of_another_tool_imports_by_its_values(project, tmp_path):
    rec = project.images()[0]
    mask = a_mask(np.array(sorted(c.id for c in project.classes.classes), np.uint8))
    folder = tmp_path / "qupath"
    (folder / "case 1").mkdir(parents=True)
    tifffile.imwrite(folder / "case 1" / "slide.ome.tiff", mask, tile=(256, 256),
                     compression="zlib", metadata={"axes": "YX"})
    report = import_masks(project, folder, "auto")
    assert report.format == "ometiff" and len(report.imported) == 1, report.skipped
    np.testing.assert_array_equal(project.load_mask(rec), mask)
    bad = tmp_path / "rgb"
    bad.mkdir()
    tifffile.imwrite(bad / "slide.ome.tif", np.zeros((H, W, 3), np.uint8),
                     metadata={"axes": "YXS"})
    report = import_masks(project, bad, "ometiff", overwrite=True)
    assert not report.imported and "one plane of class ids" in report.skipped[0][1]
