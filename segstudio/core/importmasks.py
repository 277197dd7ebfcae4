"""Importing a folder of label maps (index or colour PNGs) into a project.

The import itself lives in :mod:`segstudio.core.formats` (with the other
formats: VOC, CamVid, COCO, labelme); this module keeps the names existing
callers use.  Label maps are matched to images by relative path (extension
ignored), then by export name, then by file stem when that is unique.  Each
file is checked (size, class ids) and either imported as a *corrected* mask or
skipped with a reason; the report says which and why.  A human mask that
already differs is never overwritten unless ``overwrite`` is set.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

from .classes import ClassTable
from .errors import ClassTableError, SegStudioError
from .formats import import_masks
from .formats.common import CancelFn, ImageMatcher, ImportReport, ProgressFn
from .project import HUMAN_STATUSES, Project
from .scan import walk_images

__all__ = ["ImportReport", "apply_class_table", "import_index_masks", "match_masks"]


def apply_class_table(project: Project, table: ClassTable) -> None:
    """Adopt an imported class table, refusing one that would orphan existing masks."""
    old = project.classes
    has_masks = any(True for _ in project.images(statuses=HUMAN_STATUSES))
    if has_masks:
        dropped = sorted(set(old.ids) - set(table.ids))
        if dropped:
            raise ClassTableError(
                f"the new class table drops ids {dropped} that existing masks may use; "
                "remap or delete those classes first"
            )
    project.set_classes(table)


def import_index_masks(project: Project, masks_dir: str | os.PathLike[str], overwrite: bool = False,
                       unknown_to_ignore: bool = False, progress: ProgressFn | None = None,
                       cancelled: CancelFn | None = None,
                       mapping: Mapping[str, int] | None = None,
                       classes_json: str | os.PathLike[str] | None = None) -> ImportReport:
    """Import a folder of index (or colour) PNG label maps as corrected masks."""
    masks_dir = Path(masks_dir)
    if not masks_dir.is_dir():
        raise SegStudioError(f"{masks_dir}: no such folder of masks")
    return import_masks(project, masks_dir, "index", mapping=mapping, overwrite=overwrite,
                        unknown_to_ignore=unknown_to_ignore, classes_json=classes_json,
                        progress=progress, cancelled=cancelled)


def match_masks(project: Project, masks_dir: Path) -> tuple[dict[int, Path], list[tuple[str, str]]]:
    """Map image id -> label-map file; also the label maps that match no image."""
    masks_dir = Path(masks_dir)
    matcher = ImageMatcher(project.images())
    matches: dict[int, Path] = {}
    orphans = []
    for f in walk_images(masks_dir):
        rec = matcher.find([f.relpath])
        if rec is None or rec.id in matches:
            orphans.append((str(masks_dir / f.relpath), matcher.why_not([f.relpath])))
        else:
            matches[rec.id] = masks_dir / f.relpath
    return matches, orphans
