"""labelme JSON (export and import).

Export writes ``<relpath>.json`` beside a copy of the image (``imagePath`` is
the image's file name, relative to the JSON), with ``imageHeight`` /
``imageWidth`` and one polygon shape per connected region of each class, from
``cv2.findContours`` (RETR_CCOMP, outer boundaries through the outermost
pixels' centres).

Holes.  labelme polygons have no holes; labelme (and labelme2voc) paint the
shapes of a file in order, each over the ones before.  The export uses that:
shapes are ordered by decreasing polygon area, so whatever lies in a hole of
a region (a smaller region, wholly inside that hole) is painted after it and
shows through.  A hole that holds unlabelled pixels gets its own shape
labelled with the unlabelled class's name (``__unlabelled__`` when the
project has no ignore class).  The export re-paints its shapes and adds
corrective shapes on top where a pixel still differs (rare: regions joined
only through a diagonal gap in a ring); the report gives the share of pixels
reproduced when it is below 100 %.

Import paints polygon, rectangle and circle shapes in file order with Pillow,
outline included, exactly as labelme's own ``shape_to_mask`` does; other shape
types (line, point, ...) cover no area and are left out, and the report says
so.  Unpainted pixels are unlabelled.
"""

from __future__ import annotations

import posixpath
from collections.abc import Sequence
from functools import partial
from pathlib import Path
from typing import Any

import cv2
import numpy as np
from PIL import Image, ImageDraw

from ..bounded import ANNOTATION_LIMIT, UnsafeFileError, load_json
from ..errors import SegStudioError
from ..project import Project
from .common import (
    UNLABELLED_NAME,
    CancelFn,
    FormatError,
    ProgressFn,
    UnsafePathError,
    resolve_names,
    safe_member,
    tree_names,
)
from .output import ExportContext, ExportItem, run_items
from .sources import annotation_files, read_head
from .types import Candidate, Format, ImportOptions, Probe, ScanResult

LABELME_VERSION = "5.4.1"
MAX_PIL_POINTS = 20_000  # larger polygons are filled with OpenCV (see paint)


# -- shapes <-> label maps ---------------------------------------------------------------

def paint(shapes: Sequence[tuple[int, np.ndarray] | tuple[int, np.ndarray, str]], height: int,
          width: int, fill: int) -> np.ndarray:
    """Paint shapes in order onto a label map, each over the ones before, as
    labelme does (Pillow, outline included): (class id, (N, 2) x/y points) for
    polygons, or (class id, points, "rectangle" | "circle" | "polygon")."""
    im = Image.new("L", (width, height), int(fill))
    draw = ImageDraw.Draw(im)
    for shape in shapes:
        cid, pts = int(shape[0]), np.asarray(shape[1], np.float64).reshape(-1, 2)
        kind = shape[2] if len(shape) > 2 else "polygon"
        if kind == "rectangle":
            (x0, y0), (x1, y1) = pts[:2]
            draw.rectangle([min(x0, x1), min(y0, y1), max(x0, x1), max(y0, y1)], outline=cid,
                           fill=cid)
        elif kind == "circle":
            (cx, cy), edge = pts[0], pts[1]
            r = float(np.hypot(*(edge - pts[0])))
            draw.ellipse([cx - r, cy - r, cx + r, cy + r], outline=cid, fill=cid)
        elif len(pts) > MAX_PIL_POINTS:
            # Pillow's fill walks every edge on every row (points x rows): a polygon of
            # millions of points would take hours.  OpenCV fills in one pass over the
            # edges; the outline is drawn too, as labelme's Pillow outline is.
            arr = np.array(im, dtype=np.uint8)
            poly = [np.round(pts).astype(np.int32).reshape(-1, 1, 2)]
            cv2.fillPoly(arr, poly, int(cid))
            cv2.polylines(arr, poly, True, int(cid), 1)
            im = Image.fromarray(arr)
            draw = ImageDraw.Draw(im)
        else:
            xy = [(float(x), float(y)) for x, y in pts]
            if len(xy) == 1:
                draw.point(xy, fill=cid)
            else:
                draw.polygon(xy, outline=cid, fill=cid)
    return np.array(im, dtype=np.uint8)


def _outer_contours(binary: np.ndarray) -> list[np.ndarray]:
    contours, hier = cv2.findContours(binary.astype(np.uint8), cv2.RETR_CCOMP,
                                      cv2.CHAIN_APPROX_SIMPLE)
    if hier is None:
        return []
    return [c.reshape(-1, 2) for c, h in zip(contours, hier[0], strict=True) if h[3] == -1]


