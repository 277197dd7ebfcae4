"""Quality of the training defaults on more than one kind of data (CPU).

    .venv/bin/python benchmarks/bench_quality.py                       # the README table
    .venv/bin/python benchmarks/bench_quality.py --data membranes --set lr=1e-3

Each data set is a small new project as a user brings it: N labelled images
trained with ``segstudio train``'s defaults for this device (``fit`` with no
config), then evaluated on held-out images the model never saw, against the
trivial predictor that paints every pixel with the training set's majority
class.  Data sets (see ``_datasets.py``):

* ``membranes``  grayscale 512x512 EM-like sections, membrane (~20 %) vs cell;
* ``road``       CamVid in grayscale, road vs the rest (binary);
* ``pole``       CamVid in grayscale, the thin Pole class vs the rest;
* ``camvid``     CamVid colour, 11 classes.

The last line is a JSON object with every figure.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import _datasets as DS  # noqa: E402

DATASETS = ("membranes", "road", "pole", "camvid")


def build(name: str, root: Path, n_train: int, n_test: int):
    """(train project, test project) for a data set."""
    if name == "membranes":
        tr = DS.make_membranes(root / "train", n_train, seed=1)
        te = DS.make_membranes(root / "test", n_test, seed=2)
        classes = DS.binary_classes("membrane")
    elif name in ("road", "pole"):
        cid = 3 if name == "road" else 2
        tr = DS.camvid_binary(root / "train", "train", cid, n_train, start=0)
        te = DS.camvid_binary(root / "test", "val", cid, n_test)
        classes = DS.binary_classes(name)
    elif name == "camvid":
        classes = DS.camvid_classes()
        tr = [(nm, DS.camvid_labels("train", nm))
              for nm in DS.camvid_links(root / "train", "train", n_train)]
        te = [(nm, DS.camvid_labels("val", nm))
              for nm in DS.camvid_links(root / "test", "val", n_test)]
    else:
        raise SystemExit(f"unknown data set {name}")
    train = DS.labelled_project(root / "train", root / "train-project", tr, classes)
    test = DS.labelled_project(root / "test", root / "test-project", te, classes)
    return train, test


def trivial(train, test) -> dict:
    """Metrics of painting every test pixel with the training set's majority class."""
    from segstudio.nn.losses import IGNORE
    from segstudio.nn.metrics import ConfusionMatrix

    lut = train.classes.train_lut(IGNORE)
    k = train.classes.num_trainable
    counts = np.zeros(k, np.int64)
    for rec in train.images():
        m = lut[train.load_mask(rec)]
        counts += np.bincount(m.ravel(), minlength=256)[:k]
    major = int(counts.argmax())
    cm = ConfusionMatrix(k, IGNORE)
    for rec in test.images():
        t = torch.from_numpy(lut[test.load_mask(rec)].astype(np.int64))
        cm.update(torch.full_like(t, major), t)
    return cm.metrics([c.name for c in train.classes.trainable])


def parse_value(current, text: str):
    """A --set value in the type of the field's current value."""
    if isinstance(current, bool) or current is None:
        return {"true": True, "false": False, "none": None}.get(text.lower(), text)
    if isinstance(current, (int, float, str)):
        return type(current)(text)
    return tuple(json.loads(text))


def run_one(name: str, n_train: int, n_test: int, overrides: dict, device: str = "cpu",
            epochs: int | None = None, verbose: bool = True) -> dict:
    from segstudio.nn.config import TrainConfig, default_train_config
    from segstudio.nn.engine import fit
    from segstudio.nn.evaluate import evaluate_project
    from segstudio.nn.events import EpochEnd, Finished, Message
    from segstudio.nn.inference import Predictor

    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        train, test = build(name, root, n_train, n_test)
        cfg = None
        if overrides or epochs:
            cfg = default_train_config(device)
            kw = {}
            for k, v in overrides.items():
                kw[k] = parse_value(getattr(cfg, k), v)
            if epochs:
                kw["epochs"] = epochs
            cfg = cfg.replace(**kw)
        t0 = time.perf_counter()
        fin, curve = None, []
        for ev in fit(train, cfg, device=device):
            if isinstance(ev, EpochEnd):
                m = ev.metrics
                curve.append((ev.epoch, m.train_loss, m.val_loss, m.miou))
                if verbose:
                    print(f"  epoch {ev.epoch}: loss {m.train_loss:.4f} val loss "
                          f"{m.val_loss if m.val_loss is None else round(m.val_loss, 4)} "
                          f"val mIoU {m.miou} {m.seconds:.1f}s", flush=True)
            elif isinstance(ev, Message) and verbose:
                print(f"  {ev.level}: {ev.text[:300]}", flush=True)
            elif isinstance(ev, Finished):
                fin = ev
        seconds = time.perf_counter() - t0
        if fin is None or fin.status != "completed":
            raise SystemExit(f"{name}: training failed: {fin and fin.message}")
        pred = Predictor.from_checkpoint(fin.best_checkpoint, device)
        res = evaluate_project(test, pred, split="all")
        base = trivial(train, test)
        train.close()
        test.close()
    out = {
        "data": name, "train_images": n_train, "test_images": n_test,
        "minutes": round(seconds / 60, 2), "config": overrides,
        "global": res["global_accuracy"], "class_avg": res["class_accuracy"],
        "miou": res["miou"], "per_class_iou": res["per_class_iou"],
        "trivial_global": base["global_accuracy"], "trivial_miou": base["miou"],
        "curve": curve,
    }
    return out


def line(r: dict) -> str:
    iou = ", ".join(f"{k} {v * 100:.0f}" if v is not None else f"{k} -"
                    for k, v in r["per_class_iou"].items())
    return (f"{r['data']:10s} {r['train_images']:3d} img  {r['minutes']:5.1f} min  global "
            f"{r['global'] * 100:5.1f} %  class avg {r['class_avg'] * 100:5.1f} %  mIoU "
            f"{r['miou'] * 100:5.1f} %  (trivial {r['trivial_global'] * 100:.1f} / "
            f"{r['trivial_miou'] * 100:.1f} %)  IoU: {iou}")


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", default="membranes,road,pole",
                    help=f"comma-separated: {', '.join(DATASETS)}")
    ap.add_argument("--train", type=int, default=20, help="labelled images per project")
    ap.add_argument("--test", type=int, default=10, help="held-out images")
    ap.add_argument("--epochs", type=int, default=None)
    ap.add_argument("--set", action="append", default=[], metavar="FIELD=VALUE",
                    help="override a TrainConfig field of the device defaults")
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--quiet", action="store_true")
    args = ap.parse_args(argv)
    torch.set_num_threads(torch.get_num_threads())
    overrides = dict(s.split("=", 1) for s in args.set)
    results = []
    for name in args.data.split(","):
        if name != "membranes" and not (DS.CAMVID / "train").is_dir():
            print(f"{name}: CamVid not found at {DS.CAMVID}, skipped")
            continue
        r = run_one(name, args.train, args.test, overrides, args.device, args.epochs,
                    not args.quiet)
        print(line(r), flush=True)
        results.append(r)
    print(json.dumps({"results": results}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
