"""segstudio eval FOLDER --checkpoint CKPT [--split val|train|all] [--json FILE]"""

from __future__ import annotations

import argparse
import json
from typing import Any

from ..core.atomic import atomic_write_text
from ..core.errors import SegStudioError
from .common import Subparsers, add_common, open_project
from .predict import checkpoint_for
from .progress import Progress

HELP = "evaluate a checkpoint on the project's human masks (accuracy, IoU)"


def add_parser(sub: Subparsers) -> None:
    p = sub.add_parser("eval", help=HELP, description=HELP)
    p.add_argument("folder", metavar="FOLDER")
    p.add_argument("--checkpoint", metavar="CKPT",
                   help="checkpoint file (default: the project's active checkpoint)")
    p.add_argument("--split", choices=("val", "train", "all"), default="val")
    p.add_argument("--json", metavar="FILE", help="also write the metrics as JSON")
    p.add_argument("--device", default="auto", metavar="D", help="auto, cpu, cuda, cuda:N or mps")
    add_common(p)
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from ..nn.evaluate import evaluate_project, select_for_eval
    from ..nn.inference import Predictor
    from ..nn.plan.fingerprint import project_channels
    from ..nn.runs.checkpoint import checkpoint_summary, load_checkpoint

    with open_project(args) as project:
        ckpt = load_checkpoint(checkpoint_for(project, args.checkpoint))
        predictor = Predictor.from_checkpoint(ckpt, args.device, project.classes,
                                              project_channels(project))
        n = len(select_for_eval(project, args.split))
        print(f"{checkpoint_summary(ckpt)}; evaluating {n} images ({args.split})")
        with Progress("evaluating", n) as bar:
            res = evaluate_project(project, predictor, args.split, progress=bar)
    if not res["images"]:
        raise SegStudioError("no image could be evaluated: " + "; ".join(
            s["error"] for s in res["skipped"][:3]))
    print(format_table(res))
    if args.json:
        atomic_write_text(args.json, json.dumps(res, indent=2) + "\n")
        print(f"wrote {args.json}")
    return 0


def format_table(res: dict[str, Any]) -> str:
    def pct(v: float | None) -> str:
        return "    -" if v is None else f"{v * 100:5.1f}"
    names = res["class_names"]
    w = max(10, max(len(n) for n in names))
    lines = [f"{'class':<{w}}  {'IoU %':>6}  {'acc %':>6}"]
    for n in names:
        lines.append(f"{n:<{w}}  {pct(res['per_class_iou'][n]):>6}  "
                     f"{pct(res['per_class_accuracy'][n]):>6}")
    lines.append("-" * (w + 16))
    lines.append(f"{'global accuracy':<{w}}  {pct(res['global_accuracy']):>6}")
    lines.append(f"{'class accuracy':<{w}}  {pct(res['class_accuracy']):>6}")
    lines.append(f"{'mIoU':<{w}}  {pct(res['miou']):>6}")
    lines.append(f"{res['images']} images, {res['pixels']:,} labelled pixels"
                 + (f", {len(res['skipped'])} skipped" if res["skipped"] else ""))
    return "\n".join(lines)
