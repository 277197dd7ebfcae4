"""Regions to review: superpixels scored by how likely the model's prediction is wrong.

Per image, :func:`region_stats` sums a per-pixel score map (the prediction's entropy,
or the disagreement of MC-dropout passes or of test-time views, each 0..1) over the
image's superpixels (:mod:`.smart.superpixels`): each region's mean score, its mean
class probabilities, the class the model predicts on most of its pixels, its size,
its centre and the share of it people have already labelled.  Across a project,
:func:`rank` orders the regions nobody has labelled yet:

* by the mean score (``uncertainty``), optionally times a *rarity* factor -- how much
  of the region's predicted probability lies on rare classes, (sum_k p_k w_k /
  max w) ** RARE_POWER with the balanced median-frequency weights of the labelled
  masks -- so that a doubt between two rare classes comes before one between road
  and pavement;
* with *diversity*: greedily, each region already taken within ``radius`` pixels in
  the same image multiplies a candidate's score by ``1 - diversity``, so the queue is
  not ten neighbours of one error.

:func:`label_region` writes one answer into a mask as one undo step (a class for the
whole region, or the prediction's pixels there), :func:`dominant_class` is the class a
simulated annotator gives a region (Cai et al. 2021: one click labels a superpixel with
its dominant class).  Free of Qt and torch.
"""

from __future__ import annotations

import heapq
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from .edits import paint_region
from .errors import MaskError
from .history import Patch
from .smart.superpixels import SuperpixelMap

RARE_POWER = 0.5  # how strongly rarity reorders regions (0: not at all)
LABELLED_SHARE = 0.5  # a region at least this much labelled by people is not proposed


@dataclass(frozen=True)
class ImageRegions:
    """The superpixels of one image with what ranking needs (arrays by segment id)."""

    pixels: np.ndarray  # (n,) int64: pixels of each segment
    score: np.ndarray  # (n,) float32: mean pixel score, 0..1
    probs: np.ndarray  # (n, K) float32: mean probability of each model channel
    predicted: np.ndarray  # (n,) uint8: the class id predicted on most of its pixels
    labelled: np.ndarray  # (n,) float32: share of its pixels people labelled
    centre: np.ndarray  # (n, 2) float32: mean row and column

    @property
    def count(self) -> int:
        return int(self.pixels.shape[0])

    def arrays(self) -> dict[str, np.ndarray]:
        return {"pixels": self.pixels, "score": self.score, "probs": self.probs,
                "predicted": self.predicted, "labelled": self.labelled, "centre": self.centre}

    @classmethod
    def from_arrays(cls, data: Mapping[str, np.ndarray]) -> ImageRegions:
        return cls(np.asarray(data["pixels"], np.int64), np.asarray(data["score"], np.float32),
                   np.asarray(data["probs"], np.float32), np.asarray(data["predicted"], np.uint8),
                   np.asarray(data["labelled"], np.float32),
                   np.asarray(data["centre"], np.float32))

    def with_labelled(self, segments: np.ndarray, mask: np.ndarray | None,
                      unlabelled: int) -> ImageRegions:
        """The same regions with the labelled shares of ``mask`` now."""
        share = labelled_share(segments, mask, unlabelled, self.count)
        return ImageRegions(self.pixels, self.score, self.probs, self.predicted, share,
                            self.centre)


@dataclass(frozen=True)
class Region:
    """One proposed region: superpixel ``segment`` of image ``relpath``."""

    relpath: str
    segment: int
    score: float  # what the queue is ordered by
    uncertainty: float  # the mean pixel score
    predicted: int  # class id
    pixels: int
    centre: tuple[float, float]  # row, column

    def to_dict(self) -> dict[str, object]:
        return {"image": self.relpath, "segment": self.segment, "score": self.score,
                "uncertainty": self.uncertainty, "predicted": self.predicted,
                "pixels": self.pixels, "centre": list(self.centre)}

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> Region:
        cy, cx = d["centre"]
        return cls(str(d["image"]), int(d["segment"]), float(d["score"]),
                   float(d["uncertainty"]), int(d["predicted"]), int(d["pixels"]),
                   (float(cy), float(cx)))


def labelled_share(segments: np.ndarray, mask: np.ndarray | None, unlabelled: int,
                   count: int) -> np.ndarray:
    """(count,) float32: the share of each segment's pixels ``mask`` labels."""
    if mask is None:
        return np.zeros(count, np.float32)
    seg = segments.ravel()
    n = np.bincount(seg, minlength=count).astype(np.float64)
    done = np.bincount(seg, weights=(mask.ravel() != unlabelled), minlength=count)
    return (done / np.maximum(n, 1)).astype(np.float32)[:count]


