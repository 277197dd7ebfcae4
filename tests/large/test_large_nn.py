"""Training and prediction on a large image: a sample reads one region (only its tiles
and chunks), a prediction is written block by block into a chunked prediction."""

from __future__ import annotations

import numpy as np
import pytest
import tifffile.zarr

from segstudio.core import large_store
from segstudio.core.chunked_mask import write_full
from segstudio.core.project import Project
from segstudio.nn.inference import PredictionResult
from segstudio.nn.large import data as large_data
from segstudio.nn.large.predict import predict_large
from segstudio.nn.train.data import SampleLoader, snapshot
from tests.large.helpers import structured, write_pyramid_tiff


@pytest.fixture()
def labelled(tmp_path):
    folder = tmp_path / "slides"
    folder.mkdir()
    image = structured(4096, 4096)
    write_pyramid_tiff(folder / "slide.tif", image, levels=3)
    project = Project.open(folder)
    rec = project.images()[0]
    mask = (image[:, :, 0] > 128).astype(np.uint8)
    large_store.save_full_mask(project, rec, mask)
    yield project, image, mask
    project.close()


def test_a_training_sample_reads_only_its_region(labelled, monkeypatch):
    project, image, mask = labelled
    item = snapshot(project, 0.0).train[0]
    assert large_data.item_is_large(item)
    lut = np.arange(256, dtype=np.uint8)
    seen: list[str] = []
    real_get = tifffile.zarr.ZarrTiffStore.get

    async def counting_get(self, key, prototype, byte_range=None):
        if not key.endswith((".zarray", ".zgroup", ".zattrs", "zarr.json", ".zmetadata")):
            seen.append(key)
        return await real_get(self, key, prototype, byte_range)

    monkeypatch.setattr(tifffile.zarr.ZarrTiffStore, "get", counting_get)
    img, tgt = SampleLoader(lut, 3).load(item, seed=7)
    y0, x0, y1, x1 = large_data.region_of(item, 7)
    assert (y1 - y0, x1 - x0) == (2048, 2048) and img.shape == (2048, 2048, 3)
    np.testing.assert_array_equal(img, image[y0:y1, x0:x1])
    np.testing.assert_array_equal(tgt, mask[y0:y1, x0:x1])
    # the region's 256-pixel TIFF tiles of level 0 only (at most 9 x 9 when unaligned)
    assert seen and all(k.startswith("0/") for k in seen) and len(seen) <= 81
    # another seed, another region; no seed (validation): the centre
    assert large_data.region_of(item, 8) != (y0, x0, y1, x1)
    assert large_data.region_of(item, None) == (1024, 1024, 3072, 3072)


class RulePredictor:
    """Class 1 where the red channel is above 128, else 0 (a stand-in model)."""

    checkpoint_path = "rule"

    def __init__(self):
        self.sizes: list[tuple[int, int]] = []

    def predict(self, image):
        self.sizes.append(image.shape[:2])
        labels = (image[:, :, 0] > 128).astype(np.uint8)
        return PredictionResult(labels, np.zeros_like(labels), 0.25, 0.0, 1)


def test_a_prediction_is_written_block_by_block(labelled):
    project, image, _mask = labelled
    rec = project.images()[0]
    steps: list[tuple[int, int]] = []
    predictor = RulePredictor()
    new, unc = predict_large(project, rec, predictor, lambda d, t: steps.append((d, t)),
                             block=1024, margin=32)
    assert steps == [(i, 16) for i in range(1, 17)]
    assert max(max(s) for s in predictor.sizes) <= 1024 + 2 * 32  # never the whole image
    got = large_store.load_full_prediction(project, rec)
    np.testing.assert_array_equal(got, (image[:, :, 0] > 128).astype(np.uint8))
    assert new.has_prediction and unc == pytest.approx(0.25)
    # a second prediction replaces the first whole
    write_full(large_store.prediction_store_path(project, rec), np.zeros((4096, 4096),
                                                                        np.uint8), 255)
    predict_large(project, rec, predictor, block=2048)
    np.testing.assert_array_equal(large_store.load_full_prediction(project, rec), got)
