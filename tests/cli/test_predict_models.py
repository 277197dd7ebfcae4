"""`segstudio predict --only unlabelled` predicts the images that have no prediction of
the checkpoint it predicts with (issue 25, item 4): none yet, or one by another model or
by another epoch of the same file (a run's best.pt is rewritten as it improves); each
prediction records the checkpoint and its epoch."""

from __future__ import annotations

import cv2
import torch

from segstudio.cli.main import main
from segstudio.core.project import Project
from segstudio.core.sample import SAMPLE_CLASSES, draw_scene
from segstudio.nn.models.segnet import IMAGENET_MEAN, IMAGENET_STD, SegNetBasic
from segstudio.nn.runs.checkpoint import checkpoint_dict, save_checkpoint


def write_model(path, epoch: int, seed: int):
    torch.manual_seed(seed)
    model = SegNetBasic(SAMPLE_CLASSES.num_trainable, width=0.25)
    return str(save_checkpoint(path, checkpoint_dict(model, SAMPLE_CLASSES, IMAGENET_MEAN,
                                                     IMAGENET_STD, run_id=2, epoch=epoch)))


def streets(folder, n: int = 4):
    folder.mkdir(parents=True)
    labels = []
    for i in range(n):
        img, lab = draw_scene(40 + i, (64, 96))
        cv2.imwrite(str(folder / f"scene_{i + 1}.png"), cv2.cvtColor(img, cv2.COLOR_RGB2BGR))
        labels.append(lab)
    with Project.open(folder) as p:
        p.set_classes(SAMPLE_CLASSES)
        p.save_mask(p.find("scene_1.png"), labels[0], "corrected")
    return folder


def _run(capsys, *args):
    rc = main([str(a) for a in args])
    out = capsys.readouterr()
    assert rc == 0, out.err
    return out.out


def _models(folder):
    with Project.open(folder, scan=False) as p:
        return {r.relpath: (r.predicted_by, r.predicted_epoch) for r in p.images()
                if r.has_prediction}


def test_predict_unlabelled_redoes_what_another_model_predicted(tmp_path, capsys):
    torch.set_num_threads(1)
    folder = streets(tmp_path / "streets")
    run = tmp_path / "run-2"
    run.mkdir()
    last = write_model(run / "last.pt", epoch=3, seed=1)
    best = write_model(run / "best.pt", epoch=7, seed=2)
    # an early epoch's checkpoint predicted them (as the per-epoch refresh does)
    out = _run(capsys, "predict", folder, "--checkpoint", last, "--only", "unreviewed",
               "--device", "cpu")
    assert "3 images to predict" in out
    with Project.open(folder, scan=False) as p:
        p.set_setting("active_checkpoint", best)
    # the active model: every image without a human mask is another model's: all redone
    out = _run(capsys, "predict", folder, "--device", "cpu")
    assert "3 images to predict" in out and "predicted 3 images" in out
    assert _models(folder) == {f"scene_{i}.png": (best, 7) for i in (2, 3, 4)}
    # nothing left to do for the same model and epoch
    out = _run(capsys, "predict", folder, "--device", "cpu")
    assert "0 images to predict" in out
    # best.pt rewritten by a later epoch: the same path, another model
    write_model(run / "best.pt", epoch=9, seed=3)
    out = _run(capsys, "predict", folder, "--device", "cpu")
    assert "3 images to predict" in out
    assert _models(folder) == {f"scene_{i}.png": (best, 9) for i in (2, 3, 4)}
