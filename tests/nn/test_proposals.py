"""Region proposals with a model: the pipeline from the project to the stored queue."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from segstudio.core import proposal_store as store
from segstudio.core.errors import SegStudioError
from segstudio.core.project import Project
from segstudio.core.regions import label_region
from segstudio.nn.inference import Predictor
from segstudio.nn.models.segnet import IMAGENET_MEAN, IMAGENET_STD, build_model
from segstudio.nn.train import proposals as P
from tests.conftest import write_png

SQUARE = (slice(16, 48), slice(56, 88))  # where the truth is "object" (class 1)


@pytest.fixture()
def project(tmp_path):
    img = np.full((64, 96, 3), 30, np.uint8)
    img[SQUARE] = 220
    write_png(tmp_path / "imgs" / "a.png", img)
    write_png(tmp_path / "imgs" / "b.png", np.full((64, 96, 3), 90, np.uint8))
    with Project.open(tmp_path / "imgs") as p:
        yield p


def _predictor(project: Project, monkeypatch) -> Predictor:
    """A real predictor whose probabilities are set: background everywhere, sure of it,
    except on the square of a.png (truly class 1), where it says background 0.6 : 0.4."""
    torch.manual_seed(0)
    model = build_model("segnet-basic", 2, 3, 0.25)
    pred = Predictor(model, project.classes, IMAGENET_MEAN, IMAGENET_STD, device="cpu")

    def probs(img):
        h, w = img.shape[:2]
        p = torch.empty((2, h, w))
        p[0], p[1] = 0.97, 0.03
        if img[32, 70, 0] > 100:  # a.png: the bright square
            p[0][SQUARE], p[1][SQUARE] = 0.6, 0.4
        return p

    monkeypatch.setattr(pred, "_probs", probs)
    return pred


def test_the_wrongly_predicted_region_comes_first_and_is_stored(project, monkeypatch):
    pred = _predictor(project, monkeypatch)
    settings = P.ProposalSettings(regions=8, size=16, rare=False, diversity=0.0)
    queue = P.propose(project, settings, predictor=pred)
    top = queue.regions[0]
    assert top.relpath == "a.png" and top.predicted == 0  # predicted background ...
    spmap = store.load_superpixels(project, project.find("a.png"), 16)
    assert spmap is not None
    inside = np.zeros((64, 96), bool)
    inside[SQUARE] = True
    seg = spmap.full_labels() == top.segment
    assert inside[seg].mean() > 0.9  # ... on the square, where the truth is object
    outside = [r for r in queue.regions if inside[spmap.full_labels() == r.segment].mean() < 0.1
               and r.relpath == "a.png"]
    assert outside and all(r.score < top.score for r in outside)
    assert store.load_queue(project).regions == queue.regions
    # a refresh reuses the stored superpixels (SLIC does not run again)
    monkeypatch.setattr(P, "compute_superpixels", lambda *a, **k: pytest.fail("SLIC again"))
    assert P.propose(project, settings, predictor=pred).regions == queue.regions


def test_an_answered_region_leaves_the_queue(project, monkeypatch):
    pred = _predictor(project, monkeypatch)
    queue = P.propose(project, P.ProposalSettings(regions=5, size=16, rare=False),
                      predictor=pred)
    top = queue.regions[0]
    rec = project.find(top.relpath)
    spmap = store.load_superpixels(project, rec)
    mask = project.empty_mask(rec)
    label_region(mask, spmap, top.segment, 1)
    project.save_mask(rec, mask, "partial")
    left = P.still_open(project, queue)
    assert top not in left and left == queue.regions[1:]


def test_tta_scores_run_on_a_real_model_and_need_a_model(project):
    with pytest.raises(SegStudioError, match="no active model"):
        P.propose(project, P.ProposalSettings(regions=3))
    torch.manual_seed(0)
    pred = Predictor(build_model("segnet-basic", 2, 3, 0.25), project.classes, IMAGENET_MEAN,
                     IMAGENET_STD, device="cpu")
    queue = P.propose(project, P.ProposalSettings(regions=3, size=16, score="tta"),
                      predictor=pred)
    assert len(queue.regions) == 3 and queue.images == 2 and queue.score == "tta"
    assert all(0.0 <= r.uncertainty <= 1.0 for r in queue.regions)
    with pytest.raises(SegStudioError, match="region score"):
        P.ProposalSettings(score="bogus").check()
