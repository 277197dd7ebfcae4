"""Training and validation samples of the click model, from the project's own masks.

A training sample is one object of one labelled image: the image is rescaled
and flipped at random, an object (a connected region of one class, see
:func:`clicks.find_objects`) is drawn uniformly among the image's objects (so
small objects -- a pole, a sign -- are drawn as often as a road), its first
click is placed (half the time at its deepest interior point, else at a random
interior pixel at least half as deep), and the box the model sees is chosen as
at inference (:func:`clicks.click_box`): a third of the time the window round a
lone first click, else the object's extent with a random margin (x1.15-1.8)
and a small random shift, as the zoom-in round a previous mask gives.  The box
is resized to the model's square input; the sample holds the image channels,
the first click's distance map, an empty negative map and an empty previous mask, and
the target: 1 object, 0 not, 255 ignored.  Further clicks are added during the
training step from the model's own errors (:class:`click_model.ClickTrainStep`).
"""

from __future__ import annotations

import time
from collections.abc import Generator, Iterator, Sequence
from dataclasses import dataclass
from typing import cast

import cv2
import numpy as np

from ...core.errors import SegStudioError
from ..train.data import U8, Batch, Item, SampleLoader
from ..train.losses import IGNORE
from . import simulate as C

FIRST_SHARE = 1 / 3  # share of samples in the lone-first-click window
MARGIN = (1.15, 1.8)  # random zoom-in margin of the other samples
SHIFT = 0.1  # random shift of their box, in box sides


def _rescale(image: U8, target: U8, s: float) -> tuple[U8, U8]:
    h, w = target.shape
    nh, nw = max(1, round(h * s)), max(1, round(w * s))
    interp = cv2.INTER_AREA if s < 1 else cv2.INTER_LINEAR
    # cv2's stubs give any resize an integer-or-float result; uint8 stays uint8
    image = cast(U8, cv2.resize(image, (nw, nh), interpolation=interp))
    if image.ndim == 2:
        image = image[:, :, None]
    return image, cast(U8, cv2.resize(target, (nw, nh), interpolation=cv2.INTER_NEAREST))


def _first_click(mask: C.Mask, rng: np.random.Generator) -> C.Click:
    padded = np.pad(mask.astype(np.uint8), 1)
    dist = cv2.distanceTransform(padded, cv2.DIST_L2, cv2.DIST_MASK_PRECISE)[1:-1, 1:-1]
    if rng.random() < 0.5:
        y, x = divmod(int(np.argmax(dist)), mask.shape[1])
        return x, y
    deep = np.flatnonzero(dist.ravel() >= 0.5 * dist.max())
    y, x = divmod(int(deep[rng.integers(0, deep.size)]), mask.shape[1])
    return x, y


def sample_box(shape: tuple[int, int], obj: C.ClickObject, click: C.Click,
               rng: np.random.Generator) -> C.Box:
    """The box a training sample shows (see the module doc); the click lies inside."""
    if rng.random() < FIRST_SHARE:
        return C.click_box(shape, [click], [])
    y0, x0, y1, x1 = obj.bbox
    side = max(y1 - y0, x1 - x0) * float(rng.uniform(*MARGIN))
    side = max(side, C.MIN_BOX * min(shape))
    cy = (y0 + y1) / 2 + float(rng.uniform(-SHIFT, SHIFT)) * side
    cx = (x0 + x1) / 2 + float(rng.uniform(-SHIFT, SHIFT)) * side
    box = C.square_box(shape, cy, cx, side)
    by0, bx0, by1, bx1 = box
    x, y = click
    if not (by0 <= y < by1 and bx0 <= x < bx1):  # shifted off the click: centre on it
        box = C.square_box(shape, y + 0.5, x + 0.5, side)
    return box


