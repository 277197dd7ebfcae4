"""The click model: objects, click maps, simulated clicks and zoom-in on exact synthetic
geometry; training on real CamVid images through the engine; its checkpoints."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from segstudio.core.errors import SegStudioError
from segstudio.nn.click import simulate as C
from segstudio.nn.click.data import click_sample
from segstudio.nn.click.model import ClickPredictor
from segstudio.nn.config import default_click_config
from segstudio.nn.inference import Predictor
from segstudio.nn.models.segnet import build_model
from segstudio.nn.runs.checkpoint import load_checkpoint
from segstudio.nn.runs.events import EpochEnd, Finished, Message
from segstudio.nn.train import data as D
from segstudio.nn.train.engine import fit
from segstudio.nn.train.step import recalibrate_batchnorm

from .conftest import label_project


def test_objects_are_the_connected_regions_of_each_class_without_ignore_and_tiny_ones():
    lab = np.full((30, 40), 255, np.uint8)  # unlabelled
    lab[2:7, 3:9] = 1          # 30 px
    lab[20:22, 30:33] = 1      # 6 px: below min_area
    lab[10:12, 10:20] = 2      # an L: 20 + 8 = 28 px
    lab[12:16, 10:12] = 2
    lab[7, 9] = 1              # diagonal neighbour of (6, 8): joins the first region
    lab[8, 9] = 1
    objs = C.find_objects(lab, ignore=(255,), min_area=10)
    assert [(o.cls, o.area, o.bbox) for o in objs] == [(1, 32, (2, 3, 9, 10)),
                                                       (2, 28, (10, 10, 16, 20))]
    want = np.zeros_like(lab, bool)
    want[2:7, 3:9] = True
    want[7, 9] = want[8, 9] = True
    assert np.array_equal(objs[0].mask, want)
    assert np.array_equal(objs[1].mask, lab == 2)
    # id 0 is a class like any other; the ignored ids and the ids not asked for are not
    lab[25:30, :] = 0
    assert [(o.cls, o.area) for o in C.find_objects(lab, min_area=10)][0] == (0, 200)
    assert [o.cls for o in C.find_objects(lab, ignore=(255,), min_area=10, classes=(2,))
            ] == [2]
    assert [o.cls for o in C.find_objects(lab, ignore=(0, 1, 255), min_area=10)] == [2]
    assert C.find_objects(np.full((5, 5), 255, np.uint8)) == []


def test_click_maps_are_disks_of_pixel_centres():
    maps = C.click_maps((9, 11), pos=[(3, 4)], neg=[(9, 1)], radius=2)
    want_pos = np.zeros((9, 11), np.uint8)
    for y in range(9):
        for x in range(11):
            if (x - 3) ** 2 + (y - 4) ** 2 <= 4:
                want_pos[y, x] = 1
    assert want_pos.sum() == 13
    assert np.array_equal(maps[:, :, 0], want_pos)
    # cut at the border: (9, 1) radius 2 -> rows 0..3, columns 7..10
    assert sorted(zip(*np.nonzero(maps[:, :, 1]), strict=True)) == [
        (0, 8), (0, 9), (0, 10), (1, 7), (1, 8), (1, 9), (1, 10), (2, 8), (2, 9), (2, 10),
        (3, 9)]
    # a centre between pixels (a click mapped into a zoomed frame)
    plane = np.zeros((4, 4), np.uint8)
    C.draw_disks(plane, [(1.5, 1.5)], 0.75)
    assert np.array_equal(plane, [[0, 0, 0, 0], [0, 1, 1, 0], [0, 1, 1, 0], [0, 0, 0, 0]])


def _rect(shape, y0, y1, x0, x1):
    m = np.zeros(shape, bool)
    m[y0:y1, x0:x1] = True
    return m


def test_first_click_is_the_deepest_interior_point():
    gt = _rect((40, 80), 10, 20, 20, 50)  # 10 rows: depth 5 on rows 14 and 15
    assert C.first_click(gt) == (24, 14)
    assert C.deepest_point(gt) == (24, 14, 5.0)
    # the image border counts as boundary: row 0 has depth 1 (it would be 2 without)
    assert C.deepest_point(_rect((10, 10), 0, 10, 0, 3)) == (1, 1, 2.0)


def test_next_click_goes_to_the_deepest_point_of_the_largest_error():
    gt = _rect((40, 80), 5, 30, 10, 60)
    pred = gt.copy()
    pred[12:18, 30:36] = False                 # false negative, 36 px
    pred[33:36, 2:5] = True                    # false positive, 9 px
    assert C.error_click(gt, pred) == (32, 14, True)
    pred[32:40, 64:72] = True                  # false positive, 64 px: now the largest
    assert C.error_click(gt, pred) == (67, 35, False)
    valid = np.ones_like(gt)
    valid[32:40, 64:72] = False                # unlabelled: not an error
    assert C.error_click(gt, pred, valid) == (32, 14, True)
    assert C.error_click(gt, gt) is None
    # the click lies in the error region it corrects
    x, y, positive = C.error_click(gt, pred)
    assert pred[y, x] and not gt[y, x] and not positive


def test_simulated_user_and_noc():
    gt = _rect((30, 30), 5, 25, 5, 25)
    seen = []

    def grow(pos, neg, prev):  # each positive click adds a 10x10 quarter of the square
        seen.append((list(pos), list(neg), prev is None))
        out = np.zeros_like(gt)
        for x, y in pos:
            qy, qx = (y - 5) // 10, (x - 5) // 10
            out[5 + 10 * qy:15 + 10 * qy, 5 + 10 * qx:15 + 10 * qx] = True
        return out

    ious = C.simulate(grow, gt, max_clicks=6)
    assert seen[0] == ([C.first_click(gt)], [], True) and seen[1][2] is False
    assert ious[:4] == [0.25, 0.5, 0.75, 1.0] and len(ious) == 6
    assert C.noc(ious, 0.85) == 4 and C.noc(ious[:3], 0.85, 20) == 20
    assert C.simulate(grow, gt, max_clicks=20, stop_iou=0.7) == [0.25, 0.5, 0.75]


def test_zoom_in_box_input_and_paste():
    shape = (360, 480)
    # a lone click: a window of 0.4 x 360 = 144 pixels round it, moved inside the image
    assert C.click_box(shape, [(240, 180)], []) == (108, 168, 252, 312)
    assert C.click_box(shape, [(5, 5)], []) == (0, 0, 144, 144)
    # a previous mask: its extent times 1.4, at least 0.15 x 360 = 54 pixels, square
    prev = _rect(shape, 100, 200, 50, 100)
    assert C.click_box(shape, [(70, 150)], [], prev) == (80, 5, 220, 145)
    assert C.click_box(shape, [(70, 150)], [(300, 20)], prev)[3] >= 301
    small = _rect(shape, 10, 20, 10, 20)
    assert C.click_box(shape, [(15, 15)], [], small) == (0, 0, 54, 54)

    rng = np.random.default_rng(0)
    image = rng.integers(0, 256, (40, 50, 3), dtype=np.uint8)
    prev = _rect((40, 50), 3, 9, 4, 12)
    inp = C.model_input(image, (2, 3, 34, 35), 32, [(10, 12)], [(20, 5)], prev)
    assert inp.shape == (32, 32, 6) and inp.dtype == np.uint8
    assert np.array_equal(inp[:, :, :3], image[2:34, 3:35])  # same size: the crop itself
    yy, xx = np.mgrid[0:32, 0:32]
    for ch, (cx, cy) in ((3, (10 - 3, 12 - 2)), (4, (20 - 3, 5 - 2))):
        d = np.sqrt((xx - cx) ** 2 + (yy - cy) ** 2)
        want = np.rint(255 * np.clip(1 - d / 8.0, 0, 1)).astype(np.uint8)  # reach 32 / 4
        assert np.array_equal(inp[:, :, ch], want)
        assert inp[cy, cx, ch] == 255 and inp[cy, cx + 8, ch] == 0 and inp[cy, cx + 4, ch] == 128
    assert np.array_equal(inp[:, :, 5], prev[2:34, 3:35] * 255)

    out = C.paste(np.ones((32, 32), np.float32), (2, 3, 34, 35), (40, 50), prev)
    assert np.array_equal(out, _rect((40, 50), 2, 34, 3, 35) | prev)
    out = C.paste(np.zeros((16, 16), np.float32), (0, 0, 40, 50), (40, 50), prev)
    assert not out.any()


def test_a_training_sample_shows_one_object_with_its_first_click(camvid):
    from segstudio.core.imageio import read_image
    from segstudio.core.maskio import read_mask

    name = sorted(p.name for p in (camvid / "train").iterdir())[0]
    image = read_image(camvid / "train" / name)
    target = read_mask(camvid / "trainannot" / name)
    target[target == 11] = 255
    for seed in range(6):
        inp, tgt = click_sample(image, target, np.random.default_rng(seed), 96, (0.75, 1.25),
                                True)
        assert inp.shape == (96, 96, 6) and tgt.shape == (96, 96)
        assert set(np.unique(tgt).tolist()) <= {0, 1, 255} and (tgt == 1).any()
        assert not inp[:, :, 4].any() and not inp[:, :, 5].any()
        # the distance map peaks on an object pixel
        peak = np.argwhere(inp[:, :, 3] == inp[:, :, 3].max())
        assert inp[:, :, 3].max() >= 240  # a centre between pixels of the zoomed frame
        assert all(tgt[y, x] == 1 for y, x in peak)


def _camvid_sample(camvid, seeds, size=64):
    from segstudio.core.imageio import read_image
    from segstudio.core.maskio import read_mask

    name = sorted(p.name for p in (camvid / "train").iterdir())[0]
    image = read_image(camvid / "train" / name)
    target = read_mask(camvid / "trainannot" / name)
    target[target == 11] = 255
    got = [click_sample(image, target, np.random.default_rng(s), size) for s in seeds]
    return np.stack([g[0] for g in got]), np.stack([g[1] for g in got])


def _batch_iou(model, inputs, targets, mean, std):
    pred = ClickPredictor(model, mean, std, inputs.shape[1]).probabilities(inputs) >= 0.5
    return float(np.mean([C.iou(t == 1, p, t != 255) for p, t in zip(pred, targets,
                                                                       strict=True)]))


def test_a_few_steps_move_the_click_model_towards_the_clicked_objects(camvid):
    """Thirty steps of the click model's training step (at its default learning rate) on
    four object samples of a CamVid image (their first click each, iterative clicks on)
    raise their IoU."""
    from segstudio.nn.click.model import ClickTrainStep, click_normalization
    from segstudio.nn.models.segnet import IMAGENET_MEAN, IMAGENET_STD

    inputs, targets = _camvid_sample(camvid, seeds=range(4))
    assert len({int((t == 1).sum()) for t in targets}) == 4  # four different objects
    mean, std = click_normalization(IMAGENET_MEAN, IMAGENET_STD)
    torch.manual_seed(0)
    model = build_model("segnet", 1, 6, 0.25)
    before = _batch_iou(model, inputs, targets, mean, std)
    opt = torch.optim.AdamW(model.parameters(), lr=default_click_config().lr, weight_decay=1e-2)
    step = ClickTrainStep(model, opt, torch.device("cpu"), mean, std, iters=2,
                          rng=np.random.default_rng(0))
    losses = [step(inputs, targets)[0] for _ in range(30)]
    # BatchNorm statistics under the new weights, as the engine takes them after an epoch
    recalibrate_batchnorm(model, [D.to_tensor(inputs, mean, std, torch.device("cpu"))])
    model.eval()
    after = _batch_iou(model, inputs, targets, mean, std)
    assert losses[-1] < 0.7 * losses[0], losses
    assert after > before + 0.2, (before, after)


@pytest.mark.slow
def test_a_click_run_in_the_engine_records_its_task_and_its_own_active_model(camvid_subset):
    project = label_project(camvid_subset / "images", camvid_subset / "labels",
                            camvid_subset / "classes.json", n_masks=3)
    try:
        cfg = default_click_config("cpu").replace(epochs=2, crop=(64, 64), batch_size=2,
                                                  val_split=0.34, val_objects=3, val_clicks=2,
                                                  precise_bn=1)
        events = list(fit(project, cfg, device="cpu"))
        fin = events[-1]
        assert isinstance(fin, Finished) and fin.status == "completed", fin
        assert any(isinstance(e, Message) and "He initialisation" in e.text for e in events)
        ends = [e for e in events if isinstance(e, EpochEnd)]
        m = ends[-1].metrics
        assert m.objects == 3 and m.max_clicks == 2 and m.miou == m.iou_3 and m.is_click
        assert 0 <= m.iou_1 <= 1 and 1 <= m.noc85 <= 2
        ck = load_checkpoint(fin.best_checkpoint)
        assert (ck.task, ck.click_size, ck.image_channels, ck.num_classes) == ("click", 64, 3, 1)
        assert ck.train_state["config"]["task"] == "click" and ck.metrics["objects"] == 3
        assert ClickPredictor.from_checkpoint(ck).size == 64
        # the click model is the project's click model, not its segmentation model
        assert project.settings.get("active_click_checkpoint") == fin.best_checkpoint
        assert project.settings.get("active_checkpoint", None) is None
        with pytest.raises(SegStudioError, match="a click model"):
            Predictor.from_checkpoint(fin.best_checkpoint)
        # a semantic run cannot start from it; a click round can, and is compared with it
        sem = list(fit(project, cfg.replace(task="semantic", loss="ce", crop=(64, 96)),
                       device="cpu", start_from=fin.best_checkpoint))
        assert sem[-1].status == "failed" and "a click model" in sem[-1].message
        again = list(fit(project, cfg.replace(epochs=1), device="cpu",
                         start_from=fin.best_checkpoint))
        assert again[-1].status == "completed"
        texts = [e.text for e in again if isinstance(e, Message)]
        assert any("a new round" in t for t in texts)
        assert any(t.startswith("the click model this round starts from scores") for t in texts)
    finally:
        project.close()


def test_click_predictor_checks_its_input(camvid_subset):
    torch.manual_seed(0)
    from segstudio.nn.click.model import click_normalization
    from segstudio.nn.models.segnet import IMAGENET_MEAN, IMAGENET_STD

    mean, std = click_normalization(IMAGENET_MEAN, IMAGENET_STD)
    pred = ClickPredictor(build_model("segnet", 1, 6, 0.25), mean, std, 64)
    img = np.zeros((50, 60, 3), np.uint8)
    out = pred.predict(img, [(10, 10)], [])
    assert out.shape == (50, 60) and out.dtype == bool
    with pytest.raises(SegStudioError, match="outside"):
        pred.predict(img, [(60, 10)], [])


def test_a_new_click_model_starts_from_a_segmentation_models_features():
    from segstudio.core.classes import ClassInfo, ClassTable
    from segstudio.nn.click.run import copy_features
    from segstudio.nn.runs.checkpoint import checkpoint_dict, parse_checkpoint

    torch.manual_seed(1)
    seg = build_model("segnet", 4, 3, 0.25)
    classes = ClassTable(tuple(ClassInfo(i, f"c{i}", (i, i, i)) for i in range(4)))
    ck = parse_checkpoint(checkpoint_dict(seg, classes, (0.5,) * 3, (0.2,) * 3))
    torch.manual_seed(2)
    click = build_model("segnet", 1, 6, 0.25)
    classifier = click.classifier.weight.detach().clone()
    with torch.no_grad():
        n = copy_features(click, ck)
    own, theirs = click.state_dict(), seg.state_dict()
    first = "encoders.0.0.weight"
    assert torch.equal(own[first][:, :3], theirs[first])
    assert not own[first][:, 3:].any()  # the click channels start at zero
    same = [k for k in theirs if not k.startswith("classifier.") and k != first]
    assert all(torch.equal(own[k], theirs[k]) for k in same)
    assert torch.equal(click.classifier.weight, classifier)  # 1 output: its own
    assert n == len(same) + 1


def test_a_click_pins_only_the_clicked_pixel_and_its_four_neighbours():
    """Where the network is sure there is no object, the refined result is exactly what
    the click pins: a disk of radius 1 (5 pixels), not a wider blot on a small object."""
    from segstudio.nn.click.model import click_normalization
    from segstudio.nn.models.segnet import IMAGENET_MEAN, IMAGENET_STD

    torch.manual_seed(0)
    model = build_model("segnet", 1, 6, 0.25)
    with torch.no_grad():  # sigmoid(-10): every pixel sure background
        model.classifier.weight.zero_()
        model.classifier.bias.fill_(-10.0)
    mean, std = click_normalization(IMAGENET_MEAN, IMAGENET_STD)
    pred = ClickPredictor(model, mean, std, 64)
    rng = np.random.default_rng(0)
    img = rng.integers(0, 256, (50, 60, 3), dtype=np.uint8)
    out = pred.predict(img, [(30, 20)], [(10, 40)])
    want = np.zeros((50, 60), bool)
    want[20, 29:32] = True
    want[19:22, 30] = True
    assert np.array_equal(out, want)
