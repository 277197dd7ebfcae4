"""segstudio train FOLDER [--model ...] [--width W] [--epochs N] ... [--resume CKPT]"""

from __future__ import annotations

import argparse
import os
import signal
import sys
import threading
from collections.abc import Callable
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING, TypeVar

from ..core.bounded import check_output
from ..core.errors import SegStudioError
from ..nn.registry import MODELS, OPTIMIZERS
from .common import Subparsers, add_common, open_project, parse_hw
from .progress import Progress

if TYPE_CHECKING:
    from ..core.project import Project
    from ..nn.config import TrainConfig
    from ..nn.events import EpochEnd

HELP = "train SegNet on the project's corrected and reviewed masks"


def _fraction(text: str) -> float:
    try:
        v = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if not 0.0 <= v < 1.0:
        raise argparse.ArgumentTypeError(f"{text}: must be in [0, 1)")
    return v


def _unit(text: str) -> float:
    try:
        v = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if not 0.0 <= v <= 1.0:
        raise argparse.ArgumentTypeError(f"{text}: must be in [0, 1]")
    return v


_Num = TypeVar("_Num", int, float)


def _positive(kind: Callable[[str], _Num]) -> Callable[[str], _Num]:
    def parse(text: str) -> _Num:
        try:
            v = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
        if v <= 0:
            raise argparse.ArgumentTypeError(f"{text}: must be positive")
        return v
    return parse


MAX_SEED = 2 ** 63 - 1  # torch.manual_seed takes 64-bit seeds


def _seed(text: str) -> int:
    try:
        v = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if not 0 <= v <= MAX_SEED:
        raise argparse.ArgumentTypeError(f"{text}: the seed must be 0..{MAX_SEED}")
    return v


def _check_out(path: str) -> None:
    """Refuse an --out that cannot be written before hours of training, not after."""
    out = Path(path).expanduser()
    if out.is_dir():
        raise SegStudioError(f"--out {out}: is a folder; give a file name such as best.pt")
    for target in (out, out.with_name(out.stem + "-last" + (out.suffix or ".pt"))):
        check_output(target, "--out")  # a FIFO, a device or a link is refused now, not later
    folder = out.parent
    probe = folder
    while not probe.exists() and probe != probe.parent:
        probe = probe.parent
    if not probe.is_dir() or not os.access(probe, os.W_OK | os.X_OK):
        raise SegStudioError(f"--out {out}: cannot write into {probe}; choose a writable folder")
    if out.exists() and not os.access(out, os.W_OK):
        raise SegStudioError(f"--out {out}: the file is not writable")


