"""Index PNG folders (export and import), colour PNGs and overlay images (export).

* ``index``: ``<relpath>.png`` single-channel PNGs whose values are the class
  ids, with the class colours as palette; folders of the project are kept.
* ``color``: the same names, RGB PNGs in the class colours (importable when the
  class colours are distinct).
* ``overlay``: the image with the class colours blended in at a chosen opacity;
  unlabelled pixels are left as they are.  Pictures, not masks: not importable.

Import reads a folder of label maps (index, grayscale or colour-coded PNGs),
matched to images by relative path, export name or file stem.  A
``classes.json`` in the folder (or given) maps its ids to the project's by name.
"""

from __future__ import annotations

from pathlib import Path
from typing import Callable

import numpy as np

from .. import maskio
from ..errors import MaskError, SegStudioError
from ..imageio import to_rgb
from ..project import Project
from ..scan import walk_images
from .common import CancelFn, FormatError, ImportReport, ProgressFn, file_values, \
    load_file_table, table_lut, tree_names
from .importer import Candidate, ImportOptions, ScanResult, manifest_images
from .values import VALUES_SETTING, ValuePlan, export_values, iter_stored, count_values, describe, has_no_labels, plan_values, read_values
from .output import ExportContext, ExportItem, encode_png, run_items


# -- export ---------------------------------------------------------------------------

def export_index(ctx: ExportContext, items: list[ExportItem], progress: ProgressFn | None,
                 cancelled: CancelFn | None, kind: str = "index") -> None:
    names = tree_names(it.rec.relpath for it in items)
    unl = ctx.table.unlabelled_value()
    opacity = float(ctx.options.opacity)
    if kind == "overlay" and not 0.0 <= opacity <= 1.0:
        raise FormatError(f"the overlay opacity must be between 0 and 1, not {opacity}")

    if kind == "color":
        by_colour: dict[tuple, list[str]] = {}
        for c in ctx.table.classes:
            by_colour.setdefault(tuple(c.color), []).append(c.name)
        shared = [names_ for names_ in by_colour.values() if len(names_) > 1]
        for group in shared:
            ctx.report.notes.append(f"classes {', '.join(group)} share a colour: colour PNGs "
                                    "cannot tell them apart (use the index format to re-import)")

    values = export_values(ctx.table, iter_stored(ctx.project.get_setting(VALUES_SETTING)))
    if kind == "index" and values is not None:
        # masks imported by value go back out with their own values (0/255, 16-bit ...)
        ctx.mask_values = {c: int(values[c]) for c in ctx.table.ids}
        ctx.report.notes.append("masks written with the values they were imported with: " +
                                ", ".join(f"class {c} -> {v}" for c, v in ctx.mask_values.items()))
        wide = int(values.max()) > 255
        value_palette = None
        if not wide:
            value_palette = np.zeros((256, 3), np.uint8)
            value_palette[values[ctx.table.ids]] = ctx.palette[ctx.table.ids]

    def one(item: ExportItem) -> None:
        mask = ctx.load_mask(item)
        rel = names[item.rec.relpath] + ".png"
        if kind == "index" and values is not None:
            out = values[mask]
            data = encode_png(out.astype(np.uint16)) if wide else \
                maskio.encode_mask_png(out.astype(np.uint8), value_palette)
        elif kind == "index":
            data = maskio.encode_mask_png(mask, ctx.palette)
        elif kind == "color":
            data = encode_png(ctx.palette[mask])
        else:
            data = encode_png(overlay(ctx.load_image(item), mask, ctx.palette, opacity, unl))
        ctx.out.put(rel, data, item.rec.relpath, item.layer)

    run_items(ctx, items, one, progress, cancelled)


def overlay(image: np.ndarray, mask: np.ndarray, palette: np.ndarray, opacity: float,
            unlabelled: int) -> np.ndarray:
    """RGB image with the class colours blended in; unlabelled pixels untouched."""
    rgb = to_rgb(image).astype(np.float32)
    if rgb.shape[:2] != mask.shape:
        raise maskio.MaskError(f"mask {mask.shape[1]}x{mask.shape[0]} does not fit the image "
                               f"{rgb.shape[1]}x{rgb.shape[0]}")
    alpha = np.where(mask == unlabelled, 0.0, opacity).astype(np.float32)[..., None]
    out = rgb * (1.0 - alpha) + palette[mask].astype(np.float32) * alpha
    return (out + 0.5).astype(np.uint8)


# -- import ---------------------------------------------------------------------------

def scan_folder(masks_dir: Path, project: Project, opts: ImportOptions,
                files: list[str] | None = None, keys: Callable[[str], list[str]] | None = None,
                void: int | None = None) -> ScanResult:
    """Candidates for the label maps under ``masks_dir`` (or the listed ones).

    With the files' own ``classes.json`` their ids are mapped to the project's by
    name; without one, the values of every file are counted first and a
    :class:`ValuePlan` says which class each value becomes (see
    :mod:`.values`).  ``void``: a value the layout reserves for "unlabelled"
    (VOC's 255 border)."""
    if files is None:
        files = [f.relpath for f in walk_images(masks_dir)]
    table_path = opts.classes_json or masks_dir / "classes.json"
    file_table = load_file_table(table_path)
    exported = manifest_images(masks_dir)

    def names_of(rel: str) -> list[str]:
        names = keys(rel) if keys else [rel]
        if rel in exported:  # a segstudio export names the image each file came from
            names.insert(0, exported[rel])
        return names

    if file_table is not None:
        return _scan_with_table(masks_dir, project, opts, files, names_of, file_table,
                                table_path)
    return _scan_by_value(masks_dir, project, opts, files, names_of, void)


