"""Data sets for the quality benchmarks and tests, built in a temp folder.

* :func:`make_membranes` draws grayscale "electron-microscopy-like" images:
  cells of a warped Voronoi tessellation whose walls (about a fifth of the
  pixels) are the foreground class; the cells carry texture, dark organelles
  and vesicles (which are *not* membrane), the walls vary in thickness and
  contrast, and the whole frame has an illumination gradient, blur and noise.
  It stands in for the serial-section EM sets (ISBI 2012) that segstudio's
  users bring: a thin, connected, minority class that a majority-class
  predictor scores 0 % IoU on.
* :func:`camvid_binary` converts CamVid to grayscale "CLASS vs the rest"
  (road, or the thin Pole class) with the unlabelled pixels kept unlabelled.
* :func:`camvid_project` opens a project over CamVid's colour images with its
  11 classes (the files are linked, never copied).

Every builder returns (image folder, list of (relpath, label map)) and writes
masks through the project store, as the window does.
"""

from __future__ import annotations

import os
from pathlib import Path

import cv2
import numpy as np

CAMVID = Path(os.environ.get("SEGSTUDIO_CAMVID",
                             Path(__file__).resolve().parents[1].parent / "shared" / "datasets"
                             / "camvid"))
CAMVID_IGNORE = 11


def _smooth_noise(rng: np.random.Generator, shape: tuple[int, int], sigma: float) -> np.ndarray:
    n = rng.standard_normal(shape).astype(np.float32)
    n = cv2.GaussianBlur(n, (0, 0), sigma)
    return n / (n.std() + 1e-6)


def membrane_image(rng: np.random.Generator, size: int = 512,
                   cells: tuple[int, int] = (45, 80)) -> tuple[np.ndarray, np.ndarray]:
    """(uint8 grayscale image, uint8 labels: 0 cell interior, 1 membrane)."""
    h = w = size
    n = int(rng.integers(*cells))
    pts = rng.uniform(-0.05 * size, 1.05 * size, (n, 2)).astype(np.float32)
    # warp the plane so the walls are curved, then label each pixel by its nearest seed
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    amp = size * 0.03
    wx = xx + amp * _smooth_noise(rng, (h, w), size / 12)
    wy = yy + amp * _smooth_noise(rng, (h, w), size / 12)
    best = np.full((h, w), np.inf, np.float32)
    owner = np.zeros((h, w), np.int32)
    for i, (px, py) in enumerate(pts):
        d = (wx - px) ** 2 + (wy - py) ** 2
        closer = d < best
        best[closer] = d[closer]
        owner[closer] = i
    edge = np.zeros((h, w), np.uint8)
    edge[:, 1:] |= (owner[:, 1:] != owner[:, :-1]).astype(np.uint8)
    edge[1:, :] |= (owner[1:, :] != owner[:-1, :]).astype(np.uint8)
    # wall thickness varies smoothly between 3 and 11 pixels
    thick = 3.0 + 4.0 * (1 + np.tanh(_smooth_noise(rng, (h, w), size / 10)))
    dist = cv2.distanceTransform((1 - edge).astype(np.uint8), cv2.DIST_L2, 5)
    membrane = dist < thick / 2
    labels = membrane.astype(np.uint8)

    # cell interiors: a brightness per cell plus fine texture
    cell_level = rng.uniform(115, 205, n).astype(np.float32)
    img = cell_level[owner] + 12 * _smooth_noise(rng, (h, w), 1.5) \
        + 10 * _smooth_noise(rng, (h, w), 6)
    # organelles (mitochondria-like dark ellipses with a darker rim) and vesicles: not membrane
    for _ in range(int(rng.integers(8, 20))):
        cx, cy = rng.uniform(0, w), rng.uniform(0, h)
        ax, ay = rng.uniform(8, 30), rng.uniform(5, 14)
        ang = rng.uniform(0, 180)
        blob = np.zeros((h, w), np.uint8)
        cv2.ellipse(blob, (int(cx), int(cy)), (int(ax), int(ay)), ang, 0, 360, 1, -1)
        rim = blob - cv2.erode(blob, np.ones((3, 3), np.uint8))
        keep = (blob > 0) & ~membrane
        img[keep] = img[keep] * 0.62
        img[(rim > 0) & ~membrane] *= 0.55
    for _ in range(int(rng.integers(40, 120))):
        cx, cy = int(rng.uniform(0, w)), int(rng.uniform(0, h))
        r = int(rng.uniform(1.5, 4))
        dot = np.zeros((h, w), np.uint8)
        cv2.circle(dot, (cx, cy), r, 1, -1)
        keep = (dot > 0) & ~membrane
        img[keep] = img[keep] * 0.55
    # membranes: dark, with contrast that fades along the wall (some walls are faint)
    mem_level = 45 + 35 * (1 + np.tanh(1.2 * _smooth_noise(rng, (h, w), size / 16)))
    img = np.where(membrane, mem_level + 8 * _smooth_noise(rng, (h, w), 1.0), img)
    # optics: blur, illumination gradient, shot noise
    img = cv2.GaussianBlur(img, (0, 0), 1.5)
    gx, gy = rng.uniform(-0.25, 0.25, 2)
    img = img * (1 + gx * (xx / w - 0.5) + gy * (yy / h - 0.5))
    img = img + rng.normal(0, 16, (h, w)).astype(np.float32)
    return np.clip(img, 0, 255).astype(np.uint8), labels


