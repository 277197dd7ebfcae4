"""The classical smart tools (scissors, watershed, superpixels, wand): medians per step.

Usage: python benchmarks/bench_smart.py [--repeat R] [--quick]

On the CamVid training image with the largest car (480 x 360) and on the same
image upscaled to 4096 x 4096 (bicubic).  For each tool: the worker job (what
runs off the GUI thread) and the GUI-thread parts (per mouse move, the overlay
update, the paint on apply).  The 480 x 360 run also prints how well each
tool's region matches CamVid's car label (IoU), from anchors on the car's
outline (scissors), a stroke inside and a ring round it (watershed).

Needs CamVid (../shared/datasets/camvid or SEGSTUDIO_CAMVID).
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import cv2  # noqa: E402
import numpy as np  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from _common import median_ms  # noqa: E402
from _datasets import CAMVID  # noqa: E402

from segstudio.core.edits import paint_region  # noqa: E402
from segstudio.core.imageio import read_image  # noqa: E402
from segstudio.core.smart.scissors import PathMap, join_paths, scissors_region  # noqa: E402
from segstudio.core.smart.superpixels import SuperpixelStroke, compute_superpixels  # noqa: E402
from segstudio.core.smart.wand import preview_array, wand_fill, wand_region  # noqa: E402
from segstudio.core.smart.watershed import paint_labels, watershed_labels  # noqa: E402

CAR, ROAD, IGNORE = 8, 3, 11


def report(name: str, value: float, unit: str) -> None:
    """One figure; sub-millisecond times keep three decimals."""
    print(f"{name:<66} {value:10.3f} {unit}" if unit == "ms" and value < 10
          else f"{name:<66} {value:10.1f} {unit}", flush=True)
BIG = 4096


def inner_cars(lab: np.ndarray) -> list[tuple[int, np.ndarray]]:
    """(area, bool mask) of each car blob that does not touch the image border."""
    n, comp, stats, _ = cv2.connectedComponentsWithStats((lab == CAR).astype(np.uint8), 4)
    h, w = lab.shape
    out = []
    for k in range(1, n):
        x, y, bw, bh, area = (int(v) for v in stats[k])
        if x > 0 and y > 0 and x + bw < w and y + bh < h:
            out.append((area, comp == k))
    return out


def pick_image(limit: int = 120):
    """(name, RGB image, labels, car) of the training image with the largest car blob that
    does not touch the image border (CamVid merges touching cars into one blob)."""
    best = None
    for name in sorted(os.listdir(CAMVID / "train"))[:limit]:
        cars = inner_cars(read_image(CAMVID / "trainannot" / name))
        if cars:
            area = max(a for a, _ in cars)
            if best is None or area > best[0]:
                best = (area, name)
    name = best[1]
    labels = read_image(CAMVID / "trainannot" / name)
    car = max(inner_cars(labels), key=lambda c: c[0])[1]
    return name, read_image(CAMVID / "train" / name), labels, car


def car_marks(car: np.ndarray):
    """Anchors on the car's outline, a stroke inside it, a ring round it (x, y), its centre."""
    car = car.astype(np.uint8)
    contour = max(cv2.findContours(car, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_NONE)[0],
                  key=cv2.contourArea)
    anchors = cv2.approxPolyDP(contour, 0.02 * cv2.arcLength(contour, True), True)
    anchors = [tuple(int(v) for v in p) for p in anchors.reshape(-1, 2)]
    dist = cv2.distanceTransform(car, cv2.DIST_L2, 5)
    cy, cx = np.unravel_index(int(np.argmax(dist)), dist.shape)
    # the object stroke: a loop round the car's inner part (what a user scribbles)
    core = (dist >= 0.4 * dist.max()).astype(np.uint8)
    loop = max(cv2.findContours(core, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)[0],
               key=cv2.contourArea).reshape(-1, 2)
    inside = [(x + 0.5, y + 0.5) for x, y in loop] + [(loop[0][0] + 0.5, loop[0][1] + 0.5)]
    ring_mask = cv2.dilate(car, np.ones((25, 25), np.uint8))
    ring = max(cv2.findContours(ring_mask, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)[0],
               key=cv2.contourArea).reshape(-1, 2)
    ring = [(x + 0.5, y + 0.5) for x, y in ring] + [(ring[0][0] + 0.5, ring[0][1] + 0.5)]
    return car.astype(bool), anchors, inside, ring, (int(cx), int(cy))


