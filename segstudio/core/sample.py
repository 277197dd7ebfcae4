"""The bundled sample project: procedurally drawn street scenes with exact label maps.

Nothing binary ships in the repository: :func:`ensure_sample` draws the
scenes at first use into a user-writable folder (``user_data_dir()/sample``)
and makes a project there whose human masks are the exact label maps the
scenes were drawn from.  An existing sample is reused as it is, so the user's
own edits in it are never overwritten.
"""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
from pathlib import Path

import cv2
import numpy as np

from .classes import ClassInfo, ClassTable

SAMPLE_VERSION = "1"
# the image folder, which names the project (window title, recent list): "images" said
# nothing; samples made before keep their folder (LEGACY_FOLDER) and are reused as they are
SAMPLE_FOLDER = "street-scenes"
LEGACY_FOLDER = "images"
SIZE = (320, 480)  # height, width
N_IMAGES = 8
IGNORE = 255

SKY, BUILDING, ROAD, SIDEWALK, TREE, CAR, POLE, MARKING = range(8)
SAMPLE_CLASSES = ClassTable(
    (
        ClassInfo(SKY, "Sky", (70, 150, 235)),
        ClassInfo(BUILDING, "Building", (205, 75, 55)),
        ClassInfo(ROAD, "Road", (140, 70, 160)),
        ClassInfo(SIDEWALK, "Sidewalk", (240, 130, 200)),
        ClassInfo(TREE, "Tree", (55, 175, 60)),
        ClassInfo(CAR, "Car", (20, 90, 240)),
        ClassInfo(POLE, "Pole", (250, 215, 30)),
        ClassInfo(MARKING, "Lane marking", (255, 255, 255)),
        ClassInfo(IGNORE, "Unlabelled", (0, 0, 0), ignore=True),
    ),
    name="segstudio sample (street scenes)",
)

# which images get a human mask in the sample project
_REVIEWED = (0,)
_CORRECTED = (1, 2, 4, 5)
_PARTIAL = 2  # this one is labelled only partly: its right third is left unlabelled


def user_data_dir() -> Path:
    """Where segstudio keeps per-user files ($SEGSTUDIO_DATA_DIR overrides)."""
    env = os.environ.get("SEGSTUDIO_DATA_DIR")
    if env:
        return Path(env).expanduser()
    if sys.platform == "win32":
        base = Path(os.environ.get("LOCALAPPDATA", Path.home() / "AppData" / "Local"))
    elif sys.platform == "darwin":
        base = Path.home() / "Library" / "Application Support"
    else:
        base = Path(os.environ.get("XDG_DATA_HOME", Path.home() / ".local" / "share"))
    return base / "segstudio"


