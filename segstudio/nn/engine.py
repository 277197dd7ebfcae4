"""The training engine: a generator of small event records, free of Qt.

    for event in fit(project, config, cancel=cancel_event, pause=pause_event):
        ...  # RunStarted, EpochStarted, Step, EpochEnd, Message, Finished

``cancel`` and ``pause`` are ``threading.Event`` objects checked before every
batch (a set ``pause`` blocks between batches until it is cleared or
``cancel`` is set).  The generator always ends with a :class:`Finished`
event and does not raise for user-facing problems (status "failed" with a
one-line message instead).

Every epoch re-reads the project (:func:`data.snapshot`): images whose masks
were corrected or reviewed meanwhile join the next epoch.
"""

from __future__ import annotations

import threading
import time
import traceback
from collections.abc import Callable, Iterator
from pathlib import Path

import torch

from ..core.errors import SegStudioError
from ..core.project import Project
from .config import TrainConfig
from .control import RunChannel
from .device import resolve_device
from .distributed import device_for
from .distributed import from_env as dist_from_env
from .events import Event, Finished, Message
from .run_config import run_config
from .run_loop import _Stop, _Trainer


def fit(project: Project, config: TrainConfig | None = None, *, device: str | torch.device = "auto",
        cancel: threading.Event | None = None, pause: threading.Event | None = None,
        resume: str | Path | None = None, out: str | Path | None = None,
        record_run: bool = True,
        batch_hook: Callable[[int, tuple[int, ...]], None] | None = None,
        start_from: str | Path | None = None) -> Iterator[Event]:
    """Train on the project's corrected/reviewed images; yields events, ends with Finished.

    ``config`` None takes :func:`default_train_config` for the device.  With
    ``resume`` the checkpoint's settings, weights, optimizer, schedule and RNG
    states are restored and training continues to ``config.epochs`` (if given;
    else the checkpoint's own), so N epochs + resume M equals N+M epochs.  A
    checkpoint without training state (a shipped model, an exported one) starts
    a new run from its weights instead: its architecture, width and
    normalisation, ``config``'s other settings, a fresh optimizer, epoch 0.
    ``out`` names the best checkpoint file (the last one is written beside it as
    ``<stem>-last.pt``); by default both go to ``checkpoints/run-<id>/``.
    ``batch_hook(epoch, image_ids)`` is called for each training batch.

    ``start_from`` (a checkpoint: the active model, usually) warm-starts a new run
    from its weights only -- a round of corrections fine-tunes the model the
    project has instead of starting over (:func:`config.round_config` gives the
    short schedule).  The run is compared with that model on the same
    validation images, and its best checkpoint becomes the active model only
    when it is not worse (see :mod:`guard`).

    A recorded run writes its events to its journal and obeys its control file
    (:mod:`journal`, :mod:`control`), so another process can follow and steer it."""
    cancel = cancel if cancel is not None else threading.Event()
    pause = pause if pause is not None else threading.Event()
    channel = RunChannel(project, cancel, pause)
    events = _fit(project, config, device, cancel, pause, resume, out, record_run, batch_hook,
                  start_from)
    try:
        for ev in events:
            channel.see(ev)
            yield ev
    finally:
        events.close()
        channel.close()


def _fit(project, config, device, cancel, pause, resume, out, record_run, batch_hook,
         start_from) -> Iterator[Event]:
    t0 = time.perf_counter()
    trainer = None
    try:
        dev = device_for(resolve_device(device))
        dist = dist_from_env(dev)
        if dist is not None and not dist.is_main:
            record_run = False  # rank 0 alone writes the project store
        cfg, ck = run_config(config, dev, resume, start_from)
        cfg.validate()
        if cfg.task == "click":  # the click model of the editor's Click tool
            from .click_run import ClickTrainer as trainer_cls
        else:
            trainer_cls = _Trainer
        trainer = trainer_cls(project, cfg, dev, cancel, pause, ck,
                           Path(out) if out is not None else None, record_run, batch_hook,
                           warm_start=start_from is not None, dist=dist)
        yield from trainer.setup()
        yield from trainer.run()
        yield trainer.finish("completed", f"trained {trainer.epochs_done} epochs", t0)
    except _Stop as stop:
        if trainer is None:
            yield Finished(stop.status, None, 0, None, None, None, stop.message)
        else:
            yield trainer.finish(stop.status, stop.message, t0)
    except SegStudioError as exc:
        msg = str(exc)
        if trainer is None:
            yield Finished("failed", None, 0, None, None, None, msg, time.perf_counter() - t0)
        else:
            yield trainer.finish("failed", msg, t0)
    except (GeneratorExit, KeyboardInterrupt):
        if trainer is not None:
            trainer.finish("cancelled", "stopped by the caller", t0)
        raise
    except Exception as exc:  # noqa: BLE001 - the GUI must never crash on a training error
        tb = traceback.format_exc(limit=6)
        first = str(exc).splitlines()[0] if str(exc) else ""
        msg = f"training failed: {type(exc).__name__}: {first}"
        yield Message("error", tb)
        if trainer is None:
            yield Finished("failed", None, 0, None, None, None, msg, time.perf_counter() - t0)
        else:
            yield trainer.finish("failed", msg, t0)
