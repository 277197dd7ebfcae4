"""Quality of the training defaults on new projects of several kinds (CPU).

    .venv/bin/python benchmarks/bench_quality.py                        # the README table
    .venv/bin/python benchmarks/bench_quality.py --data nuclei --seeds 0 --set loss=ce+dice
    .venv/bin/python benchmarks/bench_quality.py --budget 1300steps --threads 1

Each data set becomes a new user's project: 20 labelled images (spread over the data,
a different spread per seed), trained as ``segstudio train FOLDER`` trains with no
options (the project's fingerprint chooses the recipe, the budget is the default
time), then scored on held-out images the model never saw, beside the *trivial
predictor* (every pixel the training masks' majority class).  ``--set`` and
``--budget`` change the recipe (for the measurements behind its rules).

Data sets (``_datasets.py``; CamVid and nuclei are read from ../shared/datasets):

* ``camvid``     CamVid colour, 11 classes; scored on the 101 val images
* ``pole``       CamVid colour, the thin Pole class against the rest; val images
* ``nuclei``     193 real microscopy images (fluorescence and brightfield), nucleus vs
                 background (0/255 masks as users bring them); scored on the other 173
* ``membranes``  synthetic grey EM-like sections (thin membranes ~18 %, mitochondria
                 with cristae, faint walls); scored on 30 more
* ``cracks``     synthetic RGB pavement with thin cracks (~1.2 %), stains, shadows and
                 joints; scored on 40 more

Per run it prints one line; then a table of means over the seeds; the last line is a
JSON object with every figure.
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

DATASETS = ("camvid", "pole", "nuclei", "membranes", "cracks")
MINORITY = {"pole": "pole", "nuclei": "nucleus", "membranes": "membrane", "cracks": "crack"}
POLE = 2  # CamVid's id of Pole


def build(name: str, root: Path, n_train: int, seed: int, n_test: int | None = None):
    """(train project with ``n_train`` labelled images, test project) for a data set."""
    if name in ("camvid", "pole"):
        names = DS.spread(sorted(p.name for p in (DS.CAMVID / "train").iterdir()), n_train, seed)
        test_names = sorted(p.name for p in (DS.CAMVID / "val").iterdir())[:n_test]
        DS.camvid_links_named(root / "train", "train", names)
        DS.camvid_links_named(root / "test", "val", test_names)
        if name == "camvid":
            classes = DS.camvid_classes()
            tr = [(nm, DS.camvid_labels("train", nm)) for nm in names]
            te = [(nm, DS.camvid_labels("val", nm)) for nm in test_names]
        else:
            classes = DS.binary_classes("pole")
            tr = [(nm, DS.camvid_class_vs_rest("train", nm, POLE)) for nm in names]
            te = [(nm, DS.camvid_class_vs_rest("val", nm, POLE)) for nm in test_names]
    elif name == "nuclei":
        every = DS.nuclei_names()
        rng = np.random.default_rng(seed)
        order = list(rng.permutation(len(every)))
        train_names = [every[i] for i in order[:n_train]]
        test_names = [every[i] for i in order[n_train:]][:n_test]
        tr = DS.nuclei_links(root / "train", train_names)
        te = DS.nuclei_links(root / "test", test_names)
        classes = DS.binary_classes("nucleus")
    elif name == "membranes":
        tr = DS.make_membranes_hard(root / "train", n_train, seed=10 + seed)
        te = DS.make_membranes_hard(root / "test", n_test or 30, seed=99)
        classes = DS.binary_classes("membrane")
    elif name == "cracks":
        tr = DS.make_cracks(root / "train", n_train, seed=10 + seed)
        te = DS.make_cracks(root / "test", n_test or 40, seed=99)
        classes = DS.binary_classes("crack")
    else:
        raise SystemExit(f"unknown data set {name}; choose from {', '.join(DATASETS)}")
    train = DS.labelled_project(root / "train", root / "train-project", tr, classes)
    test = DS.labelled_project(root / "test", root / "test-project", te, classes)
    return train, test


def trivial(train, test) -> dict:
    """Metrics of painting every test pixel with the training set's majority class."""
    from segstudio.nn.train.losses import IGNORE
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


