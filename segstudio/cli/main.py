"""The ``segstudio`` command: no subcommand opens the window, subcommands work headless.

Subcommand modules are imported only when needed, so ``segstudio info`` does
not pay for torch or Qt.
"""

from __future__ import annotations

import argparse
import importlib
import sqlite3
import sys
from pathlib import Path

from .. import __version__
from ..core.errors import SegStudioError

# subcommand name -> module under segstudio.cli
COMMANDS = {
    "info": "info",
    "classes": "classes",
    "import-masks": "import_masks",
    "export": "export",
    "train": "train",
    "control": "control",
    "predict": "predict",
    "propose": "propose",
    "eval": "eval",
    "export-model": "export_model",
}


def build_parser(only: str | None = None) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="segstudio",
        description="Semantic segmentation with SegNet: label, train, correct, export. "
                    "'segstudio [FOLDER]' without a command opens the window (on FOLDER "
                    "if given); the commands below work headless.",
    )
    parser.add_argument("--version", action="version", version=f"segstudio {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name, module in COMMANDS.items():
        if only is not None and name != only:
            # a cheap stand-in so --help still lists every command
            sub.add_parser(name, help=_help_of(module))
            continue
        importlib.import_module(f"segstudio.cli.{module}").add_parser(sub)
    return parser


def _help_of(module: str) -> str:
    mod = importlib.import_module(f"segstudio.cli.{module}")
    return getattr(mod, "HELP", "")


def _gui_args(argv: list[str]) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="segstudio", description="Open the segstudio window.")
    p.add_argument("folder", nargs="?", metavar="FOLDER", help="image folder to open")
    p.add_argument("--project-dir", metavar="DIR", help="project directory for FOLDER")
    return p.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    first = argv[0] if argv else None
    if first is None or (first not in COMMANDS and not first.startswith("-")) or (
            first == "--project-dir"):
        args = _gui_args(argv)
        from ..gui.app import run_gui  # Qt is imported only here

        return run_gui(args.folder, args.project_dir)
    parser = build_parser(only=first if first in COMMANDS else None)
    args = parser.parse_args(argv)
    if not getattr(args, "run", None):
        parser.print_help()
        return 0
    from .common import apply_common

    try:
        apply_common(args)
        return int(args.run(args) or 0)
    except SegStudioError as exc:
        print(f"segstudio {args.command}: error: {exc}", file=sys.stderr)
        return 1
    except OSError as exc:
        where = f" {exc.filename}" if getattr(exc, "filename", None) else ""
        print(f"segstudio {args.command}: error:{where} {exc.strerror or exc}", file=sys.stderr)
        return 1
    except sqlite3.Error as exc:  # a write of the project database failed mid-command
        from ..core.db import describe_db_error

        db = Path(getattr(args, "project_dir", None) or Path(getattr(args, "folder", ".")) /
                  ".segstudio") / "project.db"
        print(f"segstudio {args.command}: error: {describe_db_error(db, exc)}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print(f"segstudio {args.command}: interrupted", file=sys.stderr)
        return 130
