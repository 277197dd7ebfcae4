"""CamVid layout, as in the SegNet tutorial (export and import)::

    train/<name>.png  trainannot/<name>.png     images and label maps per split
    val/...           valannot/...              (test/ testannot/ when used)
    train.txt, val.txt                          "train/<name>.png trainannot/<name>.png" pairs
    classes.json                                the class table
    classes.txt                                 one "<id> <name>" line per class, in id order

Label maps are 8-bit grayscale PNGs (no palette) whose values are the class
ids, like the released CamVid annotations.  Images are copied when they are
PNG files, else encoded as PNG.  ``<name>`` is the image path without
extension, folders joined by ``__``; an image without a split goes to train.
"""

from __future__ import annotations

from pathlib import Path

from .. import maskio
from ..project import Project
from .common import CancelFn, FormatError, ProgressFn, flat_names, list_files
from .labelmaps import scan_folder
from .output import ExportContext, ExportItem, run_items
from .splitlists import escape_unlistable, split_lists
from .types import Format, ImportOptions, Probe, ScanResult


def export_camvid(ctx: ExportContext, items: list[ExportItem], progress: ProgressFn | None,
                  cancelled: CancelFn | None) -> None:
    names = flat_names(it.rec.relpath for it in items)
    names = escape_unlistable(names, "\n\r \t", ctx.report)

    def folder(item: ExportItem) -> str:
        return item.rec.split if item.rec.split in ("train", "val", "test") else "train"

    def one(item: ExportItem) -> str:
        mask = ctx.load_mask(item)
        name, split = names[item.rec.relpath], folder(item)
        if ctx.options.include_images:
            ctx.copy_image(f"{split}/{name}.png", item)
        ctx.out.put(f"{split}annot/{name}.png", maskio.encode_mask_png(mask, None),
                    item.rec.relpath, item.layer)
        return name

    results = run_items(ctx, items, one, progress, cancelled)
    if ctx.report.cancelled:
        return
    splits, unsplit = split_lists(items, names, results)
    for split, entries in splits.items():
        if entries or split != "test":
            text = "".join(f"{split}/{n}.png {split}annot/{n}.png\n" for n in sorted(entries))
            ctx.out.put(f"{split}.txt", text.encode("utf-8"))
    lines = "".join(f"{c.id} {c.name}\n" for c in sorted(ctx.table.classes, key=lambda c: c.id))
    ctx.out.put("classes.txt", lines.encode("utf-8"))
    if unsplit:
        ctx.report.notes.append(f"{unsplit} images have no train/val split in the project and "
                                "went to train/ (assign splits to change this)")


def scan_camvid(src: Path, project: Project, opts: ImportOptions) -> ScanResult:
    annots = _annot_dirs(src)
    if not annots:
        raise FormatError(f"{src}: no *annot/ folder (trainannot/, valannot/...); this is not a "
                          "CamVid layout")
    files = [f"{a}/{r}" for a in annots for r in list_files(src / a, (".png",))]

    def keys(rel: str) -> list[str]:
        folder, name = rel.split("/", 1)
        split = folder[: -len("annot")]
        return [f"{split}/{name}", name]

    return scan_folder(src, project, opts, files=files, keys=keys)


def _annot_dirs(src: Path) -> list[str]:
    return sorted(p.name for p in src.iterdir() if p.is_dir() and p.name.lower().endswith("annot"))


def _is_camvid(probe: Probe) -> bool:
    return probe.head is None and bool(_annot_dirs(probe.path))


FORMAT = Format(
    "camvid", "CamVid (SegNet layout)",
    "train/ + trainannot/, val/ + valannot/ grey label maps and train.txt / val.txt lists, "
    "as in the SegNet tutorial.",
    export_camvid, scan_camvid, _is_camvid, import_label="CamVid folder", title="CamVid",
    copies_images=True, plain_values=True)
