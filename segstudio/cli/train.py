"""segstudio train FOLDER [--budget 10m|N steps] [--epochs N] [--model ...] ... [--resume CKPT]

Every setting's flag comes from its declaration in :mod:`segstudio.nn.config`; the options
become one :class:`~segstudio.nn.train.request.RunRequest`, resolved by the engine as the
window's are."""

from __future__ import annotations

import argparse
import json
import os
import signal
import sys
import threading
from collections.abc import Callable
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING, Any

from ..core.errors import SegStudioError
from ..nn.settings import Spec, specs
from .argtypes import positive
from .common import Subparsers, add_common, open_project
from .progress import Progress

if TYPE_CHECKING:
    from ..nn.runs.events import EpochEnd, RunStarted
    from ..nn.train.request import RunRequest

HELP = "train SegNet on the project's corrected and reviewed masks"


def _check_out(path: str) -> None:
    """Refuse an --out that cannot be written before hours of training, not after."""
    out = Path(path).expanduser()
    if out.is_dir():
        raise SegStudioError(f"--out {out}: is a folder; give a file name such as best.pt")
    folder = out.parent
    probe = folder
    while not probe.exists() and probe != probe.parent:
        probe = probe.parent
    if not probe.is_dir() or not os.access(probe, os.W_OK | os.X_OK):
        raise SegStudioError(f"--out {out}: cannot write into {probe}; choose a writable folder")
    if out.exists() and not os.access(out, os.W_OK):
        raise SegStudioError(f"--out {out}: the file is not writable")


def _setting_type(name: str, spec: Spec) -> Callable[[str], Any]:
    """An argparse type for a setting: its text read and checked as the setting's
    :class:`Spec` says (the window checks the same, in the same words)."""
    from ..nn.train.request import read_setting

    def parse(text: str) -> Any:
        try:
            value = read_setting(name, text)
            spec.check(value)
        except SegStudioError as exc:
            raise argparse.ArgumentTypeError(str(exc)) from None
        return value
    return parse


def _add_settings(p: argparse.ArgumentParser) -> None:
    """A flag for every setting that has one (nn.config.TrainConfig's declarations)."""
    from ..nn.config import TrainConfig

    defaults = TrainConfig.__dataclass_fields__
    for name, spec in specs(TrainConfig).items():
        flag = spec.cli_flag(name)
        if flag is None:
            continue
        allowed = spec.allowed()
        text = spec.help
        if isinstance(defaults[name].default, bool):
            p.add_argument(flag, dest=name, action=argparse.BooleanOptionalAction,
                           default=None, help=text)
        else:
            metavar = spec.metavar or ("|".join(map(str, allowed)) if allowed else None)
            p.add_argument(flag, dest=name, type=_setting_type(name, spec), metavar=metavar,
                           help=text)


def add_parser(sub: Subparsers) -> None:
    p = sub.add_parser("train", help=HELP, description=HELP + ". With no options the "
                       "project's fingerprint (image sizes, channels, intensities, class "
                       "shares and thickness) chooses the recipe, and the run trains for a "
                       "budget of time on this device (10 minutes); every setting below "
                       "overrides the recipe.")
    p.add_argument("folder", metavar="FOLDER")
    _add_settings(p)
    p.add_argument("--device", default="auto", metavar="D", help="auto, cpu, cuda, cuda:N or mps")
    p.add_argument("--out", metavar="CKPT", help="write the best checkpoint here (the last one "
                   "goes beside it as <name>-last.pt) instead of the project's checkpoints/")
    p.add_argument("--resume", metavar="CKPT",
                   help="continue a run from its checkpoint; a checkpoint without training "
                        "state (e.g. models/camvid-segnet-w0.25.pt) starts a new run from its "
                        "weights")
    p.add_argument("--from", dest="start_from", metavar="active|scratch|CKPT",
                   help="what a new run starts from: the project's active model (the default "
                        "when it fits the project: a correction round, a quarter of the "
                        "budget at half the learning rate), scratch, or a checkpoint file's "
                        "weights")
    p.add_argument("--config", metavar="FILE",
                   help="a run request or settings as a JSON file (as the window writes "
                        "them); the options given here override it")
    p.add_argument("--add-epochs", type=positive(int), metavar="N",
                   help="with --resume: train N epochs more than the checkpoint has")
    add_common(p)
    p.set_defaults(run=run)


