"""Options and helpers shared by the subcommands."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from typing import TypeAlias

from ..core.errors import SegStudioError
from ..core.imageio import env_max_pixels_problem, set_max_pixels
from ..core.project import Project
from .progress import Progress

# what build_parser hands each subcommand's add_parser
Subparsers: TypeAlias = "argparse._SubParsersAction[argparse.ArgumentParser]"


def add_common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--project-dir", metavar="DIR",
                        help="keep the project here instead of FOLDER/.segstudio "
                             "(for read-only image folders)")
    parser.add_argument("--max-pixels", type=positive_int("--max-pixels"), metavar="N",
                        help="refuse images above N pixels (decompression-bomb guard, "
                             "default 400000000)")


def positive_int(option: str, limit: int | None = None) -> Callable[[str], int]:
    """An argparse type: a whole number >= 1 (and <= ``limit``)."""
    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
        if value < 1:
            raise argparse.ArgumentTypeError(f"{text}: {option} must be at least 1")
        if limit is not None and value > limit:
            raise argparse.ArgumentTypeError(f"{text}: {option} is at most {limit:,}")
        return value
    return parse


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


def parse_hw(text: str) -> tuple[int, int]:
    """'HxW' or 'N' -> (H, W), each side 1..MAX_SIDE (an argparse type)."""
    from ..nn.settings import parse_hw as parse

    try:
        return parse(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None