def mask_to_polygons(mask: np.ndarray, unlabelled: int) -> tuple[list[tuple[int, np.ndarray]],
                                                                   float]:
    """(class id, points) polygons that paint back into ``mask``, and the share
    of pixels they reproduce (1.0 almost always)."""
    polys: list[tuple[float, int, np.ndarray]] = []
    for cid in np.flatnonzero(np.bincount(mask.ravel(), minlength=256)):
        if cid == unlabelled:
            continue
        for pts in _outer_contours(mask == cid):
            polys.append((cv2.contourArea(pts), int(cid), pts))
    # holes that hold unlabelled pixels need a shape of their own
    # numpy types a shape as tuple[Any, ...]: mypy cannot tell *shape gives height, width
    painted = paint([(c, p) for _, c, p in sorted(polys, key=lambda t: -t[0])], *mask.shape,
                    fill=unlabelled)  # type: ignore[misc]
    wrong = painted != mask
    if wrong.any():
        for pts in _outer_contours(wrong & (mask == unlabelled)):
            polys.append((cv2.contourArea(pts), unlabelled, pts))
    shapes = [(c, p) for _, c, p in sorted(polys, key=lambda t: -t[0])]
    for _ in range(2):  # corrective shapes on top, for the rare leftovers
        painted = paint(shapes, *mask.shape, fill=unlabelled)  # type: ignore[misc]
        wrong = painted != mask
        if not wrong.any():
            break
        for cid in np.unique(mask[wrong]):
            shapes.extend((int(cid), pts) for pts in _outer_contours(wrong & (mask == cid)))
    else:
        painted = paint(shapes, *mask.shape, fill=unlabelled)  # type: ignore[misc]
    return shapes, float((painted == mask).mean()) if mask.size else 1.0


def shape_dict(label: str, pts: np.ndarray) -> dict[str, Any]:
    pts = np.asarray(pts).reshape(-1, 2)
    if len(pts) < 3:  # a one- or two-pixel region: labelme wants three points
        pts = np.concatenate([pts, np.repeat(pts[-1:], 3 - len(pts), axis=0)])
    return {"label": label, "points": [[float(x), float(y)] for x, y in pts],
            "group_id": None, "description": "", "shape_type": "polygon", "flags": {},
            "mask": None}


# -- export --------------------------------------------------------------------------------

def export_labelme(ctx: ExportContext, items: list[ExportItem], progress: ProgressFn | None,
                   cancelled: CancelFn | None) -> None:
    table = ctx.table
    unl = table.unlabelled_value()
    names = {c.id: c.name for c in table.classes}
    if table.ignore_index is None:
        names[unl] = UNLABELLED_NAME
    out_names = tree_names(it.rec.relpath for it in items)
    worst: list[tuple[float, str]] = []

    def one(item: ExportItem) -> float:
        mask = ctx.load_mask(item)
        rel = item.rec.relpath
        shapes, fidelity = mask_to_polygons(mask, unl)
        base = out_names[rel]
        image_name = posixpath.basename(rel)
        if ctx.options.include_images:
            ctx.copy_image(posixpath.join(posixpath.dirname(base), image_name), item)
        doc: dict[str, Any] = {"version": LABELME_VERSION, "flags": {},
               "shapes": [shape_dict(names[c], p) for c, p in shapes],
               "imagePath": image_name, "imageData": None,
               "imageHeight": int(mask.shape[0]), "imageWidth": int(mask.shape[1])}
        ctx.out.put_json(base + ".json", doc, rel, item.layer)
        if fidelity < 1.0:
            worst.append((fidelity, rel))
        return fidelity

    run_items(ctx, items, one, progress, cancelled)
    if worst:
        f, rel = min(worst)
        ctx.report.notes.append(f"labelme polygons reproduce {f * 100:.2f} % of the pixels of "
                                f"{rel} (the worst of {len(worst)} images below 100 %)")


# -- import ------------------------------------------------------------------------------------

def _shape(shape: dict[str, Any]) -> tuple[str, np.ndarray] | None:
    """(kind, points) for shapes that cover an area, None for the others."""
    kind = shape.get("shape_type") or "polygon"
    try:
        pts = np.asarray(shape.get("points"), np.float64).reshape(-1, 2)
    except (TypeError, ValueError):
        raise SegStudioError(f"shape {shape.get('label')!r} has malformed points") from None
    if not np.isfinite(pts).all() or len(pts) == 0:
        raise SegStudioError(f"shape {shape.get('label')!r} has malformed points")
    if kind == "polygon" or (kind in ("rectangle", "circle") and len(pts) == 2):
        return kind, pts
    return None