def run_one(name: str, seed: int, n_train: int, overrides: dict, budget: str | None,
            device: str = "cpu", verbose: bool = True, n_test: int | None = None,
            recipe: bool = True) -> dict:
    from segstudio.nn.train.engine import fit
    from segstudio.nn.evaluate import evaluate_project
    from segstudio.nn.runs.events import EpochEnd, Finished, Message
    from segstudio.nn.inference import Predictor
    from segstudio.nn.train.request import RunRequest

    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        train, test = build(name, root, n_train, seed, n_test)
        changes = {k: v for k, v in overrides.items()}
        changes.setdefault("seed", str(seed))
        request = RunRequest(task="semantic", start="scratch", settings=changes,
                             budget=budget or (None if recipe else "10m"), recipe=recipe)
        t0 = time.perf_counter()
        fin, curve, plan = None, [], ""
        for ev in fit(train, request, device=device):
            if isinstance(ev, EpochEnd):
                m = ev.metrics
                curve.append((ev.epoch, m.train_loss, m.val_loss, m.miou))
                if verbose:
                    print(f"  {name} {ev.epoch}: loss {m.train_loss:.4f} val mIoU "
                          f"{m.miou if m.miou is None else round(m.miou, 4)} "
                          f"{m.seconds:.1f}s", flush=True)
            elif isinstance(ev, Message):
                if ev.text.startswith(("recipe", "budget")):
                    plan += ev.text + "\n"
                if verbose:
                    print(f"  {ev.level}: {ev.text[:400]}", flush=True)
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
    minority = MINORITY.get(name)
    return {
        "data": name, "seed": seed, "train_images": n_train, "minutes": round(seconds / 60, 2),
        "settings": overrides, "budget": budget, "recipe": recipe, "plan": plan.strip(),
        "global": res["global_accuracy"], "class_avg": res["class_accuracy"],
        "miou": res["miou"], "per_class_iou": res["per_class_iou"],
        "minority_iou": res["per_class_iou"].get(minority) if minority else None,
        "trivial_global": base["global_accuracy"], "trivial_miou": base["miou"],
        "curve": curve,
    }


def _pct(v) -> str:
    return "  -  " if v is None else f"{v * 100:5.1f}"


def line(r: dict) -> str:
    iou = ", ".join(f"{k} {v * 100:.0f}" if v is not None else f"{k} -"
                    for k, v in r["per_class_iou"].items())
    return (f"{r['data']:10s} seed {r['seed']}  {r['minutes']:5.1f} min  global "
            f"{_pct(r['global'])} %  class avg {_pct(r['class_avg'])} %  mIoU "
            f"{_pct(r['miou'])} %  (trivial {_pct(r['trivial_global'])} / "
            f"{_pct(r['trivial_miou'])} %)  IoU: {iou}")


def table(results: list[dict]) -> str:
    rows = ["| Data (20 labelled) | Seeds | Pixel acc. | Class avg. | mIoU | Minority IoU | "
            "Trivial acc. / mIoU | Minutes |", "|---|---|---|---|---|---|---|---|"]
    for name in dict.fromkeys(r["data"] for r in results):
        rs = [r for r in results if r["data"] == name]

        def mean(key, rs=rs):
            vals = [r[key] for r in rs if r[key] is not None]
            return float(np.mean(vals)) if vals else None

        def span(key, rs=rs):
            vals = [r[key] for r in rs if r[key] is not None]
            if not vals:
                return "-"
            if len(vals) == 1:
                return f"{vals[0] * 100:.1f} %"
            return (f"{np.mean(vals) * 100:.1f} % ({min(vals) * 100:.1f}-"
                    f"{max(vals) * 100:.1f})")

        rows.append(f"| {name} | {len(rs)} | {span('global')} | {span('class_avg')} | "
                    f"{span('miou')} | {span('minority_iou')} | "
                    f"{_pct(mean('trivial_global')).strip()} / "
                    f"{_pct(mean('trivial_miou')).strip()} % | {mean('minutes'):.1f} |")
    return "\n".join(rows)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", default=",".join(DATASETS),
                    help=f"comma-separated: {', '.join(DATASETS)}")
    ap.add_argument("--seeds", default="0,1,2", help="comma-separated seeds")
    ap.add_argument("--train", type=int, default=20, help="labelled images per project")
    ap.add_argument("--test", type=int, default=None, help="at most this many scored images")
    ap.add_argument("--budget", default=None, help="training budget (default: the "
                    "defaults' time budget); e.g. 1300steps for runs that a loaded machine "
                    "does not change")
    ap.add_argument("--set", action="append", default=[], metavar="FIELD=VALUE",
                    help="a setting over the recipe (the CLI's words: loss=ce+dice)")
    ap.add_argument("--no-recipe", action="store_true",
                    help="the device's defaults without the fingerprint's rules")
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--threads", type=int, default=None, help="torch threads")
    ap.add_argument("--quiet", action="store_true")
    args = ap.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    overrides = dict(s.split("=", 1) for s in args.set)
    results = []
    for name in args.data.split(","):
        if name in ("camvid", "pole") and not (DS.CAMVID / "train").is_dir():
            print(f"{name}: CamVid not found at {DS.CAMVID}, skipped")
            continue
        if name == "nuclei" and not (DS.NUCLEI / "images").is_dir():
            print(f"{name}: the nuclei set not found at {DS.NUCLEI}, skipped")
            continue
        for seed in (int(s) for s in args.seeds.split(",")):
            r = run_one(name, seed, args.train, overrides, args.budget, args.device,
                        not args.quiet, args.test, not args.no_recipe)
            print(line(r), flush=True)
            results.append(r)
    print(table(results))
    print(json.dumps({"results": results}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
