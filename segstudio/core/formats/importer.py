"""Importing masks in any registered format: matching, checks, saving.

Each format's ``scan`` (see :mod:`.registry`) turns its files into
:class:`~.types.Candidate` s (a file, the image keys it may belong to, and a
loader giving a label map in project ids); :func:`run_import` matches them to
project images and saves each as a *corrected* mask, or records why it was
skipped.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

import numpy as np

from .. import maskio
from ..classes import BACKGROUND_SETTING, ClassTable
from ..errors import SegStudioError
from ..project import ImageRecord, Project
from .common import CancelFn, FormatError, ImageMatcher, ImportReport, ProgressFn
from .registry import detect_format, get_format
from .types import ImportOptions, ScanResult
from .values import VALUES_SETTING, ValuePlan


def split_mapping(mapping: Mapping[str, int] | Mapping[int, int] | None
                  ) -> tuple[dict[str, int], dict[int, int]]:
    """``--map`` entries as (names, values): a key of digits is a value in the files."""
    names: dict[str, int] = {}
    values: dict[int, int] = {}
    for key, cid in (mapping or {}).items():
        if isinstance(key, (int, np.integer)) or str(key).strip().isdigit():
            values[int(key)] = int(cid)
        else:
            names[str(key)] = int(cid)
    return names, values


def run_import(project: Project, scan: ScanResult, opts: ImportOptions, fmt: str,
               progress: ProgressFn | None = None, cancelled: CancelFn | None = None
               ) -> ImportReport:
    report = ImportReport(format=fmt, notes=list(scan.notes))
    plan = scan.plan
    if plan is not None:
        if plan.proposed:
            report.notes.append("the project had no labels yet: class table made from the "
                                "values in the masks (" + ", ".join(
                                    f"{c.id} {c.name}" for c in plan.table.classes) + ")")
        report.notes.extend(plan.lines())
        report.value_plan = plan
    adopt = scan.adopt
    if adopt is None and plan is not None and plan.proposed:
        adopt = plan.table
        scan.stored_values = plan.stored_values()
    table = adopt if adopt is not None else project.classes
    known = table.known_lut()
    matcher = ImageMatcher(project.images())
    todo = []
    taken: dict[int, str] = {}
    for cand in scan.candidates:
        if cand.error:
            report.add(cand.file, None, "skipped", cand.error)
            continue
        rec = matcher.find(cand.keys)
        if rec is None:
            report.add(cand.file, None, "skipped", matcher.why_not(cand.keys))
        elif rec.id in taken:
            report.add(cand.file, rec.relpath, "skipped",
                       f"{taken[rec.id]} was already imported for {rec.relpath}")
        else:
            taken[rec.id] = cand.file
            todo.append((cand, rec))
    n = len(todo)
    for i, (cand, rec) in enumerate(todo):
        if cancelled is not None and cancelled():
            report.cancelled = True
            break
        if progress is not None:
            progress(i, n)
        try:
            if not rec.usable:
                raise SegStudioError(f"its image {rec.relpath} is unreadable: {rec.error}")
            if cand.size is not None and tuple(cand.size) != (rec.height, rec.width):
                raise SegStudioError(
                    f"it is for a {cand.size[1]}x{cand.size[0]} image but {rec.relpath} is "
                    f"{rec.width}x{rec.height}")
            mask = cand.load()
            assert mask is not None  # candidates with an error were skipped above
            if mask.shape != (rec.height, rec.width):
                raise SegStudioError(
                    f"mask is {mask.shape[1]}x{mask.shape[0]} but image {rec.relpath} is "
                    f"{rec.width}x{rec.height}")
            bad = maskio.unknown_ids(mask, known)
            if bad:
                if not opts.unknown_to_ignore:
                    raise SegStudioError(
                        f"unknown class ids {bad}; add them to the class table or pass "
                        "--unknown-to-ignore")
                lut = np.arange(256, dtype=np.uint8)
                lut[~known] = table.unlabelled_value()
                mask = lut[mask]
            current = project.load_mask(rec) if rec.has_human_mask else None
            status = "corrected"
            if opts.partial:
                mask, status = _merge_partial(rec, mask, current, table, opts.overwrite)
            if current is not None:
                if np.array_equal(current, mask):
                    report.add(cand.file, rec.relpath, "unchanged", cand.note)
                    continue
                if not opts.overwrite and not opts.partial:
                    raise SegStudioError(
                        f"{rec.relpath} already has a different human mask; pass --overwrite "
                        "to replace it")
                kept = project.keep_in_trash(rec)
            else:
                kept = None
            if adopt is not None:  # the new table, just before the first mask that needs it
                project.set_classes(adopt)
                # its own background marks (a proposed table has none), not the old table's
                project.settings.set(BACKGROUND_SETTING, adopt.background_ids or None)
                project.settings.set(VALUES_SETTING, {str(c): v for c, v in
                                                     (scan.stored_values or {}).items()})
                adopt = None
            try:
                project.save_mask(rec, mask, status)
            except SegStudioError:
                if kept is not None:  # nothing was replaced: no copy claims it was
                    kept.unlink(missing_ok=True)
                raise
            if kept is not None:
                report.trashed.append(str(kept))
            report.add(cand.file, rec.relpath, "imported", cand.note)
        except SegStudioError as exc:
            msg = str(exc)
            prefix = f"{cand.file}: "
            report.add(cand.file, rec.relpath, "skipped",
                       msg[len(prefix):] if msg.startswith(prefix) else msg)
    if progress is not None and not report.cancelled:
        progress(n, n)
    # after the import: images that still have no human mask (skipped files included)
    report.images_without_mask = sum(1 for r in project.images() if not r.has_human_mask)
    return report


def _merge_partial(rec: ImageRecord, mask: np.ndarray, current: np.ndarray | None,
                   table: ClassTable, overwrite: bool) -> tuple[np.ndarray, str]:
    """A partial mask's labelled pixels over the image's human mask (all unlabelled when it
    has none); labelled pixels that would change need ``overwrite``.  The status: a fully
    labelled image keeps its own, any other becomes partial."""
    unlabelled = table.unlabelled_value()
    given = mask != unlabelled
    if current is None:
        return np.where(given, mask, np.uint8(unlabelled)).astype(np.uint8), "partial"
    clash = int((given & (current != unlabelled) & (current != mask)).sum())
    if clash and not overwrite:
        raise SegStudioError(f"{clash} labelled pixels of {rec.relpath}'s human mask would "
                             "change; pass --overwrite to replace them")
    merged = current.copy()
    merged[given] = mask[given]
    return merged, rec.status if rec.fully_labelled else "partial"


# -- the entry point ----------------------------------------------------------------------

def import_masks(project: Project, source: str | os.PathLike[str], fmt: str = "auto", *,
                 mapping: Mapping[str, int] | None = None, overwrite: bool = False,
                 unknown_to_ignore: bool = False,
                 classes_json: str | os.PathLike[str] | None = None,
                 progress: ProgressFn | None = None, cancelled: CancelFn | None = None,
                 propose: bool = True, classes: ClassTable | None = None,
                 partial: bool = False) -> ImportReport:
    """Import masks from ``source`` (a folder, or a COCO / labelme JSON file).

    Raises UnknownClassesError (with ``.names``) before anything is written when
    the files name classes the project lacks and ``mapping`` does not cover
    them, UnknownValuesError (with ``.counts``) when plain-value masks hold
    values the class table lacks; FormatError for a source that cannot be read
    at all or a ``mapping`` key the files do not have.  Per-file problems are
    reported in the returned ImportReport, not raised.

    ``mapping``: {class name or value in the files: project class id}; keys of
    digits are values (``255``), others names.  A project with no labels yet
    takes a class table proposed from the values of plain-value masks
    (``propose``), or ``classes``: that proposal as the user renamed it.  ``partial``:
    the masks label some pixels only (see :func:`_merge_partial`)."""
    fmt, scan, opts = _scan(project, source, fmt, mapping, overwrite, unknown_to_ignore,
                            classes_json, propose, classes, partial)
    return run_import(project, scan, opts, fmt, progress, cancelled)


def preview_import(project: Project, source: str | os.PathLike[str], fmt: str = "auto", *,
                   mapping: Mapping[str, int] | None = None, unknown_to_ignore: bool = False,
                   classes_json: str | os.PathLike[str] | None = None) -> ValuePlan | None:
    """What an import would do with the values of plain-value masks, writing nothing:
    the ValuePlan (with ``proposed`` set when the project would take a new class
    table), or None for formats that name their classes.  Raises as import_masks."""
    _fmt, scan, _opts = _scan(project, source, fmt, mapping, False, unknown_to_ignore,
                              classes_json, True, None, False)
    return scan.plan


def _scan(project: Project, source: str | os.PathLike[str], fmt: str,
          mapping: Mapping[str, int] | None, overwrite: bool, unknown_to_ignore: bool,
          classes_json: str | os.PathLike[str] | None, propose: bool,
          classes: ClassTable | None, partial: bool) -> tuple[str, ScanResult, ImportOptions]:
    src = Path(source)
    if not src.exists():
        raise FormatError(f"{src}: no such folder of masks or annotation file")
    if fmt == "auto":
        fmt = detect_format(src)
    record = get_format(fmt, importing=True)
    names, values = split_mapping(mapping)
    if record.named_classes:  # names only; "7" is a name there
        names.update({str(v): c for v, c in values.items()})
        values = {}
    opts = ImportOptions(mapping=names, overwrite=overwrite, unknown_to_ignore=unknown_to_ignore,
                         classes_json=Path(classes_json) if classes_json else None,
                         value_map=values, propose=propose, classes=classes,
                         partial=partial)
    if opts.classes_json is not None and not opts.classes_json.is_file():
        raise FormatError(f"{opts.classes_json}: class table not found")
    assert record.scan is not None  # get_format(importing=True) gives readable ones
    scan = record.scan(src, project, opts)
    return fmt, scan, opts