def build_request(args: argparse.Namespace) -> RunRequest:
    """The run request the options describe (over a --config file's, when given)."""
    from ..nn.config import TrainConfig
    from ..nn.train.request import RunRequest

    base = _config_file(args.config) if getattr(args, "config", None) else RunRequest()
    settings = dict(base.settings)
    for name in specs(TrainConfig):
        value = getattr(args, name, None)
        if value is not None and name not in ("task", "epochs", "budget"):
            settings[name] = value
    task = getattr(args, "task", None) or base.task
    epochs, budget = base.epochs, base.budget
    if getattr(args, "epochs", None) is not None:
        epochs, budget = args.epochs, None
    if getattr(args, "budget", None) is not None:
        epochs, budget = None, args.budget
    start, checkpoint = base.start, base.checkpoint
    if args.resume:
        if args.start_from not in (None, "scratch"):
            raise SegStudioError("--resume continues a run; it cannot be combined with --from")
        start, checkpoint = "resume", args.resume
    elif args.start_from in ("active", "scratch"):
        start, checkpoint = args.start_from, None
    elif args.start_from:
        start, checkpoint = "checkpoint", args.start_from
    if args.add_epochs is not None and start != "resume":
        raise SegStudioError("--add-epochs continues a run: give its checkpoint with --resume")
    return RunRequest(task=task, start=start, checkpoint=checkpoint, settings=settings,
                      budget=budget, epochs=epochs, add_epochs=args.add_epochs,
                      config=base.config, recipe=base.recipe)


def _config_file(path: str) -> RunRequest:
    """A run request (``{"request": ...}``, the window's separate process) or complete
    settings (``{"config": ...}`` or the settings alone, the window's saved form)."""
    from ..nn.config import TrainConfig
    from ..nn.train.request import RunRequest

    try:
        data = json.loads(Path(path).expanduser().read_text(encoding="utf-8"))
        if "request" in data:
            return RunRequest.from_dict(data["request"])
        cfg = TrainConfig.from_dict(data.get("config", data))
        return RunRequest(task=cfg.task, config=cfg, recipe=False)
    except (OSError, ValueError, TypeError, AttributeError) as exc:
        raise SegStudioError(f"--config {path}: not a readable settings file ({exc}); write "
                             "it again or leave --config out") from None


def run(args: argparse.Namespace) -> int:

    from ..nn.device import resolve_device
    from ..nn.runs.events import EpochEnd, EpochStarted, Finished, Message, RunStarted, Step
    from ..nn.train import distributed
    from ..nn.train.engine import fit

    if args.out:
        _check_out(args.out)
    if distributed.launched() and distributed.rank() != 0:
        # torchrun: rank 0 reports (and alone writes the project); the others train quietly
        sys.stdout = open(os.devnull, "w")  # noqa: SIM115 - for the life of the process
    device = resolve_device(args.device)
    cancel = threading.Event()
    bar: Progress | None = None
    status = None
    with open_project(args, scan=distributed.rank() == 0) as project:
        project.check_trainable()  # every mask missing: fail now, not "complete" on nothing
        if distributed.rank() == 0 and distributed.restart_hazard():
            print("warning: torchrun --max-restarts without TORCH_DISABLE_SHARE_RDZV_TCP_STORE=1"
                  ": restarted processes can fail to connect (pytorch#135712); set it before "
                  "torchrun")
        if distributed.restart_count() > 0 and not args.resume:
            args.resume = distributed.restart_checkpoint(project)
            if args.resume:
                print(f"info: torchrun restart {distributed.restart_count()}: resuming from "
                      f"{args.resume}")
        request = build_request(args)
        task = request.task
        events = fit(project, request, device=device, cancel=cancel, out=args.out)
        stop = _StopRequests(cancel)
        previous = {sig: signal.signal(sig, stop.handle) for sig in (signal.SIGTERM,
                                                                      signal.SIGINT)}
        try:
            for ev in events:
                if isinstance(ev, Message):
                    if ev.text.startswith("Traceback"):
                        continue  # the Finished line says what failed, in one line
                    print(f"{ev.level}: {ev.text}")
                elif isinstance(ev, RunStarted):
                    print(_started_line(ev))
                elif isinstance(ev, EpochStarted):
                    bar = Progress(f"epoch {ev.epoch}/{ev.epochs}", ev.steps)
                elif isinstance(ev, Step) and bar is not None:
                    bar.update(ev.step, ev.steps_per_epoch, f"loss {ev.loss:.3f}")
                elif isinstance(ev, EpochEnd):
                    if bar is not None:
                        bar.close()
                    print(_epoch_line(ev))
                elif isinstance(ev, Finished):
                    status = ev
        except KeyboardInterrupt:  # a second Ctrl+C: stop at once
            cancel.set()
            close = getattr(events, "close", None)
            if close is not None:
                close()  # the engine marks the run cancelled while the project is open
            print(_INTERRUPTED)
            return 130
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)
    if stop.signal is not None and (status is None or status.status == "cancelled"):
        print(_INTERRUPTED)  # the engine stopped between batches and closed the run
        return 143 if stop.signal == signal.SIGTERM else 130
    assert status is not None
    if status.status == "failed":
        raise SegStudioError(status.message)
    verdict = status.details.get("verdict")
    if verdict:
        print(f"warning: {verdict}")
    if status.best_checkpoint:
        what = "val IoU after 3 clicks" if task == "click" else "val mIoU"
        print(f"{status.status}: {status.epochs_done} epochs; best checkpoint "
              f"{status.best_checkpoint}" + (f" ({what} {status.best_miou * 100:.1f} %)"
                                              if status.best_miou is not None else ""))
        if task == "click" and status.details.get("activated"):
            print("it is the project's click model now (the editor's Click tool, key C)")
        print(f"last checkpoint {status.last_checkpoint}")
    else:
        print(f"{status.status}: {status.message}")
    return 0 if status.status == "completed" else 1


