"""Training and prediction in the window (offscreen Qt) against the engine alone.

Prints medians.  Usage: python benchmarks/bench_training_gui.py [--images N]
[--epochs E] [--repeat R] [--quick]

* overhead: the same config (the CPU defaults: SegNet width 0.25, 192x256
  crops, batch 4, AdamW; same seed) trained (a) by iterating the engine in a
  plain loop on the main thread, as ``segstudio train`` does, and (b) from
  the window's Training panel (real Start button, worker QThread, live plots
  and panel) with a 10 ms QTimer ticking on the GUI thread, the GUI thread
  waiting in a QEventLoop as the running program's app.exec() does (it
  polled processEvents every 2 ms before: 500 wake-ups a second that a real
  window does not have, each taking a turn of a core from torch's threads),
  with "refresh the prediction after each epoch" off (the window's overhead)
  and on (that feature predicts the image on screen after every epoch: real
  work, not overhead, printed separately).  The modes alternate R times;
  images/s = training images / wall time from the first epoch's start to the
  run's end.
  Target: the window's ratio >= 0.95.  The longest gap between timer ticks
  during the window's epochs is printed too (target < 100 ms).
* epoch time of the CPU defaults over N CamVid-size images (target < 60 s
  for 20 images on 2 cores).
* predict this image: from Ctrl+P to the overlay painted, SegNet width 0.25
  on a 480x360 CamVid image, the model already loaded (first call, with the
  checkpoint load, printed separately).  Target < 500 ms.  Also while a
  training runs on the CPU (the prediction then uses one torch thread; the
  default thread count is printed for comparison).
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import pump, report  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
CAMVID = Path(os.environ.get("SEGSTUDIO_CAMVID", REPO.parent / "shared" / "datasets" / "camvid"))


def make_project(root: Path, n: int) -> Path:
    """n CamVid training images with their label maps as corrected masks."""
    from segstudio.core.classes import ClassTable
    from segstudio.core.maskio import read_mask
    from segstudio.core.project import Project

    folder = root / "camvid"
    folder.mkdir(parents=True)
    names = sorted(os.listdir(CAMVID / "train"))[:n]
    for name in names:
        shutil.copy(CAMVID / "train" / name, folder / name)
    with Project.open(folder) as project:
        project.set_classes(ClassTable.load_json(CAMVID / "classes.json"))
        for rec in project.images():
            project.save_mask(rec, read_mask(CAMVID / "trainannot" / rec.relpath))
    return folder


def spin(app, cond, timeout: float = 600.0) -> bool:
    """Process Qt events until ``cond()`` (False after ``timeout`` s)."""
    try:
        pump(app, cond, timeout, nap=0.002)
    except TimeoutError:
        return False
    return True


class StallProbe:
    """The longest gap between ticks of a 10 ms QTimer (while ``armed``)."""

    def __init__(self, parent):
        from PySide6.QtCore import QTimer

        self.timer = QTimer(parent, interval=10)
        self.timer.timeout.connect(self._tick)
        self.last = None
        self.armed = False
        self.worst = 0.0

    def _tick(self) -> None:
        now = time.perf_counter()
        if self.armed and self.last is not None:
            self.worst = max(self.worst, now - self.last)
        self.last = now

    def start(self) -> None:
        self.last = None
        self.worst = 0.0
        self.timer.start()


def rate(events) -> tuple[float, float]:
    """(images/s over the wall time of the epochs, median engine-reported images/s)."""
    starts = [t for t, ev in events if type(ev).__name__ == "EpochStarted"]
    ends = [(t, ev) for t, ev in events if type(ev).__name__ == "EpochEnd"]
    done = [t for t, ev in events if type(ev).__name__ == "Finished"]
    images = sum(ev.metrics.train_images for _, ev in ends)
    return images / (done[-1] - starts[0]), statistics.median(ev.metrics.images_per_sec or 0.0
                                                        for _, ev in ends)


def cli_run(folder: Path, cfg) -> list:
    from segstudio.core.project import Project
    from segstudio.nn.train.engine import fit

    out = []
    with Project.open(folder, scan=False) as project:
        for ev in fit(project, cfg, device="cpu", cancel=threading.Event()):
            out.append((time.perf_counter(), ev))
    assert type(out[-1][1]).__name__ == "Finished" and out[-1][1].status == "completed", out[-1]
    return out


def gui_run(app, win, cfg, probe: StallProbe, refresh: bool = False) -> list:
    from PySide6.QtCore import QEventLoop, QTimer

    ui = win.training
    ui.panel.refresh.setChecked(refresh)
    ui.panel.set_config(cfg)
    ui.panel.set_mode("scratch")
    out = []

    def got(ev):
        out.append((time.perf_counter(), ev))
        kind = type(ev).__name__
        if kind == "EpochStarted":
            probe.armed = True
        elif kind == "Finished":
            probe.armed = False
            loop.quit()

    loop = QEventLoop()  # waits in the event loop as app.exec() does, never polls
    limit = QTimer(loop, singleShot=True, interval=600_000)
    limit.timeout.connect(loop.quit)
    limit.start()
    ui.trainer.event.connect(got)
    probe.start()
    ui.panel.start_button.click()
    loop.exec()
    assert out and type(out[-1][1]).__name__ == "Finished", "no Finished"
    assert spin(app, lambda: not ui.trainer.running, 30)
    ui.trainer.event.disconnect(got)
    assert out[-1][1].status == "completed", out[-1][1]
    return out


def predict_latency(app, win, repeat: int) -> tuple[float, list[float]]:
    from PySide6.QtTest import QTest

    svc = win.training.service
    canvas = win.canvas
    times = []
    for i in range(repeat + 1):
        seen = []
        svc.shown.connect(seen.append)
        painted = canvas.paint_count
        t0 = time.perf_counter()
        QTest.keyClick(win, "P", _ctrl())
        assert spin(app, lambda: seen and canvas.paint_count > painted, 60), "no overlay"
        times.append((time.perf_counter() - t0) * 1000)
        svc.shown.disconnect(seen.append)
        spin(app, lambda: svc.quick.pending() == 0, 30)  # the save after the overlay
    return times[0], times[1:]


def _ctrl():
    from PySide6.QtCore import Qt

    return Qt.KeyboardModifier.ControlModifier


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--images", type=int, default=20)
    ap.add_argument("--epochs", type=int, default=2)
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--quick", action="store_true", help="8 images, 1 epoch, 1 repeat")
    args = ap.parse_args()
    if args.quick:
        args.images, args.epochs, args.repeat = 8, 1, 1
    if not (CAMVID / "train").is_dir():
        print(f"CamVid not found at {CAMVID}; set SEGSTUDIO_CAMVID", file=sys.stderr)
        return 2
    root = Path(tempfile.mkdtemp(prefix="segstudio-bench-train-"))
    os.environ["SEGSTUDIO_SETTINGS"] = str(root / "settings.ini")
    os.environ["SEGSTUDIO_DATA_DIR"] = str(root / "userdata")
    try:
        from PySide6.QtWidgets import QApplication

        app = QApplication.instance() or QApplication([])
        from segstudio.gui.main_window import MainWindow
        from segstudio.nn.config import default_train_config

        folder = make_project(root, args.images)
        cfg = default_train_config("cpu").replace(epochs=args.epochs, val_split=0.0, seed=0,
                                                  imagenet=None)
        print(f"{args.images} CamVid images, {args.epochs} epochs, SegNet width {cfg.width}, "
              f"crop {cfg.crop}, batch {cfg.batch_size}, {cfg.optimizer} {cfg.lr}; "
              f"{os.cpu_count()} CPUs", flush=True)
        win = MainWindow()
        win.resize(1400, 900)
        win.show()
        win.open_folder(folder)
        assert spin(app, lambda: win.training.ready and win.canvas.document() is not None, 120)
        probe = StallProbe(win)
        cli_run(folder, cfg.replace(epochs=1))  # warm-up (first-use costs of torch and oneDNN)
        rates = {"cli": [], "gui": [], "gui+refresh": []}
        engine = {k: [] for k in rates}
        stalls, epoch_s = [], []
        modes = list(rates)
        for i in range(args.repeat):
            for mode in modes[i % 3:] + modes[:i % 3]:
                if mode == "cli":
                    events = cli_run(folder, cfg)
                else:
                    events = gui_run(app, win, cfg, probe, refresh=mode == "gui+refresh")
                    stalls.append(probe.worst * 1000)
                r, e = rate(events)
                rates[mode].append(r)
                engine[mode].append(e)
                epoch_s += [ev.metrics.seconds for _, ev in events
                            if type(ev).__name__ == "EpochEnd"]
                print(f"  run {i + 1} {mode}: {r:.2f} img/s (engine {e:.2f})", flush=True)
        c, g = statistics.median(rates["cli"]), statistics.median(rates["gui"])
        gr = statistics.median(rates["gui+refresh"])
        report("training, engine loop (as the CLI): images/s", c, "img/s")
        report("training from the window: images/s", g, "img/s")
        report("window / engine loop throughput ratio", g / c * 100, "%", ">= 95 %")
        report("  engine-reported images/s, window / loop",
               statistics.median(engine["gui"]) / statistics.median(engine["cli"]) * 100, "%")
        report("  with the prediction refreshed after each epoch", gr / c * 100, "%")
        report("GUI thread longest stall during training epochs", max(stalls), "ms", "< 100 ms")
        report(f"epoch over {args.images} CamVid images (CPU defaults)",
               statistics.median(epoch_s), "s", "< 60 s for 20 images")

        # predict this image (the run's best checkpoint is the active model)
        first, times = predict_latency(app, win, max(3, args.repeat * 2))
        report("predict this image -> overlay, first (loads the model)", first, "ms")
        report("predict this image -> overlay, 480x360, width 0.25", statistics.median(times),
               "ms", "< 500 ms")
        # ... and while a training runs on the CPU
        ui = win.training
        ui.panel.refresh.setChecked(False)
        ui.panel.set_config(cfg.replace(epochs=50))
        ui.panel.start_button.click()
        assert spin(app, lambda: ui.trainer.running and len(ui.plots.history.series["loss"]) > 1,
                    120)
        _, during = predict_latency(app, win, max(3, args.repeat * 2))
        report("predict this image -> overlay while training (1 thread)",
               statistics.median(during), "ms")
        ui.service.threads = lambda: None  # what one thread is chosen against: the default
        _, during2 = predict_latency(app, win, max(3, args.repeat * 2))
        report("  same with torch's default threads (not used)", statistics.median(during2), "ms")
        ui.trainer.stop_and_wait()
        win.close()
        return 0
    finally:
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
