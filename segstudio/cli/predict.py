"""segstudio predict FOLDER --checkpoint CKPT [--device D] [--only unlabelled|all]"""

from __future__ import annotations

import argparse
import os
from typing import TYPE_CHECKING

from ..core.errors import SegStudioError
from ..core.prediction_model import CheckpointRef, ModelRef, to_predict
from .argtypes import positive
from .common import Subparsers, add_common, open_project
from .progress import Progress

if TYPE_CHECKING:
    from ..core.project import Project
    from ..nn.evaluate import ImagePredictor

HELP = "predict masks with a trained checkpoint (never over human masks)"


def add_parser(sub: Subparsers) -> None:
    p = sub.add_parser("predict", help=HELP, description=HELP)
    p.add_argument("folder", metavar="FOLDER")
    p.add_argument("--checkpoint", metavar="CKPT",
                   help="checkpoint file (default: the project's active checkpoint)")
    p.add_argument("--device", default="auto", metavar="D", help="auto, cpu, cuda, cuda:N or mps")
    p.add_argument("--only", choices=("unlabelled", "unreviewed", "all"), default="unlabelled",
                   help="unlabelled: images without a human mask that have no prediction of "
                        "this checkpoint and epoch (none yet, or one by another model) "
                        "(default); unreviewed: every image without a human mask; all: every "
                        "image (human masks are kept, predictions are stored beside them)")
    p.add_argument("--tile", type=positive(int), default=512, metavar="PX",
                   help="tile size for large images (default 512)")
    p.add_argument("--overlap", type=int, default=128, metavar="PX",
                   help="tile overlap (default 128)")
    p.add_argument("--score", default="entropy", choices=("entropy", "mc-dropout", "tta", "rare"),
                   help="the label-next score stored per image: entropy (default), mc-dropout "
                        "(a model trained with --dropout), tta (flip/scale disagreement), "
                        "rare (entropy weighted towards the rare classes)")
    p.add_argument("--passes", type=positive(int), default=8, metavar="N",
                   help="stochastic passes of --score mc-dropout (default 8)")
    add_common(p)
    p.set_defaults(run=run)


def checkpoint_for(project: Project, given: str | None) -> str:
    if given:
        return os.path.abspath(given)  # recorded with each prediction: not the cwd's
    active: str | None = project.settings.get("active_checkpoint")
    if not active:
        raise SegStudioError("no --checkpoint given and the project has no active checkpoint; "
                             "train first or pass --checkpoint CKPT")
    return active


def run(args: argparse.Namespace) -> int:
    from ..nn.evaluate import predict_project, select_for_prediction
    from ..nn.inference import Predictor
    from ..nn.plan.fingerprint import project_channels
    from ..nn.runs.checkpoint import checkpoint_summary, load_checkpoint

    with open_project(args) as project:
        path = checkpoint_for(project, args.checkpoint)
        ckpt = load_checkpoint(path)
        try:
            predictor = Predictor.from_checkpoint(ckpt, args.device, project.classes,
                                                  project_channels(project), tile=args.tile,
                                                  overlap=args.overlap)
        except ValueError as exc:
            raise SegStudioError(str(exc)) from exc
        # each prediction records this file and the epoch of its weights
        predictor.checkpoint_path = ref = CheckpointRef(path, ckpt.epoch)
        scorer: ImagePredictor = predictor
        if args.score != "entropy":
            from ..nn.uncertainty import Scorer, rare_weights

            scorer = Scorer(predictor, args.score, args.passes,
                            rare_weights=rare_weights(project) if args.score == "rare"
                            else None)
        if args.only == "unlabelled":  # and the predictions of other models: redone
            recs = to_predict(project, ModelRef.of(ref))
        else:
            recs = select_for_prediction(project, args.only)
        chosen = {r.id for r in recs}
        unusable = [r for r in project.images() if r.error and r.id not in chosen and (
            args.only == "all" or not r.has_human_mask)]
        for rec in unusable:  # never silently: an image refused at scan time is named
            print(f"skipped {rec.relpath}: {rec.error}")
        print(f"{checkpoint_summary(ckpt)} on {predictor.device}"
              f"; {len(recs)} images to predict (label-next score: {args.score})")
        with Progress("predicting", len(recs)) as bar:
            bands = _BandProgress(bar, [r.relpath for r in recs])
            predictor.band_progress = bands.band
            summary = predict_project(project, scorer, records=recs, progress=bands.image)
        for rel, why in summary.skipped:
            print(f"skipped {rel}: {why}")
        per = summary.seconds / summary.predicted if summary.predicted else 0.0
        skipped = len(summary.skipped) + len(unusable)
        print(f"predicted {summary.predicted} images in {summary.seconds:.1f}s "
              f"({per * 1000:.0f} ms/image), {skipped} skipped")
        return 0 if not skipped else 1


class _BandProgress:
    """Feeds the bar per image and, inside a tiled (huge) image, per tile band: a 400 MP
    image moves the bar band by band instead of sitting at 0 % until it is done."""

    def __init__(self, bar: Progress, names: list[str]):
        self.bar, self.names, self.done = bar, names, 0

    def image(self, done: int, total: int) -> None:
        self.done = done
        self.bar(done, total)

    def band(self, done: int, total: int) -> None:
        name = self.names[self.done] if self.done < len(self.names) else ""
        self.bar(self.done + done / total, extra=f"{name}: tile band {done}/{total}")
