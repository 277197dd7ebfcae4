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

from .classes import ClassTable
from .errors import ClassTableError
from .formats.common import ImportReport
from .formats.indexpng import import_index_masks, match_masks
from .project import Project

__all__ = ["ImportReport", "apply_class_table", "import_index_masks", "match_masks"]


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
