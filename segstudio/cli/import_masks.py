"""segstudio import-masks FOLDER MASKS [--format FMT] [--classes FILE.json]"""

from __future__ import annotations

import argparse

from ..core.classes import ClassTable
from ..core.errors import SegStudioError
from ..core.formats.registry import IMPORT_FORMATS
from ..core.importmasks import apply_class_table
from .common import Subparsers, add_common, open_project
from .progress import Progress

HELP = "import masks (index PNGs, VOC, CamVid, COCO, labelme) as corrected masks"

FORMATS = ("auto", *IMPORT_FORMATS)


def _mapping(text: str) -> tuple[str, int]:
    name, sep, value = text.rpartition("=")
    if not sep or not name.strip():
        raise argparse.ArgumentTypeError(f"{text!r}: write VALUE=ID or NAME=ID, e.g. 255=1 "
                                         "or car=3")
    try:
        return name.strip(), int(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r}: the class id must be a number") from None


def add_parser(sub: Subparsers) -> None:
    p = sub.add_parser(
        "import-masks", help=HELP, description=HELP + ". Files are matched to images by "
        "relative path, then by file name stem; a different human mask is only replaced with "
        "--overwrite (the old one is kept in the project's trash/). Into a project with no "
        "labels yet, masks of plain values (0/255, 0/1/2, 16-bit ...) bring a class table made "
        "from their values; otherwise values the class table lacks stop the import with a list "
        "of them. The report says which class every value became.")
    p.add_argument("folder", metavar="FOLDER")
    p.add_argument("masks", metavar="MASKS",
                   help="folder of label maps, a VOC / CamVid / COCO / labelme export, or a "
                        "COCO or labelme JSON file")
    p.add_argument("--format", default="auto", choices=FORMATS, metavar="FMT",
                   help="input format: " + ", ".join(FORMATS) + " (default auto: detected)")
    p.add_argument("--classes", metavar="FILE.json", help="class table to adopt first")
    p.add_argument("--classes-json", metavar="FILE.json",
                   help="the class table the imported files use, to map their ids to the "
                        "project's by name (default: MASKS/classes.json when present)")
    p.add_argument("--map", dest="mapping", action="append", type=_mapping, default=[],
                   metavar="VALUE=ID|NAME=ID",
                   help="map a value in the mask files (e.g. 255=1) or a class name in the "
                        "files (e.g. car=3) to a project class id (repeatable); a value or "
                        "name the files do not have is an error")
    p.add_argument("--overwrite", action="store_true",
                   help="replace human masks that differ (default: skip them)")
    p.add_argument("--partial", action="store_true",
                   help="the masks label only some pixels (answers to 'segstudio propose'): "
                        "their labelled pixels are merged into each image's human mask, and "
                        "an image without a full one becomes partially labelled")
    p.add_argument("--unknown-to-ignore", action="store_true",
                   help="make values and class names the project lacks unlabelled instead "
                        "of stopping")
    add_common(p)
    p.set_defaults(run=run)


def _one_mapping(entries: list[tuple[str, int]]) -> dict[str, int]:
    """The --map entries as a dict; a key given twice with different ids is an error."""
    out: dict[str, int] = {}
    for key, cid in entries:
        if key in out and out[key] != cid:
            raise SegStudioError(f"--map {key}={out[key]} and --map {key}={cid}: {key} is "
                                 "mapped twice; give each value or name once")
        out[key] = cid
    return out


def run(args: argparse.Namespace) -> int:
    from ..core.formats import import_masks

    mapping = _one_mapping(args.mapping)
    with open_project(args) as project:
        if args.classes:
            apply_class_table(project, ClassTable.load_json(args.classes))
        with Progress("importing") as bar:
            report = import_masks(project, args.masks, args.format, mapping=mapping,
                                  overwrite=args.overwrite,
                                  unknown_to_ignore=args.unknown_to_ignore,
                                  classes_json=args.classes_json, progress=bar,
                                  partial=args.partial)
        for f in report.files:
            if f.action == "skipped":
                print(f"skipped {f.file}: {f.reason}")
            elif f.reason:
                print(f"{f.action} {f.file}: {f.reason}")
        for note in report.notes:
            print(note)
        print(f"{report.format}: {report.summary()}")
        return 0 if report.imported or report.unchanged or not report.skipped else 1