def _scan_with_table(masks_dir, project, opts, files, names_of, file_table, table_path
                     ) -> ScanResult:
    if opts.value_map:
        v = next(iter(opts.value_map))
        raise FormatError(f"--map {v}={opts.value_map[v]}: {table_path} names the classes of "
                          "these files; map them by name (--map NAME=ID)")
    table = project.classes
    back = file_values(table_path)  # an index export that gave imported masks their values
    result = ScanResult()
    if opts.propose and not opts.mapping and has_no_labels(project):
        # a project with no labels yet takes the files' own class table
        table = file_table
        result.adopt = file_table
        if back is not None:
            result.stored_values = {int(back[v]): int(v) for v in np.flatnonzero(back >= 0)
                                    if int(back[v]) != int(v)}
        result.notes.append(f"the project had no labels yet: took the class table of "
                            f"{table_path}")
    lut = table_lut(file_table, table, opts.mapping, opts.unknown_to_ignore, str(table_path))
    palette, known = file_table.palette(), file_table.known_lut()
    for rel in files:
        path = masks_dir / rel

        def load(path=path) -> np.ndarray:
            if back is None:
                return lut[maskio.read_mask(path, palette, known)]
            values = read_values(path)
            if values is None:
                return lut[maskio.read_mask(path, palette, known)]
            ids = back[values]
            if (ids < 0).any():
                bad = sorted(count_values(values[ids < 0]))
                raise MaskError(f"{path}: holds values {describe(bad)} that {table_path} "
                                "does not list")
            return lut[ids.astype(np.uint8)]

        result.candidates.append(Candidate(str(path), names_of(rel), load))
    result.notes.append(f"class ids mapped by name from {table_path}")
    return result


def _scan_by_value(masks_dir, project, opts, files, names_of, void) -> ScanResult:
    table = project.classes
    if opts.mapping:
        name = next(iter(opts.mapping))
        raise FormatError(f"--map {name}={opts.mapping[name]}: the masks in {masks_dir} hold "
                          "plain values, not class names; map a value instead (--map VALUE=ID)")
    result = ScanResult()
    counts: dict[int, int] = {}
    readable = []
    for rel in files:
        path = masks_dir / rel
        try:
            values = read_values(path)
        except MaskError as exc:
            result.candidates.append(Candidate(str(path), names_of(rel), lambda: None,
                                               error=_short(exc, path)))
            continue
        if values is None:  # colour-coded: the project's class colours say the ids
            result.candidates.append(Candidate(
                str(path), names_of(rel),
                lambda path=path: maskio.read_mask(path, table.palette(), table.known_lut())))
            continue
        for v, n in count_values(values).items():
            counts[v] = counts.get(v, 0) + n
        readable.append((rel, path))
    if not counts:
        return result
    propose = opts.propose and has_no_labels(project)
    plan = plan_values(counts, table, propose, opts.value_map, opts.unknown_to_ignore,
                       str(masks_dir), void if propose else None)
    if plan.proposed and opts.classes is not None:
        if sorted(opts.classes.ids) != sorted(plan.table.ids):
            raise FormatError("the class table given for the import does not have the ids the "
                              f"values were given ({', '.join(map(str, plan.table.ids))})")
        plan = ValuePlan(plan.counts, plan.mapping, opts.classes, True, plan.chosen)
    lut = plan.lut()
    for rel, path in readable:
        def load(path=path) -> np.ndarray:
            values = read_values(path)
            if values is None:
                raise MaskError(f"{path}: changed into a colour image during the import")
            ids = lut[values]
            if (ids < 0).any():
                bad = sorted(count_values(values[ids < 0]))
                raise MaskError(f"{path}: holds values {describe(bad)} that were not there when "
                                "the import started; import again")
            return ids.astype(np.uint8)

        result.candidates.append(Candidate(str(path), names_of(rel), load))
    result.plan = plan
    return result


def _short(exc: Exception, path: Path) -> str:
    msg, prefix = str(exc), f"{path}: "
    return msg[len(prefix):] if msg.startswith(prefix) else msg


def import_index_masks(project: Project, masks_dir, overwrite: bool = False,
                       unknown_to_ignore: bool = False, progress: ProgressFn | None = None,
                       cancelled: CancelFn | None = None, mapping=None,
                       classes_json=None) -> ImportReport:
    """Import a folder of index (or colour) PNG label maps as corrected masks."""
    from .importer import import_masks

    masks_dir = Path(masks_dir)
    if not masks_dir.is_dir():
        raise SegStudioError(f"{masks_dir}: no such folder of masks")
    return import_masks(project, masks_dir, "index", mapping=mapping, overwrite=overwrite,
                        unknown_to_ignore=unknown_to_ignore, classes_json=classes_json,
                        progress=progress, cancelled=cancelled)


def match_masks(project: Project, masks_dir: Path) -> tuple[dict[int, Path], list[tuple[str, str]]]:
    """Map image id -> label-map file; also the label maps that match no image."""
    from .common import ImageMatcher

    masks_dir = Path(masks_dir)
    matcher = ImageMatcher(project.images())
    matches: dict[int, Path] = {}
    orphans = []
    for f in walk_images(masks_dir):
        rec = matcher.find([f.relpath])
        if rec is None or rec.id in matches:
            orphans.append((str(masks_dir / f.relpath),
                            "no image with this path or name in the project"))
        else:
            matches[rec.id] = masks_dir / f.relpath
    return matches, orphans
