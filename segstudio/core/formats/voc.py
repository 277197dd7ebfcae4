"""Pascal VOC segmentation layout (export and import)::

    JPEGImages/<name>.jpg            the images (JPEG files copied, others encoded at q95)
    SegmentationClass/<name>.png     palette PNGs: pixel values are the class ids
    ImageSets/Segmentation/train.txt, val.txt, trainval.txt (test.txt when used)
    classes.json                     the class table (names and colours of the ids)

``<name>`` is the image path without extension, folders joined by ``__``.
The split lists follow the project's splits; an image without a split is
listed as train (the report says how many).  Class ids are written as they
are in the project (the project's ignore id is not renumbered to VOC's 255),
so an export and import give back the same masks bit for bit.
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

MASK_DIR = "SegmentationClass"
IMAGE_DIR = "JPEGImages"
SETS_DIR = "ImageSets/Segmentation"
VOC_VOID = 255  # VOC's object borders and hard pixels: unlabelled


def export_voc(ctx: ExportContext, items: list[ExportItem], progress: ProgressFn | None,
               cancelled: CancelFn | None) -> None:
    names = flat_names(it.rec.relpath for it in items)
    names = escape_unlistable(names, "\n\r", ctx.report)

    def one(item: ExportItem) -> str:
        mask = ctx.load_mask(item)
        name = names[item.rec.relpath]
        if ctx.options.include_images:
            ctx.copy_image(f"{IMAGE_DIR}/{name}.jpg", item)
        ctx.out.put(f"{MASK_DIR}/{name}.png", maskio.encode_mask_png(mask, ctx.palette),
                    item.rec.relpath, item.layer)
        return name

    results = run_items(ctx, items, one, progress, cancelled)
    if ctx.report.cancelled:
        return
    splits, unsplit = split_lists(items, names, results)
    lists = {"train": splits["train"], "val": splits["val"],
             "trainval": sorted(splits["train"] + splits["val"])}
    if splits["test"]:
        lists["test"] = splits["test"]
    for key, entries in lists.items():
        text = "".join(f"{n}\n" for n in sorted(entries))
        ctx.out.put(f"{SETS_DIR}/{key}.txt", text.encode("utf-8"))
    if unsplit:
        ctx.report.notes.append(f"{unsplit} images have no train/val split in the project and "
                                "are listed in train.txt (assign splits to change this)")


def scan_voc(src: Path, project: Project, opts: ImportOptions) -> ScanResult:
    masks = src / MASK_DIR
    if not masks.is_dir():
        raise FormatError(f"{src}: no {MASK_DIR}/ folder; this is not a Pascal VOC layout")
    files = [f"{MASK_DIR}/{r}" for r in list_files(masks, (".png",))]
    return scan_folder(src, project, opts, files=files,
                       keys=lambda rel: [rel[len(MASK_DIR) + 1:]], void=VOC_VOID)


def _is_voc(probe: Probe) -> bool:
    return probe.head is None and (probe.path / MASK_DIR).is_dir()


FORMAT = Format(
    "voc", "Pascal VOC",
    "JPEGImages/, SegmentationClass/ palette PNGs and ImageSets/Segmentation/ split lists "
    "following the project's train/val split.",
    export_voc, scan_voc, _is_voc, import_label="Pascal VOC folder", title="Pascal VOC",
    copies_images=True, plain_values=True)