def add_parser(sub: Subparsers) -> None:
    p = sub.add_parser("train", help=HELP, description=HELP + ". Defaults depend on the device: "
                       "CPU: SegNet width 0.25, 192x256 crops, batch 4; GPU: the paper's SegNet "
                       "(width 1), 360x480 crops, batch 8.")
    p.add_argument("folder", metavar="FOLDER")
    p.add_argument("--task", choices=("semantic", "click"),
                   help="semantic (default, or the --config file's task): the segmentation "
                        "model; click: the click model "
                        "of the editor's Click tool (interactive segmentation learned from the "
                        "same masks; CPU defaults: width 0.25, 160x160 boxes round objects, "
                        "batch 8, 30 epochs); it becomes the project's click model")
    p.add_argument("--features-from", metavar="CKPT|none",
                   help="--task click: the segmentation checkpoint a new click model starts "
                        "from (its features; default: the project's active model when it "
                        "fits); none: He initialisation")
    p.add_argument("--model", choices=tuple(MODELS), help="architecture: " + "; ".join(
        f"{e.name}: {e.description}" for e in MODELS.values()))
    p.add_argument("--width", type=float, choices=(0.25, 0.5, 1.0), help="channel multiplier")
    p.add_argument("--epochs", type=_positive(int), metavar="N")
    p.add_argument("--batch-size", type=_positive(int), metavar="B")
    p.add_argument("--crop", type=parse_hw, metavar="HxW",
                   help="training crop as HxW, e.g. 192x256 (images smaller than the crop "
                        "are padded with the ignore class)")
    p.add_argument("--lr", type=_positive(float), metavar="X", help="base learning rate")
    p.add_argument("--val-split", type=_fraction, metavar="F",
                   help="share of labelled images kept for validation (default 0.3)")
    p.add_argument("--device", default="auto", metavar="D", help="auto, cpu, cuda, cuda:N or mps")
    p.add_argument("--out", metavar="CKPT", help="write the best checkpoint here (the last one "
                   "goes beside it as <name>-last.pt) instead of the project's checkpoints/")
    p.add_argument("--resume", metavar="CKPT",
                   help="continue a run from its checkpoint; a checkpoint without training "
                        "state (e.g. models/camvid-segnet-w0.25.pt) starts a new run from its "
                        "weights")
    p.add_argument("--from", dest="start_from", metavar="active|scratch|CKPT",
                   help="what a new run starts from: the project's active model (the default "
                        "when it fits the project: a short fine-tuning round), scratch, or the "
                        "weights of a checkpoint file")
    p.add_argument("--optimizer", choices=tuple(OPTIMIZERS))
    p.add_argument("--schedule", choices=("poly", "cosine", "constant"))
    p.add_argument("--class-weights", choices=("auto", "none", "median", "table"),
                   help="auto (default): the square root of the median-frequency weights of the "
                        "training masks, clipped to [0.2, 5]; median: those weights as they are "
                        "(SegNet); table: those stored with the class table; none")
    p.add_argument("--loss", choices=("ce", "ce+dice", "ce+lovasz", "focal"),
                   help="training loss (default ce: cross-entropy)")
    p.add_argument("--rare-crops", type=_unit, metavar="F",
                   help="share of training crops centred on a rare-class pixel (default 0.5)")
    p.add_argument("--dropout", type=_fraction, metavar="P",
                   help="dropout after the central encoder and decoder blocks (Bayesian "
                        "SegNet; needed for MC-dropout label-next scores; default 0)")
    p.add_argument("--imagenet", metavar="FILE",
                   help="VGG16-BN ImageNet weights file for the encoder; 'none' for He init "
                        "(default: torchvision's cache if present; nothing is downloaded)")
    p.add_argument("--seed", type=_seed, metavar="N",
                   help=f"random seed, 0..{MAX_SEED} (default 0)")
    p.add_argument("--workers", type=int, metavar="N", help="data-loading processes (default 0)")
    p.add_argument("--no-amp", action="store_true", help="no mixed precision on CUDA")
    p.add_argument("--config", metavar="FILE",
                   help="settings as a JSON file (as the window writes them); the options "
                        "given here override it")
    p.add_argument("--add-epochs", type=_positive(int), metavar="N",
                   help="with --resume: train N epochs more than the checkpoint has")
    add_common(p)
    p.set_defaults(run=run)


def build_config(args: argparse.Namespace, device_type: str, warm: bool = False
                 ) -> TrainConfig:
    """The run's settings: the device defaults (a fine-tuning round's short schedule when
    ``warm``), then what the user gave."""
    from ..nn.config import (
        default_click_config,
        default_train_config,
        round_config,
        switch_optimizer,
    )

    click = getattr(args, "task", "semantic") == "click"
    if args.config:
        cfg = _config_file(args.config)
    else:
        cfg = default_click_config(device_type) if click else default_train_config(device_type)
    if warm:
        cfg = round_config(cfg)
    if args.optimizer is not None:  # its weight decay, and its default rate unless --lr
        cfg = switch_optimizer(cfg, args.optimizer, args.lr)
    changes = {}
    for attr, field in (("model", "arch"), ("width", "width"), ("epochs", "epochs"),
                        ("batch_size", "batch_size"), ("crop", "crop"), ("lr", "lr"),
                        ("val_split", "val_split"), ("schedule", "schedule"),
                        ("class_weights", "class_weights"),
                        ("seed", "seed"), ("workers", "workers"), ("loss", "loss"),
                        ("rare_crops", "rare_crops"), ("dropout", "dropout")):
        v = getattr(args, attr, None)
        if v is not None:
            changes[field] = v
    if args.imagenet is not None:
        changes["imagenet"] = None if args.imagenet.lower() == "none" else args.imagenet
    if args.no_amp:
        changes["amp"] = False
    if getattr(args, "features_from", None) is not None:
        changes["features_from"] = None if args.features_from.lower() == "none" \
            else args.features_from
    return cfg.replace(**changes).validate()


