"""Interactive segmentation on CamVid val: the click model against GrabCut (CPU).

    .venv/bin/python benchmarks/bench_interactive.py --quick     # < 20 min on 2 cores
    .venv/bin/python benchmarks/bench_interactive.py             # longer training, more objects

Objects: connected regions (8-connected, at least ``--min-area`` pixels) of the
thin and small classes Pole, SignSymbol, Pedestrian, Bicyclist and of Car and
Building in CamVid's val label maps, the same number per class (drawn with seed
0).  The unlabelled pixels count neither way.

The simulated user (the standard NoC protocol, at most 20 clicks): each click
goes to the deepest point of the largest error region of the current result
(a false negative gives a positive click, a false positive a negative one).
NoC@85 / NoC@90: the clicks needed to reach 85 / 90 % IoU (20 when never).

* click model: segstudio's click model, trained here on CamVid *train* only
  (the engine as ``segstudio train --task click``, starting from the features of
  the shipped models/camvid-segnet-w0.25.pt, itself trained on CamVid train
  only; ``--quick``: 96x96 boxes, at most one simulated-click round before a
  step, at most 40 epochs or 14 minutes, the best epoch so far; the checkpoint
  is cached in ~/.cache/segstudio/ or at ``--ckpt``; ``--retrain`` trains
  again).  Two rows: ``click_model`` as the Click tool runs it (its
  probabilities refined by GrabCut at full resolution) and ``click_network``
  (the network's thresholded output alone).  ``click_box``: the Click tool started
  by a box drag round the object (the same box GrabCut gets, counted as the first
  click; the tool's first positive click goes to the box's centre).
* GrabCut: OpenCV's GrabCut (segstudio.core.grabcut) in the object's bounding
  box widened by 10 % of its side (at least 3 pixels) on each side, as
  box-based papers seed it; the box counts as the first click, and every later
  click is a one-point object / background stroke of radius 3 (GrabCut then
  runs again with all strokes).

Prints NoC@85 and NoC@90 per method and per class, the median latency of one
click-model update on a 480x360 image, and last one JSON line.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import _datasets as DS  # noqa: E402

from segstudio.core.grabcut import grabcut_region  # noqa: E402
from segstudio.nn.click import simulate as C  # noqa: E402

CLASSES = {1: "Building", 2: "Pole", 6: "SignSymbol", 8: "Car", 9: "Pedestrian",
           10: "Bicyclist"}
SHIPPED = Path(__file__).resolve().parents[1] / "models" / "camvid-segnet-w0.25.pt"
CACHE = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "segstudio"


def log(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


def train_click_model(ckpt: Path, epochs: int, crop: int, minutes: float, every: int,
                      iters: int, features: str | None, lr: float | None = None,
                      warmup: int | None = None, device: str = "cpu"):
    """Train the click model on every ``every``-th image of CamVid train (the engine, as
    ``--task click``), for ``epochs`` or ``minutes`` (then the best epoch so far)."""
    from segstudio.nn.config import default_click_config
    from segstudio.nn.train.engine import fit
    from segstudio.nn.runs.events import EpochEnd, Finished, Message, RunStarted

    cfg = default_click_config(device).replace(epochs=epochs, crop=(crop, crop), val_split=0.05,
                                              val_objects=24, val_clicks=3, click_iters=iters,
                                              features_from=features)
    if lr is not None:
        cfg = cfg.replace(lr=lr)
    if warmup is not None:
        cfg = cfg.replace(warmup_steps=warmup)
    cancel = threading.Event()
    t0 = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        names = sorted(os.listdir(DS.CAMVID / "train"))[::every]
        (root / "train").mkdir()
        for nm in names:  # links: the data set is never copied
            (root / "train" / nm).symlink_to(DS.CAMVID / "train" / nm)
        labels = [(nm, DS.camvid_labels("train", nm)) for nm in names]
        project = DS.labelled_project(root / "train", root / "project", labels,
                                      DS.camvid_classes())
        timer = threading.Timer(minutes * 60, cancel.set)
        timer.start()
        fin = None
        try:
            for ev in fit(project, cfg, device=device, cancel=cancel, out=ckpt):
                if isinstance(ev, RunStarted):
                    log(f"training the click model: {ev.train_images} train / {ev.val_images} "
                        f"val images, {ev.parameters:,} parameters, {epochs} epochs at "
                        f"{crop}x{crop} (at most {minutes:g} min)")
                elif isinstance(ev, EpochEnd):
                    m = ev.metrics
                    log(f"  epoch {ev.epoch}/{ev.epochs}: loss {m.train_loss:.3f}, val IoU "
                        f"after 1 / 3 clicks {(m.iou_1 or 0) * 100:.1f} / "
                        f"{(m.iou_3 or 0) * 100:.1f} % ({m.seconds:.0f} s)")
                elif isinstance(ev, Message) and (ev.level != "info" or "features" in ev.text):
                    log(f"  {ev.level}: {ev.text.splitlines()[0]}")
                elif isinstance(ev, Finished):
                    fin = ev
        finally:
            timer.cancel()
            project.close()
    if fin is None or fin.best_checkpoint is None:
        raise SystemExit(f"training failed: {fin.message if fin else 'no result'}")
    log(f"  {fin.status} after {fin.epochs_done} epochs in {time.perf_counter() - t0:.0f} s")
    return fin.epochs_done, time.perf_counter() - t0


def pick_objects(per_class: int, min_area: int, seed: int = 0):
    """[(name, image RGB, object mask, valid mask, class id)], per_class of each class."""
    from segstudio.core.imageio import read_image

    names = sorted(os.listdir(DS.CAMVID / "val"))
    found: dict[int, list[tuple[str, int]]] = {c: [] for c in CLASSES}
    cache = {}
    for nm in names:
        lab = DS.camvid_labels("val", nm)
        objs = C.find_objects(lab, ignore=(DS.CAMVID_IGNORE,), min_area=min_area,
                              classes=tuple(CLASSES))
        cache[nm] = objs
        for k, ob in enumerate(objs):
            found[ob.cls].append((nm, k))
    rng = np.random.default_rng(seed)
    out = []
    for c in CLASSES:
        pool = found[c]
        take = rng.choice(len(pool), size=min(per_class, len(pool)), replace=False)
        for i in sorted(take.tolist()):
            nm, k = pool[i]
            lab = DS.camvid_labels("val", nm)
            img = read_image(DS.CAMVID / "val" / nm)
            out.append((nm, img, cache[nm][k].mask, lab != DS.CAMVID_IGNORE, c))
    return out


def grabcut_box(mask: np.ndarray) -> tuple[tuple[int, int], tuple[int, int]]:
    rows, cols = np.flatnonzero(mask.any(1)), np.flatnonzero(mask.any(0))
    y0, y1, x0, x1 = rows[0], rows[-1], cols[0], cols[-1]
    my = max(3, round(0.1 * (y1 - y0 + 1)))
    mx = max(3, round(0.1 * (x1 - x0 + 1)))
    h, w = mask.shape
    return (max(x0 - mx, 0), max(y0 - my, 0)), (min(x1 + mx, w - 1), min(y1 + my, h - 1))


def box_curve(predictor, img, gt, valid, max_clicks: int, stop: float) -> list[float]:
    """The Click tool started by a box drag: the same box GrabCut gets, the first click
    at its centre (as the tool places it) and the model looking inside the box; the box
    counts as the first click, later clicks go to the largest error."""
    (x0, y0), (x1, y1) = grabcut_box(gt)
    box = (y0, x0, y1 + 1, x1 + 1)
    pos = [((x0 + x1) // 2, (y0 + y1) // 2)]
    neg: list[tuple[int, int]] = []
    pred = predictor.predict(img, pos, neg, None, box)
    ious = [C.iou(gt, pred, valid)]
    while len(ious) < max_clicks and ious[-1] < stop:
        c = C.error_click(gt, pred, valid)
        if c is None:
            break
        (pos if c[2] else neg).append((c[0], c[1]))
        pred = predictor.predict(img, pos, neg, pred, box)
        ious.append(C.iou(gt, pred, valid))
    return ious


def grabcut_curve(img, gt, valid, max_clicks: int, stop: float) -> list[float]:
    c0, c1 = grabcut_box(gt)
    fg: list[list[tuple[int, int]]] = []
    bg: list[list[tuple[int, int]]] = []

    def run():
        reg = grabcut_region(img, c0, c1, fg_strokes=fg, bg_strokes=bg, stroke_radius=3)
        out = np.zeros(gt.shape, bool)
        if reg is not None:
            y0, x0, sel = reg
            out[y0:y0 + sel.shape[0], x0:x0 + sel.shape[1]] = sel
        return out

    pred = run()
    ious = [C.iou(gt, pred, valid)]
    while len(ious) < max_clicks and ious[-1] < stop:
        c = C.error_click(gt, pred, valid)
        if c is None:
            break
        (fg if c[2] else bg).append([(c[0] + 0.5, c[1] + 0.5)])
        pred = run()
        ious.append(C.iou(gt, pred, valid))
    return ious


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="short training, fewer objects")
    ap.add_argument("--ckpt", type=Path, help="click model checkpoint (trained when missing)")
    ap.add_argument("--retrain", action="store_true")
    ap.add_argument("--per-class", type=int)
    ap.add_argument("--min-area", type=int, default=100)
    ap.add_argument("--max-clicks", type=int, default=20)
    ap.add_argument("--epochs", type=int)
    ap.add_argument("--crop", type=int)
    ap.add_argument("--train-minutes", type=float)
    ap.add_argument("--features", default=str(SHIPPED),
                    help="segmentation checkpoint the click model starts from (default: the "
                         "shipped CamVid model, trained on CamVid train only); 'none': He init")
    ap.add_argument("--iters", type=int, help="simulated-click rounds before a step, at most "
                    "(--quick: 1, else 3)")
    ap.add_argument("--lr", type=float, help="learning rate (default: the click model's)")
    ap.add_argument("--warmup", type=int, help="warm-up steps (default: the click model's)")
    ap.add_argument("--device", default="cpu", help="where the click model trains (cuda: the "
                    "GPU defaults); the clicks are always evaluated on the CPU, as the tool runs")
    ap.add_argument("--every", type=int, help="train on every N-th CamVid train image "
                    "(default 1: all)")
    args = ap.parse_args()
    if not (DS.CAMVID / "val").is_dir():
        raise SystemExit(f"CamVid not found at {DS.CAMVID} (set SEGSTUDIO_CAMVID)")
    torch.manual_seed(0)
    quick = args.quick
    per_class = args.per_class or (6 if quick else 25)
    epochs = args.epochs or (40 if quick else 30)
    crop = args.crop or (96 if quick else 160)
    minutes = args.train_minutes or (14.0 if quick else 240.0)
    ckpt = args.ckpt or CACHE / f"bench-click-camvid-{'quick' if quick else 'full'}.pt"
    t_start = time.perf_counter()
    trained = None
    if args.retrain or not ckpt.is_file():
        ckpt.parent.mkdir(parents=True, exist_ok=True)
        trained = train_click_model(ckpt, epochs, crop, minutes, args.every or 1,
                                    args.iters if args.iters is not None else 1 if quick else 3,
                                    None if args.features == "none" else args.features, args.lr,
                                    args.warmup, args.device)
    else:
        log(f"using the cached click model {ckpt} (--retrain trains again)")

    from segstudio.nn.runs.checkpoint import checkpoint_summary, load_checkpoint
    from segstudio.nn.click.model import ClickPredictor

    ck = load_checkpoint(ckpt)
    predictor = ClickPredictor.from_checkpoint(ck, device="cpu")  # as the Click tool
    network = ClickPredictor.from_checkpoint(ck, device="cpu", refine=False)
    objects = pick_objects(per_class, args.min_area)
    log(f"{len(objects)} objects ({per_class} per class, >= {args.min_area} px) of CamVid val; "
        f"click model: {checkpoint_summary(ck)}")
    stop = 0.90  # both NoC@85 and NoC@90 are known once 90 % is reached
    mc = args.max_clicks
    rows = {"click_model": [], "click_network": [], "click_box": [], "grabcut": []}
    latencies: list[float] = []
    for i, (_nm, img, gt, valid, cls) in enumerate(objects):
        def predict(pos, neg, prev, img=img):
            m = predictor.predict(img, pos, neg, prev)
            latencies.append(predictor.last_seconds)
            return m

        cm = C.simulate(predict, gt, valid, mc, stop)
        cn = C.simulate(lambda pos, neg, prev, img=img: network.predict(img, pos, neg, prev),
                        gt, valid, mc, stop)
        gc = grabcut_curve(img, gt, valid, mc, stop)
        cb = box_curve(predictor, img, gt, valid, mc, stop)
        rows["click_model"].append((cls, cm))
        rows["click_network"].append((cls, cn))
        rows["click_box"].append((cls, cb))
        rows["grabcut"].append((cls, gc))
        if (i + 1) % 10 == 0:
            log(f"  {i + 1}/{len(objects)} objects ({time.perf_counter() - t_start:.0f} s)")

    res: dict = {"objects": len(objects), "per_class": per_class, "max_clicks": mc}
    print(f"CamVid val, {len(objects)} objects, at most {mc} clicks")
    print(f"{'method':<14} {'NoC@85':>7} {'NoC@90':>7} {'IoU@1':>6} {'IoU@3':>6}   per class "
          "NoC@85")
    for method, data in rows.items():
        n85 = [C.noc(c, 0.85, mc) for _, c in data]
        n90 = [C.noc(c, 0.90, mc) for _, c in data]
        i1 = [c[0] for _, c in data]
        i3 = [c[min(3, len(c)) - 1] for _, c in data]
        per = {}
        for cid, name in CLASSES.items():
            v = [C.noc(c, 0.85, mc) for k, c in data if k == cid]
            per[name] = float(np.mean(v)) if v else None
        res[f"noc85_{method}"] = float(np.mean(n85))
        res[f"noc90_{method}"] = float(np.mean(n90))
        res[f"iou1_{method}"] = float(np.mean(i1))
        res[f"per_class_noc85_{method}"] = per
        text = "  ".join(f"{k} {v:.1f}" for k, v in per.items() if v is not None)
        print(f"{method:<14} {np.mean(n85):7.2f} {np.mean(n90):7.2f} {np.mean(i1) * 100:6.1f} "
              f"{np.mean(i3) * 100:6.1f}   {text}")
    med = float(np.median(latencies)) if latencies else None
    res["click_update_ms_median"] = med * 1000 if med is not None else None
    res["click_model_size"] = ck.click_size
    if trained is not None:
        res["train_epochs"], res["train_seconds"] = trained[0], round(trained[1], 1)
    res["seconds"] = round(time.perf_counter() - t_start, 1)
    print(f"click model: median update {med * 1000:.0f} ms per click on 480x360 "
          f"({len(latencies)} updates, input {ck.click_size}x{ck.click_size}); "
          f"total {res['seconds']:.0f} s")
    print(json.dumps(res))


if __name__ == "__main__":
    main()
