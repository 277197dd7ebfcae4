"""The editor's side of a large image: its session edits a window of the chunked mask.

:func:`place_window` runs before a press reaches the tool (the canvas's
``press_hooks``, so the tool's coordinates are already the new window's) and puts
the window where the user works: over the view when the view fits in a window, else
around the cursor.  :func:`begin_edit` makes (or finds) the image's
:class:`~segstudio.core.large_edit.LargeEditSession` on that window.  The window
does not move while a tool's job is pending, so a result always lands on the window
it was computed for.  Every window move (also
the ones undo and redo make) goes to the controller (:mod:`..large_controller`),
which re-reads the image under the window and tells the canvas.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtCore import QPointF

from ...core.large_edit import LargeEditSession, covers, window_origin
from ...core.large_store import open_human_mask
from ..large_controller import move_window

if TYPE_CHECKING:
    from ..document import ImageDocument
    from .editor_controller import EditorController

MARGIN = 0.2  # a cursor this close (a share of the window) to the window's edge moves it


def _view_rect(editor: EditorController) -> tuple[float, float, float, float]:
    """The visible part of the image (y0, x0, y1, x1), full-resolution pixels."""
    canvas = editor.canvas
    oy, ox = canvas.window_origin()
    r = canvas.mapToScene(canvas.viewport().rect()).boundingRect()
    doc = editor.document()
    return (max(0.0, r.top() + oy), max(0.0, r.left() + ox),
            min(float(doc.height), r.bottom() + oy), min(float(doc.width), r.right() + ox))


def _cursor(editor: EditorController) -> tuple[float, float] | None:
    canvas = editor.canvas
    hover = getattr(canvas, "_hover", None)
    if hover is None:
        return None
    p = canvas.viewportTransform().inverted()[0].map(QPointF(hover))
    oy, ox = canvas.window_origin()
    return p.y() + oy, p.x() + ox


def wanted_origin(editor: EditorController, origin: tuple[int, int],
                  wshape: tuple[int, int], shape: tuple[int, int]) -> tuple[int, int] | None:
    """Where the window (now at ``origin``) should be for the next edit (None: where
    it is): over the view when the view fits in it, else around the cursor."""
    view = _view_rect(editor)
    size = max(wshape)
    if view[2] - view[0] <= wshape[0] and view[3] - view[1] <= wshape[1]:
        if covers(origin, wshape, view):
            return None
        return window_origin(((view[0] + view[2]) / 2, (view[1] + view[3]) / 2), shape, size)
    cursor = _cursor(editor) or ((view[0] + view[2]) / 2, (view[1] + view[3]) / 2)
    my, mx = wshape[0] * MARGIN, wshape[1] * MARGIN
    inner = (cursor[0] - my, cursor[1] - mx, cursor[0] + my, cursor[1] + mx)
    if covers(origin, wshape, inner):
        return None
    return window_origin(cursor, shape, size)


def place_window(editor: EditorController) -> None:
    """Before a press reaches a tool: move the window of the large image on screen to
    where the user works (not while a tool or its job is under way)."""
    doc = editor.document()
    if doc is None or doc.large is None or not doc.ok:
        return
    if editor.runner.pending() > 0 or (editor.tool is not None and editor.tool.busy):
        return
    session = editor.sessions.get(doc.rec.id)
    if isinstance(session, LargeEditSession):
        target = wanted_origin(editor, session.origin, session.mask.shape, session.chunked.shape)
        if target is not None:
            session.move_to(target)
        return
    large = doc.large
    target = wanted_origin(editor, large.origin, large.window_shape, large.shape)
    if target is not None:
        move_window(editor.controller, doc.rec.id, target)


def _follow(editor: EditorController, session: LargeEditSession) -> None:
    move_window(editor.controller, session.image_id, session.origin, session.chunked,
                session.mask)


def begin_edit(editor: EditorController, doc: ImageDocument) -> LargeEditSession | None:
    session = editor.sessions.get(doc.rec.id)
    if session is None:
        chunked, on_disk = doc.large.mask, False
        if chunked is None:
            chunked, on_disk = open_human_mask(editor.controller.project, doc.rec)
        else:
            on_disk = chunked.on_disk
        session = LargeEditSession(doc.rec, chunked, on_disk, editor.sessions,
                                   editor.sessions.undo_limit, doc.large.origin)
        editor.sessions.add(session)
        session.window_moved.append(lambda s: _follow(editor, s))
        editor.sessions.activate(doc.rec.id)
    if not isinstance(session, LargeEditSession):
        return None
    _follow(editor, session)
    return session


def prepare_document(session: LargeEditSession, doc: ImageDocument):
    """A large document about to be shown has a session: show its mask and window."""
    large = doc.large
    large.mask = session.chunked
    if large.origin != session.origin:
        large.origin = session.origin
        doc.display = large.read_window()
        doc.prediction = large.mask_window(large.prediction)
    return session.mask
