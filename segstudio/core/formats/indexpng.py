"""Index PNG folders (export and import), colour PNGs and overlay images (export).

* ``index``: single-channel PNGs whose values are the class ids, with the class
  colours as palette, at each image's relative path with ``.png`` for its
  extension (``streets/street_01.jpg`` -> ``streets/street_01.png``; images that
  share a name keep their extension, ``a.jpg.png``); folders are kept.
* ``color``: the same names, RGB PNGs in the class colours (importable when the
  class colours are distinct).
* ``overlay``: the image with the class colours blended in at a chosen opacity;
  unlabelled pixels are left as they are.  Pictures, not masks: not importable.

Import reads a folder of label maps (index, grayscale or colour-coded PNGs,
:mod:`.labelmaps`), matched to images by relative path, export name or file
stem.  A ``classes.json`` in the folder (or given) maps its ids to the
project's by name.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from .. import maskio
from ..errors import MaskError
from ..imageio import IMAGE_EXTENSIONS, to_rgb
from ..project import Project
from .common import CancelFn, FormatError, ProgressFn, list_files, tree_names
from .labelmaps import scan_folder
from .output import ExportContext, ExportItem, encode_png, run_items
from .types import ExportFn, Format, ImportOptions, Probe, ScanResult
from .values import VALUES_SETTING, export_values, iter_stored

# -- export ---------------------------------------------------------------------------

def export_index(ctx: ExportContext, items: list[ExportItem], progress: ProgressFn | None,
                 cancelled: CancelFn | None, kind: str = "index") -> None:
    names = tree_names(it.rec.relpath for it in items)
    unl = ctx.table.unlabelled_value()
    opacity = float(ctx.options.opacity)
    if kind == "overlay" and not 0.0 <= opacity <= 1.0:
        raise FormatError(f"the overlay opacity must be between 0 and 1, not {opacity}")

    if kind == "color":
        by_colour: dict[tuple[int, ...], list[str]] = {}
        for c in ctx.table.classes:
            by_colour.setdefault(tuple(c.color), []).append(c.name)
        shared = [names_ for names_ in by_colour.values() if len(names_) > 1]
        for group in shared:
            ctx.report.notes.append(f"classes {', '.join(group)} share a colour: colour PNGs "
                                    "cannot tell them apart (use the index format to re-import)")

    values = export_values(ctx.table, iter_stored(ctx.project.settings.get(VALUES_SETTING)))
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
        raise MaskError(f"mask {mask.shape[1]}x{mask.shape[0]} does not fit the image "
                        f"{rgb.shape[1]}x{rgb.shape[0]}")
    alpha = np.where(mask == unlabelled, 0.0, opacity).astype(np.float32)[..., None]
    out: np.ndarray = rgb * (1.0 - alpha) + palette[mask].astype(np.float32) * alpha
    return (out + 0.5).astype(np.uint8)


def scan_index(src: Path, project: Project, opts: ImportOptions) -> ScanResult:
    if not src.is_dir():
        raise FormatError(f"{src}: index masks are read from a folder")
    return scan_folder(src, project, opts)


def _label_maps(probe: Probe) -> bool:
    """A folder holding images (the registry asks this after every other format)."""
    return probe.head is None and bool(list_files(probe.path, tuple(IMAGE_EXTENSIONS)))


def _export_as(kind: str) -> ExportFn:
    def export(ctx: ExportContext, items: list[ExportItem], progress: ProgressFn | None,
               cancelled: CancelFn | None) -> None:
        export_index(ctx, items, progress, cancelled, kind=kind)
    return export


FORMATS = (
    Format("index", "Index PNG",
           "One 8-bit PNG per image whose pixel values are the class ids (class colours "
           "as palette). Folders of the project are kept.",
           _export_as("index"), scan_index, _label_maps,
           import_label="Index / grey / colour PNG folder", title="label-map PNG",
           plain_values=True),
    Format("color", "Colour PNG",
           "One RGB PNG per image painted in the class colours. Readable back only when "
           "every class has its own colour.", _export_as("color"), imports_as="index",
           title="colour PNG"),
    Format("overlay", "Overlay pictures",
           "Each image with its mask blended on top, for viewing and reports "
           "(pictures, not masks: they cannot be imported back).", _export_as("overlay"),
           title="overlay picture"),
)