def road_seed(labels: np.ndarray) -> tuple[int, int]:
    road = (labels == ROAD).astype(np.uint8)
    dist = cv2.distanceTransform(road, cv2.DIST_L2, 5)
    y, x = np.unravel_index(int(np.argmax(dist)), dist.shape)
    return int(x), int(y)


def iou(a: np.ndarray, b: np.ndarray) -> float:
    return 100.0 * (a & b).sum() / max(1, (a | b).sum())


def placed(shape, region) -> np.ndarray:
    out = np.zeros(shape, bool)
    if region is not None:
        y0, x0, sel = region
        out[y0:y0 + sel.shape[0], x0:x0 + sel.shape[1]] = sel
    return out


def overlay_paint_ms(scene, item, size, repeat: int) -> float:
    """Median ms of drawing the scene with ``item`` into a 1200 x 800 view at fit zoom."""
    from PySide6.QtCore import QRectF
    from PySide6.QtGui import QImage, QPainter

    h, w = size
    zoom = min(1200 / w, 800 / h)
    target = QImage(1200, 800, QImage.Format.Format_ARGB32_Premultiplied)

    def draw():
        target.fill(0)
        p = QPainter(target)
        scene.render(p, QRectF(0, 0, w * zoom, h * zoom), QRectF(0, 0, w, h))
        p.end()

    return median_ms(draw, repeat)