def make_membranes(folder: Path, n: int, seed: int, size: int = 512) -> list[tuple[str, np.ndarray]]:
    """Write ``n`` membrane images as PNGs into ``folder``; returns (relpath, labels)."""
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    out = []
    for i in range(n):
        img, lab = membrane_image(rng, size)
        name = f"section_{seed:02d}_{i:03d}.png"
        cv2.imwrite(str(folder / name), img)
        out.append((name, lab))
    return out


def camvid_binary(folder: Path, split: str, class_id: int, n: int | None = None,
                  start: int = 0) -> list[tuple[str, np.ndarray]]:
    """CamVid ``split`` as grayscale PNGs, labels 1 = ``class_id``, 0 = the rest,
    255 = CamVid's unlabelled pixels."""
    folder.mkdir(parents=True, exist_ok=True)
    names = sorted(os.listdir(CAMVID / split))[start:]
    names = names[:n] if n is not None else names
    out = []
    for nm in names:
        img = cv2.imread(str(CAMVID / split / nm), cv2.IMREAD_GRAYSCALE)
        ann = cv2.imread(str(CAMVID / f"{split}annot" / nm), cv2.IMREAD_UNCHANGED)
        lab = (ann == class_id).astype(np.uint8)
        lab[ann == CAMVID_IGNORE] = 255
        cv2.imwrite(str(folder / nm), img)
        out.append((nm, lab))
    return out


def binary_classes(fg: str = "membrane"):
    from segstudio.core.classes import ClassInfo, ClassTable

    return ClassTable((ClassInfo(0, "background", (0, 0, 0)),
                       ClassInfo(1, fg, (255, 64, 64)),
                       ClassInfo(255, "unlabelled", (128, 128, 128), ignore=True)))


def labelled_project(folder: Path, project_dir: Path, labels: list[tuple[str, np.ndarray]],
                     classes):
    """A project over ``folder`` with ``labels`` saved as human masks."""
    from segstudio.core.project import Project

    project = Project.open(folder, project_dir)
    project.set_classes(classes)
    by_path = {r.relpath: r for r in project.images()}
    for rel, lab in labels:
        project.save_mask(by_path[rel], lab)
    return project


def camvid_links(folder: Path, split: str, n: int | None = None, start: int = 0) -> list[str]:
    """Links to CamVid ``split`` images in ``folder`` (the data set is never copied)."""
    folder.mkdir(parents=True, exist_ok=True)
    names = sorted(os.listdir(CAMVID / split))[start:]
    names = names[:n] if n is not None else names
    for nm in names:
        link = folder / nm
        if not link.exists():
            link.symlink_to(CAMVID / split / nm)
    return names


def camvid_labels(split: str, name: str) -> np.ndarray:
    from segstudio.core.maskio import read_mask

    return read_mask(CAMVID / f"{split}annot" / name)


def camvid_classes():
    from segstudio.core.classes import ClassTable

    return ClassTable.load_json(CAMVID / "classes.json")


NUCLEI = Path(os.environ.get("SEGSTUDIO_NUCLEI",
                             Path(__file__).resolve().parents[1].parent / "shared" / "datasets"
                             / "nuclei"))


def nuclei_names() -> list[str]:
    return sorted(p.name for p in (NUCLEI / "images").glob("*.png"))


def nuclei_links(folder: Path, names: list[str]) -> list[tuple[str, np.ndarray]]:
    """Links to the nuclei images in ``folder``; (relpath, labels 0/1) as a user's 0/255
    masks import (255 -> 1)."""
    folder.mkdir(parents=True, exist_ok=True)
    out = []
    for nm in names:
        link = folder / nm
        if not link.exists():
            link.symlink_to(NUCLEI / "images" / nm)
        m = cv2.imread(str(NUCLEI / "masks" / nm), cv2.IMREAD_GRAYSCALE)
        out.append((nm, (m > 127).astype(np.uint8)))
    return out


