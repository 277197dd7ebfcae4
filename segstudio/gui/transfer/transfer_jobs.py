"""What the import and export dialogs run on workers (no Qt here).

The dialogs describe the formats with :data:`EXPORT_CHOICES` /
:data:`IMPORT_LABELS` (built from the format registry) and run
:func:`export_job`, :func:`count_job`, :func:`detect_job` and :func:`import_job`
through ``controller.runner``.  A
dialog's Cancel sets its own ``threading.Event`` (passed as ``stop``), so the
core functions stop between images and still return their report (which says
``cancelled``); the runner's own cancel (project closing) aborts outright.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from ...core.classes import ClassTable
from ...core.formats import (
    FORMATS,
    ExportOptions,
    ExportReport,
    ImportReport,
    OtherProjectExportError,
    UnknownClassesError,
    detect_format,
    export_masks,
    import_masks,
    preview_import,
    select_items,
)
from ...core.formats.output import OutputDir
from ...core.formats.values import ValuePlan
from ...core.project import Project

CLASS_TABLE = "classes"  # the dialog's extra "format": the class table JSON alone
# the folder this project last exported into (a project setting: each project its own,
# so that a second project never pre-fills the first one's folder)
EXPORT_FOLDER_SETTING = "gui.export_folder"


@dataclass(frozen=True)
class ExportChoice:
    key: str  # an EXPORT_FORMATS name, or CLASS_TABLE
    label: str
    description: str
    copies_images: bool = False  # include_images applies
    per_image: bool = True  # which images / masks apply


# the dialogs' lists come from the format registry, plus the class table on its own
EXPORT_CHOICES = tuple(ExportChoice(f.name, f.label, f.description, f.copies_images)
                       for f in FORMATS) + (
    ExportChoice(CLASS_TABLE, "Class table JSON",
                 "Only classes.json: class ids, names, colours and the ignore id.",
                 per_image=False),
)
IMPORT_LABELS = {f.name: f.import_label or f.label for f in FORMATS if f.scan is not None}
VALUE_FORMATS = tuple(f.name for f in FORMATS if f.plain_values)  # a table may be proposed


def export_choice(key: str) -> ExportChoice:
    return next(c for c in EXPORT_CHOICES if c.key == key)


# -- export ------------------------------------------------------------------------------

def export_class_table(project: Project, out_dir: str | Path, overwrite: bool = False,
                       name: str = "classes.json") -> ExportReport:
    """Write the project's class table as ``name`` into ``out_dir`` (atomic; a
    different existing file is kept and refused unless ``overwrite``)."""
    out = Path(out_dir).expanduser()
    report = ExportReport(format=CLASS_TABLE, out_dir=str(out))
    out.mkdir(parents=True, exist_ok=True)
    OutputDir(out, overwrite, report, protected=project.root).put_json(
        name, project.classes.to_json_dict())
    return report


@dataclass(frozen=True)
class OtherProjectThere:
    """The export stopped before writing anything: the folder holds another project's
    export (``message`` says which); the dialog asks before it goes on."""

    message: str


def default_export_folder(project: Project) -> Path:
    """Where a project that never exported exports: beside its image folder (beside its
    project folder when the image folder's parent is read-only)."""
    root = project.root
    base = root.parent if os.access(root.parent, os.W_OK) else project.project_dir.parent
    return base / f"{root.name}-export"


def remembered_export_folder(project: Project) -> str:
    value = project.settings.get(EXPORT_FOLDER_SETTING, None)
    return value if isinstance(value, str) and value else str(default_export_folder(project))


def export_job(ctx, project: Project, out_dir: str, fmt: str, options: ExportOptions,
               stop: threading.Event) -> ExportReport | OtherProjectThere:
    if fmt == CLASS_TABLE:
        report = export_class_table(project, out_dir, options.overwrite, options.classes_json)
    else:
        try:
            report = export_masks(project, out_dir, fmt, options, progress=ctx.progress,
                                  cancelled=stop.is_set)
        except OtherProjectExportError as exc:
            return OtherProjectThere(str(exc))
    project.settings.set(EXPORT_FOLDER_SETTING, str(out_dir))
    return report


@dataclass(frozen=True)
class Count:
    human: int
    predicted: int
    left_out: list[tuple[str, str]]  # (image, reason) of an explicit selection

    @property
    def total(self) -> int:
        return self.human + self.predicted


def count_job(ctx, project: Project, statuses: Sequence[str],
              images: Sequence[str] | None) -> Count:
    items, skipped = select_items(project, statuses, images)
    pred = sum(1 for it in items if it.layer != "human")
    return Count(len(items) - pred, pred, skipped)


# -- import --------------------------------------------------------------------------------

@dataclass(frozen=True)
class NeedsMapping:
    """The import stopped before writing anything: these class names need a project class."""

    names: list[str]
    message: str


def detect_job(ctx, source: str) -> str:
    return detect_format(source)


@dataclass(frozen=True)
class NeedsClasses:
    """The project has no labels yet: the import proposes a class table from the values
    of the masks (``plan``); nothing is written until the user confirms (and renames)."""

    plan: ValuePlan
    format: str


def import_job(ctx, project: Project, source: str, fmt: str, mapping: dict[str, int] | None,
               overwrite: bool, unknown_to_ignore: bool, classes: ClassTable | None,
               stop: threading.Event) -> ImportReport | NeedsMapping | NeedsClasses:
    """Import; ``classes``: the proposed table as the user confirmed (and renamed) it.
    Without it, a proposal is returned as NeedsClasses before anything is written."""
    try:
        if classes is None:
            kind = detect_format(source) if fmt == "auto" else fmt
            if kind in VALUE_FORMATS:
                plan = preview_import(project, source, kind, mapping=mapping or None,
                                      unknown_to_ignore=unknown_to_ignore)
                if plan is not None and plan.proposed:
                    return NeedsClasses(plan, kind)
        return import_masks(project, source, fmt, mapping=mapping or None, overwrite=overwrite,
                            unknown_to_ignore=unknown_to_ignore, progress=ctx.progress,
                            cancelled=stop.is_set, classes=classes)
    except UnknownClassesError as exc:
        return NeedsMapping(list(exc.names), str(exc))
