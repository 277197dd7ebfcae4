"""segstudio import-masks FOLDER MASKS [--classes FILE.json]"""

from __future__ import annotations

from ..core.classes import ClassTable
from ..core.importmasks import apply_class_table, import_index_masks
from .common import add_common, open_project
from .progress import Progress

HELP = "import label maps (index or colour PNGs) as corrected masks"


def add_parser(sub) -> None:
    p = sub.add_parser("import-masks", help=HELP, description=HELP)
    p.add_argument("folder", metavar="FOLDER")
    p.add_argument("masks", metavar="MASKS", help="folder of label maps, matched by path or name")
    p.add_argument("--classes", metavar="FILE.json", help="class table to adopt first")
    p.add_argument("--overwrite", action="store_true",
                   help="replace human masks that differ (default: skip them)")
    p.add_argument("--unknown-to-ignore", action="store_true",
                   help="map unknown class ids to the ignore class instead of skipping the file")
    p.add_argument("--format", default="auto", metavar="FMT",
                   help="input format (auto, index)")
    add_common(p)
    p.set_defaults(run=run)


def run(args) -> int:
    with open_project(args) as project:
        if args.classes:
            apply_class_table(project, ClassTable.load_json(args.classes))
        with Progress("importing") as bar:
            report = import_index_masks(project, args.masks, overwrite=args.overwrite,
                                        unknown_to_ignore=args.unknown_to_ignore, progress=bar)
        for path, reason in report.skipped:
            print(f"skipped {path}: {reason}")
        print(report.summary())
        return 0 if report.imported or report.unchanged or not report.skipped else 1
