"""Importing a folder of label maps (index or colour PNGs) into a project.

Label maps are matched to images by relative path (extension ignored), then by
file stem when that is unique.  Each file is checked (size, class ids) and
either imported as a *corrected* mask or skipped with a reason; the report says
which and why.  A human mask that already differs is never overwritten unless
``overwrite`` is set.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np

from . import maskio
from .classes import ClassTable
from .errors import ClassTableError, SegStudioError
from .imageio import IMAGE_EXTENSIONS
from .project import Project
from .scan import walk_images


@dataclass
class ImportReport:
    imported: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    skipped: list[tuple[str, str]] = field(default_factory=list)  # (file, reason)
    images_without_mask: int = 0

    def summary(self) -> str:
        parts = [f"{len(self.imported)} imported"]
        if self.unchanged:
            parts.append(f"{len(self.unchanged)} already identical")
        parts.append(f"{len(self.skipped)} skipped")
        parts.append(f"{self.images_without_mask} images without a mask")
        return ", ".join(parts)


def apply_class_table(project: Project, table: ClassTable) -> None:
    """Adopt an imported class table, refusing one that would orphan existing masks."""
    old = project.classes
    has_masks = any(True for _ in project.images(statuses=("corrected", "reviewed")))
    if has_masks:
        dropped = sorted(set(old.ids) - set(table.ids))
        if dropped:
            raise ClassTableError(
                f"the new class table drops ids {dropped} that existing masks may use; "
                "remap or delete those classes first"
            )
    project.set_classes(table)


def _strip_ext(rel: str) -> str:
    root, ext = os.path.splitext(rel)
    return root if ext.lower() in IMAGE_EXTENSIONS else rel


def match_masks(project: Project, masks_dir: Path) -> tuple[dict[int, Path], list[tuple[str, str]]]:
    """Map image id -> label-map file; also the label maps that match no image."""
    files = walk_images(masks_dir)
    by_rel: dict[str, Path] = {}
    by_stem: dict[str, list[Path]] = {}
    for f in files:
        path = masks_dir / f.relpath
        by_rel[_strip_ext(f.relpath)] = path
        by_stem.setdefault(Path(_strip_ext(f.relpath)).name, []).append(path)
    matches: dict[int, Path] = {}
    used: set[Path] = set()
    for rec in project.images():
        key = _strip_ext(rec.relpath)
        path = by_rel.get(key)
        if path is None:
            cands = by_stem.get(Path(key).name, [])
            if len(cands) == 1:
                path = cands[0]
        if path is not None and path not in used:
            matches[rec.id] = path
            used.add(path)
    orphans = [(str(masks_dir / f.relpath), "no image with this path or name in the project")
               for f in files if masks_dir / f.relpath not in used]
    return matches, orphans


def import_index_masks(project: Project, masks_dir: str | os.PathLike,
                       overwrite: bool = False, unknown_to_ignore: bool = False,
                       progress: Callable[[int, int], None] | None = None) -> ImportReport:
    masks_dir = Path(masks_dir)
    if not masks_dir.is_dir():
        raise SegStudioError(f"{masks_dir}: no such folder of masks")
    report = ImportReport()
    matches, orphans = match_masks(project, masks_dir)
    report.skipped.extend(orphans)
    table = project.classes
    palette, known = table.palette(), table.known_lut()
    recs = {r.id: r for r in project.images()}
    report.images_without_mask = sum(1 for i in recs if i not in matches)
    items = sorted(matches.items(), key=lambda kv: recs[kv[0]].relpath)
    for n, (image_id, path) in enumerate(items):
        if progress is not None:
            progress(n, len(items))
        rec = recs[image_id]
        try:
            if not rec.usable:
                raise SegStudioError(f"its image {rec.relpath} is unreadable: {rec.error}")
            mask = maskio.read_mask(path, palette, known)
            if mask.shape != (rec.height, rec.width):
                raise SegStudioError(
                    f"mask is {mask.shape[1]}x{mask.shape[0]} but image {rec.relpath} is "
                    f"{rec.width}x{rec.height}")
            bad = maskio.unknown_ids(mask, known)
            if bad:
                if not unknown_to_ignore:
                    raise SegStudioError(
                        f"unknown class ids {bad}; add them to the class table or pass "
                        "--unknown-to-ignore")
                fix = known.copy()
                lut = np.arange(256, dtype=np.uint8)
                lut[~fix] = table.unlabelled_value()
                mask = lut[mask]
            current = project.load_mask(rec) if rec.has_human_mask else None
            if current is not None:
                if np.array_equal(current, mask):
                    report.unchanged.append(str(path))
                    continue
                if not overwrite:
                    raise SegStudioError(
                        f"{rec.relpath} already has a different human mask; pass --overwrite "
                        "to replace it")
            project.save_mask(rec, mask, "corrected")
            report.imported.append(str(path))
        except SegStudioError as exc:
            msg = str(exc)
            prefix = f"{path}: "
            report.skipped.append((str(path), msg[len(prefix):] if msg.startswith(prefix) else msg))
    if progress is not None:
        progress(len(items), len(items))
    return report
