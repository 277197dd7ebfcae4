"""train / predict / eval / export-model end to end on a tiny CamVid project."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from segstudio.cli.main import main
from segstudio.core.classes import ClassInfo, ClassTable
from segstudio.core.project import Project
from segstudio.nn.models.segnet import IMAGENET_MEAN, IMAGENET_STD, SegNetBasic
from segstudio.nn.runs.checkpoint import checkpoint_dict, save_checkpoint
from tests.nn.conftest import label_project


def cli(capsys, *args):
    rc = main([str(a) for a in args])
    out = capsys.readouterr()
    return rc, out.out, out.err


@pytest.fixture()
def tiny(camvid_subset):
    """8 CamVid images, 6 with corrected masks, 2 unlabelled."""
    project = label_project(camvid_subset / "images", camvid_subset / "labels",
                            camvid_subset / "classes.json", n_masks=6)
    project.close()
    return camvid_subset / "images"


def test_train_predict_eval_export(tiny, capsys, tmp_path):
    rc, out, err = cli(capsys, "train", tiny, "--model", "segnet", "--width", "0.25",
                       "--epochs", "1", "--batch-size", "2", "--crop", "64x96", "--device", "cpu",
                       "--val-split", "0.34", "--imagenet", "none")
    assert rc == 0, err
    assert "4 train / 2 val images" in out
    assert "epoch   1/1  loss" in out and "mIoU" in out and "*best" in out
    with Project.open(tiny) as project:
        run = project.runs.all()[-1]
        best = project.settings.get("active_checkpoint")
        mask_files = {r.relpath: project.mask_path(r).read_bytes()
                      for r in project.images(statuses=("corrected",))}
    assert run.status == "completed" and best == run.best_checkpoint
    assert best.endswith(f"run-{run.id}/best.pt")

    rc, out, err = cli(capsys, "predict", tiny, "--checkpoint", best, "--only", "unlabelled")
    assert rc == 0, err
    assert "predicted 2 images" in out
    with Project.open(tiny) as project:
        counts = project.status_counts()
        assert counts == {"unlabelled": 0, "predicted": 2, "partial": 0, "corrected": 6,
                          "reviewed": 0}
        for rec in project.images(statuses=("predicted",)):
            labels = project.load_prediction(rec)
            assert labels.shape == (360, 480) and set(np.unique(labels)) <= set(range(11))
            assert project.load_uncertainty(rec).shape == (360, 480)
            assert rec.predicted_by == best and 0.0 <= rec.uncertainty <= 1.0

    # --only all predicts the corrected images too, beside their masks, never over them
    rc, out, err = cli(capsys, "predict", tiny, "--only", "all", "--device", "cpu")
    assert rc == 0 and "predicted 8 images" in out, err
    with Project.open(tiny) as project:
        for rec in project.images(statuses=("corrected",)):
            assert project.mask_path(rec).read_bytes() == mask_files[rec.relpath]
            assert project.prediction_path(rec).exists() and rec.iou is not None
        assert project.status_counts()["corrected"] == 6

    report = tmp_path / "eval.json"
    rc, out, err = cli(capsys, "eval", tiny, "--checkpoint", best, "--split", "val",
                       "--json", report)
    assert rc == 0, err
    assert "global accuracy" in out and "mIoU" in out and "Road" in out
    res = json.loads(report.read_text())
    assert res["images"] == 2
    assert set(res["per_class_iou"]) == {c.name for c in
                                         ClassTable.load_json(tiny.parent / "classes.json"
                                                              ).trainable}
    m = np.array(res["confusion_matrix"])
    assert m.shape == (11, 11) and m.sum() == res["pixels"]
    assert res["global_accuracy"] == pytest.approx(np.trace(m) / m.sum())
    for key in ("class_accuracy", "miou"):
        assert 0.0 <= res[key] <= 1.0

    rc, out, err = cli(capsys, "export-model", best, "--format", "torchscript",
                       "--out", tmp_path / "m.ts")
    assert rc == 0, err
    assert "max |difference|" in out
    assert json.loads((tmp_path / "m.ts.json").read_text())["channel_ids"] == list(range(11))

    # resume the run for one more epoch
    last = best.replace("best.pt", "last.pt")
    rc, out, err = cli(capsys, "train", tiny, "--resume", last, "--epochs", "2", "--device", "cpu")
    assert rc == 0, err
    assert "resuming from" in out and "epoch   2/2" in out and "epoch   1/2" not in out


def test_bad_input_exits_with_one_line(tiny, capsys, tmp_path):
    rc, out, err = cli(capsys, "predict", tiny, "--checkpoint", tmp_path / "nope.pt")
    assert rc == 1 and err.strip().count("\n") == 0
    assert err.startswith("segstudio predict: error:") and "checkpoint not found" in err

    rc, _, err = cli(capsys, "predict", tiny)
    assert rc == 1 and "no active checkpoint" in err

    other = ClassTable((ClassInfo(0, "a", (0, 0, 0)), ClassInfo(1, "b", (1, 1, 1))))
    path = save_checkpoint(tmp_path / "other.pt", checkpoint_dict(
        SegNetBasic(2, width=0.25), other, IMAGENET_MEAN, IMAGENET_STD))
    rc, _, err = cli(capsys, "eval", tiny, "--checkpoint", path)
    assert rc == 1 and "trained for other classes" in err

    # weights only, so it would start a new run from them: but they are for other classes
    rc, _, err = cli(capsys, "train", tiny, "--resume", path, "--device", "cpu")
    assert rc == 1 and "trained for other classes" in err and err.strip().count("\n") == 0

    if not torch.cuda.is_available():
        rc, _, err = cli(capsys, "train", tiny, "--device", "cuda")
        assert rc == 1 and "no CUDA GPU" in err

    camvid_classes = ClassTable.load_json(tiny.parent / "classes.json")
    fits = save_checkpoint(tmp_path / "fits.pt", checkpoint_dict(
        SegNetBasic(11, width=0.25), camvid_classes, IMAGENET_MEAN, IMAGENET_STD))
    rc, _, err = cli(capsys, "eval", tiny, "--checkpoint", fits, "--split", "val")
    assert rc == 1 and "no corrected or reviewed images in split 'val'" in err  # never trained
    assert "try --split all" in err

    with pytest.raises(SystemExit) as exc:
        cli(capsys, "train", tiny, "--width", "0.3")
    assert exc.value.code == 2

    rc, _, err = cli(capsys, "export-model", tmp_path / "nope.pt", "--format", "onnx",
                     "--out", tmp_path / "x.onnx")
    assert rc == 1 and "checkpoint not found" in err


def test_train_without_masks_fails_clearly(make_images, capsys):
    rc, _, err = cli(capsys, "train", make_images(2), "--epochs", "1", "--device", "cpu")
    assert rc == 1 and "no corrected or reviewed images" in err


@pytest.mark.parametrize("cmd", ["train", "predict", "eval", "export-model"])
def test_help(cmd, capsys):
    with pytest.raises(SystemExit) as exc:
        main([cmd, "--help"])
    assert exc.value.code == 0
    out = capsys.readouterr().out
    assert "--project-dir" in out
