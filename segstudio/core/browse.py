"""Filtering and sorting image records for the image browser (no Qt)."""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Callable, Iterable, Sequence
from typing import Any

from .project import STATUSES, ImageRecord

SORT_KEYS = ("name", "status", "uncertainty", "iou", "label_next")
SORT_LABELS = {
    "name": "Name",
    "status": "Status",
    "uncertainty": "Uncertainty (highest first)",
    "iou": "IoU (lowest first)",
    "label_next": "Label next (no human mask, most uncertain first)",
}
STATUS_FILTERS = ("all",) + STATUSES + ("unreadable",)

_DIGITS = re.compile(r"(\d+)")
_STATUS_ORDER = {s: i for i, s in enumerate(STATUSES)}


def natural_key(text: str) -> tuple[Any, ...]:
    """Sort key where 'img2' comes before 'img10' (case-insensitive)."""
    parts = _DIGITS.split(text.casefold())
    return tuple((1, int(p), p) if i % 2 else (0, 0, p) for i, p in enumerate(parts))


def matches_name(rec: ImageRecord, text: str) -> bool:
    """Case-insensitive substring match on the relative path, or a glob with * ? [."""
    text = text.strip().casefold()
    if not text:
        return True
    path = rec.relpath.casefold()
    if any(c in text for c in "*?["):
        return fnmatch.fnmatchcase(path, text) or fnmatch.fnmatchcase(rec.name.casefold(), text)
    return text in path


def filter_records(records: Iterable[ImageRecord], status: str = "all",
                   text: str = "") -> list[ImageRecord]:
    if status not in STATUS_FILTERS:
        raise ValueError(f"unknown status filter {status!r}; use one of {STATUS_FILTERS}")
    out = []
    for rec in records:
        if status == "unreadable":
            if rec.usable:
                continue
        elif status != "all" and rec.status != status:
            continue
        if text and not matches_name(rec, text):
            continue
        out.append(rec)
    return out


def sort_records(records: Sequence[ImageRecord], key: str = "name",
                 name_keys: dict[str, tuple[Any, ...]] | None = None,
                 current: Callable[[ImageRecord], bool] | None = None) -> list[ImageRecord]:
    """Sort by name (natural order), status, uncertainty (highest first), IoU
    (lowest first) or label_next (images without a human mask by the model's
    uncertainty, highest first; human-labelled images last); images without a
    value go last, ties by name.
    ``name_keys`` caches natural keys by relpath (filled as needed).  ``current``
    (label_next): whether a record's prediction is the current model's; the scores of
    other models do not rank (scores of different models are not comparable)."""
    if key not in SORT_KEYS:
        raise ValueError(f"unknown sort key {key!r}; use one of {SORT_KEYS}")
    cache = name_keys if name_keys is not None else {}

    def nk(rec: ImageRecord) -> tuple[Any, ...]:
        k = cache.get(rec.relpath)
        if k is None:
            k = cache[rec.relpath] = natural_key(rec.relpath)
        return k

    if key == "name":
        return sorted(records, key=nk)
    if key == "status":
        return sorted(records, key=lambda r: (_STATUS_ORDER.get(r.status, 99), nk(r)))
    if key == "uncertainty":
        return sorted(records, key=lambda r: (r.uncertainty is None,
                                              -(r.uncertainty or 0.0), nk(r)))
    if key == "label_next":
        def score(r: ImageRecord) -> float | None:
            return r.uncertainty if current is None or current(r) else None

        return sorted(records, key=lambda r: (r.has_human_mask, score(r) is None,
                                              -(score(r) or 0.0), nk(r)))
    return sorted(records, key=lambda r: (r.iou is None, r.iou or 0.0, nk(r)))