def spread(names: list[str], n: int, seed: int) -> list[str]:
    """``n`` names spread evenly over ``names`` from an offset that ``seed`` picks (a user
    labels images from across the project, not n consecutive video frames)."""
    if n >= len(names):
        return list(names)
    step = len(names) / n
    off = (seed * 0.37 % 1.0) * step
    return [names[int(off + i * step)] for i in range(n)]


def membrane_image_hard(rng: np.random.Generator, size: int = 512
                        ) -> tuple[np.ndarray, np.ndarray]:
    """A harder EM-like section than :func:`membrane_image`: more and smaller cells with
    thin walls (2-7 px, about a fifth of the pixels), mitochondria with dark inner
    cristae lines that are *not* membrane, walls that fade to nearly nothing in places,
    and stronger noise -- the confusions a real ssTEM section (ISBI 2012) has."""
    h = w = size
    n = int(rng.integers(70, 120))
    pts = rng.uniform(-0.05 * size, 1.05 * size, (n, 2)).astype(np.float32)
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    amp = size * 0.025
    wx = xx + amp * _smooth_noise(rng, (h, w), size / 14)
    wy = yy + amp * _smooth_noise(rng, (h, w), size / 14)
    best = np.full((h, w), np.inf, np.float32)
    owner = np.zeros((h, w), np.int32)
    for i, (px, py) in enumerate(pts):
        d = (wx - px) ** 2 + (wy - py) ** 2
        closer = d < best
        best[closer] = d[closer]
        owner[closer] = i
    edge = np.zeros((h, w), np.uint8)
    edge[:, 1:] |= (owner[:, 1:] != owner[:, :-1]).astype(np.uint8)
    edge[1:, :] |= (owner[1:, :] != owner[:-1, :]).astype(np.uint8)
    thick = 2.5 + 2.2 * (1 + np.tanh(_smooth_noise(rng, (h, w), size / 10)))
    dist = cv2.distanceTransform((1 - edge).astype(np.uint8), cv2.DIST_L2, 5)
    membrane = dist < thick / 2
    labels = membrane.astype(np.uint8)
    cell_level = rng.uniform(125, 195, n).astype(np.float32)
    img = cell_level[owner] + 14 * _smooth_noise(rng, (h, w), 1.2) \
        + 12 * _smooth_noise(rng, (h, w), 5)
    for _ in range(int(rng.integers(10, 22))):  # mitochondria: dark, with cristae lines
        cx, cy = rng.uniform(0, w), rng.uniform(0, h)
        ax, ay = rng.uniform(10, 28), rng.uniform(6, 12)
        ang = rng.uniform(0, 180)
        blob = np.zeros((h, w), np.uint8)
        cv2.ellipse(blob, (int(cx), int(cy)), (int(ax), int(ay)), ang, 0, 360, 1, -1)
        keep = (blob > 0) & ~membrane
        img[keep] *= 0.7
        rim = blob - cv2.erode(blob, np.ones((3, 3), np.uint8))
        img[(rim > 0) & ~membrane] = 60
        cristae = np.zeros((h, w), np.uint8)
        for _ in range(int(rng.integers(3, 7))):
            t = rng.uniform(-0.8, 0.8)
            c, s = np.cos(np.deg2rad(ang)), np.sin(np.deg2rad(ang))
            px, py = cx + t * ax * c, cy + t * ax * s
            dx, dy = -s * ay, c * ay
            cv2.line(cristae, (int(px - dx), int(py - dy)), (int(px + dx), int(py + dy)), 1, 2)
        img[(cristae > 0) & (blob > 0) & ~membrane] = 70
    for _ in range(int(rng.integers(60, 160))):  # vesicles
        cx, cy = int(rng.uniform(0, w)), int(rng.uniform(0, h))
        r = int(rng.uniform(2, 5))
        ring = np.zeros((h, w), np.uint8)
        cv2.circle(ring, (cx, cy), r, 1, 1)
        img[(ring > 0) & ~membrane] *= 0.5
    mem_level = 40 + 45 * (1 + np.tanh(1.5 * _smooth_noise(rng, (h, w), size / 18)))
    img = np.where(membrane, mem_level + 10 * _smooth_noise(rng, (h, w), 1.0), img)
    img = cv2.GaussianBlur(img, (0, 0), 1.2)
    gx, gy = rng.uniform(-0.3, 0.3, 2)
    img = img * (1 + gx * (xx / w - 0.5) + gy * (yy / h - 0.5))
    img = img + rng.normal(0, 20, (h, w)).astype(np.float32)
    return np.clip(img, 0, 255).astype(np.uint8), labels


