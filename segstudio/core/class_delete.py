"""Deleting a class: its pixels become another class in every mask and prediction, and
the class leaves the table -- all of it or, after a crash, all of it on the next open.

The rewrite touches many files, which no single file operation can make atomic, so
it is made idempotent and journalled: the intent (class, target, the new table) is
stored in the project first; each file is rewritten atomically (a large image's
chunked mask and prediction chunk by chunk, every level, the fill value too when it is
the deleted class: :func:`.large_store.remap_store`); the new table and
the end of the intent are written in one database transaction.  A project opened
with an intent still stored (the program was killed half-way) finishes the
deletion before anything else reads its masks.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from .classes import BACKGROUND_SETTING, ClassInfo, ClassTable
from .errors import ClassTableError

if TYPE_CHECKING:  # the project imports this module
    from .project import Project

PENDING = "pending_class_delete"


def plan_delete(table: ClassTable, class_id: int, target_id: int) -> ClassTable:
    """The table after deleting ``class_id`` into ``target_id``; the unlabelled id as a
    target adds the ignore class when the table has none."""
    info = table.by_id(class_id)
    if info is None:
        raise ClassTableError(f"class id {class_id} is not in the class table")
    if target_id == class_id:
        raise ClassTableError("a class cannot be deleted into itself")
    new = table.without(class_id)
    if new.by_id(target_id) is None:
        if target_id != table.unlabelled_value() or info.ignore:
            raise ClassTableError(f"class id {target_id} is not in the class table")
        new = new.with_class(ClassInfo(target_id, "unlabelled", (0, 0, 0), ignore=True))
    return new


def delete_class(project: Project, class_id: int, target_id: int, table: ClassTable | None = None,
                 progress: Callable[[int, int], None] | None = None) -> tuple[int, ClassTable]:
    """Delete ``class_id`` from the project, its pixels rewritten to ``target_id``;
    returns (mask files rewritten, the new table).  ``table``: the table to delete
    from (the project's by default)."""
    if table is None:
        marked = project.settings.get(BACKGROUND_SETTING, None)
        table = project.classes.with_background(marked if isinstance(marked, list) else [])
    new = plan_delete(table, class_id, target_id)
    project.settings.set(PENDING, {"class_id": class_id, "target_id": target_id,
                                  "table": new.to_json_dict(),
                                  "background": list(new.background_ids)})
    return _finish(project, class_id, target_id, new, progress), new


def finish_pending(project: Project) -> int | None:
    """Complete a deletion a crash interrupted; None when there was none."""
    pending = project.settings.get(PENDING, None)
    if not isinstance(pending, dict):
        return None
    new = ClassTable.from_json_dict(pending["table"], "the interrupted class deletion")
    new = new.with_background(pending.get("background") or [])
    return _finish(project, int(pending["class_id"]), int(pending["target_id"]), new, None)


def _finish(project: Project, class_id: int, target_id: int, new: ClassTable,
            progress: Callable[[int, int], None] | None) -> int:
    changed: int = project.remap_class(class_id, target_id, progress)
    project.set_classes(new, also={PENDING: None,
                                   BACKGROUND_SETTING: list(new.background_ids)})
    return changed
