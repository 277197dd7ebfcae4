"""Exporting masks: choosing the images, dispatching to a format, and the
shared files every export writes (the class table and a manifest)."""

from __future__ import annotations

import os
import posixpath
from collections.abc import Sequence
from pathlib import Path

from ..project import HUMAN_STATUSES, Project
from .common import (
    LAYER_HUMAN,
    LAYER_PREDICTION,
    CancelFn,
    FormatError,
    OtherProjectExportError,
    ProgressFn,
    safe_member,
)
from .output import ExportContext, ExportItem, ExportOptions, ExportReport, OutputDir
from .registry import get_format
from .sources import manifest_name, other_project_exports

EXPORTABLE_STATUSES = ("partial", "corrected", "reviewed", "predicted")


def select_items(project: Project, statuses: Sequence[str] = HUMAN_STATUSES,
                 images: Sequence[str] | None = None
                 ) -> tuple[list[ExportItem], list[tuple[str, str]]]:
    """The images to export and, for an explicit selection, those left out and why.

    An image with a human mask (partial / corrected / reviewed) exports that mask; with
    'predicted' among the statuses, an image that only has a prediction
    exports the prediction."""
    statuses = tuple(dict.fromkeys(s.strip().lower() for s in statuses if s.strip()))
    bad = [s for s in statuses if s not in EXPORTABLE_STATUSES]
    if bad or not statuses:
        raise FormatError(f"status {', '.join(bad) or '(none)'} cannot be exported; choose from "
                          + ", ".join(EXPORTABLE_STATUSES))
    recs = project.images()
    skipped: list[tuple[str, str]] = []
    if images is not None:
        by_rel = {r.relpath: r for r in recs}
        wanted = [posixpath.normpath(str(p).replace("\\", "/").strip()) for p in images
                  if str(p).strip()]
        unknown = [p for p in wanted if p not in by_rel]
        if unknown:
            shown = ", ".join(unknown[:10]) + (f" and {len(unknown) - 10} more"
                                               if len(unknown) > 10 else "")
            raise FormatError(f"not images of this project: {shown} (give paths relative to "
                              "the image folder)")
        recs = [by_rel[p] for p in dict.fromkeys(wanted)]
    items = []
    for rec in recs:
        if not rec.usable:
            skipped.append((rec.relpath, f"the image is unreadable or missing ({rec.error})"))
        elif rec.status in statuses and rec.status in HUMAN_STATUSES:
            items.append(ExportItem(rec, LAYER_HUMAN))
        elif rec.status in statuses and rec.status == "predicted":
            items.append(ExportItem(rec, LAYER_PREDICTION))
        elif images is not None:
            if rec.status == "unlabelled":
                reason = "it has no mask yet"
            elif rec.status == "predicted":
                reason = "it only has a prediction; add 'predicted' to the statuses to export it"
            else:
                reason = f"its status {rec.status} is not among the chosen statuses"
            skipped.append((rec.relpath, reason))
    return items, skipped


def export_masks(project: Project, out_dir: str | os.PathLike[str], fmt: str,
                 options: ExportOptions | None = None, progress: ProgressFn | None = None,
                 cancelled: CancelFn | None = None) -> ExportReport:
    """Export masks of ``project`` to ``out_dir`` in format ``fmt``.

    Files are written atomically; files already there are kept, identical ones
    are left alone, different ones are refused (listed in the report) unless
    ``options.overwrite``.  ``progress(done, total)`` is called per image;
    ``cancelled()`` is polled between images.  Raises FormatError for bad
    options or an empty selection; per-image problems go to the report."""
    options = options or ExportOptions()
    record = get_format(fmt)
    if fmt == "overlay" and not 0.0 <= float(options.opacity) <= 1.0:
        raise FormatError(f"the overlay opacity must be between 0 and 1, not {options.opacity}")
    classes_rel = safe_member(options.classes_json, "--classes-json: ")
    out = Path(out_dir).expanduser()
    if out.exists() and not out.is_dir():
        raise FormatError(f"{out}: exists and is not a folder; choose a folder to export into")
    for inner, what in ((project.project_dir, "the project directory"),
                        (project.root, "the image folder")):
        if out.resolve() == inner.resolve() or inner.resolve() in out.resolve().parents:
            raise FormatError(f"{out}: is inside {what} {inner}, where exported files would be "
                              "taken for project files; choose a folder outside it")
    items, skipped = select_items(project, options.statuses, options.images)
    if not options.beside_other_projects:
        refuse_other_projects(out, project)
    if not items:
        hint = "" if "predicted" in options.statuses else \
            " (add 'predicted' to the statuses to export predictions)"
        raise FormatError(f"nothing to export: no selected image has a mask of status "
                          f"{', '.join(options.statuses)}{hint}")
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise FormatError(f"cannot create {out}: {exc.strerror}") from exc
    report = ExportReport(format=fmt, out_dir=str(out), skipped=list(skipped))
    writer = OutputDir(out, options.overwrite, report, protected=project.root)
    ctx = ExportContext(project, writer, options, report)
    record.export(ctx, items, progress, cancelled)
    if not report.cancelled and not report.exported and report.skipped:
        first = report.skipped[0]
        raise FormatError(f"nothing exported: none of the {len(items)} selected masks could be "
                          f"read ({first[0]}: {first[1]}"
                          + (f"; and {len(report.skipped) - 1} more" if len(report.skipped) > 1
                             else "") + ")")
    if not report.cancelled:
        table_doc = project.classes.to_json_dict()
        if ctx.mask_values:
            table_doc["mask_values"] = {str(c): v for c, v in ctx.mask_values.items()}
        writer.put_json(classes_rel, table_doc)
        exported = dict(report.exported)
        writer.put_json(manifest_name(fmt), {
            "format": fmt,
            "project": str(project.project_dir.resolve()),
            "classes": classes_rel,
            "images": [{"image": it.rec.relpath, "status": it.rec.status, "layer": it.layer,
                        "files": sorted(writer.by_image.get(it.rec.relpath, []))}
                       for it in items if it.rec.relpath in exported],
        })
    return report


def refuse_other_projects(out: Path, project: Project) -> None:
    """Raise OtherProjectExportError when ``out`` holds another project's export: masks
    written there would sit beside that project's masks, under its class table."""
    found = other_project_exports(out, project.project_dir,
                                  {r.relpath for r in project.images(include_missing=True)})
    if found:
        raise OtherProjectExportError(
            f"{out}: holds {found[0]}; this project's masks would be mixed with it, under its "
            "class table. Nothing was written: choose an empty folder or one this project "
            "exported into", found)
