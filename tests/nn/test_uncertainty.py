"""Label-next scores: MC dropout, test-time augmentation and the rare-class ranking."""

from __future__ import annotations

import math

import cv2
import numpy as np
import pytest
import torch

from segstudio.core.classes import ClassTable
from segstudio.core.errors import SegStudioError
from segstudio.nn.evaluate import predict_project
from segstudio.nn.inference import Predictor
from segstudio.nn.models.segnet import IMAGENET_MEAN, IMAGENET_STD, build_model
from segstudio.nn.uncertainty import Scorer, mutual_information, rare_weights


@pytest.fixture()
def frame(camvid):
    img = cv2.imread(str(sorted((camvid / "train").iterdir())[0]), cv2.IMREAD_COLOR_RGB)
    return cv2.resize(img, (160, 120), interpolation=cv2.INTER_AREA)


def _predictor(camvid, dropout: float) -> Predictor:
    classes = ClassTable.load_json(camvid / "classes.json")
    torch.manual_seed(0)
    model = build_model("segnet", classes.num_trainable, 3, 0.25)
    model.dropout = dropout
    return Predictor(model, classes, IMAGENET_MEAN, IMAGENET_STD, device="cpu")


def test_mutual_information_is_zero_for_agreement_and_one_for_opposite_certainty():
    a = torch.tensor([[[[1.0]], [[0.0]]]])  # (1, K=2, 1, 1): certain of class 0
    b = torch.tensor([[[[0.0]], [[1.0]]]])
    assert float(mutual_information(torch.cat([a, a]))) == 0.0
    assert float(mutual_information(torch.cat([a, b]))) == pytest.approx(1.0, abs=1e-6)
    half = torch.full((2, 2, 1, 1), 0.5)  # both passes unsure in the same way: no disagreement
    assert float(mutual_information(half)) == pytest.approx(0.0, abs=1e-6)


def test_mc_dropout_passes_differ_and_the_score_is_deterministic_under_a_seed(camvid, frame):
    pred = _predictor(camvid, dropout=0.3)
    scorer = Scorer(pred, "mc-dropout", passes=4, seed=7)
    passes = scorer._mc_passes(pred._prepare(frame))
    assert passes.shape == (4, pred.num_classes, 120, 160)
    assert not torch.equal(passes[0], passes[1])
    before = torch.random.get_rng_state()
    s1 = scorer(frame).uncertainty
    assert torch.equal(torch.random.get_rng_state(), before)  # the global RNG is untouched
    assert Scorer(pred, "mc-dropout", passes=4, seed=7)(frame).uncertainty == s1
    assert Scorer(pred, "mc-dropout", passes=4, seed=8)(frame).uncertainty != s1
    assert 0.0 < s1 <= 1.0
    # dropout is off again for ordinary prediction: two predictions are identical
    assert np.array_equal(pred.predict(frame).labels, pred.predict(frame).labels)
    assert pred.model.mc_dropout is False
    # the passes run on a private copy: a predictor shared with other threads never has
    # dropout switched on
    assert scorer._mc.model is not pred.model and scorer._mc.model.mc_dropout is True


def test_mc_dropout_refuses_a_model_without_dropout(camvid):
    with pytest.raises(SegStudioError, match="trained with dropout"):
        Scorer(_predictor(camvid, dropout=0.0), "mc-dropout")


def test_tta_and_rare_scores(camvid, frame):
    pred = _predictor(camvid, dropout=0.0)
    plain = pred.predict(frame)
    tta = Scorer(pred, "tta")(frame)
    assert np.array_equal(tta.labels, plain.labels)  # the saved prediction is the usual one
    assert 0.0 < tta.uncertainty < 1.0 and tta.uncertainty != plain.uncertainty
    k = pred.num_classes
    w = [1.0] * k
    w[2] = 4.0  # Pole rare
    rare = Scorer(pred, "rare", rare_weights=w)(frame)
    ch = np.searchsorted(pred.channel_ids, plain.labels)
    weights = np.where(ch == 2, 1.0, 0.25)
    expect = float((plain.entropy.astype(np.float32) / 255.0 * weights).mean())
    assert rare.uncertainty == pytest.approx(expect, rel=1e-6)
    with pytest.raises(SegStudioError, match="choose entropy"):
        Scorer(pred, "margin")


def test_a_scorer_stores_its_score_through_predict_project(camvid_project):
    project = camvid_project
    classes = project.classes
    torch.manual_seed(0)
    model = build_model("segnet", classes.num_trainable, 3, 0.25)
    pred = Predictor(model, classes, IMAGENET_MEAN, IMAGENET_STD, device="cpu")
    recs = project.images()[:2]
    w = rare_weights(project)
    assert len(w) == classes.num_trainable and 1.5 < max(w) <= 5.0 and min(w) >= 0.2
    summary = predict_project(project, Scorer(pred, "tta"), records=recs)
    assert summary.predicted == 2 and not summary.skipped
    stored = [project.image(r.id).uncertainty for r in recs]
    again = [Scorer(pred, "tta")(project.load_image(r)).uncertainty for r in recs]
    assert stored == pytest.approx(again, rel=1e-9)
    assert all(not math.isclose(s, pred.predict(project.load_image(r)).uncertainty)
               for s, r in zip(stored, recs, strict=False))