def _read(path: Path) -> dict[str, Any]:
    try:
        doc = load_json(path, ANNOTATION_LIMIT, "labelme file")
    except UnsafeFileError as exc:
        raise SegStudioError(str(exc).removeprefix(f"{path}: ")) from None
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        raise SegStudioError(f"not a readable JSON file ({exc})") from None
    if not isinstance(doc, dict) or not isinstance(doc.get("shapes"), list):
        raise SegStudioError("not a labelme file (no 'shapes' list)")
    return doc


def scan_labelme(src: Path, project: Project, opts: ImportOptions) -> ScanResult:
    if src.is_file():
        root, rels = src.parent, [src.name]
    else:
        root = src
        rels = [r for r in annotation_files(src) if _is_labelme_file(src / r)]
        if not rels:
            raise FormatError(f"{src}: no labelme JSON file found (.json files with 'shapes')")
    table = project.classes
    fill = table.unlabelled_value()
    result = ScanResult()
    parsed = []
    labels = set()
    for rel in rels:
        label = str(root / rel)
        try:
            doc = _read(root / rel)
            image_path = doc.get("imagePath")
            folder = posixpath.dirname(rel)
            keys = []
            if image_path:
                if isinstance(image_path, str) and (image_path.startswith(("/", "\\"))
                                                    or image_path[1:2] == ":"):
                    raise UnsafePathError(f"imagePath {image_path!r} is absolute; refused")
                keys.append(safe_member(posixpath.join(folder, str(image_path).replace(
                    "\\", "/")), "imagePath: "))
            keys.append(rel)
            h, w = int(doc["imageHeight"]), int(doc["imageWidth"])
        except UnsafePathError as exc:
            result.candidates.append(Candidate(label, [], lambda: None, error=str(exc)))
            continue
        except (KeyError, TypeError, ValueError):
            result.candidates.append(Candidate(label, [], lambda: None,
                                               error="no imageHeight / imageWidth"))
            continue
        except SegStudioError as exc:
            result.candidates.append(Candidate(label, [], lambda: None, error=str(exc)))
            continue
        shapes = [s for s in doc["shapes"] if isinstance(s, dict)]
        labels |= {str(s.get("label", "")) for s in shapes}
        parsed.append((label, keys, h, w, shapes))
    name_to_id = resolve_names(labels, table, opts.mapping, opts.unknown_to_ignore, str(src))
    for label, keys, h, w, shapes in parsed:
        left_out: dict[str, int] = {}

        polys = []
        for s in shapes:
            try:
                found = _shape(s)
            except SegStudioError as exc:
                left_out[str(exc)] = left_out.get(str(exc), 0) + 1
                continue
            if found is None:
                kind = f"{s.get('shape_type')} shapes (no area)"
                left_out[kind] = left_out.get(kind, 0) + 1
                continue
            polys.append((name_to_id[str(s.get("label", ""))], found[1], found[0]))
            if found[0] == "polygon" and len(found[1]) > MAX_PIL_POINTS:
                big = f"polygon {s.get('label')!r} with {len(found[1]):,} points"
                left_out[f"{big} filled with OpenCV (its outline may differ from "
                         "labelme's by a pixel)"] = 0
        note = "; ".join(k if k.startswith("polygon") else f"{n} {k} left out"
                         if not k.startswith("shape") else f"{k}: skipped"
                         for k, n in left_out.items())
        malformed = any(k.startswith("shape") for k in left_out)
        if not polys and malformed:
            # never turn a file whose shapes could not be read into an all-unlabelled mask
            result.candidates.append(Candidate(label, keys, lambda: None, error=(
                note + "; no shape left to import, file skipped (fix its points)")))
            continue
        if not polys:
            note = "; ".join(filter(None, [note, "no shapes: imported as all unlabelled"]))
        result.candidates.append(Candidate(
            label, keys, partial(paint, polys, h, w, fill), size=(h, w),
            note=note))
    return result


def _is_labelme(probe: Probe) -> bool:
    return probe.head is not None and '"shapes"' in probe.head


def _is_labelme_file(path: Path) -> bool:
    return _is_labelme(Probe(path, read_head(path) or ""))


FORMAT = Format(
    "labelme", "labelme (polygons)",
    "One labelme JSON per image with a polygon per region, beside a copy of the image.",
    export_labelme, scan_labelme, _is_labelme, import_label="labelme JSON", title="labelme",
    copies_images=True, named_classes=True)