def _started_line(ev: RunStarted) -> str:
    c = ev.config
    crop = "x".join(map(str, c["crop"])) if c["crop"] else "whole images"
    kind = "click model: " if c.get("task") == "click" else ""
    extras = [k for k, on in (("rotations", c.get("rotate90")),
                              ("per-image normalisation", c.get("normalize") == "image"),
                              (f"elastic {c.get('elastic')} px", c.get("elastic")),
                              (f"intensity {c.get('intensity')}", c.get("intensity"))) if on]
    return (f"run {ev.run_id} on {ev.device_name}: {kind}{c['arch']} width {c['width']:g} "
            f"({ev.parameters:,} parameters), crop {crop}, batch {c['batch_size']}, "
            f"{c['optimizer']} lr {c['lr']:g} {c['schedule']}, loss {c.get('loss', 'ce')}"
            + (", " + ", ".join(extras) if extras else "")
            + f"; {ev.train_images} train / {ev.val_images} val images; checkpoints in "
            f"{ev.checkpoint_dir}")


_INTERRUPTED = ("interrupted: the run is marked cancelled; the last completed epoch's "
                "checkpoint is kept")


class _StopRequests:
    """SIGTERM and Ctrl+C during a run: the first sets the engine's ``cancel`` (it stops
    before the next batch and records the run as cancelled, so no exception ever lands
    inside a database write); a second Ctrl+C raises KeyboardInterrupt at once."""

    def __init__(self, cancel: threading.Event):
        self.cancel = cancel
        self.signal: int | None = None

    def handle(self, signum: int, frame: FrameType | None) -> None:
        if self.signal is not None and signum == signal.SIGINT:
            raise KeyboardInterrupt
        if self.signal is None:
            self.signal = signum
            name = "SIGTERM" if signum == signal.SIGTERM else "Ctrl+C"
            print(f"{name}: stopping after the batch under way (Ctrl+C again stops at once)",
                  flush=True)
        self.cancel.set()


def _epoch_line(ev: EpochEnd) -> str:
    m = ev.metrics
    parts = [f"epoch {ev.epoch:3d}/{ev.epochs}",
             f"loss {m.train_loss:.4f}" if m.train_loss is not None else "loss -"]
    if m.train_accuracy is not None:
        parts.append(f"acc {m.train_accuracy * 100:5.1f}%")
    if m.val_loss is not None:
        parts.append(f"val loss {m.val_loss:.4f}")
    if m.is_click:
        assert m.iou_1 is not None and m.iou_3 is not None and m.noc85 is not None
        parts.append(f"val IoU after 1 / 3 clicks {m.iou_1 * 100:5.1f}% / "
                     f"{m.iou_3 * 100:5.1f}% NoC@85 {m.noc85:.2f} (at most "
                     f"{m.max_clicks}, {m.objects} objects)")
    elif m.validated:
        assert m.pixel_accuracy is not None and m.class_accuracy is not None
        assert m.miou is not None
        parts.append(f"val global {m.pixel_accuracy * 100:5.1f}% "
                     f"class {m.class_accuracy * 100:5.1f}% mIoU {m.miou * 100:5.1f}%")
    parts.append(f"lr {m.lr:.2e}")
    parts.append(f"{m.seconds:6.1f}s ({m.images_per_sec or 0.0:.1f} img/s)")
    parts.append(f"eta {ev.eta_seconds:5.0f}s")
    if ev.is_best:
        parts.append("*best")
    if ev.beats_trivial is False and ev.trivial_miou is not None:
        parts.append(f"(not better than trivial {ev.trivial_miou * 100:.1f}% mIoU)")
    return "  ".join(parts)
