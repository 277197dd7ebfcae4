"""segstudio control FOLDER [RUN] pause|resume|stop"""

from __future__ import annotations

import argparse

from ..core.errors import SegStudioError
from .argtypes import positive
from .common import Subparsers, add_common, open_project

HELP = "pause, resume or stop a training run (started here, by the window or on a server)"


def add_parser(sub: Subparsers) -> None:
    p = sub.add_parser("control", help=HELP, description=HELP + ". The run obeys within a "
                       "second, after the batch under way; a stopped run keeps the checkpoint "
                       "of its last completed epoch.")
    p.add_argument("folder", metavar="FOLDER")
    p.add_argument("run_id", metavar="RUN", nargs="?", type=positive(int),
                   help="the run's number (default: the newest running one)")
    p.add_argument("action", choices=("pause", "resume", "stop"))
    add_common(p)
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from ..nn.runs import control

    with open_project(args, scan=False) as project:
        project.runs.mark_interrupted()
        runs = {r.id: r for r in project.runs.all()}
        running = [i for i, r in runs.items() if r.running]
        run_id = args.run_id if args.run_id is not None else (max(running) if running else None)
        if run_id is None:
            raise SegStudioError("no run is training in this project; nothing to "
                                 f"{args.action}")
        if run_id not in runs:
            raise SegStudioError(f"the project has no run {run_id}; `segstudio info` counts "
                                 "its runs")
        if not runs[run_id].running:
            raise SegStudioError(f"run {run_id} is not training (it is "
                                 f"{runs[run_id].status}); nothing to {args.action}")
        path = control.send(project, run_id, args.action)
    print(f"run {run_id}: asked to {args.action} ({path})")
    return 0
