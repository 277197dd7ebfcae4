"""segstudio export FOLDER --format FMT --out DIR [--status ...] [--images ...]"""

from __future__ import annotations

import argparse
from pathlib import Path

from ..core.errors import SegStudioError
from ..core.formats.registry import EXPORT_FORMATS
from .argtypes import positive, unit
from .common import Subparsers, add_common, open_project
from .progress import Progress

HELP = "export masks: " + ", ".join(EXPORT_FORMATS[:-1]) + " or " + EXPORT_FORMATS[-1]

FORMATS = EXPORT_FORMATS


def add_parser(sub: Subparsers) -> None:
    p = sub.add_parser(
        "export", help=HELP, description=HELP + ". Existing files in DIR are kept; files that "
        "differ are refused unless --overwrite. Every export also writes the class table and "
        "segstudio_export_FMT.json (which layer, human mask or prediction, each file came "
        "from).")
    p.add_argument("folder", metavar="FOLDER")
    p.add_argument("--format", required=True, choices=FORMATS, metavar="FMT",
                   help="one of " + ", ".join(FORMATS))
    p.add_argument("--out", required=True, metavar="DIR", help="folder to export into")
    p.add_argument("--status", default="corrected,reviewed", metavar="S1,S2",
                   help="which masks: corrected, reviewed, predicted (comma-separated; default "
                        "corrected,reviewed = images with a human mask; 'predicted' adds model "
                        "predictions of images nobody has corrected)")
    p.add_argument("--images", nargs="+", metavar="RELPATH",
                   help="export only these images (paths relative to FOLDER)")
    p.add_argument("--images-from", metavar="FILE",
                   help="export only the images listed in FILE, one relative path a line")
    p.add_argument("--opacity", type=unit, default=0.5,
                   help="overlay: opacity of the class colours, 0..1 (default 0.5)")
    p.add_argument("--classes-json", default="classes.json", metavar="PATH",
                   help="where the class table goes, relative to DIR (default classes.json)")
    p.add_argument("--overwrite", action="store_true",
                   help="replace files in DIR that differ from the export")
    p.add_argument("--no-images", action="store_true",
                   help="voc, camvid, coco, labelme: do not copy the images")
    p.add_argument("--workers", type=positive(int), metavar="N",
                   help="threads for encoding and writing (default: up to 4)")
    add_common(p)
    p.set_defaults(run=run)


def _selection(args: argparse.Namespace) -> list[str] | None:
    if args.images is None and args.images_from is None:
        return None
    chosen = list(args.images or [])
    if args.images_from:
        path = Path(args.images_from)
        try:
            text = path.read_text(encoding="utf-8")
        except FileNotFoundError:
            raise SegStudioError(f"{path}: list file not found") from None
        except (OSError, UnicodeDecodeError) as exc:
            raise SegStudioError(f"{path}: cannot read the list ({exc})") from None
        chosen += [ln.strip() for ln in text.splitlines()
                   if ln.strip() and not ln.lstrip().startswith("#")]
    if not chosen:
        raise SegStudioError("the image selection is empty")
    return chosen


def run(args: argparse.Namespace) -> int:
    from ..core.formats import ExportOptions, export_masks

    selection = _selection(args)
    options = ExportOptions(
        statuses=[s for s in args.status.split(",") if s.strip()], images=selection,
        opacity=args.opacity, overwrite=args.overwrite, include_images=not args.no_images,
        classes_json=args.classes_json, workers=args.workers)
    with open_project(args) as project, Progress("exporting") as bar:
        report = export_masks(project, args.out, args.format, options, progress=bar)
    print(report.summary())
    for image, reason in report.skipped:
        print(f"skipped {image}: {reason}")
    refused = [f for f in report.files if f.action == "refused"]
    for f in refused[:20]:
        print(f"refused {f.path}: {f.reason}")
    if refused:
        shown = ", ".join(f.path for f in refused[:5]) + (
            f" and {len(refused) - 5} more" if len(refused) > 5 else "")
        reasons = sorted({f.reason for f in refused})
        hint = "; pass --overwrite to replace them" if reasons == [
            "differs from the existing file"] else ""
        raise SegStudioError(f"{len(refused)} files were not written to {args.out} ({shown}): "
                             f"{', '.join(reasons)}{hint}")
    return 0
