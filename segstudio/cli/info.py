"""segstudio info FOLDER [--json]"""

from __future__ import annotations

import argparse
import json

from .common import Subparsers, add_common, open_project

HELP = "images, classes, counts per mask status"


def add_parser(sub: Subparsers) -> None:
    p = sub.add_parser("info", help=HELP, description=HELP)
    p.add_argument("folder", metavar="FOLDER")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    add_common(p)
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    with open_project(args, read_only_ok=True) as project:
        recs = project.images()
        classes = project.classes
        counts = project.status_counts()
        unreadable = [(r.relpath, r.error) for r in recs if r.error]
        splits = {"train": 0, "val": 0, "test": 0}
        for r in recs:
            if r.split:
                splits[r.split] += 1
        missing = len(project.images(include_missing=True)) - len(recs)
        if args.json:
            print(json.dumps({
                "folder": str(project.root),
                "project_dir": str(project.project_dir),
                "images": len(recs),
                "missing_images": missing,
                "unreadable": [{"image": p, "error": e} for p, e in unreadable],
                "classes": [
                    {"id": c.id, "name": c.name, "color": list(c.color), "ignore": c.ignore}
                    for c in classes.classes
                ],
                "ignore_index": classes.ignore_index,
                "status": counts,
                "split": splits,
                "runs": len(project.runs.all()),
            }, ensure_ascii=False))
            return 0
        print(f"folder       {project.root}")
        print(f"project      {project.project_dir}")
        print(f"images       {len(recs)}" + (f" ({missing} missing from disk)" if missing else ""))
        print("status       " + ", ".join(f"{k} {v}" for k, v in counts.items()))
        print("split        " + ", ".join(f"{k} {v}" for k, v in splits.items()))
        print(f"classes      {len(classes.classes)} (ignore index {classes.ignore_index})")
        for c in classes.classes:
            flag = "  [ignored]" if c.ignore else ""
            print(f"  {c.id:3d}  #{c.color[0]:02x}{c.color[1]:02x}{c.color[2]:02x}  {c.name}{flag}")
        for _path, err in unreadable[:20]:
            print(f"unreadable   {err}")
        if len(unreadable) > 20:
            print(f"unreadable   ... and {len(unreadable) - 20} more")
    return 0
