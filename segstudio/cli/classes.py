"""segstudio classes FOLDER [--import FILE.json] [--export FILE.json]"""

from __future__ import annotations

import argparse

from ..core.bounded import check_output
from ..core.classes import ClassTable
from ..core.importmasks import apply_class_table
from .common import Subparsers, add_common, open_project

HELP = "show, import or export the class table (JSON)"


def add_parser(sub: Subparsers) -> None:
    p = sub.add_parser("classes", help=HELP, description=HELP)
    p.add_argument("folder", metavar="FOLDER")
    p.add_argument("--import", dest="import_file", metavar="FILE.json",
                   help="replace the project's classes with this table")
    p.add_argument("--export", dest="export_file", metavar="FILE.json",
                   help="write the project's classes to this file")
    add_common(p)
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    if args.export_file:
        check_output(args.export_file, "--export")
    with open_project(args, scan=False, read_only_ok=not args.import_file) as project:
        if args.import_file:
            apply_class_table(project, ClassTable.load_json(args.import_file))
            print(f"imported {len(project.classes.classes)} classes from {args.import_file}")
        if args.export_file:
            project.classes.save_json(args.export_file)
            print(f"wrote {args.export_file}")
        if not args.import_file and not args.export_file:
            for c in project.classes.classes:
                flag = "  [ignored]" if c.ignore else ""
                hexcol = "".join(f"{v:02x}" for v in c.color[:3])
                print(f"{c.id:3d}  #{hexcol}  {c.name}{flag}")
    return 0
