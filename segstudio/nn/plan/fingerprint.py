"""A project's fingerprint: what its images and labels are like, measured once before a
run, so that fixed rules (:mod:`.recipe`) can choose the training recipe (nnU-Net's
"data-set fingerprint", for a desktop project).

It measures, on up to :data:`SAMPLE` labelled images (and as many images for the
intensities):

* the images: how many, their typical size, channels (grey stored as RGB counts as
  grey), bit depth, brightness (the median of each image's median value, the share of
  dark images) and how much brightness varies from image to image;
* the classes: each one's share of the labelled pixels, in how many images it occurs,
  and its *thickness*: the width of its regions (their area over the length of their
  skeleton, the median over the images), so membranes, cracks and poles (2-6 px) tell
  themselves from blobs such as nuclei or cars;
* the layout: how much the classes, and the brightness, depend on the height in the
  image (sky above road) -- images with an up are not rotated in training.

Free of Qt and torch.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt

from ...core.errors import SegStudioError

if TYPE_CHECKING:
    from ...core.project import Project

SAMPLE = 48  # labelled images measured (evenly spread over the project)
BANDS = 4  # horizontal bands for the layout measure
MAX_SIDE = 1024  # larger masks are measured on a central window of this size
THIN_PX = 8.0  # a class whose regions are at most this wide (median) is thin
DARK = 30  # an image whose median value is below this is dark (fluorescence)


@dataclass(frozen=True)
class ClassStats:
    name: str
    share: float  # of the labelled pixels
    images: int  # measured images it occurs in
    thickness: float | None  # median region width in pixels (None: not present)

    @property
    def thin(self) -> bool:
        return self.thickness is not None and self.thickness <= THIN_PX


@dataclass(frozen=True)
class Fingerprint:
    images: int  # usable images in the project
    labelled: int  # of them with a human mask (corrected or reviewed)
    measured: int  # labelled images measured
    height: int  # median size of the labelled images
    width: int
    channels: int  # what the model takes: 1 (grey) or 3
    grey: bool  # every image is grey (also grey stored as three equal channels)
    bit_depth: int  # the largest
    median_value: float  # the median of the images' median values (8-bit scale)
    dark_share: float  # share of images whose median is below DARK
    brightness_spread: float  # interquartile range of the images' medians / 255
    layout: float  # 0: the classes do not depend on the height in the image; up to 0.75
    image_layout: float  # 0: brightness does not depend on the height (mean |z| per band)
    classes: tuple[ClassStats, ...]

    @property
    def thin_classes(self) -> tuple[ClassStats, ...]:
        return tuple(c for c in self.classes if c.thin and c.share > 0)

    def minority(self) -> ClassStats | None:
        present = [c for c in self.classes if c.share > 0]
        return min(present, key=lambda c: c.share) if present else None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def summary(self) -> str:
        """One line for the log and the Training panel: "20 images 512x512, grey, 2 classes;
        'membrane' is thin (3 px) and 22 %"."""
        kind = "grey" if self.grey else "colour"
        if self.bit_depth > 8:
            kind += f" {self.bit_depth}-bit"
        if self.dark_share >= 0.5:
            kind += ", dark"
        head = (f"{self.labelled} labelled of {self.images} images, {self.width}x{self.height}, "
                f"{kind}, {len(self.classes)} classes")
        notes = []
        for c in sorted(self.classes, key=lambda c: c.share):
            if c.share <= 0:
                notes.append(f"'{c.name}' not labelled yet")
            elif c.thin:
                notes.append(f"'{c.name}' is thin ({c.thickness:.0f} px) and {_pct(c.share)}")
            elif c.share < 0.05:
                notes.append(f"'{c.name}' is rare ({_pct(c.share)})")
        if len(notes) > 3:
            notes = notes[:3] + [f"{len(notes) - 3} more"]
        return head + ("; " + ", ".join(notes) if notes else "")


def _pct(share: float) -> str:
    return f"{share * 100:.1f} %" if share < 0.1 else f"{share * 100:.0f} %"


def region_thickness(mask: npt.NDArray[np.bool_]) -> float | None:
    """The typical width in pixels of the regions of ``mask``: their area over the length
    of their skeleton (a line w pixels wide gives w; a blob gives far more than its
    radius)."""
    from skimage.morphology import skeletonize

    if not mask.any():
        return None
    skel = skeletonize(mask)  # type: ignore[no-untyped-call]  # scikit-image is untyped
    return float(mask.sum()) / max(int(skel.sum()), 1)


def project_channels(project: Project) -> int:
    """1 when every readable image of the project is grayscale, else 3."""
    chans = {r.channels for r in project.images() if r.usable}
    return 1 if chans == {1} else 3


