"""Importing masks in any supported format: detection, matching, checks, saving.

Each format module turns its files into :class:`Candidate` s (a file, the
image keys it may belong to, and a loader giving a label map in project ids);
:func:`run_import` matches them to project images and saves each as a
*corrected* mask, or records why it was skipped.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Mapping

import numpy as np

from .. import maskio
from ..errors import SegStudioError
from ..imageio import IMAGE_EXTENSIONS
from ..project import Project
from .common import CancelFn, FormatError, ImageMatcher, ImportReport, ProgressFn, list_files
from .values import VALUES_SETTING

IMPORT_FORMATS = ("index", "voc", "camvid", "coco", "labelme")
MANIFEST_PREFIX = "segstudio_export_"


def manifest_name(fmt: str) -> str:
    """The manifest an export writes: which image and layer each file came from.
    One per format, so several formats can share a folder."""
    return f"{MANIFEST_PREFIX}{fmt}.json"


def _manifests(src: Path) -> dict[str, dict]:
    out = {}
    for path in sorted(src.glob(f"{MANIFEST_PREFIX}*.json")):
        try:
            doc = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        if isinstance(doc, dict) and isinstance(doc.get("format"), str):
            out[doc["format"]] = doc
    return out


@dataclass
class ImportOptions:
    mapping: Mapping[str, int] | None = None  # class name in the files -> project class id
    overwrite: bool = False  # replace human masks that differ
    unknown_to_ignore: bool = False  # unknown ids / names become the unlabelled value
    classes_json: Path | None = None  # the files' own class table (default: found in the folder)
    value_map: Mapping[int, int] | None = None  # value in the files -> project class id
    propose: bool = True  # a project with no labels yet takes a class table from the values
    classes: object | None = None  # the proposed ClassTable as the user renamed it


@dataclass
class Candidate:
    file: str  # shown in the report
    keys: list[str]  # image paths it may belong to, best first
    load: Callable[[], np.ndarray]  # label map in project ids; raises SegStudioError
    size: tuple[int, int] | None = None  # (height, width) the file declares
    error: str | None = None  # known to be unusable, and why
    note: str = ""  # said in the report even when imported (e.g. shapes left out)


@dataclass
class ScanResult:
    candidates: list[Candidate] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    plan: object | None = None  # a values.ValuePlan when the files hold plain values
    adopt: object | None = None  # a ClassTable the project takes before the first mask
    stored_values: dict[int, int] | None = None  # {class id: value in the files}, with adopt


def split_mapping(mapping: Mapping | None) -> tuple[dict[str, int], dict[int, int]]:
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
            report.add(cand.file, None, "skipped", "no image with this path or name in the project")
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
            if current is not None:
                if np.array_equal(current, mask):
                    report.add(cand.file, rec.relpath, "unchanged", cand.note)
                    continue
                if not opts.overwrite:
                    raise SegStudioError(
                        f"{rec.relpath} already has a different human mask; pass --overwrite "
                        "to replace it")
                kept = project.keep_in_trash(rec)
                report.trashed.append(str(kept))
            if adopt is not None:  # the new table, just before the first mask that needs it
                project.set_classes(adopt)
                project.set_setting(VALUES_SETTING, {str(c): v for c, v in
                                                     (scan.stored_values or {}).items()})
                adopt = None
            project.save_mask(rec, mask, "corrected")
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


# -- detection --------------------------------------------------------------------------

def _peek_json(path: Path) -> str | None:
    """'coco', 'labelme' or None from the first bytes of a JSON file."""
    try:
        with open(path, "rb") as fh:
            head = fh.read(1 << 16).decode("utf-8", "replace")
    except OSError:
        return None
    if '"shapes"' in head:
        return "labelme"
    if '"annotations"' in head or '"images"' in head or '"categories"' in head:
        return "coco"
    return None


def detect_format(source: str | os.PathLike) -> str:
    """The import format of a file or folder: index, voc, camvid, coco or labelme."""
    src = Path(source)
    if src.is_file():
        kind = _peek_json(src) if src.suffix.lower() == ".json" else None
        if kind is None:
            raise FormatError(f"{src}: not a COCO or labelme JSON file (it {_what_json(src)}); "
                              "give a folder of label maps or a JSON annotation file")
        return kind
    if not src.is_dir():
        raise FormatError(f"{src}: no such file or folder")
    manifests = _manifests(src)
    if len(manifests) == 1:
        fmt = next(iter(manifests))
        if fmt == "overlay":
            raise FormatError(f"{src}: holds overlay pictures, not masks; import the index, "
                              "colour or another mask export instead")
        if fmt in ("index", "color"):
            return "index"
        if fmt in IMPORT_FORMATS:
            return fmt
    if (src / "SegmentationClass").is_dir():
        return "voc"
    if any(p.is_dir() and p.name.lower().endswith("annot") for p in src.iterdir()):
        return "camvid"
    jsons = coco_or_labelme_files(src)
    for rel in jsons:
        kind = _peek_json(src / rel)
        if kind is not None:
            return kind
    if not list_files(src, tuple(IMAGE_EXTENSIONS)):  # nothing any format reads: say what is there
        found = [f"{len(jsons)} JSON file{'s' * (len(jsons) != 1)} that "
                 f"{'is' if len(jsons) == 1 else 'are'} neither COCO nor labelme ("
                 + "; ".join(f"{r} {_what_json(src / r)}" for r in jsons[:3])
                 + ("; ..." if len(jsons) > 3 else "") + ")"] if jsons else []
        others = [r for r in list_files(src, ("",)) if not r.lower().endswith(".json")]
        if others:
            exts = sorted({Path(r).suffix.lower() or "(no extension)" for r in others})
            found.append(f"{len(others)} other file{'s' * (len(others) != 1)} ("
                         + ", ".join(exts) + ")")
        raise FormatError(f"{src}: no masks found: " + ("; ".join(found) or "the folder is empty")
                          + "; give a folder of label-map images, a VOC, CamVid, COCO or "
                          "labelme export, or a COCO or labelme JSON file")
    return "index"


def _what_json(path: Path) -> str:
    """What a JSON file that is not an annotation file holds, in a few words after
    its name ("holds an object with keys 'a', 'b'", "is not valid JSON: ...")."""
    try:
        size = path.stat().st_size
        if size > 16 << 20:
            return (f"has {size >> 20} MiB without 'shapes', 'images' or 'annotations' in "
                    "its first 64 KiB")
        doc = json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        return f"is unreadable: {exc.strerror or exc}"
    except ValueError as exc:
        return f"is not valid JSON: {exc}"
    if isinstance(doc, dict):
        keys = list(doc)
        return ("holds an empty object" if not keys else "holds an object with keys "
                + ", ".join(map(repr, keys[:6])) + (", ..." if len(keys) > 6 else ""))
    return f"holds a JSON {type(doc).__name__}, not an object"


def manifest_images(src: Path) -> dict[str, str]:
    """{exported file: project image} from the manifests of segstudio exports."""
    out: dict[str, str] = {}
    for doc in _manifests(src).values():
        try:
            out.update({str(f): str(e["image"]) for e in doc["images"] for f in e["files"]})
        except (KeyError, TypeError):
            continue
    return out


def coco_or_labelme_files(src: Path) -> list[str]:
    return [r for r in list_files(src, (".json",)) if r != "classes.json"
            and not r.startswith(MANIFEST_PREFIX)]


# -- the entry point ----------------------------------------------------------------------

def import_masks(project: Project, source: str | os.PathLike, fmt: str = "auto", *,
                 mapping: Mapping[str, int] | None = None, overwrite: bool = False,
                 unknown_to_ignore: bool = False, classes_json: str | os.PathLike | None = None,
                 progress: ProgressFn | None = None, cancelled: CancelFn | None = None,
                 propose: bool = True, classes=None) -> ImportReport:
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
    (``propose``), or ``classes``: that proposal as the user renamed it."""
    fmt, scan, opts = _scan(project, source, fmt, mapping, overwrite, unknown_to_ignore,
                            classes_json, propose, classes)
    return run_import(project, scan, opts, fmt, progress, cancelled)


