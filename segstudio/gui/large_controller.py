"""The project controller's work for a large image on screen: building its pyramid
cache, and moving its editing window (:mod:`.large_doc`).

Both change the document on screen, so they go through the controller's one writer
(:func:`.project_controller._write`) and are announced with
``controller.large_window_changed(doc)``, which the canvas follows."""

from __future__ import annotations

from typing import TYPE_CHECKING

from .large_doc import build_cache_job

if TYPE_CHECKING:
    from ..core.chunked_mask import ChunkedMask
    from .document import ImageDocument
    from .project_controller import ProjectController


def start_pyramid(controller: ProjectController, doc: ImageDocument) -> None:
    """Build the pyramid cache of a document shown on its preview, with progress."""
    large = doc.large
    if large is None or not large.building or controller.project is None:
        return
    label = f"Building the pyramid of {doc.rec.name}"

    def done(source) -> None:
        if source is None or controller.document is not doc:
            return
        large.source = source
        large.building = False
        from .project_controller import _write

        _write(doc, display=large.read_window())
        controller.large_window_changed.emit(doc)

    controller.busy.emit(label, 0, 1)
    controller.runner.submit(
        build_cache_job(controller.project, doc.rec), key="pyramid", on_result=done,
        on_progress=lambda d, t: controller.busy.emit(label, d, max(t, 1)),
        on_finished=lambda _c: controller.busy.emit(label, 0, 0))


def move_window(controller: ProjectController, image_id: int, origin: tuple[int, int],
                mask: ChunkedMask | None = None, window=None) -> bool:
    """The editing window of the large image on screen moves to ``origin`` (its image
    part read now); ``mask``/``window``: the chunked mask it edits and the window
    array.  False when another image is shown."""
    from .project_controller import _write

    doc = controller.document
    if doc is None or doc.large is None or doc.rec.id != image_id:
        return False
    large = doc.large
    changed = origin != large.origin or (mask is not None and mask is not large.mask)
    if origin != large.origin or doc.display is None:
        large.origin = origin
        _write(doc, display=large.read_window(),
               prediction=large.mask_window(large.prediction))
    if mask is not None:
        large.mask = mask
    if window is not None and doc.mask is not window:
        _write(doc, mask=window)
        controller.mask_replaced.emit(doc)
    if changed:
        controller.large_window_changed.emit(doc)
    return True
