"""COCO JSON (export and import).

Export writes ``annotations.json``: one annotation per class present in each
image, its mask as a compressed RLE string exactly as pycocotools encodes it
(column-major runs), with ``area``, ``bbox`` [x, y, w, h] and ``iscrowd`` 1.
Categories are the project's classes except the ignore class (its pixels get
no annotation); category ids are class id + 1 (COCO counts from 1) and each
category also carries ``segstudio_id`` (the class id) and ``color``.  Images
are copied to ``images/<relpath>`` and ``file_name`` is that relative path;
each image entry says which layer its annotations came from
(``segstudio_layer``: human or prediction).

Import reads RLE (compressed or list counts) and polygon segmentations.
Categories map to project classes by name; unannotated pixels become the
unlabelled value.  Overlapping annotations are painted largest first, so
smaller objects stay on top.  Polygons use COCO's pixel-corner coordinates:
a pixel is inside when its centre is (pycocotools' own rasteriser differs on
about 1 % of the pixels of a polygon, all on its outline).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from ..bounded import ANNOTATION_LIMIT, UnsafeFileError, load_json
from ..errors import SegStudioError
from ..project import Project
from . import rle
from .common import CancelFn, FormatError, ProgressFn, UnsafePathError, resolve_names, safe_member
from .output import ExportContext, ExportItem, run_items
from .sources import annotation_files, read_head
from .types import Candidate, Format, ImportOptions, Probe, ScanResult

ANNOTATIONS = "annotations.json"
IMAGES_DIR = "images"


# -- export ---------------------------------------------------------------------------

def export_coco(ctx: ExportContext, items: list[ExportItem], progress: ProgressFn | None,
                cancelled: CancelFn | None) -> None:
    cats = [c for c in sorted(ctx.table.classes, key=lambda c: c.id) if not c.ignore]
    cat_id = np.zeros(256, np.int64)
    for c in cats:
        cat_id[c.id] = c.id + 1

    def one(item: ExportItem) -> tuple[int, int, list[dict[str, Any]]]:
        mask = ctx.load_mask(item)
        h, w = mask.shape
        if ctx.options.include_images:
            ctx.copy_image(f"{IMAGES_DIR}/{item.rec.relpath}", item)
        anns = []
        for cid, counts, area, bbox in rle.encode_label_map(mask):
            if not cat_id[cid]:
                continue
            anns.append({"category_id": int(cat_id[cid]),
                         "segmentation": {"size": [h, w], "counts": counts},
                         "area": area, "bbox": bbox, "iscrowd": 1})
        return h, w, anns

    results = run_items(ctx, items, one, progress, cancelled)
    if ctx.report.cancelled:
        return
    images: list[dict[str, Any]] = []
    annotations: list[dict[str, Any]] = []
    for item, res in zip(items, results, strict=True):
        if res is None:
            continue
        h, w, anns = res
        image_id = len(images) + 1
        images.append({"id": image_id, "file_name": item.rec.relpath, "width": w, "height": h,
                       "segstudio_layer": item.layer})
        for ann in anns:
            annotations.append({"id": len(annotations) + 1, "image_id": image_id, **ann})
    doc = {
        "info": {"description": f"segstudio export of {ctx.table.name or 'a project'}",
                 "contributor": "segstudio"},
        "licenses": [],
        "images": images,
        "annotations": annotations,
        "categories": [{"id": c.id + 1, "name": c.name, "supercategory": "",
                        "segstudio_id": c.id, "color": list(c.color)} for c in cats],
    }
    ctx.out.put_json(ANNOTATIONS, doc, indent=None)
    if not ctx.options.include_images:
        ctx.report.notes.append(f"images not copied: file_name is relative to {ctx.project.root}")


# -- polygons ----------------------------------------------------------------------------

def fill_polygon(points: Sequence[float], height: int, width: int) -> np.ndarray:
    """Boolean mask of the pixels whose centres lie inside a polygon (even-odd rule).

    ``points`` are x, y pairs in COCO's coordinates, where pixel (r, c) covers
    [c, c+1) x [r, r+1).  Scanlines are solved for all rows at once."""
    pts = np.asarray(points, np.float64).reshape(-1, 2)
    out = np.zeros((height, width), bool)
    if len(pts) < 3 or not np.isfinite(pts).all():
        return out
    x0, y0 = pts[:, 0], pts[:, 1]
    x1, y1 = np.roll(x0, -1), np.roll(y0, -1)
    keep = y0 != y1
    x0, y0, x1, y1 = x0[keep], y0[keep], x1[keep], y1[keep]
    if x0.size == 0:
        return out
    lo = max(0, int(np.floor(min(y0.min(), y1.min()) - 0.5)))
    hi = min(height, int(np.ceil(max(y0.max(), y1.max()) + 0.5)) + 1)
    if hi <= lo:
        return out
    yc = np.arange(lo, hi, dtype=np.float64)[:, None] + 0.5
    cross = (yc >= np.minimum(y0, y1)) & (yc < np.maximum(y0, y1))
    with np.errstate(invalid="ignore", divide="ignore"):
        xs = np.where(cross, x0 + (yc - y0) * (x1 - x0) / (y1 - y0), np.inf)
    xs.sort(axis=1)
    marks = np.zeros((hi - lo, width + 1), np.int32)
    for k in range(0, xs.shape[1] - 1, 2):
        rows = np.flatnonzero(np.isfinite(xs[:, k + 1]))
        start = np.clip(np.ceil(xs[rows, k] - 0.5), 0, width).astype(np.int64)
        stop = np.clip(np.ceil(xs[rows, k + 1] - 0.5), 0, width).astype(np.int64)
        np.add.at(marks, (rows, start), 1)
        np.add.at(marks, (rows, stop), -1)
    out[lo:hi] = np.cumsum(marks[:, :width], axis=1) > 0
    return out


# -- import ---------------------------------------------------------------------------------

def _load_json(path: Path) -> dict[str, Any]:
    try:
        data = load_json(path, ANNOTATION_LIMIT, "COCO file")
    except UnsafeFileError as exc:
        raise FormatError(str(exc)) from None
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        raise FormatError(f"{path}: not a readable JSON file ({exc})") from None
    if not isinstance(data, dict) or not all(
            isinstance(data.get(k), list) for k in ("images", "annotations", "categories")):
        raise FormatError(f"{path}: not COCO JSON (needs 'images', 'annotations' and "
                          "'categories' lists)")
    return data


def _ann_mask(ann: dict[str, Any], h: int, w: int) -> np.ndarray:
    seg = ann.get("segmentation")
    if isinstance(seg, dict):
        size = seg.get("size")
        if not (isinstance(size, list) and len(size) == 2) or [int(v) for v in size] != [h, w]:
            raise SegStudioError(f"annotation {ann.get('id')}: RLE size {size} is not the "
                                 f"image size [{h}, {w}]")
        return rle.decode(seg).astype(bool)
    if isinstance(seg, list):
        out = np.zeros((h, w), bool)
        for poly in seg:
            if not isinstance(poly, list) or len(poly) < 6 or len(poly) % 2:
                raise SegStudioError(f"annotation {ann.get('id')}: a polygon needs at least "
                                     "three x, y pairs")
            out ^= fill_polygon(poly, h, w)
        return out
    raise SegStudioError(f"annotation {ann.get('id')}: no RLE or polygon segmentation")


def _painter(anns: list[tuple[int, dict[str, Any]]], h: int, w: int, fill: int
             ) -> Callable[[], np.ndarray]:
    def load() -> np.ndarray:
        if all(isinstance(a.get("segmentation"), dict) and isinstance(
                a["segmentation"].get("counts"), str) for _, a in anns):
            for _, a in anns:
                if [int(v) for v in a["segmentation"].get("size", [])] != [h, w]:
                    raise SegStudioError(f"annotation {a.get('id')}: RLE size "
                                         f"{a['segmentation'].get('size')} is not [{h}, {w}]")
            return rle.decode_labels([(cid, rle.rle_counts(a["segmentation"])) for cid, a in anns],
                                     h, w, fill)
        lab = np.full((h, w), fill, np.uint8)
        for cid, a in anns:
            lab[_ann_mask(a, h, w)] = cid
        return lab
    return load


def _area(ann: dict[str, Any]) -> float:
    try:
        return float(ann.get("area", 0))
    except (TypeError, ValueError):
        return 0.0


def scan_coco(src: Path, project: Project, opts: ImportOptions) -> ScanResult:
    if src.is_file():
        files = [src]
    else:
        files = [src / r for r in annotation_files(src) if _is_coco_file(src / r)]
        if not files:
            raise FormatError(f"{src}: no COCO JSON file found (looked for .json files with "
                              "'images' and 'annotations')")
    table = project.classes
    fill = table.unlabelled_value()
    docs = [(f, _load_json(f)) for f in files]
    used = set()
    declared = set()
    for _f, doc in docs:
        names = {c.get("id"): str(c.get("name", "")) for c in doc["categories"]
                 if isinstance(c, dict)}
        used |= {names.get(a.get("category_id"), "") for a in doc["annotations"]
                 if isinstance(a, dict)}
        declared |= set(names.values())
    used.discard("")
    name_to_id = resolve_names(used, table, opts.mapping, opts.unknown_to_ignore,
                               str(src), declared=declared)
    result = ScanResult()
    for f, doc in docs:
        cat = {c.get("id"): name_to_id.get(str(c.get("name", ""))) for c in doc["categories"]
               if isinstance(c, dict)}
        per_image: dict[object, list[tuple[int, dict[str, Any]]]] = {}
        stray = 0
        for a in doc["annotations"]:
            if not isinstance(a, dict):
                stray += 1
                continue
            cid = cat.get(a.get("category_id"))
            if cid is None:
                stray += 1
                continue
            per_image.setdefault(a.get("image_id"), []).append((cid, a))
        for img in doc["images"]:
            if not isinstance(img, dict):
                continue
            name = img.get("file_name")
            label = f"{f}#{name}"
            try:
                rel = safe_member(name, "file_name: ")
                h, w = int(img["height"]), int(img["width"])
            except UnsafePathError as exc:
                result.candidates.append(Candidate(label, [], lambda: None, error=str(exc)))
                continue
            except (KeyError, TypeError, ValueError):
                result.candidates.append(Candidate(label, [], lambda: None,
                                                   error="image entry without width/height"))
                continue
            anns = sorted(per_image.get(img.get("id"), []), key=lambda t: -_area(t[1]))
            note = "" if anns else "no annotations: imported as all unlabelled"
            result.candidates.append(Candidate(label, [rel], _painter(anns, h, w, fill),
                                               size=(h, w), note=note))
        if stray:
            result.notes.append(f"{f}: {stray} annotations without a known category or "
                                "image were left out")
    return result


def _is_coco(probe: Probe) -> bool:
    head = probe.head
    return head is not None and '"shapes"' not in head and (
        '"annotations"' in head or '"images"' in head or '"categories"' in head)


def _is_coco_file(path: Path) -> bool:
    return _is_coco(Probe(path, read_head(path) or ""))


FORMAT = Format(
    "coco", "COCO (RLE JSON)",
    "annotations.json with one RLE segmentation per class and image (pycocotools, "
    "Detectron2, MMSegmentation read it).",
    export_coco, scan_coco, _is_coco, import_label="COCO JSON", title="COCO",
    copies_images=True, named_classes=True)
