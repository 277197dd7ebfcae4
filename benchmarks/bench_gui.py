"""Window figures (offscreen Qt): overlay repaint, first display, 10k-image browser, stalls.

Prints medians.  Usage: python benchmarks/bench_gui.py [--images N] [--repeat R] [--quick]

* overlay: a 4096x4096 image with a 12-class mask; one class's opacity or
  visibility (or the global opacity) changes through the class panel, then
  events are processed until the canvas viewport has painted (the scene's own
  queued update, counted by canvas.paint_count); at fit zoom and at 100 %.
  Forcing an extra viewport().repaint() instead would paint twice (the
  scene's queued update paints again), so it is printed separately.
  Target <= 5 ms.
* first display: request -> decoded -> painted, for a JPEG and a PNG photo of
  4096x4096 with its mask (the two images alternate so each display decodes).
  Target <= 300 ms.  (Prefetch is off for this figure.)
* next image with prefetch: stepping through a folder of 4096x4096 PNGs with
  masks (Page Down), each shown after the previous one's neighbours were
  prefetched (the user looks at an image for a moment); request -> painted.
  Target well under 300 ms.
* browser: a folder of N (10,000) JPEGs until the browser shows its rows and
  is painted, first open (scan included) and reopen.  Target <= 1.5 s.
* stalls: the longest gap between ticks of a 10 ms QTimer while the browser
  scrolls page by page and thumbnails are made (empty cache).  Target <= 50 ms.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import cv2  # noqa: E402
import numpy as np  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import pump, report  # noqa: E402

from segstudio.core.classes import ClassInfo, ClassTable, DISTINCT_COLORS  # noqa: E402
from segstudio.core.project import Project  # noqa: E402
from segstudio.core.sample import draw_scene  # noqa: E402

OUT = Path(__file__).resolve().parents[1] / "bench-out" / "gui"
TABLE12 = ClassTable(tuple(ClassInfo(i, f"class {i}", DISTINCT_COLORS[i]) for i in range(12))
                     + (ClassInfo(255, "unlabelled", (0, 0, 0), ignore=True),), name="bench12")


def _cached(folder: Path) -> bool:
    """True when ``folder`` was made completely before; otherwise it is made empty."""
    if (folder / ".complete").exists():
        return True
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    return False


def big_photo(seed: int, rng: np.random.Generator) -> np.ndarray:
    """A 4096x4096 RGB street scene with a little noise (so it does not compress to nothing)."""
    img, _ = draw_scene(seed, (1024, 1024))
    img = cv2.resize(img, (4096, 4096), interpolation=cv2.INTER_CUBIC)
    return np.clip(img.astype(np.int16) + rng.integers(-6, 7, img.shape), 0, 255).astype(np.uint8)


def make_big_project(root: Path) -> Path:
    folder = root / "big"
    if _cached(folder):
        return folder
    rng = np.random.default_rng(0)
    for i, stem in enumerate(("a", "b")):
        img = big_photo(50 + i, rng)
        bgr = cv2.cvtColor(img, cv2.COLOR_RGB2BGR)
        cv2.imwrite(str(folder / f"{stem}.jpg"), bgr, [cv2.IMWRITE_JPEG_QUALITY, 90])
        cv2.imwrite(str(folder / f"{stem}.png"), bgr, [cv2.IMWRITE_PNG_COMPRESSION, 3])
    with Project.open(folder) as p:
        p.set_classes(TABLE12)
        for rec in p.images():
            blobs = rng.integers(0, 12, (48, 48)).astype(np.uint8)
            mask = cv2.resize(blobs, (4096, 4096), interpolation=cv2.INTER_NEAREST)
            mask[rng.integers(0, 4096, 2000), rng.integers(0, 4096, 2000)] = 255
            p.save_mask(rec, mask)
    (folder / ".complete").write_text("ok")
    return folder


def make_many(root: Path, n: int) -> Path:
    folder = root / f"many-{n}"
    if _cached(folder):
        return folder
    rng = np.random.default_rng(1)
    for i in range(n):
        small = rng.integers(0, 255, (6, 8, 3), dtype=np.uint8)
        img = cv2.resize(small, (256, 192), interpolation=cv2.INTER_LINEAR)
        cv2.imwrite(str(folder / f"img_{i:05d}.jpg"), img, [cv2.IMWRITE_JPEG_QUALITY, 85])
    (folder / ".complete").write_text("ok")
    return folder


def make_png_series(root: Path, n: int = 5) -> Path:
    """n 4096x4096 PNG photos with masks, for stepping through a folder."""
    folder = root / "series"
    if _cached(folder):
        return folder
    rng = np.random.default_rng(2)
    for i in range(n):
        img = big_photo(70 + i, rng)
        cv2.imwrite(str(folder / f"s{i}.png"), cv2.cvtColor(img, cv2.COLOR_RGB2BGR),
                    [cv2.IMWRITE_PNG_COMPRESSION, 3])
    with Project.open(folder) as p:
        p.set_classes(TABLE12)
        for rec in p.images():
            blobs = rng.integers(0, 12, (48, 48)).astype(np.uint8)
            p.save_mask(rec, cv2.resize(blobs, (4096, 4096), interpolation=cv2.INTER_NEAREST))
    (folder / ".complete").write_text("ok")
    return folder


def startup_seconds() -> tuple[float, float]:
    """(process start to painted, import to painted inside the process), seconds."""
    code = ("import os,time; t=time.perf_counter(); os.environ['QT_QPA_PLATFORM']='offscreen';"
            "from segstudio.gui.app import make_app; app=make_app();"
            "from segstudio.gui.main_window import MainWindow; w=MainWindow(); w.show();"
            "w.repaint(); app.processEvents(); print(time.perf_counter()-t)")
    env = dict(os.environ, SEGSTUDIO_SETTINGS=str(OUT / "startup.ini"))
    t0 = time.perf_counter()
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env,
                         check=True)
    total = time.perf_counter() - t0
    return total, float(out.stdout.strip().splitlines()[-1])


def bench_overlay(app, win, folder: Path, repeat: int) -> None:
    c = win.controller
    win.open_folder(folder)
    pump(app, lambda: win.canvas.document() is not None and win.canvas.document().ok)
    rec = next(r for r in c.records if r.relpath == "a.jpg")
    win.browser.select_image(rec.id)
    pump(app, lambda: win.canvas.document().rec.relpath == "a.jpg")
    canvas, panel = win.canvas, win.class_panel
    vp = canvas.viewport()
    print(f"  canvas viewport {vp.width()}x{vp.height()}")
    # the repaint itself, not a race with the thumbnails and the neighbours' prefetch
    # (each a 4096x4096 decode on the other core) that follow opening a folder
    pump(app, lambda: not win.thumbs.busy() and not c.prefetch.in_flight())

    def timed(change, n, forced=False):
        times = []
        for i in range(n):
            before = canvas.paint_count
            t0 = time.perf_counter()
            change(i)
            if forced:
                vp.repaint()
                app.processEvents()
            else:
                while canvas.paint_count == before:
                    app.processEvents()
            times.append((time.perf_counter() - t0) * 1000)
            app.processEvents()
        return statistics.median(times[3:]), max(times[3:])

    for zoom_name, set_zoom in (("fit", canvas.fit), ("100 %", canvas.actual_size)):
        set_zoom()
        vp.repaint()
        app.processEvents()
        med, worst = timed(lambda i: panel.set_class_opacity(3, 0.3 + 0.5 * (i % 2)), repeat)
        report(f"overlay: one class's opacity, repainted ({zoom_name})", med, "ms", "<= 5 ms")
        med, worst = timed(lambda i: panel.set_class_visible(5, bool(i % 2)), repeat)
        report(f"overlay: one class's visibility, repainted ({zoom_name})", med, "ms", "<= 5 ms")
        med, worst = timed(lambda i: panel.set_global_opacity(0.3 + 0.4 * (i % 2)), repeat)
        report(f"overlay: global opacity, repainted ({zoom_name})", med, "ms", "<= 5 ms")
        med, worst = timed(lambda i: panel.set_class_opacity(3, 0.3 + 0.5 * (i % 2)), repeat, True)
        report(f"  same as opacity, plus a forced repaint() ({zoom_name})", med, "ms")
    canvas.fit()


def bench_first_display(app, win, repeat: int) -> None:
    c = win.controller
    c.prefetch_enabled = False  # every display decodes (see bench_next_with_prefetch)
    for ext in ("jpg", "png"):
        recs = [r for r in c.records if r.relpath.endswith(ext)]
        times = []
        for i in range(repeat + 1):
            rec = recs[i % 2]
            t0 = time.perf_counter()
            win.browser.select_image(rec.id)
            pump(app, lambda: c.document is not None and c.document.rec.id == rec.id
                 and win.canvas.document() is c.document)
            win.canvas.viewport().repaint()
            app.processEvents()
            times.append((time.perf_counter() - t0) * 1000)
        size = (win.controller.project.root / recs[0].relpath).stat().st_size / 1e6
        report(f"first display 4096x4096 {ext.upper()} ({size:.0f} MB) + mask", statistics.median(times[1:]),
               "ms", "<= 300 ms")


def bench_next_with_prefetch(app, win, folder: Path) -> None:
    c = win.controller
    c.prefetch_enabled = True
    win.open_folder(folder)
    pump(app, lambda: c.document is not None and win.canvas.document() is c.document)
    first = win.browser.model.record(0)
    win.browser.select_row(0)  # the project reopens on its last image
    pump(app, lambda: c.document is not None and c.document.rec.id == first.id
         and win.canvas.document() is c.document)
    times, hits, cached = [], c.prefetch.hits, 0
    for _ in range(len(c.records) - 1):
        # the user looks at the image while its neighbours are prefetched
        pump(app, lambda: not c.prefetch.in_flight())
        cached = max(cached, c.prefetch.nbytes())
        shown = c.document
        t0 = time.perf_counter()
        win.next_image()
        pump(app, lambda: c.document is not shown and win.canvas.document() is c.document)
        win.canvas.viewport().repaint()
        app.processEvents()
        times.append((time.perf_counter() - t0) * 1000)
    print(f"  {len(times)} steps, {c.prefetch.hits - hits} from the prefetch cache, "
          f"cache up to {cached / 1e6:.0f} MB")
    report("next image with prefetch, 4096x4096 PNG + mask", statistics.median(times), "ms",
           "well under 300 ms")


def bench_browser(app, win, folder: Path, repeat: int = 3) -> None:
    """Median of ``repeat`` first opens (the project directory deleted before each)
    and as many reopens."""
    times: dict[str, list[float]] = {"first open, scan included": [], "reopen": []}
    for _ in range(repeat):
        shutil.rmtree(folder / ".segstudio", ignore_errors=True)
        for label in times:
            win.close_project()
            app.processEvents()
            t0 = time.perf_counter()
            win.open_folder(folder)
            pump(app, lambda: win.browser.model.rowCount() == win.browser.model.total() > 0)
            win.browser.view.viewport().repaint()
            app.processEvents()
            times[label].append(time.perf_counter() - t0)
    for label, values in times.items():
        report(f"browser usable, {win.browser.model.total():,} images ({label})",
               statistics.median(values) * 1000, "ms", "<= 1500 ms")


def bench_stalls(app, win, folder: Path, seconds: float = 6.0) -> None:
    from PySide6.QtCore import QEventLoop, QTimer

    shutil.rmtree(folder / ".segstudio" / "cache", ignore_errors=True)
    win.close_project()
    win.open_folder(folder)
    pump(app, lambda: win.browser.model.rowCount() > 0)
    view = win.browser.view
    bar = view.verticalScrollBar()
    ticks: list[float] = []
    tick = QTimer(interval=10)
    tick.timeout.connect(lambda: ticks.append(time.perf_counter()))
    made_before = len(list((folder / ".segstudio" / "cache").rglob("*.jpg")))
    scroll = QTimer(interval=60)
    page = view.viewport().height()
    scroll.timeout.connect(lambda: bar.setValue(bar.value() + page))
    loop = QEventLoop()
    QTimer.singleShot(int(seconds * 1000), loop.quit)
    tick.start()
    scroll.start()
    loop.exec()
    tick.stop()
    scroll.stop()
    gaps = np.diff(np.array(ticks)) * 1000
    made = len(list((folder / ".segstudio" / "cache").rglob("*.jpg"))) - made_before
    print(f"  scrolled to row {view.indexAt(view.viewport().rect().topLeft()).row():,}, "
          f"{made} thumbnails made meanwhile, {len(ticks)} ticks")
    report("GUI stall while scrolling + thumbnails: longest tick gap", float(gaps.max()), "ms",
           "<= 50 ms")
    report("GUI stall: 99th percentile tick gap", float(np.percentile(gaps, 99)), "ms")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--images", type=int, default=10000)
    ap.add_argument("--repeat", type=int, default=40)
    ap.add_argument("--quick", action="store_true", help="fewer images and repeats")
    args = ap.parse_args()
    if args.quick:
        args.images, args.repeat = 2000, 12
    OUT.mkdir(parents=True, exist_ok=True)
    os.environ["SEGSTUDIO_SETTINGS"] = str(OUT / "bench-settings.ini")
    os.environ["SEGSTUDIO_DATA_DIR"] = str(OUT / "userdata")

    total, inside = startup_seconds()
    report("startup: process start to welcome window painted", total * 1000, "ms")

    print("preparing data (cached in bench-out/gui) ...", flush=True)
    big = make_big_project(OUT)
    series = make_png_series(OUT)
    many = make_many(OUT, args.images)

    from segstudio.gui.app import make_app
    app = make_app()
    from segstudio.gui.main_window import MainWindow

    win = MainWindow()
    win.resize(1400, 900)
    win.show()
    app.processEvents()
    bench_overlay(app, win, big, args.repeat)
    bench_first_display(app, win, max(4, args.repeat // 5))
    bench_next_with_prefetch(app, win, series)
    bench_browser(app, win, many)
    bench_stalls(app, win, many)
    win.close_project()
    app.processEvents()
    t0 = time.perf_counter()
    win.close()
    report("closing the window with nothing running", (time.perf_counter() - t0) * 1000, "ms")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
