"""The correction loop, simulated and counted in clicks: whole images or regions, chosen
at random or by the model's uncertainty.  CamVid train -> val, on the CPU.

    .venv/bin/python benchmarks/bench_loop.py            # 5 rounds, 3 training seeds
    .venv/bin/python benchmarks/bench_loop.py --quick    # 2 rounds, 1 seed (< 15 min)

A simulated annotator starts with no labels.  Its cost is counted as Cai et al.
(CVPR 2021) count it: **one click labels one superpixel with its dominant
ground-truth class** (SLIC superpixels of ``--size`` pixels, the ones the window's
Review queue shows; a superpixel whose dominant class is CamVid's void stays
unlabelled, and its click is still paid).  A whole image costs as many clicks as it
has superpixels and is saved with its exact ground truth.  Each round the annotator
spends the same number of clicks (``--round-images`` images' worth) and one round
of training follows with the same step budget for every strategy: round 1 from
scratch (``--steps``), later rounds warm-started from the last model (``--round-steps``
at half the learning rate), through ``fit(project, RunRequest(budget="N steps"))``;
step budgets, so a loaded machine changes the time, not the result.  All labelled
pixels train (no validation split); the last checkpoint of each round is evaluated
on CamVid val (mIoU, pixel accuracy; "repaint" is the share of labelled val pixels
the prediction gets wrong, what image-level correction would repaint).

Strategies (every one over the same ``--seeds``: the seed of training and of the
random orders; the first round of each unit is the same for every strategy):

  images-random              whole images in random order
  images-SCORE               whole images, highest mean pixel SCORE first
  regions-random             superpixels in random order
  regions-SCORE              superpixels, highest mean pixel SCORE first
  regions-SCORE+rare         ... weighted towards rare classes (core.regions.rarity)
  regions-SCORE+rare+div     ... and spread out (each queued neighbour halves a score)

SCORE is ``--score`` (entropy by default; tta, or mc-dropout with ``--dropout``).
Prints a table of clicks and val mIoU per round, the clicks each strategy needs to
reach images-random's final mIoU, saves a PNG plot of val mIoU against clicks, and
ends with one JSON line: per strategy and seed, the clicks and val mIoU after each
round.
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
import _loop_report as R  # noqa: E402

from segstudio.core.regions import dominant_class, label_region  # noqa: E402

QUICK = {"rounds": 2, "round_images": 2, "pool": 16, "val": 10, "steps": 60,
         "round_steps": 30, "seeds": "0"}
FULL = {"rounds": 5, "round_images": 10, "pool": 120, "val": 101, "steps": 600,
        "round_steps": 300, "seeds": "0,1,2"}


def simulated_click(mask: np.ndarray, truth: np.ndarray, spmap, segment: int,
                    unlabelled: int) -> int | None:
    """One click: superpixel ``segment`` of ``mask`` takes the dominant class of
    ``truth`` there (in place).  Returns that class, or None when it is ``unlabelled``
    (CamVid's void: nothing is written, the click is still paid)."""
    cls = dominant_class(truth, spmap, segment)
    if cls is None or cls == unlabelled:
        return None
    label_region(mask, spmap, segment, cls, name="click")
    return cls


def strategies(score: str) -> list[str]:
    return ["images-random", f"images-{score}", "regions-random", f"regions-{score}",
            f"regions-{score}+rare", f"regions-{score}+rare+div"]


class Pool:
    """The pool's images, ground truth and superpixels (computed once, shared)."""

    def __init__(self, names: list[str], size: int):
        from segstudio.core.imageio import read_image
        from segstudio.core.smart.superpixels import compute_superpixels

        self.names = names
        self.truth = {n: DS.camvid_labels("train", n) for n in names}
        self.images = {n: read_image(DS.CAMVID / "train" / n) for n in names}
        t0 = time.perf_counter()
        self.sp = {n: compute_superpixels(self.images[n], size) for n in names}
        self.segments = {n: self.sp[n].full_labels() for n in names}
        self.slic_seconds = time.perf_counter() - t0

    def clicks(self, name: str) -> int:
        return self.sp[name].count


class Annotator:
    """One strategy and seed: its project, masks in memory, clicks spent."""

    def __init__(self, name: str, seed: int, args, root: Path, pool: Pool):
        from segstudio.core.project import Project

        self.name, self.seed, self.args, self.pool = name, seed, args, pool
        folder = root / f"{name}-{seed}".replace("+", "_")
        folder.mkdir(parents=True)
        for nm in pool.names:
            (folder / nm).symlink_to(DS.CAMVID / "train" / nm)
        self.project = Project.open(folder, root / (folder.name + "-project"))
        self.project.set_classes(DS.camvid_classes())
        self.recs = {r.relpath: r for r in self.project.images()}
        self.unlabelled = self.project.classes.unlabelled_value()
        self.masks: dict[str, np.ndarray] = {}
        self.whole: set[str] = set()
        self.clicks = 0
        self.rng = np.random.default_rng(seed)
        self.unit = name.split("-", 1)[0]
        self.checkpoint: str | None = None

    # -- choosing --------------------------------------------------------------------
    def label_round(self, target: int, scorer) -> None:
        """Spend clicks until ``target`` in all (the first round: the shared order)."""
        if self.unit == "images":
            self._images(target, scorer)
        else:
            self._regions(target, scorer)

    def _images(self, target: int, scorer) -> None:
        left = [n for n in self.pool.names if n not in self.whole]
        if scorer is None or self.name == "images-random":
            rng = np.random.default_rng(1000 + self.seed) if scorer is None else self.rng
            order = [left[i] for i in rng.permutation(len(left))]
        else:
            scores = [float(scorer.maps(self.pool.images[n])[2].mean()) for n in left]
            order = [left[i] for i in np.argsort(scores)[::-1]]
        for n in order:
            if self.clicks >= target:
                break
            self.project.save_mask(self.recs[n], self.pool.truth[n], "corrected")
            self.whole.add(n)
            self.clicks += self.pool.clicks(n)

    def _regions(self, target: int, scorer) -> None:
        from segstudio.core.regions import candidates, random_order, rank, region_stats
        from segstudio.nn.uncertainty import rare_weights

        need = target - self.clicks
        if need <= 0:
            return
        per_image = {}
        for n in self.pool.names:
            mask = self.masks.get(n)
            seg = self.pool.segments[n]
            if scorer is None or self.name == "regions-random":  # no scores needed
                per_image[n] = region_stats(seg, np.zeros(seg.shape, np.float32),
                                            np.ones((1, *seg.shape), np.float32),
                                            np.zeros(seg.shape, np.uint8), mask,
                                            self.unlabelled)
            else:
                probs, labels, score = scorer.maps(self.pool.images[n])
                per_image[n] = region_stats(seg, score, probs, labels, mask, self.unlabelled)
        if scorer is None or self.name == "regions-random":
            rng = np.random.default_rng(1000 + self.seed) if scorer is None else self.rng
            chosen = random_order(candidates(per_image), need, rng)
        else:
            rare = rare_weights(self.project) if "+rare" in self.name else None
            div = 0.5 if "+div" in self.name else 0.0
            chosen = rank(candidates(per_image, rare), need, div, self.args.size * 2.5)
        touched = set()
        for reg in chosen:
            n = reg.relpath
            mask = self.masks.setdefault(n, self.project.empty_mask(self.recs[n]))
            simulated_click(mask, self.pool.truth[n], self.pool.sp[n], reg.segment,
                            self.unlabelled)
            touched.add(n)
            self.clicks += 1
        for n in touched:
            self.project.save_mask(self.project.image(self.recs[n].id), self.masks[n],
                                   "partial")

    # -- training --------------------------------------------------------------------
    def train(self, rnd: int) -> float:
        from segstudio.nn.config import default_train_config, round_config
        from segstudio.nn.runs.events import Finished
        from segstudio.nn.train.engine import fit
        from segstudio.nn.train.request import RunRequest

        a = self.args
        cfg = default_train_config("cpu").replace(val_split=0.0, seed=self.seed, imagenet=None,
                                                  dropout=a.dropout)
        if rnd == 0:
            req = RunRequest(config=cfg, budget=f"{a.steps} steps", start="scratch")
        else:  # a warm round: its own step count at half the rate (round=False: ours)
            req = RunRequest(config=round_config(cfg), budget=f"{a.round_steps} steps",
                             start="checkpoint", checkpoint=self.checkpoint, round=False)
        t0 = time.perf_counter()
        fin = None
        for ev in fit(self.project, req, device="cpu"):
            if isinstance(ev, Finished):
                fin = ev
        if fin is None or fin.status != "completed" or not fin.last_checkpoint:
            raise SystemExit(f"{self.name} seed {self.seed}: training failed: "
                             f"{fin and fin.message}")
        self.checkpoint = fin.last_checkpoint
        return time.perf_counter() - t0


def evaluate(checkpoint: str, val) -> dict:
    from segstudio.nn.evaluate import evaluate_project
    from segstudio.nn.inference import Predictor

    r = evaluate_project(val, Predictor.from_checkpoint(checkpoint, "cpu"), split="all")
    return {"miou": r["miou"], "global": r["global_accuracy"],
            "repaint": 1.0 - r["global_accuracy"]}


def run_one(name: str, seed: int, args, root: Path, pool: Pool, val, round_clicks: int
            ) -> dict:
    from segstudio.nn.inference import Predictor
    from segstudio.nn.train.proposals import RegionScorer

    ann = Annotator(name, seed, args, root, pool)
    curve, train_s, score_s = [], 0.0, 0.0
    try:
        for rnd in range(args.rounds):
            t0 = time.perf_counter()
            scorer = None
            if rnd > 0:
                pred = Predictor.from_checkpoint(ann.checkpoint, "cpu")
                scorer = RegionScorer(pred, args.score, args.passes, seed)
            ann.label_round(round_clicks * (rnd + 1), scorer)
            score_s += time.perf_counter() - t0
            train_s += ann.train(rnd)
            m = evaluate(ann.checkpoint, val)
            labelled = sum(int((mk != ann.unlabelled).sum()) for mk in ann.masks.values()) + \
                sum(int(pool.truth[n].size) for n in ann.whole)
            m.update(clicks=ann.clicks, train_minutes=round(train_s / 60, 3),
                     choose_minutes=round(score_s / 60, 3), labelled_pixels=labelled)
            curve.append(m)
            print(f"  {name:24s} seed {seed} round {rnd + 1}: {ann.clicks:6d} clicks  mIoU "
                  f"{m['miou'] * 100:5.1f} %  pixel acc {m['global'] * 100:5.1f} %  "
                  f"({train_s / 60:.1f} min training, {score_s / 60:.1f} min choosing)",
                  flush=True)
    finally:
        ann.project.close()
    return {"strategy": name, "seed": seed, "curve": curve}


def parse(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true",
                    help="2 rounds of 2 images' clicks, 16 images, 1 seed (< 15 min)")
    ap.add_argument("--rounds", type=int)
    ap.add_argument("--round-images", type=int,
                    help="clicks per round: this many images' superpixels (mean over the pool)")
    ap.add_argument("--pool", type=int, help="CamVid train images to choose from")
    ap.add_argument("--val", type=int, help="CamVid val images to evaluate on")
    ap.add_argument("--steps", type=int, help="training steps of round 1 (from scratch)")
    ap.add_argument("--round-steps", type=int, help="training steps of each later round")
    ap.add_argument("--seeds", help="training seeds, the same for every strategy")
    ap.add_argument("--size", type=int, default=24, help="superpixel side in pixels")
    ap.add_argument("--score", default="entropy", choices=("entropy", "tta", "mc-dropout"))
    ap.add_argument("--dropout", type=float, default=0.0, help="needed by --score mc-dropout")
    ap.add_argument("--passes", type=int, default=8, help="MC-dropout passes")
    ap.add_argument("--strategies", help="comma-separated (default: all six)")
    ap.add_argument("--plot", default="benchmarks/loop.png")
    args = ap.parse_args(argv)
    for k, v in (QUICK if args.quick else FULL).items():
        if getattr(args, k) is None:
            setattr(args, k, v)
    return args


def main(argv=None) -> int:
    args = parse(argv)
    if not (DS.CAMVID / "train").is_dir():
        print(f"CamVid not found at {DS.CAMVID}: nothing to measure")
        return 1
    names = sorted(p.name for p in (DS.CAMVID / "train").iterdir())
    pick = np.random.default_rng(1234).permutation(len(names))[: args.pool]
    pool = Pool(sorted(names[i] for i in pick), args.size)
    per_image = float(np.mean([pool.clicks(n) for n in pool.names]))
    round_clicks = int(round(per_image * args.round_images))
    chosen = args.strategies.split(",") if args.strategies else strategies(args.score)
    seeds = [int(s) for s in args.seeds.split(",")]
    print(f"pool {len(pool.names)} images, {per_image:.0f} superpixels each on average "
          f"(SLIC {pool.slic_seconds:.0f} s); {round_clicks} clicks per round; training "
          f"{args.steps} + {args.rounds - 1} x {args.round_steps} steps; torch threads "
          f"{torch.get_num_threads()}", flush=True)
    results: dict[str, list[list[dict]]] = {}
    t0 = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        val_names = DS.camvid_links(root / "val", "val", args.val)
        val = DS.labelled_project(root / "val", root / "val-project",
                                  [(n, DS.camvid_labels("val", n)) for n in val_names],
                                  DS.camvid_classes())
        try:
            for name in chosen:
                for seed in seeds:
                    r = run_one(name, seed, args, root, pool, val, round_clicks)
                    results.setdefault(name, []).append(r["curve"])
        finally:
            val.close()
    summary = R.report(results, seeds, round_clicks, per_image)
    R.plot(results, Path(args.plot))
    print(f"plot: {args.plot}; {(time.perf_counter() - t0) / 60:.1f} min in all")
    print(json.dumps({"unit": "clicks (one superpixel each; an image: its superpixels)",
                      "superpixel_size": args.size, "superpixels_per_image": per_image,
                      "clicks_per_round": round_clicks, "rounds": args.rounds,
                      "steps": args.steps, "round_steps": args.round_steps,
                      "score": args.score, "pool": args.pool, "val_images": args.val,
                      "seeds": seeds, "summary": summary,
                      "results": {name: [{"seed": s, "rounds": [
                          {k: p[k] for k in ("clicks", "miou", "global", "train_minutes")}
                          for p in curve]} for s, curve in zip(seeds, runs, strict=True)]
                          for name, runs in results.items()}}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
