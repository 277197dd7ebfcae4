"""Training data: project snapshots, a decoded-image cache, augmentation, batches.

Each epoch starts from :func:`snapshot`, which re-queries the project for its
partially and fully labelled images (so a mask corrected during training joins at
the next epoch) and splits them with ``project.splits.assign`` (unlabelled pixels
reach neither the loss nor the metrics: the class table maps them to the ignore
value).  Samples are
loaded in this process by default (no worker processes are needed on a 2-core
machine); ``workers > 0`` uses a torch DataLoader with worker processes.
Augmentation draws one seed per sample from the run's generator, so a batch
is the same whichever way it was loaded, and a resumed run sees the same data.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Hashable, Iterator, Sequence
from collections.abc import Set as AbstractSet
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import numpy as np
import numpy.typing as npt
import torch

from ...core import maskio
from ...core.errors import MaskError, SegStudioError
from ...core.imageio import read_image
from ...core.project import HUMAN_STATUSES, ImageRecord, Project
from ..large import data as large_data
from ..normalize import apply as normalise
from .augment import Augmentation, CropFocus, augment
from .losses import IGNORE

__all__ = ["Augmentation", "CropFocus", "augment"]  # re-exported: the engine reads them here

U8 = npt.NDArray[np.uint8]  # images (H, W, C), channel targets (H, W), batches of them
CacheKey = tuple[Hashable, ...]  # ImageCache's keys: an Item's key, ("mask",) + mask_key
# what TrainSet gives per sample: (image, target, image id, None) or, when the image could
# not be loaded, (None, None, image id, why)
Sample = tuple[U8 | None, U8 | None, int, str | None]
T = TypeVar("T")


@dataclass(frozen=True)
class Item:
    """What is needed to load one labelled image without the project database."""

    id: int
    relpath: str
    image_path: str
    mask_path: str
    height: int
    width: int
    key: CacheKey  # changes when the image file changes
    mask_key: CacheKey  # changes when the mask is saved again


@dataclass(frozen=True)
class Snapshot:
    train: tuple[Item, ...]
    val: tuple[Item, ...]
    partial_val: int = 0  # validation images that are only partially labelled

    @property
    def train_ids(self) -> tuple[int, ...]:
        return tuple(i.id for i in self.train)

    @property
    def val_ids(self) -> tuple[int, ...]:
        return tuple(i.id for i in self.val)


def _item(project: Project, rec: ImageRecord) -> Item:
    # only usable records are snapshot: the scan has measured them
    assert rec.width is not None and rec.height is not None
    return Item(rec.id, rec.relpath, str(project.image_path(rec)), str(project.mask_path(rec)),
                int(rec.height), int(rec.width), (rec.id, rec.size_bytes, rec.width, rec.height),
                (rec.id, rec.mask_saved_at))


def snapshot(project: Project, val_split: float, seed: int = 0) -> Snapshot:
    """The labelled images now (partially or fully), split train/val
    (``project.splits.assign``)."""
    project.splits.assign(val_split, seed)
    train, val = [], []
    partial_val = 0
    for rec in project.images(statuses=HUMAN_STATUSES):
        if not rec.usable:
            continue
        if rec.split == "val":
            val.append(_item(project, rec))
            partial_val += not rec.fully_labelled
        elif rec.split == "train":
            train.append(_item(project, rec))
    return Snapshot(tuple(train), tuple(val), partial_val)


def available_memory() -> int | None:
    """Bytes of RAM available now (Linux/macOS), or None when unknown."""
    import os

    try:
        return int(os.sysconf("SC_AVPHYS_PAGES")) * int(os.sysconf("SC_PAGE_SIZE"))
    except (AttributeError, ValueError, OSError):
        return None


def cache_budget(max_mb: int) -> int:
    """The decoded-image cache size: ``max_mb``, but at most a quarter of free RAM."""
    free = available_memory()
    budget = max_mb * 2**20
    return min(budget, free // 4) if free else budget


class ImageCache:
    """Decoded images and channel-mapped masks kept in memory up to a byte budget."""

    def __init__(self, max_bytes: int = 2 << 30):
        self.max_bytes = max_bytes
        self.used = 0
        self._data: dict[CacheKey, U8] = {}
        self._lock = threading.Lock()

    def get(self, key: CacheKey) -> U8 | None:
        with self._lock:
            return self._data.get(key)

    def put(self, key: CacheKey, value: U8) -> None:
        with self._lock:
            if key in self._data:
                return
            if self.used + value.nbytes > self.max_bytes:
                return  # full: later images are decoded each time
            self._data[key] = value
            self.used += value.nbytes

    def drop_stale(self, live_keys: AbstractSet[CacheKey]) -> None:
        with self._lock:
            for k in [k for k in self._data if k not in live_keys]:
                self.used -= self._data.pop(k).nbytes


def as_channels(image: U8, in_channels: int, source: str) -> U8:
    """(H, W, C) uint8 with C = in_channels."""
    if image.ndim == 2:
        image = image[:, :, None]
    c = image.shape[2]
    if c == in_channels:
        return image
    if c == 1 and in_channels == 3:
        return np.repeat(image, 3, axis=2)
    raise SegStudioError(f"{source}: an RGB image cannot be fed to a model trained on grayscale "
                         "images; use a checkpoint trained on RGB images")


class SampleLoader:
    """Loads (image, target) for an :class:`Item`; the target holds model channels
    (0..K-1) and 255 for ignored or unknown class ids."""

    def __init__(self, lut: npt.NDArray[np.integer[Any]], in_channels: int,
                 cache: ImageCache | None = None, normalize: str = "project"):
        self.lut = np.asarray(lut).clip(0, 255).astype(np.uint8)
        self.in_channels = in_channels
        self.cache = cache
        self.normalize = normalize  # "image": each image stretched to its percentiles

    def image(self, item: Item) -> U8:
        img = self.cache.get(item.key) if self.cache else None
        if img is None:
            img = as_channels(read_image(item.image_path), self.in_channels, item.image_path)
            img = np.ascontiguousarray(normalise(self.normalize, img))
            if self.cache:
                self.cache.put(item.key, img)
        return img

    def target(self, item: Item) -> U8:
        tgt = self.cache.get(("mask",) + item.mask_key) if self.cache else None
        if tgt is None:
            if not Path(item.mask_path).exists():
                raise MaskError(f"{item.mask_path}: the mask was removed")
            mask = maskio.read_mask(item.mask_path)
            if mask.shape != (item.height, item.width):
                raise MaskError(f"{item.mask_path}: mask is {mask.shape[1]}x{mask.shape[0]} but "
                                f"the image is {item.width}x{item.height}; re-save the mask")
            tgt = self.lut[mask]
            if self.cache:
                self.cache.put(("mask",) + item.mask_key, tgt)
        return tgt

    def load(self, item: Item, seed: int | None = None) -> tuple[U8, U8]:
        """The sample's image and target; a large image gives one region of them
        (at a place drawn from ``seed``, :mod:`.large_data`)."""
        if large_data.item_is_large(item):
            img, tgt = large_data.load_region(item, seed, self.lut)
            return as_channels(img, self.in_channels, item.image_path), tgt
        img = self.image(item)
        if img.shape[:2] != (item.height, item.width):
            raise SegStudioError(f"{item.image_path}: the image changed size since the last scan; "
                                 "rescan the project")
        return img, self.target(item)


def collate(samples: Sequence[tuple[U8, U8]], fill: Sequence[int],
            multiple: int = 32) -> tuple[U8, U8]:
    """Stack into (B, H, W, C) uint8 and (B, H, W) uint8, padding to a common size
    (at least ``multiple`` on each side) with ``fill`` / the ignore value."""
    hmax = max(max(t.shape[0] for _, t in samples), multiple)
    wmax = max(max(t.shape[1] for _, t in samples), multiple)
    c = samples[0][0].shape[2]
    images = np.empty((len(samples), hmax, wmax, c), np.uint8)
    targets = np.full((len(samples), hmax, wmax), IGNORE, np.uint8)
    images[...] = np.asarray(fill, np.uint8)[:c]
    for i, (img, tgt) in enumerate(samples):
        h, w = tgt.shape
        images[i, :h, :w] = img
        targets[i, :h, :w] = tgt
    return images, targets


@dataclass
class Batch:
    # both None when no sample of the batch could be loaded (see ``skipped``)
    images: U8 | None  # (B, H, W, C)
    targets: U8 | None  # (B, H, W) channels, 255 ignored
    ids: tuple[int, ...]
    seconds: float  # time spent loading and augmenting
    skipped: tuple[str, ...] = ()  # messages for samples that could not be loaded


class TrainSet(torch.utils.data.Dataset[Sample]):
    """One epoch's samples with their augmentation seeds (usable by DataLoader workers)."""

    def __init__(self, items: Sequence[Item], seeds: Sequence[int], loader: SampleLoader,
                 crop: tuple[int, int] | None, aug: Augmentation, fill: Sequence[int],
                 focus: CropFocus | None = None):
        self.items = list(items)
        self.seeds = list(seeds)
        self.loader = loader
        self.crop, self.aug, self.fill = crop, aug, fill
        self.focus = focus

    def __len__(self) -> int:
        return len(self.items)

    def __getitem__(self, i: int) -> Sample:
        item = self.items[i]
        try:
            img, tgt = self.loader.load(item, self.seeds[i])
        except SegStudioError as exc:
            return None, None, item.id, str(exc)
        rng = np.random.default_rng(self.seeds[i])
        a = self.aug
        img, tgt = augment(img, tgt, self.crop, a.scale, a.flip, rng, self.fill, self.focus,
                           rotate90=a.rotate90, intensity=a.intensity, elastic=a.elastic)
        return img, tgt, item.id, None