def region_stats(segments: np.ndarray, score: np.ndarray, probs: np.ndarray,
                 predicted: np.ndarray, mask: np.ndarray | None, unlabelled: int
                 ) -> ImageRegions:
    """The regions of one image.  ``segments`` (H, W) superpixel ids 0..n-1, ``score``
    (H, W) float 0..1, ``probs`` (K, H, W) class probabilities (model channels),
    ``predicted`` (H, W) class ids, ``mask`` the human mask or None."""
    h, w = segments.shape
    if score.shape != (h, w) or predicted.shape != (h, w) or probs.shape[1:] != (h, w):
        raise MaskError(f"region scores for a {score.shape} map, superpixels {segments.shape}")
    seg = np.ascontiguousarray(segments, np.int64).ravel()
    count = int(seg.max()) + 1 if seg.size else 0
    n = np.bincount(seg, minlength=count)
    safe = np.maximum(n, 1).astype(np.float64)
    mean = np.bincount(seg, weights=score.ravel().astype(np.float64), minlength=count) / safe
    k = probs.shape[0]
    p = np.empty((count, k), np.float32)
    for c in range(k):
        p[:, c] = np.bincount(seg, weights=probs[c].ravel().astype(np.float64),
                              minlength=count) / safe
    votes = np.bincount(seg * 256 + predicted.ravel().astype(np.int64),
                        minlength=count * 256).reshape(count, 256)
    rows = np.arange(h, dtype=np.float64).repeat(w)
    cols = np.tile(np.arange(w, dtype=np.float64), h)
    centre = np.stack([np.bincount(seg, weights=rows, minlength=count) / safe,
                       np.bincount(seg, weights=cols, minlength=count) / safe], axis=1)
    return ImageRegions(n.astype(np.int64), mean.astype(np.float32), p,
                        votes.argmax(axis=1).astype(np.uint8),
                        labelled_share(segments, mask, unlabelled, count),
                        centre.astype(np.float32))


def rarity(probs: np.ndarray, weights: Sequence[float] | None) -> np.ndarray:
    """(n,) factor in (0, 1] per region from its mean probabilities and the per-channel
    rarity ``weights`` (None: 1 everywhere)."""
    if weights is None:
        return np.ones(probs.shape[0], np.float32)
    w = np.asarray(weights, np.float64)
    if w.shape[0] != probs.shape[1]:
        raise ValueError(f"{w.shape[0]} rarity weights for {probs.shape[1]} classes")
    w = w / max(float(w.max()), 1e-12)
    return np.clip(probs.astype(np.float64) @ w, 1e-6, 1.0).astype(np.float32) ** RARE_POWER


def candidates(per_image: Mapping[str, ImageRegions], rare: Sequence[float] | None = None,
               skip_labelled: float = LABELLED_SHARE) -> list[Region]:
    """Every region not yet labelled, with its score (rarity applied), in no order."""
    out: list[Region] = []
    for rel, reg in per_image.items():
        base = reg.score * rarity(reg.probs, rare)
        for i in np.flatnonzero((reg.labelled < skip_labelled) & (reg.pixels > 0)):
            out.append(Region(rel, int(i), float(base[i]), float(reg.score[i]),
                              int(reg.predicted[i]), int(reg.pixels[i]),
                              (float(reg.centre[i, 0]), float(reg.centre[i, 1]))))
    return out


def rank(regions: Iterable[Region], count: int, diversity: float = 0.0,
         radius: float = 0.0) -> list[Region]:
    """The ``count`` best regions, best first.  With ``diversity`` in (0, 1], each region
    already taken in the same image within ``radius`` pixels of a candidate's centre
    multiplies its score by ``1 - diversity`` (a lazy greedy: scores only fall)."""
    pool = sorted(regions, key=lambda r: (-r.score, r.relpath, r.segment))
    if diversity <= 0 or radius <= 0:
        return pool[:count]
    if not 0 < diversity <= 1:
        raise ValueError(f"diversity {diversity!r}: must be in (0, 1]")
    keep = 1.0 - diversity
    taken: dict[str, list[tuple[float, float]]] = {}
    heap = [(-r.score, i, 0) for i, r in enumerate(pool)]  # (-score, index, neighbours seen)
    heapq.heapify(heap)
    out: list[Region] = []
    r2 = radius * radius
    while heap and len(out) < count:
        _neg, i, seen = heapq.heappop(heap)
        reg = pool[i]
        near = sum(1 for y, x in taken.get(reg.relpath, ())
                   if (y - reg.centre[0]) ** 2 + (x - reg.centre[1]) ** 2 <= r2)
        if near != seen:  # its score fell since it was pushed: push it back
            heapq.heappush(heap, (-reg.score * keep ** near, i, near))
            continue
        out.append(reg)
        taken.setdefault(reg.relpath, []).append(reg.centre)
    return out


def random_order(regions: Iterable[Region], count: int, rng: np.random.Generator
                 ) -> list[Region]:
    """``count`` of the regions in a random order (the baseline)."""
    pool = sorted(regions, key=lambda r: (r.relpath, r.segment))
    return [pool[i] for i in rng.permutation(len(pool))[:count]]


def label_region(mask: np.ndarray, spmap: SuperpixelMap, segment: int, value: int | None = None,
                 *, source: np.ndarray | None = None, name: str = "Review") -> Patch | None:
    """Write one answer: ``value`` on every pixel of superpixel ``segment``, or (with
    ``source``, e.g. the prediction) ``source``'s pixels there; one Patch."""
    if mask.shape != spmap.shape:
        raise MaskError(f"the superpixels are for a {spmap.shape} image, the mask is "
                        f"{mask.shape}; compute the proposals again")
    reg = spmap.region(segment)
    if reg is None:
        return None
    y0, x0, sel = reg
    return paint_region(mask, y0, x0, sel, value, source=source, name=name)


def dominant_class(labels: np.ndarray, spmap: SuperpixelMap, segment: int) -> int | None:
    """The value most of superpixel ``segment``'s pixels have in ``labels`` (ties: the
    lowest), or None for a segment with no pixels."""
    reg = spmap.region(segment)
    if reg is None:
        return None
    y0, x0, sel = reg
    values = labels[y0:y0 + sel.shape[0], x0:x0 + sel.shape[1]][sel]
    if values.size == 0:
        return None
    return int(np.bincount(values.astype(np.int64), minlength=256).argmax())
