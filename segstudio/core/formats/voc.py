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
from .importer import ImportOptions, ScanResult
from .output import ExportContext, ExportItem, run_items

MASK_DIR = "SegmentationClass"
IMAGE_DIR = "JPEGImages"
SETS_DIR = "ImageSets/Segmentation"
VOC_VOID = 255  # VOC's object borders and hard pixels: unlabelled


def escape_unlistable(names: dict[str, str], bad_chars: str, report) -> dict[str, str]:
    """The split lists hold one name a line (CamVid: two names split by a blank), so a
    name with a line break (or, for CamVid, a blank) would be read back wrong: such
    names are percent-escaped (``%0A``, ``%20``; ``%`` itself as ``%25``) in the file
    names and the lists, and the report says so.  The manifest still names each image."""
    out = {}
    changed = []
    for rel, name in names.items():
        if any(ch in name for ch in bad_chars):
            esc = name.replace("%", "%25")
            for ch in bad_chars:
                esc = esc.replace(ch, f"%{ord(ch):02X}")
            out[rel] = esc
            changed.append(rel)
        else:
            out[rel] = name
    if changed:
        shown = ", ".join(repr(c) for c in changed[:5]) + (f" and {len(changed) - 5} more"
                                                           if len(changed) > 5 else "")
        report.notes.append(f"{len(changed)} image names hold characters the split lists "
                            f"cannot: written percent-escaped (%0A line break, %20 blank): "
                            f"{shown}")
    return out


def split_lists(items: list[ExportItem], names: dict[str, str], results: list) -> tuple[
        dict[str, list[str]], int]:
    """Names per split (train/val/test) and how many images had no split."""
    out: dict[str, list[str]] = {"train": [], "val": [], "test": []}
    unsplit = 0
    for item, res in zip(items, results):
        if res is None:
            continue
        split = item.rec.split
        if split not in out:
            split = "train"
            unsplit += 1
        out[split].append(names[item.rec.relpath])
    return out, unsplit


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
    from .indexpng import scan_folder

    masks = src / MASK_DIR
    if not masks.is_dir():
        raise FormatError(f"{src}: no {MASK_DIR}/ folder; this is not a Pascal VOC layout")
    files = [f"{MASK_DIR}/{r}" for r in list_files(masks, (".png",))]
    return scan_folder(src, project, opts, files=files,
                       keys=lambda rel: [rel[len(MASK_DIR) + 1:]], void=VOC_VOID)