def draw_scene(seed: int, size: tuple[int, int] = SIZE) -> tuple[np.ndarray, np.ndarray]:
    """One street scene: (RGB uint8 image, uint8 label map with the ids above)."""
    h, w = size
    sc = w / 480.0  # object sizes are drawn for 480 px wide scenes
    rng = np.random.default_rng(seed)
    lab = np.full((h, w), SKY, np.uint8)
    horizon = int(h * rng.uniform(0.40, 0.50))
    vx = int(w * rng.uniform(0.38, 0.62))
    # buildings along the horizon, back to front
    x = -int(rng.integers(0, 30))
    while x < w:
        bw = int(rng.integers(w // 10, w // 4))
        top = int(rng.integers(int(h * 0.05), max(int(h * 0.05) + 1, horizon - int(20 * sc))))
        cv2.rectangle(lab, (x, top), (x + bw, horizon + 4), BUILDING, -1)
        x += bw + int(rng.integers(-6, 12))
    # ground: sidewalks left and right, road as a trapezoid towards the vanishing point
    lab[horizon:, :] = SIDEWALK
    left_bottom, right_bottom = int(w * rng.uniform(0.02, 0.15)), int(w * rng.uniform(0.85, 0.98))
    road = np.array([[vx - 6, horizon], [vx + 6, horizon], [right_bottom, h], [left_bottom, h]])
    cv2.fillPoly(lab, [road.astype(np.int32)], ROAD)
    # dashed lane marking down the middle, in perspective
    for t0 in np.arange(0.08, 1.0, 0.16):
        t1 = min(t0 + 0.08, 1.0)
        pts = []
        for t, side in ((t0, -1), (t1, -1), (t1, 1), (t0, 1)):
            y = horizon + t * (h - horizon)
            cx = vx + t * ((left_bottom + right_bottom) / 2 - vx)
            pts.append([cx + side * (0.5 + 4 * t), y])
        cv2.fillPoly(lab, [np.round(pts).astype(np.int32)], MARKING)
    # trees and poles on the sidewalks
    for _ in range(int(rng.integers(2, 5))):
        side = rng.choice([-1, 1])
        t = rng.uniform(0.15, 0.9)
        y = int(horizon + t * (h - horizon))
        edge = vx + t * ((left_bottom if side < 0 else right_bottom) - vx)
        px = int(edge + side * (10 + 60 * t) * sc)
        if rng.random() < 0.5:
            r = max(2, int((10 + 45 * t) * sc))
            cv2.rectangle(lab, (px - max(2, r // 6), y - 2 * r), (px + max(2, r // 6), y), TREE, -1)
            for _ in range(5):
                cv2.circle(lab, (px + int(rng.integers(-r // 2, r // 2 + 1)),
                                 y - 2 * r - int(rng.integers(0, r // 2 + 1))), r, TREE, -1)
        else:
            pw = max(1, int((1 + 4 * t) * sc))
            cv2.rectangle(lab, (px - pw, y - int((40 + 160 * t) * sc)), (px + pw, y), POLE, -1)
    # cars on the road, far ones first
    for t in sorted(rng.uniform(0.2, 0.95, int(rng.integers(1, 4)))):
        y = int(horizon + t * (h - horizon))
        lane = rng.uniform(-0.35, 0.35)
        cx = int(vx + t * ((left_bottom + right_bottom) / 2 - vx)
                 + lane * t * (right_bottom - left_bottom))
        cw, ch = max(4, int((20 + 150 * t) * sc)), max(3, int((14 + 85 * t) * sc))
        cv2.rectangle(lab, (cx - cw // 2, y - ch), (cx + cw // 2, y), CAR, -1)
        cv2.rectangle(lab, (cx - cw // 3, y - int(ch * 1.45)), (cx + cw // 3, y - ch), CAR, -1)
    return _paint(lab, horizon, rng), lab


def _paint(lab: np.ndarray, horizon: int, rng: np.random.Generator) -> np.ndarray:
    """Texture and light the label map into a photo-like RGB image."""
    h, w = lab.shape
    base = {
        SKY: (150, 190, 235), BUILDING: (150, 120, 100), ROAD: (85, 85, 90),
        SIDEWALK: (165, 160, 150), TREE: (50, 110, 45),
        CAR: tuple(int(v) for v in rng.integers(30, 220, 3)),
        POLE: (110, 110, 115), MARKING: (235, 235, 225),
    }
    lut = np.zeros((256, 3), np.float32)
    for cid, col in base.items():
        lut[cid] = col
    img = lut[lab]
    yy = np.linspace(0.0, 1.0, h, dtype=np.float32)[:, None]
    sky = lab == SKY
    img[sky] *= (0.75 + 0.35 * yy.repeat(w, 1))[sky][:, None]
    # building facades: one tint per building column, windows in rows
    tint = cv2.resize(rng.uniform(0.7, 1.3, (1, 12)).astype(np.float32), (w, h),
                      interpolation=cv2.INTER_NEAREST)
    bld = lab == BUILDING
    img[bld] *= tint[bld][:, None]
    win = ((np.arange(h)[:, None] % 14) < 7) & ((np.arange(w)[None, :] % 11) < 5)
    img[bld & win & (np.arange(h)[:, None] < horizon - 4)] *= 0.55
    # foliage and asphalt texture
    noise = cv2.GaussianBlur(rng.normal(0, 1, (h, w)).astype(np.float32), (0, 0), 1.2)
    img += (noise * np.where(lab == TREE, 28, np.where(lab == ROAD, 10, 5)))[..., None]
    img *= (0.85 + 0.25 * yy)[..., None]  # light falls off towards the top
    img += rng.normal(0, 3, img.shape).astype(np.float32)
    img = cv2.GaussianBlur(img, (3, 3), 0.6)
    out: np.ndarray = np.clip(img + 0.5, 0, 255).astype(np.uint8)
    return out


def make_sample(dest: str | os.PathLike[str], n: int = N_IMAGES) -> Path:
    """Write the sample project into ``dest`` (which must not exist); returns the image folder."""
    from .project import Project

    dest = Path(dest)
    images = dest / SAMPLE_FOLDER
    images.mkdir(parents=True)
    labels = []
    for i in range(n):
        img, lab = draw_scene(1000 + i)
        cv2.imwrite(str(images / f"street_{i + 1:02d}.png"), cv2.cvtColor(img, cv2.COLOR_RGB2BGR))
        labels.append(lab)
    with Project.open(images) as project:
        project.set_classes(SAMPLE_CLASSES)
        for i, rec in enumerate(project.images()):
            if i in _REVIEWED:
                project.save_mask(rec, labels[i], "reviewed")
            elif i in _CORRECTED:
                lab = labels[i].copy()
                if i == _PARTIAL:
                    lab[:, lab.shape[1] * 2 // 3:] = IGNORE
                project.save_mask(rec, lab, "corrected")
    (dest / "README.txt").write_text(
        "segstudio sample project: procedurally drawn street scenes whose human masks are\n"
        "the exact label maps they were drawn from. Delete this folder to get a fresh copy.\n",
        encoding="utf-8")
    (dest / ".sample-version").write_text(SAMPLE_VERSION, encoding="utf-8")
    return images


def ensure_sample(base: str | os.PathLike[str] | None = None) -> Path:
    """The sample's image folder, drawn at first use (reused, never overwritten, after)."""
    base = Path(base) if base is not None else user_data_dir()
    target = base / "sample"
    if (target / ".sample-version").is_file():
        for name in (SAMPLE_FOLDER, LEGACY_FOLDER):
            if (target / name).is_dir():
                return target / name
    if target.exists():
        # an unfinished earlier attempt: keep it aside rather than delete anything
        target.rename(base / f"sample.broken-{os.getpid()}")
    base.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=".sample-", dir=base))
    try:
        make_sample(tmp / "sample")
        (tmp / "sample").rename(target)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return target / SAMPLE_FOLDER