def _config_file(path: str) -> TrainConfig:
    import json

    from ..nn.config import TrainConfig

    try:
        data = json.loads(Path(path).expanduser().read_text(encoding="utf-8"))
        return TrainConfig.from_dict(data.get("config", data))
    except (OSError, ValueError, TypeError, AttributeError) as exc:
        raise SegStudioError(f"--config {path}: not a readable settings file ({exc}); write "
                             "it again or leave --config out") from None


def _resume_epochs(args: argparse.Namespace) -> None:
    """--add-epochs: the epochs the resumed run trains to."""
    if args.add_epochs is None:
        return
    if not args.resume:
        raise SegStudioError("--add-epochs continues a run: give its checkpoint with --resume")
    from ..nn.checkpoint import load_checkpoint

    state = load_checkpoint(args.resume).train_state
    done = int(state.get("epoch", 0)) if state else 0
    args.epochs = done + args.add_epochs


def run(args: argparse.Namespace) -> int:

    from ..nn import distributed
    from ..nn.device import resolve_device
    from ..nn.engine import fit
    from ..nn.events import EpochEnd, EpochStarted, Finished, Message, RunStarted, Step

    if args.out:
        _check_out(args.out)
    _resume_epochs(args)
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
        args.task = run_task(args)
        start, note = start_checkpoint(project, args)
        if note:
            print(f"info: {note}")
        cfg = build_config(args, device.type, warm=start is not None)
        cfg_arg = None if args.resume and args.epochs is None else cfg
        events = fit(project, cfg_arg, device=device, cancel=cancel, resume=args.resume,
                     out=args.out, start_from=start)
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
                    c = ev.config
                    crop = "x".join(map(str, c["crop"])) if c["crop"] else "whole images"
                    kind = "click model: " if c.get("task") == "click" else ""
                    print(f"run {ev.run_id} on {ev.device_name}: {kind}{c['arch']} width "
                          f"{c['width']:g} ({ev.parameters:,} parameters), crop {crop}, batch "
                          f"{c['batch_size']}, {c['optimizer']} lr {c['lr']:g} {c['schedule']}; "
                          f"{ev.train_images} train / {ev.val_images} val images; "
                          f"checkpoints in {ev.checkpoint_dir}")
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
        what = "val IoU after 3 clicks" if args.task == "click" else "val mIoU"
        print(f"{status.status}: {status.epochs_done} epochs; best checkpoint "
              f"{status.best_checkpoint}" + (f" ({what} {status.best_miou * 100:.1f} %)"
                                              if status.best_miou is not None else ""))
        if args.task == "click" and status.details.get("activated"):
            print("it is the project's click model now (the editor's Click tool, key C)")
        print(f"last checkpoint {status.last_checkpoint}")
    else:
        print(f"{status.status}: {status.message}")
    # a stop asked for (segstudio control, the window's Stop) ends the job cleanly: exit 0,
    # so that torchrun neither reports a failure nor restarts the job
    return 0 if status.status in ("completed", "cancelled") else 1


def run_task(args: argparse.Namespace) -> str:
    """--task, else the --config file's task (the window's separate process), else
    "semantic"."""
    if getattr(args, "task", None):
        return str(args.task)
    if getattr(args, "config", None):
        return _config_file(args.config).task
    return "semantic"


def start_checkpoint(project: Project, args: argparse.Namespace) -> tuple[str | None, str | None]:
    """(checkpoint a new run warm-starts from or None for scratch, a note for the user)."""
    from ..nn.run_config import choose_start

    if args.resume:
        if args.start_from not in (None, "scratch"):
            raise SegStudioError("--resume continues a run; it cannot be combined with --from")
        return None, None
    return choose_start(project, args.start_from, args.model, args.width,
                        getattr(args, "task", None) or "semantic")


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
