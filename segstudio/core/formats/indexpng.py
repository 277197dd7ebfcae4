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
from ..errors import SegStudioError
from ..imageio import to_rgb
from ..project import Project
from ..scan import walk_images
from .common import CancelFn, FormatError, ImportReport, ProgressFn, load_file_table, \
    table_lut, tree_names
from .importer import Candidate, ImportOptions, ScanResult, manifest_images, run_import
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

    def one(item: ExportItem) -> None:
        mask = ctx.load_mask(item)
        rel = names[item.rec.relpath] + ".png"
        if kind == "index":
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
                files: list[str] | None = None, keys: Callable[[str], list[str]] | None = None
                ) -> ScanResult:
    """Candidates for the label maps under ``masks_dir`` (or the listed ones)."""
    table = project.classes
    file_table = load_file_table(opts.classes_json or masks_dir / "classes.json")
    if file_table is not None:
        lut = table_lut(file_table, table, opts.mapping, opts.unknown_to_ignore,
                        str(opts.classes_json or masks_dir / "classes.json"))
        palette, known = file_table.palette(), file_table.known_lut()
    else:
        lut = None
        palette, known = table.palette(), table.known_lut()
    if files is None:
        files = [f.relpath for f in walk_images(masks_dir)]
    exported = manifest_images(masks_dir)
    result = ScanResult()
    for rel in files:
        path = masks_dir / rel
        names = keys(rel) if keys else [rel]
        if rel in exported:  # a segstudio export names the image each file came from
            names.insert(0, exported[rel])

        def load(path=path) -> np.ndarray:
            mask = maskio.read_mask(path, palette, known)
            return mask if lut is None else lut[mask]

        result.candidates.append(Candidate(str(path), names, load))
    if file_table is not None:
        result.notes.append("class ids mapped by name from "
                            f"{opts.classes_json or masks_dir / 'classes.json'}")
    return result


def import_index_masks(project: Project, masks_dir, overwrite: bool = False,
                       unknown_to_ignore: bool = False, progress: ProgressFn | None = None,
                       cancelled: CancelFn | None = None, mapping=None,
                       classes_json=None) -> ImportReport:
    """Import a folder of index (or colour) PNG label maps as corrected masks."""
    masks_dir = Path(masks_dir)
    if not masks_dir.is_dir():
        raise SegStudioError(f"{masks_dir}: no such folder of masks")
    opts = ImportOptions(mapping=mapping, overwrite=overwrite,
                         unknown_to_ignore=unknown_to_ignore,
                         classes_json=Path(classes_json) if classes_json else None)
    scan = scan_folder(masks_dir, project, opts)
    return run_import(project, scan, opts, "index", progress, cancelled)


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
