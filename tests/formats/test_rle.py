"""Our COCO RLE codec against pycocotools (a test-only dependency)."""

from __future__ import annotations

import numpy as np
import pytest

from segstudio.core.formats import rle

mask_api = pytest.importorskip("pycocotools.mask")


def _cases():
    rng = np.random.default_rng(7)
    yield np.zeros((5, 7), np.uint8)
    yield np.ones((5, 7), np.uint8)
    one = np.zeros((9, 11), np.uint8)
    one[4, 6] = 1
    yield one
    corner = np.zeros((9, 11), np.uint8)
    corner[-1, -1] = 1
    yield corner
    yield np.ones((1, 13), np.uint8)
    yield (rng.random((13, 1)) < 0.5).astype(np.uint8)
    for _ in range(60):
        h, w = rng.integers(1, 50, 2)
        yield (rng.random((h, w)) < rng.random()).astype(np.uint8)


@pytest.mark.parametrize("index", range(66))
def test_encode_matches_pycocotools(index):
    m = list(_cases())[index]
    ref = mask_api.encode(np.asfortranarray(m))
    ours = rle.encode(m)
    assert ours["size"] == list(ref["size"])
    assert ours["counts"] == ref["counts"].decode("ascii")
    assert np.array_equal(rle.decode(ref), m)
    area, bbox = rle.area_bbox(rle.encode_mask(m), m.shape[0])
    assert area == int(mask_api.area(ref))
    assert bbox == [float(v) for v in mask_api.toBbox(ref)]


def test_large_counts_and_negative_deltas():
    h, w = 20000, 30000
    counts = [123456789, 1, 2, 3, 200000000, 7, 31, 16, 15]
    counts.append(h * w - sum(counts))
    ref = mask_api.frPyObjects({"size": [h, w], "counts": counts}, h, w)
    text = rle.counts_to_string(np.array(counts))
    assert text == ref["counts"].decode("ascii")
    assert rle.string_to_counts(text).tolist() == counts


def test_label_map_counts_and_painting():
    rng = np.random.default_rng(3)
    lab = rng.integers(0, 5, (31, 17)).astype(np.uint8)
    lab[lab == 4] = 9
    per_class = rle.class_counts(lab)
    assert sorted(per_class) == [0, 1, 2, 3, 9]
    for cid, counts in per_class.items():
        ref = mask_api.encode(np.asfortranarray((lab == cid).astype(np.uint8)))
        assert rle.counts_to_string(counts) == ref["counts"].decode("ascii")
    painted = rle.decode_labels(list(per_class.items()), 31, 17, fill=200)
    assert np.array_equal(painted, lab)


@pytest.mark.parametrize("bad", ["0" * 3 + "\x7f", "P"])
def test_malformed_strings_are_refused(bad):
    with pytest.raises(rle.RLEError):
        rle.string_to_counts(bad)


def test_counts_that_do_not_fill_the_image_are_refused():
    with pytest.raises(rle.RLEError, match="add up"):
        rle.decode({"size": [4, 4], "counts": [3, 4]})


def test_all_classes_in_one_pass_match_pycocotools():
    rng = np.random.default_rng(11)
    for _ in range(40):
        h, w = rng.integers(1, 40, 2)
        lab = rng.integers(0, rng.integers(1, 7), (h, w)).astype(np.uint8)
        if rng.random() < 0.5:  # blocky content: long runs, wrapping columns
            lab = np.repeat(np.repeat(lab[: max(1, h // 4), : max(1, w // 4)], 4, 0), 4, 1)
        got = rle.encode_label_map(lab)
        assert [g[0] for g in got] == sorted(np.unique(lab).tolist())
        for cid, counts, area, bbox in got:
            ref = mask_api.encode(np.asfortranarray((lab == cid).astype(np.uint8)))
            assert counts == ref["counts"].decode("ascii")
            assert area == int(mask_api.area(ref))
            assert bbox == [float(v) for v in mask_api.toBbox(ref)]
