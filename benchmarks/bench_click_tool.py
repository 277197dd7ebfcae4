"""The Click tool in the real window (offscreen Qt): per-click latency and GUI stalls.

Usage: python benchmarks/bench_click_tool.py [--clicks N] [--sizes 96,160]

A project of one CamVid image (480 x 360, linked, never copied) whose click model
is a SegNet width 0.25 click model of each input size (fresh weights: the time
does not depend on them).  The Click tool gets N clicks through the canvas's
viewport (mouse press + release, alternately inside and beside the largest car),
each after the previous result was drawn.  Printed, as medians over the clicks:

* worker: the model's update on the worker (``ClickPredictor.last_seconds``);
* click -> drawn: from the mouse release to the preview on screen;
* GUI thread: the longest gap between ticks of a 5 ms QTimer during all clicks
  (the event loop's worst stall; target < 50 ms), and the 95th percentile gap.

Without CamVid (../shared/datasets/camvid or SEGSTUDIO_CAMVID) a drawn street
scene of the same size stands in, and the script says so.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import cv2  # noqa: E402
import numpy as np  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from _common import pump, report  # noqa: E402
from _datasets import CAMVID, camvid_classes, camvid_labels  # noqa: E402

from segstudio.core.project import Project  # noqa: E402

CAR = 8


def scene(root: Path) -> tuple[Path, str, np.ndarray]:
    """(folder, image name, car mask) of a 480x360 image with a car."""
    folder = root / "images"
    folder.mkdir()
    train = CAMVID / "train"
    if train.is_dir():
        best = None
        for nm in sorted(os.listdir(train))[:120]:
            car = camvid_labels("train", nm) == CAR
            if best is None or car.sum() > best[1].sum():
                best = (nm, car)
        assert best is not None
        (folder / best[0]).symlink_to(train / best[0])
        return folder, best[0], best[1]
    print("CamVid not found: a drawn street scene stands in", file=sys.stderr)
    from segstudio.core.sample import draw_scene

    img, lab = draw_scene(3, (360, 480))
    cv2.imwrite(str(folder / "scene.png"), cv2.cvtColor(img, cv2.COLOR_RGB2BGR))
    return folder, "scene.png", lab == CAR


def click_checkpoint(path: Path, size: int, table) -> Path:
    import torch

    from segstudio.nn.runs.checkpoint import checkpoint_dict, save_checkpoint
    from segstudio.nn.click.model import click_normalization
    from segstudio.nn.models.segnet import IMAGENET_MEAN, IMAGENET_STD, build_model

    torch.manual_seed(0)
    model = build_model("segnet", 1, 6, 0.25).eval()
    mean, std = click_normalization(IMAGENET_MEAN, IMAGENET_STD)
    return save_checkpoint(path, checkpoint_dict(model, table, mean, std, task="click",
                                                 click={"size": size}))


def points(car: np.ndarray, n: int) -> list[tuple[int, int, bool]]:
    """(x, y, positive) clicks: inside the car, then alternately beside it."""
    ys, xs = np.nonzero(car)
    ring = cv2.dilate(car.astype(np.uint8), np.ones((25, 25), np.uint8)).astype(bool) & ~car
    ry, rx = np.nonzero(ring)
    rng = np.random.default_rng(0)
    out = []
    for k in range(n):
        if k % 2 == 0:
            i = int(rng.integers(0, len(xs)))
            out.append((int(xs[i]), int(ys[i]), True))
        else:
            i = int(rng.integers(0, len(rx)))
            out.append((int(rx[i]), int(ry[i]), False))
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--clicks", type=int, default=20)
    ap.add_argument("--sizes", default="96,160")
    args = ap.parse_args()

    from PySide6.QtCore import QPointF, Qt, QTimer
    from PySide6.QtTest import QTest
    from PySide6.QtWidgets import QApplication

    from segstudio.gui.main_window import MainWindow

    app = QApplication.instance() or QApplication([])
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        folder, name, car = scene(root)
        table = camvid_classes()
        with Project.open(folder) as p:
            p.set_classes(table)
        win = MainWindow()
        win.resize(1400, 900)
        win.show()
        win.open_folder(folder)
        pump(app, lambda: win.canvas.document() is not None and win.canvas.document().ok, 60)
        canvas = win.canvas
        canvas.set_zoom(1.0)
        canvas.centerOn(240, 180)
        editor = win.editor
        project = win.controller.project
        for size in (int(s) for s in args.sizes.split(",")):
            ck = click_checkpoint(root / f"click-{size}.pt", size, table)
            project.set_setting("active_click_checkpoint", str(ck))
            editor.set_tool("click")
            tool = editor.tools["click"]
            tool.predictor(str(ck)).predict(canvas.document().display, [(10, 10)])  # warm-up
            gaps: list[float] = []
            last = [time.perf_counter()]

            def tick(gaps=gaps, last=last) -> None:
                now = time.perf_counter()
                gaps.append(now - last[0])
                last[0] = now

            timer = QTimer(interval=5)
            timer.timeout.connect(tick)
            worker, drawn = [], []
            timer.start()
            for x, y, positive in points(car, args.clicks):
                vp = canvas.viewportTransform().map(QPointF(x + 0.5, y + 0.5)).toPoint()
                button = Qt.MouseButton.LeftButton if positive else Qt.MouseButton.RightButton
                gen = tool.generation
                QTest.mouseClick(canvas.viewport(), button, Qt.KeyboardModifier.NoModifier, vp)
                t0 = time.perf_counter()
                pump(app, lambda gen=gen, tool=tool: tool.generation > gen and tool.running is None,
                     30)
                drawn.append(time.perf_counter() - t0)
                worker.append(tool.predictor(str(ck)).last_seconds)
                pump(app, lambda t0=t0: time.perf_counter() - t0 >= 0.05, 5)  # the next click later
            timer.stop()
            QTest.keyClick(canvas, Qt.Key.Key_Escape)
            pump(app, lambda: True)
            print(f"click model input {size}x{size}, {len(worker)} clicks on {name} "
                  f"(480x360)")
            report("  worker: model update per click (median)",
                   statistics.median(worker) * 1000, "ms", "< 300 ms")
            report("  click -> preview drawn (median)", statistics.median(drawn) * 1000, "ms")
            g = sorted(gaps[1:])
            report("  GUI thread: longest event-loop gap", g[-1] * 1000, "ms", "< 50 ms")
            report("  GUI thread: 95th percentile gap", g[int(0.95 * (len(g) - 1))] * 1000,
                   "ms")
        win.close()
        pump(app, lambda: True)


if __name__ == "__main__":
    main()