def preview_import(project: Project, source: str | os.PathLike, fmt: str = "auto", *,
                   mapping: Mapping[str, int] | None = None, unknown_to_ignore: bool = False,
                   classes_json: str | os.PathLike | None = None):
    """What an import would do with the values of plain-value masks, writing nothing:
    the ValuePlan (with ``proposed`` set when the project would take a new class
    table), or None for formats that name their classes.  Raises as import_masks."""
    _fmt, scan, _opts = _scan(project, source, fmt, mapping, False, unknown_to_ignore,
                              classes_json, True, None)
    return scan.plan


def _scan(project, source, fmt, mapping, overwrite, unknown_to_ignore, classes_json, propose,
          classes) -> tuple[str, ScanResult, ImportOptions]:
    src = Path(source)
    if not src.exists():
        raise FormatError(f"{src}: no such folder of masks or annotation file")
    if fmt == "auto":
        fmt = detect_format(src)
    if fmt not in IMPORT_FORMATS:
        raise FormatError(f"unknown import format {fmt!r}; use one of auto, "
                          + ", ".join(IMPORT_FORMATS))
    names, values = split_mapping(mapping)
    if fmt in ("coco", "labelme"):  # names only; "7" is a name there
        names.update({str(v): c for v, c in values.items()})
        values = {}
    opts = ImportOptions(mapping=names, overwrite=overwrite, unknown_to_ignore=unknown_to_ignore,
                         classes_json=Path(classes_json) if classes_json else None,
                         value_map=values, propose=propose, classes=classes)
    if opts.classes_json is not None and not opts.classes_json.is_file():
        raise FormatError(f"{opts.classes_json}: class table not found")
    if fmt == "index":
        from .indexpng import scan_folder
        if not src.is_dir():
            raise FormatError(f"{src}: index masks are read from a folder")
        scan = scan_folder(src, project, opts)
    elif fmt == "voc":
        from .voc import scan_voc
        scan = scan_voc(src, project, opts)
    elif fmt == "camvid":
        from .camvid import scan_camvid
        scan = scan_camvid(src, project, opts)
    elif fmt == "coco":
        from .coco import scan_coco
        scan = scan_coco(src, project, opts)
    else:
        from .labelme import scan_labelme
        scan = scan_labelme(src, project, opts)
    return fmt, scan, opts