def _window(a: npt.NDArray[Any], side: int = MAX_SIDE) -> npt.NDArray[Any]:
    h, w = a.shape[:2]
    y0, x0 = max(0, (h - side) // 2), max(0, (w - side) // 2)
    return a[y0:y0 + side, x0:x0 + side]


def _is_grey(image: npt.NDArray[np.uint8]) -> bool:
    if image.ndim == 2 or image.shape[2] == 1:
        return True
    sub = image[::7, ::7]
    return bool((sub[..., 0] == sub[..., 1]).all() and (sub[..., 1] == sub[..., 2]).all())


def _spread(indices: Sequence[int], k: int) -> list[int]:
    if len(indices) <= k:
        return list(indices)
    pick = np.linspace(0, len(indices) - 1, k).round().astype(int)
    return [indices[i] for i in sorted(set(pick.tolist()))]


def fingerprint(project: Project, sample: int = SAMPLE) -> Fingerprint:
    """Measure ``project`` (its labelled images); SegStudioError when it has none."""
    from ...core.project import HUMAN_STATUSES

    usable = [r for r in project.images() if r.usable]
    labelled = [r for r in usable if r.status in HUMAN_STATUSES]
    if not labelled:
        raise SegStudioError("the project has no corrected or reviewed masks to measure")
    table = project.classes
    names = [c.name for c in table.trainable]
    k = len(names)
    lut = table.train_lut(255)
    picked = [labelled[i] for i in _spread(range(len(labelled)), sample)]
    pixels = np.zeros(k, np.int64)
    present = np.zeros(k, np.int64)
    widths: list[list[float]] = [[] for _ in range(k)]
    bands = np.zeros((k, BANDS), np.float64)
    profile = np.zeros(BANDS, np.float64)
    medians: list[float] = []
    grey = True
    measured = 0
    for rec in picked:
        try:
            mask = project.load_mask(rec)
            image = project.load_image(rec)
        except (SegStudioError, OSError):
            continue
        if mask is None:
            continue
        measured += 1
        grey = grey and _is_grey(image)
        medians.append(float(np.median(image[::3, ::3])))
        profile += _band_profile(image)
        ch = lut[mask]
        counts = np.bincount(ch.ravel(), minlength=256)[:k]
        pixels += counts
        present += counts > 0
        h = ch.shape[0]
        edges = np.linspace(0, h, BANDS + 1).round().astype(int)
        labelled_rows = [(ch[a:b] != 255).sum() for a, b in zip(edges[:-1], edges[1:],
                                                                 strict=True)]
        win = _window(ch)
        for c in np.flatnonzero(counts):
            for b, (a, e) in enumerate(zip(edges[:-1], edges[1:], strict=True)):
                if labelled_rows[b]:
                    bands[c, b] += (ch[a:e] == c).sum() / labelled_rows[b]
            t = region_thickness(win == c)
            if t is not None:
                widths[c].append(t)
    others = [r for r in usable if r.status not in HUMAN_STATUSES]
    for rec in [others[i] for i in _spread(range(len(others)), max(0, sample - measured))]:
        try:
            image = project.load_image(rec)
        except (SegStudioError, OSError):
            continue
        grey = grey and _is_grey(image)
        medians.append(float(np.median(image[::3, ::3])))
    total = pixels.sum()
    classes = tuple(ClassStats(n, float(pixels[i] / total) if total else 0.0, int(present[i]),
                               float(np.median(widths[i])) if widths[i] else None)
                    for i, n in enumerate(names))
    med = np.asarray(medians or [0.0])
    q1, q3 = np.percentile(med, [25, 75])
    return Fingerprint(
        images=len(usable), labelled=len(labelled), measured=measured,
        height=int(np.median([r.height or 0 for r in labelled])),
        width=int(np.median([r.width or 0 for r in labelled])),
        channels=project_channels(project), grey=grey,
        bit_depth=max(int(r.bit_depth or 8) for r in usable),
        median_value=float(np.median(med)), dark_share=float((med < DARK).mean()),
        brightness_spread=float((q3 - q1) / 255.0), layout=_layout(bands, pixels),
        image_layout=float(np.abs(profile / max(measured, 1)).mean()), classes=classes)


def _band_profile(image: npt.NDArray[np.uint8]) -> npt.NDArray[np.float64]:
    """Each horizontal band's mean brightness in the image's standard deviations from its
    mean (summed over images, a sky above a road stays; random gradients cancel)."""
    g = image[::4, ::4].astype(np.float64)
    if g.ndim == 3:
        g = g.mean(axis=2)
    sd = g.std()
    if sd < 1e-6:
        return np.zeros(BANDS)
    edges = np.linspace(0, g.shape[0], BANDS + 1).round().astype(int)
    return np.array([(g[a:b].mean() - g.mean()) / sd if b > a else 0.0
                     for a, b in zip(edges[:-1], edges[1:], strict=True)])


def _layout(bands: npt.NDArray[np.float64], pixels: npt.NDArray[np.int64]) -> float:
    """How far the classes' distribution over the image's height is from even: the mean
    over the classes (of at least 0.1 % of the pixels) of each one's total-variation
    distance from an even spread over :data:`BANDS` bands (0: no up; 0.75: each class
    in one band)."""
    total = pixels.sum()
    if total == 0:
        return 0.0
    scores = []
    for c in np.flatnonzero(pixels >= 0.001 * total):
        row = bands[c]
        if row.sum() <= 0:
            continue
        p = row / row.sum()
        scores.append(0.5 * float(np.abs(p - 1.0 / BANDS).sum()))
    return float(np.mean(scores)) if scores else 0.0