def run(label: str, image: np.ndarray, labels: np.ndarray, car0: np.ndarray,
        scale: tuple[float, float],
        repeat: int, heavy_repeat: int) -> None:
    from PySide6.QtWidgets import QGraphicsScene

    from segstudio.gui.editor.base import PathOverlay
    from segstudio.gui.editor.smart_overlay import IndexedOverlay, centres

    h, w = image.shape[:2]
    sx, sy = scale
    car, anchors, inside, ring, centre = car_marks(car0)
    anchors = [(int(x * sx + sx / 2), int(y * sy + sy / 2)) for x, y in anchors]
    inside = [(x * sx, y * sy) for x, y in inside]
    ring = [(x * sx, y * sy) for x, y in ring]
    cx, cy = int(centre[0] * sx), int(centre[1] * sy)
    rx, ry = road_seed(labels)
    rx, ry = int(rx * sx), int(ry * sy)
    mask = np.full((h, w), IGNORE, np.uint8)
    tag = f"[{label}]"
    print(f"\n{label}: {w} x {h}, {len(anchors)} anchors round the car", flush=True)

    # -- scissors ------------------------------------------------------------------
    maps = [PathMap(image, a) for a in anchors]
    report(f"{tag} scissors: path map per anchor (worker)",
           median_ms(lambda: PathMap(image, anchors[0]), heavy_repeat, warmup=0), "ms")
    m0 = maps[0]
    x0, y0, x1, y1 = m0.window
    rng = np.random.default_rng(0)
    targets = np.column_stack([rng.integers(x0, x1, 200), rng.integers(y0, y1, 200)])
    it = iter(np.tile(targets, (50, 1)))
    report(f"{tag} scissors: live path per mouse move (GUI)",
           median_ms(lambda: m0.path_to(*next(it)), 150), "ms")
    path = m0.path_to(*anchors[1])
    scene = QGraphicsScene()
    item = PathOverlay()
    scene.addItem(item)
    report(f"{tag} scissors: overlay update per move, {len(path)} px path (GUI)",
           median_ms(lambda: item.set_points(centres(path)), repeat), "ms")
    outline = join_paths([m.path_to(*anchors[(i + 1) % len(anchors)])
                          for i, m in enumerate(maps)])
    report(f"{tag} scissors: fill region of the outline (worker)",
           median_ms(lambda: scissors_region(image, outline), repeat), "ms")
    region = scissors_region(image, outline)
    report(f"{tag} scissors: paint + undo step on apply (GUI)",
           median_ms(lambda: paint_region(mask.copy(), *region, CAR), repeat), "ms")
    if scale == (1.0, 1.0):
        report(f"{tag} scissors: IoU with CamVid's car", iou(placed((h, w), region), car), "%")

    # -- watershed ---------------------------------------------------------------------
    strokes = [(CAR, inside), (None, ring)]
    report(f"{tag} watershed: crop round the strokes (worker)",
           median_ms(lambda: watershed_labels(image, strokes), heavy_repeat, warmup=0), "ms")
    y0w, x0w, wl = watershed_labels(image, strokes)
    report(f"{tag} watershed: paint + undo step on apply (GUI)",
           median_ms(lambda: paint_labels(mask.copy(), y0w, x0w, wl), repeat), "ms")
    if scale == (1.0, 1.0):
        report(f"{tag} watershed: IoU with CamVid's car",
               iou(placed((h, w), (y0w, x0w, wl == CAR)), car), "%")
    whole = [(CAR, inside), (None, [(1.5, 1.5), (w - 1.5, 1.5), (w - 1.5, h - 1.5),
                                    (1.5, h - 1.5), (1.5, 1.5)])]
    report(f"{tag} watershed: strokes spanning the whole image (worker)",
           median_ms(lambda: watershed_labels(image, whole), heavy_repeat, warmup=0), "ms")

    # -- superpixels --------------------------------------------------------------------
    size = 17  # brush radius 8
    spmap = None

    def slic_job():
        nonlocal spmap
        spmap = compute_superpixels(image, size)
        spmap.boundaries()

    report(f"{tag} superpixels: SLIC ~{size} px + boundaries (worker)",
           median_ms(slic_job, heavy_repeat, warmup=0), "ms")
    edges = spmap.boundaries()
    print(f"{tag}   {spmap.count} superpixels computed at "
          f"{spmap.labels.shape[1]} x {spmap.labels.shape[0]}", flush=True)
    m2 = mask.copy()
    stroke = SuperpixelStroke(m2, spmap, CAR)
    pts = iter([(cx + 0.5 + 3 * size * (i % 40), cy + 0.5) for i in range(10_000)])

    def add_next():
        p = next(pts)
        stroke.add_point(min(p[0], w - 1), p[1])
        stroke.done.clear()

    report(f"{tag} superpixels: one superpixel under a drag (GUI)", median_ms(add_next, 40), "ms")
    ov = IndexedOverlay([])
    scene2 = QGraphicsScene()
    scene2.addItem(ov)
    eh, ew = edges.shape
    report(f"{tag} superpixels: boundary overlay set (GUI)",
           median_ms(lambda: ov.show_array(edges, 0, 0, w / ew, h / eh), repeat), "ms")
    report(f"{tag} superpixels: boundary overlay paint at fit zoom (GUI)",
           overlay_paint_ms(scene2, ov, (h, w), repeat), "ms")

    # -- wand ---------------------------------------------------------------------------------
    tol = 12

    def wand_job():
        reg = wand_region(image, rx + 0.5, ry + 0.5, tol)
        return reg, preview_array(reg[2])

    report(f"{tag} wand: region + preview at tolerance {tol} (worker)",
           median_ms(wand_job, repeat), "ms")
    reg, shown = wand_job()
    print(f"{tag}   wand region: {int(reg[2].sum()):,} px", flush=True)
    ov2 = IndexedOverlay([])
    scene3 = QGraphicsScene()
    scene3.addItem(ov2)
    report(f"{tag} wand: preview overlay set (GUI)",
           median_ms(lambda: ov2.show_array(shown, reg[1], reg[0]), repeat), "ms")
    report(f"{tag} wand: preview overlay paint at fit zoom (GUI)",
           overlay_paint_ms(scene3, ov2, (h, w), repeat), "ms")
    report(f"{tag} wand: paint + undo step on apply (GUI)",
           median_ms(lambda: wand_fill(mask.copy(), reg, ROAD), repeat), "ms")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=7)
    ap.add_argument("--quick", action="store_true", help="480 x 360 only")
    args = ap.parse_args()
    if not (CAMVID / "train").is_dir():
        sys.exit(f"bench_smart: CamVid not found at {CAMVID}; set SEGSTUDIO_CAMVID")
    from PySide6.QtWidgets import QApplication

    app = QApplication.instance() or QApplication([])  # noqa: F841 - items need it
    name, image, labels, car = pick_image()
    print(f"CamVid image {name}; medians of {args.repeat} runs (heavy jobs: 3)", flush=True)
    run("480x360", image, labels, car, (1.0, 1.0), args.repeat, 3)
    if not args.quick:
        big = cv2.resize(image, (BIG, BIG), interpolation=cv2.INTER_CUBIC)
        run("4096x4096", big, labels, car, (BIG / image.shape[1], BIG / image.shape[0]),
            args.repeat, 3)


if __name__ == "__main__":
    main()