def make_membranes_hard(folder: Path, n: int, seed: int, size: int = 512
                        ) -> list[tuple[str, np.ndarray]]:
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed + 1000)
    out = []
    for i in range(n):
        img, lab = membrane_image_hard(rng, size)
        name = f"em_{seed:02d}_{i:03d}.png"
        cv2.imwrite(str(folder / name), img)
        out.append((name, lab))
    return out


def crack_image(rng: np.random.Generator, h: int = 320, w: int = 480
                ) -> tuple[np.ndarray, np.ndarray]:
    """An RGB pavement photo with thin cracks (about 1-3 % of the pixels, 1-5 px wide):
    grainy asphalt at a random tint and exposure, stains, a shadow and straight joints
    (dark lines that are *not* cracks), the cracks meandering and branching, darker than
    the surface by a varying amount (CrackForest-like inspection images)."""
    base = rng.uniform(90, 170)
    tint = rng.uniform(-6, 6, 3)
    g = (base + 18 * _smooth_noise(rng, (h, w), 0.7) + 14 * _smooth_noise(rng, (h, w), 3)
         + 10 * _smooth_noise(rng, (h, w), 25))
    grains = rng.random((h, w)) < 0.04
    g[grains] += rng.uniform(-50, 50, int(grains.sum()))
    for _ in range(int(rng.integers(0, 4))):  # stains
        mask = np.zeros((h, w), np.float32)
        cv2.ellipse(mask, (int(rng.uniform(0, w)), int(rng.uniform(0, h))),
                    (int(rng.uniform(15, 80)), int(rng.uniform(10, 50))),
                    rng.uniform(0, 180), 0, 360, 1.0, -1)
        g -= cv2.GaussianBlur(mask, (0, 0), 8) * rng.uniform(10, 35)
    if rng.random() < 0.4:  # a joint: a straight dark seam, not a crack
        y0 = int(rng.uniform(0, h))
        cv2.line(g, (0, y0), (w, int(y0 + rng.uniform(-40, 40))), float(base - 35), 2)
    labels = np.zeros((h, w), np.uint8)
    depth = np.zeros((h, w), np.float32)
    for _ in range(int(rng.integers(1, 4))):
        x, y = rng.uniform(0, w), rng.uniform(0, h)
        ang = rng.uniform(0, 2 * np.pi)
        width = rng.uniform(1.0, 4.5)
        dark = rng.uniform(40, 90)
        for _ in range(int(rng.integers(60, 200))):
            ang += rng.normal(0, 0.35)
            nx, ny = x + 3 * np.cos(ang), y + 3 * np.sin(ang)
            width = float(np.clip(width + rng.normal(0, 0.3), 1.0, 5.0))
            cv2.line(labels, (int(x), int(y)), (int(nx), int(ny)), 1, max(1, round(width)))
            cv2.line(depth, (int(x), int(y)), (int(nx), int(ny)), dark, max(1, round(width)))
            if rng.random() < 0.02:  # a branch
                ang += rng.choice([-1, 1]) * rng.uniform(0.6, 1.2)
            x, y = nx, ny
            if not (0 <= x < w and 0 <= y < h):
                break
    g = g - cv2.GaussianBlur(depth, (0, 0), 0.7)
    if rng.random() < 0.5:  # a shadow across part of the frame
        cut = int(rng.uniform(0.2, 0.8) * w)
        g[:, :cut] *= rng.uniform(0.55, 0.8)
    img = np.clip(g[:, :, None] + tint[None, None, :] + rng.normal(0, 4, (h, w, 3)), 0, 255)
    return img.astype(np.uint8), labels


def make_cracks(folder: Path, n: int, seed: int) -> list[tuple[str, np.ndarray]]:
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed + 2000)
    out = []
    for i in range(n):
        img, lab = crack_image(rng)
        name = f"crack_{seed:02d}_{i:03d}.png"
        cv2.imwrite(str(folder / name), img[:, :, ::-1])
        out.append((name, lab))
    return out


def camvid_class_vs_rest(split: str, name: str, class_id: int) -> np.ndarray:
    """A CamVid label map as CLASS (1) against the rest (0), void unlabelled."""
    ann = camvid_labels(split, name)
    lab = (ann == class_id).astype(np.uint8)
    lab[ann == CAMVID_IGNORE] = 255
    return lab


def camvid_links_named(folder: Path, split: str, names: list[str]) -> None:
    """Links to the named CamVid ``split`` images in ``folder``."""
    folder.mkdir(parents=True, exist_ok=True)
    for nm in names:
        link = folder / nm
        if not link.exists():
            link.symlink_to(CAMVID / split / nm)
