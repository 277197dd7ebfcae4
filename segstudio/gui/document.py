"""What the canvas shows for one image, loaded off the GUI thread (no Qt here).

:func:`load_document` decodes the image and reads the human mask, the
prediction and the uncertainty map (in parallel with the image decode, on the
``side`` runner it is given: the window's "labels" lane), and
keeps the image as decoded (RGB or gray, wrapped by the canvas without a copy:
the canvas caches its rendering of the photo, so no conversion pays off).  An
unreadable image gives a document with ``error`` set; an unreadable mask or
prediction gives a warning and no layer.

Once a document is on screen it has one writer, its owner
:class:`~.project_controller.ProjectController` (``update_record``, ``set_mask``,
``set_prediction``), which tells the views; any other attribute write raises
``AttributeError``.  A loader fills a new document freely until it is handed
over.  ``derived`` holds the outline and difference layers the loader made
ahead; the canvas keeps its own copy of them in step with the edits.
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..core.derived_maps import boundaries, disagreement
from ..core.errors import SegStudioError
from ..core.large_store import record_is_large
from ..core.project import ImageRecord, Project
from .large_doc import load_large

SHOWN = "_shown"  # set (by the owner) when the document is handed over to the views


@dataclass
class DerivedLayers:
    """Layers made from a mask and a prediction for the view: class outlines and the
    pixels where the two disagree."""

    outline_mask: np.ndarray | None = None
    outline_prediction: np.ndarray | None = None
    difference: np.ndarray | None = None


@dataclass
class ImageDocument:
    rec: ImageRecord
    display: np.ndarray | None = None      # (H, W, 3) RGB or (H, W) gray uint8, C-contiguous
    mask: np.ndarray | None = None         # human mask, uint8 class ids
    prediction: np.ndarray | None = None
    uncertainty: np.ndarray | None = None  # uint8 entropy map
    error: str | None = None               # the image itself is unreadable
    warnings: list[str] = field(default_factory=list)
    derived: DerivedLayers = field(default_factory=DerivedLayers)  # made ahead by the loader
    # a large image (:mod:`.large_doc`): its pyramid and chunked layers; then display,
    # mask and prediction hold only the editing window's part
    large: Any = None

    def __setattr__(self, name: str, value) -> None:
        if self.__dict__.get(SHOWN):
            raise AttributeError(
                f"ImageDocument.{name} cannot be set: the document on screen changes only "
                "through its owner, ProjectController (update_record, set_mask, set_prediction)")
        object.__setattr__(self, name, value)

    def __delattr__(self, name: str) -> None:
        if self.__dict__.get(SHOWN):
            raise AttributeError(f"ImageDocument.{name} cannot be deleted: the document is on "
                                 "screen")
        object.__delattr__(self, name)

    @property
    def shown(self) -> bool:
        """Whether the document was handed over to the views (then it is read-only)."""
        return bool(self.__dict__.get(SHOWN))

    @property
    def ok(self) -> bool:
        return self.display is not None

    @property
    def width(self) -> int:
        if self.large is not None:
            return int(self.large.width)
        return 0 if self.display is None else int(self.display.shape[1])

    @property
    def height(self) -> int:
        if self.large is not None:
            return int(self.large.height)
        return 0 if self.display is None else int(self.display.shape[0])

    @property
    def is_gray(self) -> bool:
        return self.display is not None and self.display.ndim == 2

    def pixel_value(self, x: int, y: int) -> tuple[int, ...] | None:
        """(gray,) or (r, g, b) at (x, y), None outside."""
        if self.large is not None:  # the window's pixels, if (x, y) lies in it
            oy, ox = self.large.origin
            x, y = x - ox, y - oy
            if self.display is None or not (0 <= y < self.display.shape[0]
                                            and 0 <= x < self.display.shape[1]):
                return None
        elif self.display is None or not (0 <= x < self.width and 0 <= y < self.height):
            return None
        if self.display.ndim == 2:
            return (int(self.display[y, x]),)
        return tuple(int(v) for v in self.display[y, x])


def _read_labels(project: Project, rec: ImageRecord) -> tuple[dict, list[str]]:
    out: dict = {}
    warnings: list[str] = []
    for name, reader in (("mask", project.load_mask), ("prediction", project.load_prediction),
                         ("uncertainty", project.load_uncertainty)):
        try:
            arr = reader(rec)
        except SegStudioError as exc:
            warnings.append(str(exc))
            continue
        if arr is not None and rec.width is not None and arr.shape != (rec.height, rec.width):
            warnings.append(f"{name} of {rec.relpath} is {arr.shape[1]}x{arr.shape[0]}, the image "
                            f"is {rec.width}x{rec.height}; it is not shown")
            continue
        out[name] = arr
    return out, warnings


def _now(fn: Callable, *args) -> Future:
    future: Future = Future()
    try:
        future.set_result(fn(*args))
    except BaseException as exc:  # noqa: BLE001 - raised again by result()
        future.set_exception(exc)
    return future


def load_document(project: Project, rec: ImageRecord, outlines: bool = False,
                  difference: bool = False, check=None,
                  side: Callable[..., Future] | None = None) -> ImageDocument:
    """Read everything the canvas needs for ``rec`` (call on a worker thread).
    ``side(fn, *args)`` runs the label reads beside the decode (none: read first)."""
    doc = ImageDocument(rec)
    if record_is_large(rec):
        try:
            load_large(project, rec, doc)
        except SegStudioError as exc:
            doc.error = str(exc)
        return doc
    labels = (side or _now)(_read_labels, project, rec)
    try:
        image = project.load_image(rec)
        if check is not None:
            check()
        doc.display = np.ascontiguousarray(image)
    except SegStudioError as exc:
        doc.error = str(exc)
    found, doc.warnings = labels.result()
    doc.mask = found.get("mask")
    doc.prediction = found.get("prediction")
    doc.uncertainty = found.get("uncertainty")
    if doc.ok:
        for name in ("mask", "prediction", "uncertainty"):
            arr = getattr(doc, name)
            if arr is not None and arr.shape != (doc.height, doc.width):
                doc.warnings.append(f"the {name} of {rec.relpath} does not fit the image; "
                                    "not shown")
                setattr(doc, name, None)
        table = project.classes
        update_derived(doc.derived, doc.mask, doc.prediction, outlines, difference,
                       table.unlabelled_value(), table.ignore_index)
    return doc


def update_derived(layers: DerivedLayers, mask: np.ndarray | None,
                   prediction: np.ndarray | None, outlines: bool, difference: bool, hole: int,
                   ignore: int | None, rect=None) -> None:
    """(Re)compute the outline and difference ``layers`` of ``mask`` and ``prediction``,
    whole or in ``rect``."""
    if outlines:
        for arr, dst in ((mask, "outline_mask"), (prediction, "outline_prediction")):
            if arr is None:
                setattr(layers, dst, None)
            elif rect is None or getattr(layers, dst) is None:
                setattr(layers, dst, boundaries(arr, hole))
            else:
                boundaries(arr, hole, rect, getattr(layers, dst))
    if difference:
        if mask is None or prediction is None:
            layers.difference = None
        elif rect is None or layers.difference is None:
            layers.difference = disagreement(mask, prediction, ignore)
        else:
            disagreement(mask, prediction, ignore, rect, layers.difference)


def describe_pixel(doc: ImageDocument | None, table, x: int, y: int) -> str:
    """The status bar's readout of pixel (x, y): value, mask and prediction class,
    uncertainty ("" outside the image)."""
    if doc is None or not doc.ok or x < 0 or y < 0:
        return ""
    value = doc.pixel_value(x, y)
    if value is None and (doc.large is None or x >= doc.width or y >= doc.height):
        return ""
    parts = [f"x {x}  y {y}"]
    if value is not None:  # a large image tells the value inside its editing window
        parts.append(f"value {value[0]}" if len(value) == 1
                     else "RGB " + " ".join(map(str, value)))
    for label, arr in (("mask", doc.mask), ("prediction", doc.prediction)):
        if arr is not None:
            if doc.large is not None:
                found = doc.large.label_at(getattr(doc.large, label), x, y)
                if found is None:
                    continue
                cid = found
            else:
                cid = int(arr[y, x])
            info = table.by_id(cid)
            parts.append(f"{label}: {info.name if info else f'id {cid} (unknown)'}")
    if doc.uncertainty is not None:
        parts.append(f"uncertainty {doc.uncertainty[y, x] / 255:.2f}")
    return "   ".join(parts)
