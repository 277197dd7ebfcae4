"""The Training panel's view of a run under way: the engine's events as the status
line, the progress bar, the images and speed lines and the message log."""

from __future__ import annotations

import time

from ...nn.runs.events import EpochEnd, EpochStarted, Finished, Message, RunStarted, Step
from ..window_status import run_outcome
from .plots import fmt_seconds


class RunStatusView:
    """Mixed into :class:`~.panel.TrainingPanel`, whose widgets it fills (``status``,
    ``progress``, ``images``, ``speed``, ``log``)."""

    epochs_total: int
    _prev_train: set[int]

    def add_message(self, text: str, level: str = "info") -> None:
        stamp = time.strftime("%H:%M:%S")
        prefix = "" if level == "info" else f"{level}: "
        self.log.appendPlainText(f"{stamp}  {prefix}{text}")

    def show_event(self, ev) -> None:
        match ev:
            case RunStarted():
                self._show_run_started(ev)
            case EpochStarted():
                self._show_epoch_started(ev)
            case Step():  # only the progress bar: a label's new text relays the panel out
                if self.progress.maximum() != ev.steps_per_epoch:
                    self.progress.setMaximum(ev.steps_per_epoch)
                self.progress.setFormat(f"{ev.epoch}/{self.epochs_total} · step %v/%m · "
                                        f"loss {ev.loss:.3f}")
                self.progress.setValue(ev.step)
            case EpochEnd():
                self._show_epoch_end(ev)
            case Message():
                self.add_message(ev.text.strip().splitlines()[-1] if ev.level == "error"
                                 else ev.text, ev.level)
            case Finished():
                self._show_finished(ev)

    def _show_run_started(self, ev: RunStarted) -> None:
        self._prev_train = set()
        self.speed.setText("")   # the last run's img/s, ETA and best are not this run's
        self.images.setText("")
        what = "continues" if ev.start_epoch else "starts"
        self.status.setText(f"Run {ev.run_id} {what} on {ev.device_name} "
                            f"({ev.parameters:,} parameters)")
        self.progress.setRange(0, 1)
        self.progress.setValue(0)
        kind = "click model, " if ev.config.get("task") == "click" else ""
        self.add_message(f"run {ev.run_id} on {ev.device_name}: {kind}{ev.config['arch']} width "
                         f"{ev.config['width']:g}, {ev.train_images} train / "
                         f"{ev.val_images} val images; checkpoints in {ev.checkpoint_dir}")

    def _show_epoch_started(self, ev: EpochStarted) -> None:
        ids = set(ev.train_ids)
        new = len(ids - self._prev_train) if self._prev_train else 0
        self._prev_train = ids
        self.epochs_total = ev.epochs
        self.progress.setRange(0, max(ev.steps, 1))
        self.progress.setValue(0)
        self.progress.setFormat(f"{ev.epoch}/{ev.epochs} · step %v/%m")
        joined = f" (+{new} since the last epoch)" if new else ""
        self.images.setText(f"Epoch {ev.epoch} trains on {len(ids)} images{joined}, "
                            f"validates on {len(ev.val_ids)}")
        self.status.setText(f"Epoch {ev.epoch} of {ev.epochs}")

    def _show_epoch_end(self, ev: EpochEnd) -> None:
        m = ev.metrics
        what = "IoU after 3 clicks" if m.is_click else "mIoU"
        miou = f", val {what} {m.miou * 100:.1f} %" if m.miou is not None else ""
        best = (f" · best {ev.best_miou * 100:.1f} %" if ev.best_miou is not None else "")
        self.speed.setText(f"{m.images_per_sec or 0.0:.1f} img/s · {m.seconds or 0.0:.1f} "
                           f"s/epoch · ETA {fmt_seconds(ev.eta_seconds)}{best}")
        loss = f"{m.train_loss:.3f}" if m.train_loss is not None else "-"
        trivial = ""
        if ev.beats_trivial is False:  # the guard: say it plainly, every epoch
            trivial = (f" -- not better than painting everything one class "
                       f"({ev.trivial_miou * 100:.1f} % mIoU)")
        self.add_message(f"epoch {ev.epoch}/{ev.epochs}: loss {loss}{miou}"
                         + (" (best)" if ev.is_best else "") + trivial,
                         "warning" if trivial else "info")

    def _show_finished(self, ev: Finished) -> None:
        outcome = run_outcome(ev.status, ev.message)  # never "cancelled: cancelled"
        self.status.setText(outcome[:1].upper() + outcome[1:])
        self.add_message(outcome
                         + (f"; last checkpoint {ev.last_checkpoint}"
                            if ev.last_checkpoint else ""),
                         "error" if ev.status == "failed" else "info")
        verdict = (ev.details or {}).get("verdict")
        if verdict:
            self.add_message(verdict, "warning")
            self.status.setText(f"{ev.status.capitalize()}: {verdict}")
