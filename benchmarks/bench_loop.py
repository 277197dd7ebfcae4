"""The correction loop, simulated: does the model in the loop help, and which
label-next strategy helps most?  CamVid train -> val, on the CPU.

    .venv/bin/python benchmarks/bench_loop.py            # 5 rounds of 10 images
    .venv/bin/python benchmarks/bench_loop.py --quick    # 2 rounds of 4 images (< 10 min)

A simulated annotator starts with no labels.  Each round it "corrects" K images
chosen by the strategy -- their ground truth is saved through the same
``Project.save_mask`` the window uses -- and one round of training follows:
round 1 from scratch, later rounds warm-started from the active model
(``fit(start_from=...)`` with the short round schedule).  After each round the
active model is evaluated on CamVid val: mIoU, pixel accuracy, and the share of
labelled pixels a person would still have to repaint from the prediction.

Strategies: random (several seeds), entropy, mc-dropout, tta, rare (see
``segstudio.nn.uncertainty``).  Every strategy starts from the same first K
images, and every model is trained with dropout (so MC dropout can be used).
Prints a table and the images each strategy needs to reach random order's
final mIoU, saves a PNG plot, and ends with one JSON line.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

import cv2
import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import _datasets as DS  # noqa: E402


def score_pool(project, strategy: str, rng: np.random.Generator, passes: int) -> list:
    """Unlabelled records of the pool, the one to correct first first."""
    from segstudio.nn.inference import Predictor
    from segstudio.nn.uncertainty import Scorer, rare_weights

    pool = [r for r in project.images() if not r.has_human_mask]
    if strategy == "random":
        return [pool[i] for i in rng.permutation(len(pool))]
    pred = Predictor.from_checkpoint(project.settings.get("active_checkpoint"), "cpu")
    scorer = Scorer(pred, strategy, passes,
                    rare_weights=rare_weights(project) if strategy == "rare" else None)
    scores = [scorer(project.load_image(r)).uncertainty for r in pool]
    return [pool[i] for i in np.argsort(scores)[::-1]]


def train_round(project, cfg, warm: bool) -> tuple[float, dict]:
    from segstudio.nn.config import round_config
    from segstudio.nn.train.engine import fit
    from segstudio.nn.runs.events import Finished

    start = project.settings.get("active_checkpoint") if warm else None
    c = round_config(cfg) if warm else cfg
    t0 = time.perf_counter()
    fin = None
    for ev in fit(project, c, device="cpu", start_from=start):
        if isinstance(ev, Finished):
            fin = ev
    if fin is None or fin.status != "completed":
        raise SystemExit(f"training failed: {fin and fin.message}")
    return time.perf_counter() - t0, fin.details


def evaluate(project, val) -> dict:
    from segstudio.nn.evaluate import evaluate_project
    from segstudio.nn.inference import Predictor

    pred = Predictor.from_checkpoint(project.settings.get("active_checkpoint"), "cpu")
    r = evaluate_project(val, pred, split="all")
    return {"miou": r["miou"], "global": r["global_accuracy"], "class_avg": r["class_accuracy"],
            "repaint": 1.0 - r["global_accuracy"]}


def run_strategy(name: str, seed: int, args, root: Path, pool_names: list[str], val) -> dict:
    from segstudio.core.project import Project
    from segstudio.nn.config import default_train_config

    folder = root / f"{name}-{seed}"
    for nm in pool_names:
        (folder).mkdir(parents=True, exist_ok=True)
        (folder / nm).symlink_to(DS.CAMVID / "train" / nm)
    project = Project.open(folder, root / f"{name}-{seed}-project")
    project.set_classes(DS.camvid_classes())
    by_name = {r.relpath: r for r in project.images()}
    cfg = default_train_config("cpu").replace(epochs=args.epochs, dropout=args.dropout,
                                              seed=seed, imagenet=None)
    rng = np.random.default_rng(seed)
    first = [pool_names[i] for i in np.random.default_rng(0).permutation(len(pool_names))]
    curve, seconds, corrected = [], 0.0, 0
    try:
        for rnd in range(args.rounds):
            if rnd == 0:
                chosen = [by_name[n] for n in first[: args.per_round]]
            else:
                chosen = score_pool(project, name, rng, args.passes)[: args.per_round]
            for rec in chosen:
                project.save_mask(project.image(rec.id), DS.camvid_labels("train", rec.relpath))
            corrected += len(chosen)
            secs, details = train_round(project, cfg, warm=rnd > 0)
            seconds += secs
            m = evaluate(project, val)
            m.update(images=corrected, train_minutes=round(seconds / 60, 2),
                     activated=details.get("activated"))
            curve.append(m)
            print(f"  {name:10s} seed {seed} round {rnd + 1}: {corrected:3d} images  mIoU "
                  f"{m['miou'] * 100:5.1f} %  pixel acc {m['global'] * 100:5.1f} %  repaint "
                  f"{m['repaint'] * 100:5.1f} %  ({seconds / 60:.1f} min training)", flush=True)
    finally:
        project.close()
    return {"strategy": name, "seed": seed, "curve": curve}


def images_to_reach(curve: list[dict], target: float) -> float | None:
    """Corrected images (linearly interpolated) at which ``curve`` first reaches ``target``."""
    prev = None
    for p in curve:
        if p["miou"] >= target:
            if prev is None or p["miou"] == prev["miou"]:
                return float(p["images"])
            f = (target - prev["miou"]) / (p["miou"] - prev["miou"])
            return prev["images"] + f * (p["images"] - prev["images"])
        prev = p
    return None


def plot(results: dict[str, list[list[dict]]], path: Path) -> None:
    """mIoU against images corrected, one line per strategy (mean over seeds)."""
    w, h, m = 720, 440, 60
    img = np.full((h, w, 3), 255, np.uint8)
    xs = [p["images"] for runs in results.values() for p in runs[0]]
    ys = [p["miou"] for runs in results.values() for run in runs for p in run]
    x1, y0, y1 = max(xs), 0.0, max(0.05, max(ys) * 1.1)

    def to_px(x, y):
        return int(m + x / x1 * (w - 2 * m)), int(h - m - (y - y0) / (y1 - y0) * (h - 2 * m))

    cv2.rectangle(img, (m, m), (w - m, h - m), (0, 0, 0), 1)
    for t in np.linspace(y0, y1, 5):
        p = to_px(0, t)
        cv2.putText(img, f"{t * 100:.0f}", (10, p[1] + 4), cv2.FONT_HERSHEY_SIMPLEX, 0.4,
                    (0, 0, 0), 1, cv2.LINE_AA)
    for x in sorted(set(xs)):
        p = to_px(x, 0)
        cv2.putText(img, str(x), (p[0] - 8, h - m + 18), cv2.FONT_HERSHEY_SIMPLEX, 0.4,
                    (0, 0, 0), 1, cv2.LINE_AA)
    cv2.putText(img, "val mIoU (%) against images corrected", (m, 30),
                cv2.FONT_HERSHEY_SIMPLEX, 0.55, (0, 0, 0), 1, cv2.LINE_AA)
    colours = [(200, 60, 60), (60, 140, 60), (60, 60, 200), (200, 140, 0), (150, 0, 150)]
    for i, (name, runs) in enumerate(results.items()):
        c = colours[i % len(colours)]
        pts = [to_px(p["images"], float(np.mean([r[j]["miou"] for r in runs])))
               for j, p in enumerate(runs[0])]
        for a, b in zip(pts, pts[1:]):
            cv2.line(img, a, b, c, 2, cv2.LINE_AA)
        for p in pts:
            cv2.circle(img, p, 3, c, -1)
        cv2.putText(img, name, (w - m - 110, m + 20 + 18 * i), cv2.FONT_HERSHEY_SIMPLEX, 0.5, c,
                    1, cv2.LINE_AA)
    cv2.imwrite(str(path), img[:, :, ::-1])


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="2 rounds of 4 images, few epochs")
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--per-round", type=int, default=10)
    ap.add_argument("--pool", type=int, default=120, help="CamVid train images to choose from")
    ap.add_argument("--val", type=int, default=101, help="CamVid val images to evaluate on")
    ap.add_argument("--epochs", type=int, default=40,
                    help="epochs of the first round (later rounds: the short round schedule)")
    ap.add_argument("--dropout", type=float, default=0.2)
    ap.add_argument("--passes", type=int, default=8, help="MC-dropout passes")
    ap.add_argument("--strategies", default="random,entropy,mc-dropout,tta,rare")
    ap.add_argument("--seeds", default="0,1,2", help="seeds of the random strategy")
    ap.add_argument("--plot", default="benchmarks/loop.png")
    args = ap.parse_args(argv)
    if args.quick:
        args.rounds, args.per_round, args.pool, args.val, args.epochs = 2, 4, 16, 10, 12
        args.seeds, args.passes = "0", 4
    if not (DS.CAMVID / "train").is_dir():
        print(f"CamVid not found at {DS.CAMVID}: nothing to measure")
        return 1
    torch.set_num_threads(torch.get_num_threads())
    strategies = args.strategies.split(",")
    seeds = [int(s) for s in args.seeds.split(",")]
    results: dict[str, list[list[dict]]] = {}
    t0 = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        names = sorted(p.name for p in (DS.CAMVID / "train").iterdir())
        pick = np.random.default_rng(1234).permutation(len(names))[: args.pool]
        pool_names = sorted(names[i] for i in pick)
        val_names = DS.camvid_links(root / "val", "val", args.val)
        val = DS.labelled_project(root / "val", root / "val-project",
                                  [(n, DS.camvid_labels("val", n)) for n in val_names],
                                  DS.camvid_classes())
        try:
            for name in strategies:
                for seed in (seeds if name == "random" else [0]):
                    r = run_strategy(name, seed, args, root, pool_names, val)
                    results.setdefault(name, []).append(r["curve"])
        finally:
            val.close()
    print()
    print(f"{'strategy':12s}" + "".join(f"{p['images']:>8d}" for p in
                                         next(iter(results.values()))[0]) + "   (val mIoU %)")
    summary = {}
    for name, runs in results.items():
        mean = [float(np.mean([r[j]["miou"] for r in runs])) for j in range(len(runs[0]))]
        summary[name] = {"miou": mean,
                         "global": [float(np.mean([r[j]["global"] for r in runs]))
                                    for j in range(len(runs[0]))],
                         "repaint": [float(np.mean([r[j]["repaint"] for r in runs]))
                                     for j in range(len(runs[0]))],
                         "train_minutes": float(np.mean([r[-1]["train_minutes"] for r in runs])),
                         "runs": len(runs)}
        print(f"{name:12s}" + "".join(f"{v * 100:8.1f}" for v in mean))
    if "random" in summary:
        target = summary["random"]["miou"][-1]
        xs = next(iter(results.values()))[0]

        def need_of(s):
            return images_to_reach([{"images": p["images"], "miou": v}
                                    for p, v in zip(xs, s["miou"])], target)

        base = need_of(summary["random"])  # random order's own images to its final mIoU
        for name, s in summary.items():
            need = need_of(s)
            s["images_to_reach_random_final"] = need
            saving = None if need is None or not base else 1.0 - need / base
            s["saving_vs_random"] = saving
            print(f"{name:12s} reaches random's final {target * 100:.1f} % mIoU after "
                  + (f"{need:.1f} images ({saving * 100:+.0f} % fewer)" if need is not None
                     else "-- (not within the rounds)"))
    plot(results, Path(args.plot))
    print(f"plot: {args.plot}; {(time.perf_counter() - t0) / 60:.1f} min in all")
    print(json.dumps({"strategies": list(results), "images_per_round": args.per_round,
                      "rounds": args.rounds, "epochs_first_round": args.epochs,
                      "dropout": args.dropout, "pool": args.pool, "val_images": args.val,
                      "results": summary}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