def click_sample(image: U8, target: U8, rng: np.random.Generator, size: int,
                 scale: tuple[float, float] = (1.0, 1.0), flip: bool = False,
                 min_area: int = C.MIN_AREA) -> tuple[U8, U8] | None:
    """(model input (size, size, C + 3) uint8, target (size, size) uint8) for one object
    of ``target`` (channel ids, 255 ignored), or None when it has no object."""
    lo, hi = scale
    s = float(rng.uniform(lo, hi)) if hi > lo else lo
    if abs(s - 1.0) > 1e-6:
        image, target = _rescale(image, target, s)
    if flip and rng.random() < 0.5:
        image, target = image[:, ::-1], target[:, ::-1]
    objs = C.find_objects(target, ignore=(IGNORE,), min_area=min_area)
    if not objs:
        return None
    obj = objs[int(rng.integers(0, len(objs)))]
    click = _first_click(obj.mask, rng)
    box = sample_box(target.shape, obj, click, rng)
    inp = C.model_input(np.ascontiguousarray(image), box, size, [click], [])
    return inp, object_target(obj.mask, target == IGNORE, box, size)


def object_target(mask: C.Mask, ignored: C.Mask, box: C.Box, size: int) -> U8:
    """(size, size) uint8 target of the box: 1 object, 0 not, 255 ignored."""
    y0, x0, y1, x1 = box
    t = mask[y0:y1, x0:x1].astype(np.uint8)
    t[ignored[y0:y1, x0:x1]] = IGNORE
    return cast(U8, cv2.resize(t, (size, size), interpolation=cv2.INTER_NEAREST))


def click_batches(items: Sequence[Item], batch_size: int, rng: np.random.Generator,
                  loader: SampleLoader, size: int, scale: tuple[float, float], flip: bool,
                  min_area: int = C.MIN_AREA) -> Iterator[Batch]:
    """Shuffle ``items`` with ``rng``; one object sample per image, in batches."""
    order = rng.permutation(len(items))
    seeds = rng.integers(0, 2**63 - 1, size=len(items))
    for start in range(0, len(order), batch_size):
        t0 = time.perf_counter()
        good: list[tuple[U8, U8]] = []
        ids: list[int] = []
        skipped: list[str] = []
        for j in range(start, min(start + batch_size, len(order))):
            item = items[int(order[j])]
            try:
                img, tgt = loader.load(item)
            except SegStudioError as exc:
                skipped.append(str(exc))
                continue
            s = click_sample(img, tgt, np.random.default_rng(int(seeds[j])), size, scale, flip,
                             min_area)
            if s is not None:  # an image without objects gives no sample
                good.append(s)
                ids.append(item.id)
        images: U8 | None = None
        targets: U8 | None = None
        if good:
            images = np.stack([g[0] for g in good])
            targets = np.stack([g[1] for g in good])
        yield Batch(images, targets, tuple(ids), time.perf_counter() - t0, tuple(skipped))


@dataclass(frozen=True)
class ValObject:
    image_id: int
    image: U8  # (H, W, C)
    mask: C.Mask  # (H, W)
    valid: C.Mask  # (H, W): labelled pixels
    cls: int


def val_objects(items: Sequence[Item], loader: SampleLoader, limit: int, seed: int = 0,
                min_area: int = C.MIN_AREA) -> Generator[str, None, list[ValObject]]:
    """Generator: yields warning texts, returns up to ``limit`` objects of the validation
    images drawn with ``seed`` (the same objects while the split is the same)."""
    found: list[tuple[int, int]] = []
    per_item: list[tuple[Item, list[C.ClickObject]]] = []
    for item in items:
        try:
            _, tgt = loader.load(item)
        except SegStudioError as exc:
            yield str(exc)
            continue
        objs = C.find_objects(tgt, ignore=(IGNORE,), min_area=min_area)
        found += [(len(per_item), k) for k in range(len(objs))]
        per_item.append((item, objs))
    if not found:
        return []
    rng = np.random.default_rng(seed)
    pick = sorted(rng.choice(len(found), size=min(limit, len(found)), replace=False).tolist())
    out: list[ValObject] = []
    for f in pick:
        i, k = found[f]
        item, objs = per_item[i]
        img, tgt = loader.load(item)
        out.append(ValObject(item.id, img, objs[k].mask, tgt != IGNORE, objs[k].cls))
    return out
