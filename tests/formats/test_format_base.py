"""One shared test over every registered format (smp style): each record is complete,
detection finds its own export and no other, its scan reads its own export, and
export -> import gives back the masks bit for bit on real files.  A format added to
the registry is tested here without a line of new test code."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from segstudio.core.formats import (
    FORMATS,
    FormatError,
    detect_format,
    export_masks,
    get_format,
    import_masks,
)
from segstudio.core.formats.common import ImageMatcher
from segstudio.core.formats.registry import FALLBACK
from segstudio.core.formats.sources import annotation_files, read_head
from segstudio.core.formats.types import ImportOptions, Probe

from .conftest import build_project, fresh_copy, masks_of, shapes_mask

H, W = 24, 32


def _masks() -> dict[str, np.ndarray]:
    single = np.full((H, W), 11, np.uint8)
    single[7, 9] = 2
    border = np.full((H, W), 11, np.uint8)
    border[:, 0], border[-1, :], border[0, -1] = 1, 3, 2
    return {"single.png": single, "sub/border.png": border, "full.jpg": np.zeros((H, W), np.uint8),
            "sub/straße ü.png": shapes_mask(), "shapes.png": shapes_mask()[::-1].copy()}


@pytest.fixture(scope="module")
def exports(tmp_path_factory) -> tuple[object, dict[str, np.ndarray], dict[str, Path]]:
    """A project with human masks, exported once in every registered format."""
    root = tmp_path_factory.mktemp("formats")
    masks = _masks()
    project = build_project(root / "images", masks)
    out = {}
    for fmt in FORMATS:
        report = export_masks(project, root / fmt.name, fmt.name)
        assert sorted(img for img, _ in report.exported) == sorted(masks), fmt.name
        assert not report.refused and not report.skipped, fmt.name
        out[fmt.name] = root / fmt.name
    yield project, masks, out
    project.close()


def _reader(fmt):
    """The format that reads ``fmt``'s export back (None: not masks)."""
    if fmt.scan is not None:
        return fmt
    return get_format(fmt.imports_as, importing=True) if fmt.imports_as else None


@pytest.fixture(params=FORMATS, ids=lambda f: f.name)
def fmt(request):
    return request.param


def test_the_record_is_complete(fmt):
    assert fmt.name.isidentifier() and fmt.label and fmt.description and fmt.title
    assert callable(fmt.export)
    assert get_format(fmt.name) is fmt
    if fmt.scan is not None:
        assert fmt.import_label and fmt.detect is not None
        assert get_format(fmt.name, importing=True) is fmt
    else:
        with pytest.raises(FormatError, match=f"unknown import format {fmt.name!r}"):
            get_format(fmt.name, importing=True)
    assert fmt.imports_as is None or fmt.scan is None


def test_detection_finds_its_own_export_and_no_other(fmt, exports):
    _, _, out = exports
    reader = _reader(fmt)
    if reader is None:
        with pytest.raises(FormatError, match="not masks"):
            detect_format(out[fmt.name])
    else:
        assert detect_format(out[fmt.name]) == reader.name
    if fmt.detect is None or fmt.name == FALLBACK:
        return  # the fallback claims any folder of images, after every other format
    for other, folder in out.items():
        probes = [Probe(folder)] + [Probe(folder / r, read_head(folder / r))
                                    for r in annotation_files(folder)]
        claimed = any(fmt.detect(p) for p in probes)
        assert claimed == (other == fmt.name), (fmt.name, other)


def test_its_scan_reads_its_own_export(fmt, exports):
    project, masks, out = exports
    if fmt.scan is None:
        return
    target = fresh_copy(project, out[fmt.name].parent / f"scan-{fmt.name}")
    try:
        result = fmt.scan(out[fmt.name], target, ImportOptions())
        matcher = ImageMatcher(target.images())
        got = {}
        for cand in result.candidates:
            assert cand.error is None, (cand.file, cand.error)
            rec = matcher.find(cand.keys)
            assert rec is not None, cand.file
            got[rec.relpath] = cand.load()
        assert sorted(got) == sorted(masks)
        for rel, mask in masks.items():
            assert np.array_equal(got[rel], mask), (fmt.name, rel)
    finally:
        target.close()


def test_export_then_import_gives_the_masks_back(fmt, exports):
    project, masks, out = exports
    target = fresh_copy(project, out[fmt.name].parent / f"import-{fmt.name}")
    try:
        reader = _reader(fmt)
        if reader is None:
            with pytest.raises(FormatError, match="not masks"):
                import_masks(target, out[fmt.name])
            assert masks_of(target) == {}
            return
        report = import_masks(target, out[fmt.name])
        assert report.format == reader.name
        assert sorted(report.imported) and not report.skipped, report.skipped
        got = masks_of(target)
        assert sorted(got) == sorted(masks)
        for rel, mask in masks.items():
            assert target.find(rel).status == "corrected"
            assert np.array_equal(got[rel], mask), (fmt.name, rel)
    finally:
        target.close()