def _collate_list(x: T) -> T:
    return x


def epoch_batches(items: Sequence[Item], batch_size: int, rng: np.random.Generator,
                  loader: SampleLoader, crop: tuple[int, int] | None,
                  scale: tuple[float, float], flip: bool, fill: Sequence[int],
                  workers: int = 0, focus: CropFocus | None = None,
                  aug: Augmentation | None = None) -> Iterator[Batch]:
    """Shuffle ``items`` with ``rng`` and yield augmented batches (``aug``: rotations,
    elastic and intensity changes besides ``scale`` and ``flip``)."""
    order = rng.permutation(len(items))
    seeds = rng.integers(0, 2**63 - 1, size=len(items))
    extra = aug or Augmentation()
    aug = Augmentation(scale, flip, extra.rotate90, extra.intensity, extra.elastic)
    ds = TrainSet([items[i] for i in order], seeds.tolist(), loader, crop, aug, fill,
                  focus)
    starts = range(0, len(ds), batch_size)
    if workers > 0:
        dl = torch.utils.data.DataLoader(ds, batch_size=batch_size, shuffle=False,
                                         num_workers=workers, collate_fn=_collate_list)
        source: Iterator[list[Sample]] = iter(dl)
    else:
        source = ([ds[i] for i in range(s, min(s + batch_size, len(ds)))] for s in starts)
    while True:
        t0 = time.perf_counter()
        try:
            group = next(source)
        except StopIteration:
            return
        good: list[tuple[U8, U8]] = []
        ids: list[int] = []
        skipped: list[str] = []
        for img, tgt, i, err in group:
            if err is not None:
                skipped.append(err)
            elif img is not None and tgt is not None:  # always, when there is no error
                good.append((img, tgt))
                ids.append(i)
        images: U8 | None = None
        targets: U8 | None = None
        if good:
            images, targets = collate(good, fill)
        yield Batch(images, targets, tuple(ids), time.perf_counter() - t0, tuple(skipped))


def fill_value(mean: Sequence[float]) -> tuple[int, ...]:
    """The uint8 colour that normalises to zero (used for padding)."""
    return tuple(int(round(m * 255)) for m in mean)


def to_tensor(images: U8, mean: Sequence[float], std: Sequence[float],
              device: torch.device, channels_last: bool = False) -> torch.Tensor:
    """(B, H, W, C) uint8 -> normalised float (B, C, H, W) on ``device``."""
    images = np.ascontiguousarray(images)
    if not images.flags.writeable:
        images = images.copy()
    x = torch.from_numpy(images)
    if device.type == "cuda":  # noqa: SIM108
        x = x.pin_memory().to(device, non_blocking=True)
    else:
        x = x.to(device)
    x = x.permute(0, 3, 1, 2).float()
    m = torch.tensor(mean, dtype=torch.float32, device=device).view(1, -1, 1, 1) * 255.0
    s = torch.tensor(std, dtype=torch.float32, device=device).view(1, -1, 1, 1) * 255.0
    x = (x - m) / s
    fmt = torch.channels_last if channels_last else torch.contiguous_format
    return x.contiguous(memory_format=fmt)
