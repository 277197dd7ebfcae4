"""segstudio propose FOLDER [--regions N] [--score S] [--out DIR] ..."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import TYPE_CHECKING

from .argtypes import positive, unit
from .common import Subparsers, add_common, open_project
from .progress import Progress

if TYPE_CHECKING:
    from ..core.project import Project
    from ..core.proposal_store import Queue

HELP = "propose the regions (superpixels) the active model most likely got wrong"

DESCRIPTION = HELP + (
    ". Every image that is not fully labelled is predicted and cut into SLIC superpixels; "
    "each superpixel is scored by the prediction's uncertainty there, weighted towards "
    "rare classes and spread out, and the best N form the queue the window's Review "
    "queue steps through (kept in the project under .segstudio/proposals/). With --out "
    "DIR the queue is also written as DIR/proposals.json with DIR/superpixels/<image>.png "
    "(16-bit maps of superpixel ids), so a script can answer the regions: write masks that "
    "label those superpixels (every other pixel unlabelled) and bring them in with "
    "'segstudio import-masks FOLDER ANSWERS --partial'.")


def add_parser(sub: Subparsers) -> None:
    from ..nn.train.proposals import REGIONS, SCORES, SIZE

    p = sub.add_parser("propose", help=HELP, description=DESCRIPTION)
    p.add_argument("folder", metavar="FOLDER")
    p.add_argument("--regions", type=positive(int, 100_000), default=REGIONS,
                   metavar="N", help=f"regions in the queue (default {REGIONS})")
    p.add_argument("--score", choices=SCORES, default="entropy",
                   help="how likely the prediction is wrong: entropy (one pass, default), "
                        "mc-dropout (a model trained with --dropout) or tta (flip/scale "
                        "disagreement)")
    p.add_argument("--passes", type=positive(int), default=8, metavar="N",
                   help="passes of --score mc-dropout (default 8)")
    p.add_argument("--no-rare", dest="rare", action="store_false",
                   help="do not weight regions towards the rare classes")
    p.add_argument("--diversity", type=unit, default=0.5, metavar="F",
                   help="0..1: each region already queued nearby in the same image multiplies "
                        "a region's score by 1-F (default 0.5; 0: off)")
    p.add_argument("--size", type=positive(int, 512), default=SIZE, metavar="PX",
                   help=f"superpixel side in pixels (default {SIZE})")
    p.add_argument("--checkpoint", metavar="CKPT",
                   help="checkpoint file (default: the project's active model)")
    p.add_argument("--device", default="auto", metavar="D", help="auto, cpu, cuda, cuda:N or mps")
    p.add_argument("--out", metavar="DIR", help="also write the queue and superpixel maps here")
    p.add_argument("--json", action="store_true", help="print the queue as one JSON object")
    add_common(p)
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from ..nn.train.proposals import ProposalSettings, propose

    settings = ProposalSettings(regions=args.regions, score=args.score, rare=args.rare,
                                diversity=args.diversity, size=args.size,
                                passes=args.passes).check()
    with open_project(args) as project:
        with Progress("proposing") as bar:
            queue = propose(project, settings, args.checkpoint, args.device, progress=bar)
        names = {c.id: c.name for c in project.classes.classes}
        for note in queue.notes:
            print(note)
        if args.out:
            _write_out(project, queue, Path(args.out), names)
        if args.json:
            print(json.dumps(dict(queue.to_dict(), classes=names)))
            return 0
        print(f"{len(queue.regions)} regions from {queue.images} images "
              f"(score {queue.score}, model {queue.checkpoint})")
        for i, r in enumerate(queue.regions[:20], 1):
            print(f"{i:4d}  {r.relpath}  region {r.segment}  score {r.score:.3f}  "
                  f"predicted {names.get(r.predicted, r.predicted)}  {r.pixels} px")
        if len(queue.regions) > 20:
            print(f"      ... and {len(queue.regions) - 20} more")
        if args.out:
            print(f"written: {Path(args.out) / 'proposals.json'} and its superpixel maps")
    return 0


def _write_out(project: Project, queue: Queue, out: Path, names: dict[int, str]) -> None:
    """DIR/proposals.json and DIR/superpixels/<relpath>.png (uint16 superpixel ids)."""
    import cv2
    import numpy as np

    from ..core import proposal_store as store
    from ..core.atomic import atomic_write_bytes, atomic_write_text
    from ..core.errors import SegStudioError

    by_rel = {r.relpath: r for r in project.images()}
    for rel in dict.fromkeys(r.relpath for r in queue.regions):
        spmap = store.load_superpixels(project, by_rel[rel])
        if spmap is None:
            continue
        if spmap.count > 65536:
            raise SegStudioError(f"{rel}: {spmap.count} superpixels do not fit a 16-bit map; "
                                 "choose a larger --size")
        ok, png = cv2.imencode(".png", spmap.full_labels().astype(np.uint16))
        if not ok:
            raise SegStudioError(f"{rel}: the superpixel map could not be encoded")
        atomic_write_bytes(out / "superpixels" / (rel + ".png"), png.tobytes())
    atomic_write_text(out / "proposals.json",
                      json.dumps(dict(queue.to_dict(), classes=names), indent=1))
