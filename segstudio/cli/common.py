"""Options and helpers shared by the subcommands."""

from __future__ import annotations

import argparse
import sys
from typing import TypeAlias

from ..core.errors import SegStudioError
from ..core.imageio import env_max_pixels_problem, set_max_pixels
from ..core.project import Project
from .argtypes import positive
from .progress import Progress

__all__ = ["Subparsers", "add_common", "apply_common", "open_project"]

# what build_parser hands each subcommand's add_parser
Subparsers: TypeAlias = "argparse._SubParsersAction[argparse.ArgumentParser]"


def add_common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--project-dir", metavar="DIR",
                        help="keep the project here instead of FOLDER/.segstudio "
                             "(for read-only image folders)")
    parser.add_argument("--max-pixels", type=positive(int), metavar="N",
                        help="refuse images above N pixels (decompression-bomb guard, "
                             "default 400000000)")


def apply_common(args: argparse.Namespace) -> None:
    problem = env_max_pixels_problem()
    if problem and getattr(args, "max_pixels", None) is None:
        raise SegStudioError(problem)
    if getattr(args, "max_pixels", None) is not None:
        set_max_pixels(args.max_pixels)


def open_project(args: argparse.Namespace, scan: bool = True) -> Project:
    with Progress("scanning") as bar:
        project = Project.open(args.folder, args.project_dir, scan=scan, progress=bar)
    report = project.last_scan
    for rel, why in (report.skipped_links if report is not None else [])[:20]:
        print(f"not followed: folder link {rel} {why}", file=sys.stderr)
    return project
