"""Large-image figures (offscreen Qt): a 50,000 x 50,000 RGB pyramidal TIFF and a
20,000 x 20,000 JPEG.  Prints medians, a table and a last JSON line.

Usage: python benchmarks/bench_large.py [--side 50000] [--flat 20000] [--repeat 5]
                                        [--data DIR]

The slide is made tile by tile into a temp folder (deleted afterwards): JPEG tiles of
256 pixels, a pyramid of SubIFDs, its "tissue" a low-resolution map of blobs, each
tile drawn from a small pool of pre-encoded tiles (so making 2.5 gigapixels takes
seconds).  The generator runs in a child process so the peak memory measured is the
window's.  ``--data DIR`` keeps the two images in DIR and reuses them on the next run
(making them takes minutes on a busy machine); the project folders are still temporary.

* open: ``show_image`` of the slide -> the first paint with its tiles (coarse level).
* pan / zoom frame: one scroll step (200 px) or one zoom step (x1.25) and the
  synchronous repaint that follows, on the GUI thread.  Target < 30 ms.
* fine tiles: after a pan, until every tile of the level the zoom needs is in place.
  Target < 300 ms.
* peak RSS (VmHWM) after opening, panning, zooming and painting.  Target < 1.5 GB.
* each frame and dab also as the GUI thread's own CPU time (``time.thread_time``):
  on a shared machine the wall time includes waiting for a core, this does not.
* brush dab: one mouse move of a radius-20 brush at 100 % (the stroke, the sync into
  the chunked mask, the repaint).  Target < 16 ms.  Painted twice: at once after the
  pan and zoom frames ("early"), while the device detection that opening a project
  starts on a worker may still run (it imports torch and torchvision for seconds,
  holding the GIL most of that time), and again once it has ended: the figures held
  to the target.
* save of a stroke: the chunks it changed (all levels) written atomically.  Target
  < 100 ms.
* flat JPEG: its first (coarse) view, target < 2 s; the pyramid cache built in the
  background (progress reports counted).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import numpy as np  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from _common import pump, report  # noqa: E402

TILE = 256


def make_slide(path: Path, side: int) -> None:
    """A pyramidal JPEG-tiled BigTIFF of side x side pixels, made tile by tile."""
    import cv2
    import imagecodecs
    import tifffile

    rng = np.random.default_rng(0)
    pool = []
    for tone in range(8):  # background .. dense tissue
        base = np.full((TILE, TILE, 3), (245 - tone * 18, 235 - tone * 25, 240 - tone * 12),
                       np.float32)
        for _k in range(4):
            noise = rng.normal(0, 6 + tone, (TILE // 8, TILE // 8, 3)).astype(np.float32)
            tile = base + cv2.resize(noise, (TILE, TILE), interpolation=cv2.INTER_CUBIC)
            for _ in range(tone * 3):  # nuclei
                c = tuple(int(v) for v in rng.integers(8, TILE - 8, 2))
                cv2.circle(tile, c, int(rng.integers(3, 7)), (90, 40, 120), -1)
            pool.append(imagecodecs.jpeg_encode(np.clip(tile, 0, 255).astype(np.uint8),
                                                level=85))
    levels = []
    s = side
    while True:
        levels.append(s)
        if s <= 1024:
            break
        s = (s + 1) // 2
    blob = cv2.GaussianBlur(rng.random((64, 64)).astype(np.float32), (0, 0), 4)
    blob = (blob - blob.min()) / (blob.max() - blob.min() + 1e-9)

    def tiles(n: int):
        count = -(-n // TILE)
        tone = cv2.resize(blob, (count, count), interpolation=cv2.INTER_LINEAR)
        for ty in range(count):
            for tx in range(count):
                t = min(7, int(tone[ty, tx] * 8))
                yield pool[t * 4 + (ty * 7 + tx * 13) % 4]

    with tifffile.TiffWriter(path, bigtiff=True) as tw:
        for i, n in enumerate(levels):
            extra = {"subifds": len(levels) - 1} if i == 0 else {"subfiletype": 1}
            tw.write(tiles(n), shape=(n, n, 3), dtype=np.uint8, tile=(TILE, TILE),
                     compression="jpeg", photometric="rgb", **extra)


def make_flat_jpeg(path: Path, side: int) -> None:
    import cv2

    y = np.linspace(0, 1, side, dtype=np.float32)[:, None]
    x = np.linspace(0, 1, side, dtype=np.float32)[None, :]
    img = np.empty((side, side, 3), np.uint8)
    for c in range(3):
        img[:, :, c] = (127 + 100 * np.sin(40 * x + 17 * y + c) * np.cos(23 * y)).astype(np.uint8)
    cv2.imwrite(str(path), img, [cv2.IMWRITE_JPEG_QUALITY, 90])


def rss_peak_mb() -> float:
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--side", type=int, default=50000)
    ap.add_argument("--flat", type=int, default=20000)
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--data", type=Path, default=None,
                    help="keep the made images here and reuse them")
    args = ap.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="bench-large-"))
    try:
        return run(tmp, args)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def run(tmp: Path, args) -> int:
    slides, flat = tmp / "slides", tmp / "flat"
    slides.mkdir()
    flat.mkdir()
    t0 = time.perf_counter()
    made_dir = args.data if args.data is not None else tmp
    slide_file = made_dir / f"slide-{args.side}.tif"
    flat_file = made_dir / f"photo-{args.flat}.jpg"
    if not (slide_file.is_file() and flat_file.is_file()):
        made_dir.mkdir(parents=True, exist_ok=True)
        code = ("import sys; sys.path.insert(0, %r); import bench_large as b; "
                "b.make_slide(b.Path(%r), %d); b.make_flat_jpeg(b.Path(%r), %d)"
                % (str(Path(__file__).parent), str(slide_file), args.side,
                   str(flat_file), args.flat))
        subprocess.run([sys.executable, "-c", code], check=True)
    for src, dest in ((slide_file, slides / "slide.tif"), (flat_file, flat / "photo.jpg")):
        try:
            os.link(src, dest)  # the same file, no copy (the project only reads it)
        except OSError:
            shutil.copyfile(src, dest)
    made = time.perf_counter() - t0
    print(f"made the slide ({(slides / 'slide.tif').stat().st_size / 1e6:.0f} MB) and the "
          f"JPEG ({(flat / 'photo.jpg').stat().st_size / 1e6:.0f} MB) in {made:.0f} s",
          flush=True)

    from PySide6.QtCore import QPoint, Qt
    from PySide6.QtTest import QTest
    from PySide6.QtWidgets import QApplication

    from segstudio.core import large_store
    from segstudio.gui.main_window import MainWindow
    from segstudio.gui.settings import AppSettings

    os.environ["SEGSTUDIO_SETTINGS"] = str(tmp / "settings.ini")
    app = QApplication.instance() or QApplication([])
    win = MainWindow(AppSettings(tmp / "settings.ini"), sample_base=tmp / "userdata")
    win.resize(1600, 1000)
    win.show()
    c = win.controller
    canvas = win.canvas
    figures: dict[str, float] = {}

    app.processEvents()
    rss_before = rss_peak_mb()
    win.open_folder(slides)
    pump(app, lambda: canvas.document() is not None and canvas.document().large is not None,
         120)
    rec = c.records[0]
    layer = canvas.large_view().image

    def settled() -> bool:
        app.processEvents()
        return layer.pending() == 0 and len(layer.cache) > 0

    # -- open to first view ----------------------------------------------------------
    opens = []
    for _ in range(args.repeat):
        c.show_image(None)
        pump(app, lambda: canvas.document() is None)
        t = time.perf_counter()
        c.show_image(rec)
        pump(app, lambda: canvas.document() is not None and canvas.document().large is not None)
        start = canvas.paint_count
        pump(app, lambda: len(layer.cache) > 0 and canvas.paint_count > start, 30)
        opens.append((time.perf_counter() - t) * 1000)
    figures["open_ms"] = statistics.median(opens)

    # -- pan and zoom frames, fine tiles --------------------------------------------------
    canvas.set_zoom(1.0)
    oy, ox = canvas.window_origin()
    canvas.centerOn(args.side / 2 - ox, args.side / 2 - oy)
    pump(app, settled, 30)
    vp = canvas.viewport()
    hbar = canvas.horizontalScrollBar()
    pans, fines, cpu_pans = [], [], []
    for i in range(args.repeat * 4):
        t, ct = time.perf_counter(), time.thread_time()
        hbar.setValue(hbar.value() + (200 if i % 8 < 4 else -200))
        vp.repaint()
        pans.append((time.perf_counter() - t) * 1000)
        cpu_pans.append((time.thread_time() - ct) * 1000)
        t = time.perf_counter()
        pump(app, settled, 30)
        vp.repaint()
        fines.append((time.perf_counter() - t) * 1000)
    zooms, cpu_zooms = [], []
    for i in range(args.repeat * 4):
        t, ct = time.perf_counter(), time.thread_time()
        canvas.zoom_by(1.25 if (i // 6) % 2 else 0.8)
        vp.repaint()
        zooms.append((time.perf_counter() - t) * 1000)
        cpu_zooms.append((time.thread_time() - ct) * 1000)
        pump(app, settled, 30)
    figures["pan_frame_ms"] = statistics.median(pans)
    figures["pan_frame_max_ms"] = max(pans)
    figures["zoom_frame_ms"] = statistics.median(zooms)
    figures["zoom_frame_max_ms"] = max(zooms)
    figures["fine_tiles_ms"] = statistics.median(fines)
    figures["pan_cpu_ms"], figures["pan_cpu_max_ms"] = statistics.median(cpu_pans), max(cpu_pans)
    figures["zoom_cpu_ms"] = statistics.median(cpu_zooms)
    figures["zoom_cpu_max_ms"] = max(cpu_zooms)

    # -- painting at full resolution ------------------------------------------------------
    canvas.set_zoom(1.0)
    oy, ox = canvas.window_origin()
    canvas.centerOn(args.side / 2 - ox, args.side / 2 - oy)
    pump(app, settled, 30)
    win.editor.set_tool("brush")
    win.editor.set_radius(20)
    centre = vp.rect().center()
    saves: list[float] = []
    chunks: list[int] = []

    def paint(row0: int) -> tuple[list[float], list[float], list[bool]]:
        """``args.repeat`` strokes of 39 dabs, rows 80 px apart from ``row0``; each saved."""
        dabs, cpu_dabs, detecting = [], [], []
        for s in range(args.repeat):
            y = centre.y() + row0 + s * 80
            QTest.mousePress(vp, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier,
                             QPoint(centre.x() - 300, y))
            for _ in range(5):
                app.processEvents()
            for k in range(1, 40):
                start = canvas.paint_count
                t, ct = time.perf_counter(), time.thread_time()
                detecting.append(not win.training.ready)
                QTest.mouseMove(vp, QPoint(centre.x() - 300 + k * 15, y + (k % 5)))
                pump(app, lambda start=start: canvas.paint_count > start, 5)  # its repaint
                dabs.append((time.perf_counter() - t) * 1000)
                cpu_dabs.append((time.thread_time() - ct) * 1000)
            QTest.mouseRelease(vp, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier,
                               QPoint(centre.x() + 300, y))
            session = win.editor.current_session()
            snap = session.chunked.snapshot()
            t = time.perf_counter()
            large_store.save_chunks(c.project, session.rec, session.chunked, snap)
            saves.append((time.perf_counter() - t) * 1000)
            chunks.append(len(snap))
        return dabs, cpu_dabs, detecting

    # first at once (the device detection that opening started may still be running),
    # then, on rows between, once it has ended
    early, _early_cpu, detecting = paint(-200)
    pump(app, lambda: bool(win.training.ready), 120)
    dabs, cpu_dabs, _ = paint(-160)
    figures["dab_ms"] = statistics.median(dabs)
    figures["dab_max_ms"] = max(dabs)
    figures["dab_cpu_ms"], figures["dab_cpu_max_ms"] = statistics.median(cpu_dabs), max(cpu_dabs)
    figures["early_dab_ms"], figures["early_dab_max_ms"] = statistics.median(early), max(early)
    figures["early_dabs_while_detecting"] = sum(detecting)
    figures["first_save_ms"] = saves[0]  # makes the store
    figures["stroke_save_ms"] = statistics.median(saves[1:])
    figures["stroke_chunks"] = statistics.median(chunks)
    figures["peak_rss_mb"] = rss_peak_mb()
    figures["rss_before_open_mb"] = rss_before
    shot = tmp.parent / "d-large-bench-view.png"
    canvas.grab().save(str(shot))

    # -- the flat JPEG -----------------------------------------------------------------------
    progress: list[tuple[int, int]] = []
    c.busy.connect(lambda label, d, t: progress.append((d, t)) if "pyramid" in label else None)
    c.close_project()  # closing the slide's project is not the JPEG's first view
    app.processEvents()
    t = time.perf_counter()
    win.open_folder(flat)
    pump(app, lambda: canvas.document() is not None and canvas.document().large is not None,
         120)
    first_flat = (time.perf_counter() - t) * 1000
    pump(app, lambda: len(layer.cache) > 0, 60)
    figures["flat_first_view_ms"] = (time.perf_counter() - t) * 1000
    figures["flat_doc_ms"] = first_flat
    pump(app, lambda: not canvas.document().large.building, 600, nap=0.01)
    figures["flat_pyramid_s"] = time.perf_counter() - t
    figures["flat_progress_reports"] = len([p for p in progress if p[1] > 1])
    win.close()

    print()
    report("open to first view (50k slide)", figures["open_ms"], "ms", "< 1000")
    report("pan frame, GUI thread (median)", figures["pan_frame_ms"], "ms", "< 30")
    report("pan frame, GUI thread (max)", figures["pan_frame_max_ms"], "ms", "< 30")
    report("zoom frame, GUI thread (median)", figures["zoom_frame_ms"], "ms", "< 30")
    report("zoom frame, GUI thread (max)", figures["zoom_frame_max_ms"], "ms", "< 30")
    report("  pan frame, GUI thread CPU (median / max)", figures["pan_cpu_ms"], "ms")
    report("", figures["pan_cpu_max_ms"], "ms")
    report("  zoom frame, GUI thread CPU (median / max)", figures["zoom_cpu_ms"], "ms")
    report("", figures["zoom_cpu_max_ms"], "ms")
    report("fine tiles in place after a pan", figures["fine_tiles_ms"], "ms", "< 300")
    report("brush dab at 100 % (median)", figures["dab_ms"], "ms", "< 16")
    report("brush dab at 100 % (max)", figures["dab_max_ms"], "ms", "< 16")
    report("  dab, GUI thread CPU (median / max)", figures["dab_cpu_ms"], "ms")
    report("", figures["dab_cpu_max_ms"], "ms")
    report("  painting at once after opening: dab median / max", figures["early_dab_ms"], "ms")
    report("", figures["early_dab_max_ms"], "ms")
    report("  of its dabs, made while the devices were detected",
           figures["early_dabs_while_detecting"], "")
    report("save of a stroke", figures["stroke_save_ms"], "ms", "< 100")
    report("  the first save (makes the chunked store)", figures["first_save_ms"], "ms")
    report("  chunks it wrote (all levels)", figures["stroke_chunks"], "")
    report("peak RSS (open, pan, zoom, paint)", figures["peak_rss_mb"], "MB", "< 1536")
    report("  of which the window before opening", figures["rss_before_open_mb"], "MB")
    report("flat 20k JPEG: first coarse view", figures["flat_first_view_ms"], "ms", "< 2000")
    report("flat 20k JPEG: pyramid cache built", figures["flat_pyramid_s"], "s")
    report("  progress reports", figures["flat_progress_reports"], "")
    print(json.dumps({k: round(v, 2) for k, v in figures.items()}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
