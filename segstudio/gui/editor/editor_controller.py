"""The mask editor of the main window: tools, undo per image, autosave, provenance.

``EditorController(controller, canvas, class_panel, settings, notifier, chrome,
parent)`` is made once by the main window (``window.editor``) with the
collaborators it uses (:mod:`..collaborators`); it never reads the window.
It owns

* the tools (:attr:`tools`, by name) and the active one (:meth:`set_tool`);
* the edit sessions (the Qt-free :class:`segstudio.core.editing.SessionStore`:
  per image mask array + patch undo stack, reporting through its psygnal
  signals) and the saver (:class:`~.autosave.AutoSaver`);
* the tool options: :attr:`radius`, :attr:`tolerance`, :attr:`preserve`,
  :attr:`replace_from`, and the class to paint (the class panel's active class);
* the actions of the Edit menu and the editor tool bar (:mod:`.editor_ui`).

Provenance.  Editing an image that has no human mask starts from a copy of
its prediction (the prediction stays its own layer), or from an all
unlabelled mask; the first save makes it "corrected" (a "reviewed" image
stays reviewed).  Nothing else is made: an operation that changes no pixel
leaves no session behind (no undo step, no mask shown, the status as it was),
and undoing every edit of such an image shows the prediction again and takes
back the mask file the session wrote (:attr:`EditSession.at_start`); a redo
brings the edit back.  "Mark reviewed" saves with status reviewed; "Reset to
prediction" moves the human mask to the project's trash folder.

Preserve other classes: only unlabelled pixels and the pixels of the classes
the user marked background (the "BG" box of the class panel) change; no class
is background because of its id.  It applies to the brush, the
fills, polygon/lasso/rectangle, GrabCut and accept prediction; the eraser and
replace class have their own rules.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
from psygnal import EmissionInfo
from PySide6.QtCore import QObject, QTimer, Signal
from PySide6.QtWidgets import QWidget

from ...core import edits
from ...core.classes import ClassTable, default_classes
from ...core.editor_state import SETTING_KEYS, EditorOptions
from ...core.errors import SegStudioError
from ...core.large_edit import LargeEditSession
from ..dialogs import ask_yes_cancel
from . import large_editing, provenance
from .autosave import AutoSaver
from .brush_tools import AcceptPredictionTool, BrushTool, EraserTool, ReplaceClassTool
from .click_model_tool import ClickModelTool
from .click_tools import EyedropperTool, FillTool
from .grabcut_tool import GrabCutTool
from .scissors_tool import ScissorsTool
from .session import EditSession, SessionStore, qrect
from .shape_tools import LassoTool, PolygonTool, RectangleTool
from .superpixel_tool import SuperpixelTool
from .wand_tool import WandTool
from .watershed_tool import WatershedTool

if TYPE_CHECKING:
    from ..collaborators import Notifier, Settings, WindowChrome
    from ..project_controller import ProjectController
    from ..widgets.canvas import Canvas
    from ..widgets.class_panel import ClassPanel

TOOL_CLASSES = (BrushTool, EraserTool, FillTool, PolygonTool, LassoTool, RectangleTool,
                EyedropperTool, AcceptPredictionTool, ReplaceClassTool, GrabCutTool,
                ScissorsTool, WatershedTool, SuperpixelTool, WandTool, ClickModelTool)
SETTING = "editor/"


class EditorController(QObject):
    state_changed = Signal()      # unsaved/saving state of the image on screen
    unsaved_changed = Signal(bool)  # whether the image on screen has unsaved edits
    tool_changed = Signal(str)    # name of the active tool ("" = none)
    options_changed = Signal()

    def __init__(self, controller: ProjectController, canvas: Canvas, class_panel: ClassPanel,
                 settings: Settings, notifier: Notifier, chrome: WindowChrome, parent: QWidget):
        super().__init__(parent)
        self.parent_widget = parent  # of the confirmations and of the editor's widgets
        self.chrome = chrome
        self.settings = settings
        self.notifier = notifier
        self.canvas = canvas
        self.controller = controller
        self.class_panel = class_panel
        self.runner = self.controller.runner
        self.sessions = SessionStore()
        self.sessions.mask_changed.connect(self._mask_touched)
        self.sessions.history_moving.connect(self._before_history)
        self.sessions.history_changed.connect(self._history_changed)
        self.saver = AutoSaver(lambda: self.controller.project, self.controller.workers, self)
        self.saver.set_sessions(lambda: list(self.sessions))
        self.saver.saved.connect(self._saved)
        self.saver.failed.connect(lambda _s, msg: self.message(msg))
        self.saver.state_changed.connect(self.state_changed)
        self.saver.settled.connect(lambda _s: self._trim())
        self.confirm = self._confirm  # (title, text) -> bool; tests replace it

        # the tool options live in the Qt-free core; the window stores three of them
        stored = {k: settings.value(SETTING + k) for k in SETTING_KEYS}
        self.options = EditorOptions.from_settings(
            {k: v for k, v in stored.items() if v is not None}, class_panel.active_class())
        self.options.events.connect(self._options_changed)
        self._table: ClassTable = default_classes()  # the project's, from classes_changed
        self.tools = {cls.name: cls(self) for cls in TOOL_CLASSES}
        canvas.press_hooks.append(lambda: large_editing.place_window(self))
        self.tool = None

        from .editor_ui import EditorUI
        self.ui = EditorUI(self)
        self._connect()

    def _connect(self) -> None:
        c = self.controller
        self.class_panel.active_class_changed.connect(self._active_class_changed)
        c.document_hooks.append(self._prepare_document)
        c.document_loaded.connect(self._document_shown)
        c.current_changed.connect(self._leaving)
        c.about_to_close.connect(self._project_closing)
        c.masks_rewriting.connect(self._masks_rewriting)
        c.classes_changed.connect(self._classes_changed)
        self.state_changed.connect(self._show_state)

    # -- tools and options ---------------------------------------------------------------------
    def set_tool(self, name: str | None) -> None:
        tool = self.tools.get(name) if name else None
        if tool is self.tool:
            return
        self.tool = tool
        self.canvas.set_tool(tool)
        self.show_hint(tool.hint() if tool is not None else "")
        self.tool_changed.emit(name or "")
        self.canvas.setFocus()

    # the options the tools read (set them through the setters below)
    @property
    def radius(self) -> int:
        return self.options.radius

    @property
    def tolerance(self) -> int:
        return self.options.tolerance

    @property
    def preserve(self) -> bool:
        return self.options.preserve

    @property
    def replace_from(self) -> int | None:
        return self.options.replace_from

    @property
    def active_class(self) -> int | None:
        return self.options.active_class

    def set_radius(self, radius: int) -> None:
        self.options.set_radius(radius)

    def grow_radius(self, step: int) -> None:
        """[ and ]: about 15 % per step, at least one pixel."""
        self.options.grow_radius(step)

    def set_tolerance(self, tolerance: int) -> None:
        self.options.set_tolerance(tolerance)

    def set_preserve(self, on: bool) -> None:
        self.options.set_preserve(on)

    def set_replace_from(self, class_id: int | None) -> None:
        self.options.set_replace_from(class_id)

    def _options_changed(self, info: EmissionInfo) -> None:
        """One option changed (or the class table: ``info.signal.name`` says which)."""
        name = info.signal.name
        if name in SETTING_KEYS:
            self.settings.set_value(SETTING + name, self.options.settings()[name])
        for tool in self.tools.values():
            tool.options_changed()
        self.options_changed.emit()
        if name == "active_class" and self.tool is not None:
            self.tool.hint_changed()  # hints name the class Enter fills with

    def _active_class_changed(self, class_id: int) -> None:
        self.options.set_active_class(class_id)

    def _classes_changed(self, table: ClassTable) -> None:
        self._table = table
        self.options.classes_changed(table)

    # -- what tools ask ------------------------------------------------------------------------
    def document(self):
        """The document on screen (its owner is the project controller)."""
        return self.controller.document

    def current_image_id(self) -> int | None:
        """The image asked for last (it may still be loading)."""
        current = self.controller.current
        return None if current is None else current.id

    def project_setting(self, key: str) -> object | None:
        project = self.controller.project
        return None if project is None else project.settings.get(key, None)

    def class_table(self) -> ClassTable:
        return self._table

    def image(self):
        doc = self.document()
        return None if doc is None else doc.display

    def prediction(self):
        doc = self.document()
        if doc is None or doc.prediction is None:
            return None
        shape = doc.large.window_shape if doc.large is not None else (doc.height, doc.width)
        return doc.prediction if doc.prediction.shape == shape else None

    def require_class(self) -> int | None:
        """The class to paint, or None (with a note) when none is chosen."""
        cid = self.options.paint_class(self._table)
        if cid is None:
            self.message("choose a class to paint in the class panel (keys 1-9)")
        return cid

    def allowed(self) -> np.ndarray | None:
        """The "preserve other classes" table, or None when the switch is off."""
        return self.options.allowed(self._table)

    def message(self, text: str) -> None:
        self.notifier.show_message(text)

    def show_hint(self, text: str) -> None:
        """The next step of a multi-step tool: in the status bar and on the canvas."""
        self.canvas.set_hint(text)
        self.ui.set_hint(text)

    def class_name(self, class_id: int | None) -> str:
        info = self.class_table().by_id(class_id) if class_id is not None else None
        return info.name if info is not None else "the active class"

    def busy_message(self, text: str) -> None:
        self.ui.set_busy_text(text)

    # -- editing -------------------------------------------------------------------------------
    def current_session(self) -> EditSession | None:
        doc = self.document()
        return None if doc is None else self.sessions.get(doc.rec.id)

    def begin_edit(self) -> EditSession | None:
        """The session of the image on screen, made on its first edit; None when the
        image cannot be edited now (a note says why)."""
        doc = self.document()
        if doc is None or not doc.ok or self.controller.project is None:
            return None
        if self.controller.remapping:
            self.message("a class is being deleted; edit again when it is done")
            return None
        if doc.large is not None:  # a window of a chunked mask
            return large_editing.begin_edit(self, doc)
        session = self.sessions.get(doc.rec.id)
        if session is not None:
            if doc.mask is not session.mask:
                self.controller.set_mask(doc.rec.id, session.mask)
            return session
        on_disk = doc.mask is not None
        if doc.mask is None:
            pred = self.prediction()
            start = pred.copy() if pred is not None else np.full(
                (doc.height, doc.width), self.class_table().unlabelled_value(), np.uint8)
            if not self.controller.set_mask(doc.rec.id, start):
                return None  # not the controller's document on screen
        session = self.sessions.create(doc.rec, doc.mask, on_disk)
        self.sessions.activate(doc.rec.id)
        # a tool that ends up writing nothing (no class chosen, no pixel changed) leaves
        # no session behind: looked at once the event that began the edit is over
        QTimer.singleShot(0, self, lambda: self._settle(session))
        return session

    def repaint(self, session: EditSession | None, bbox) -> None:
        """Repaint ``bbox`` (y0, x0, y1, x1) of the session's mask if it is on screen.  A
        repaint while the tool holds no stroke ends an operation (a stroke taken back)."""
        if isinstance(session, LargeEditSession):  # into the chunked mask the canvas draws
            session.sync(bbox)
            return
        self._repaint(session, bbox)
        if session is not None and not self._tool_holds_mask():
            self._settle(session)

    def _repaint(self, session: EditSession | None, bbox) -> None:
        if bbox is not None and session is not None and session.mask is self.canvas.mask():
            self.canvas.mask_changed(qrect(bbox))

    def commit(self, session: EditSession | None, patch) -> bool:
        """One undo step for an edit already made (and repainted); an edit that changed
        nothing makes none (and a session it began is forgotten)."""
        if session is None:
            return False
        pushed = session.push(patch)
        self._settle(session)
        return pushed

    def _tool_holds_mask(self) -> bool:
        return self.tool is not None and self.tool.holds_mask

    def _settle(self, session: EditSession) -> None:
        """After an operation or an undo / redo: the image on screen shows the session's
        mask, or, at the session's start, no human mask (the prediction).  A session that
        never held an edit and wrote nothing is forgotten: the operation made nothing."""
        if self._tool_holds_mask() or self.sessions.get(session.image_id) is not session:
            return
        doc = self.document()
        shown = doc is not None and doc.ok and doc.rec.id == session.image_id
        if not session.at_start:
            if shown and doc.mask is not session.mask:
                self.controller.set_mask(doc.rec.id, session.mask)
            return
        if shown and doc.mask is not None:
            self.controller.set_mask(doc.rec.id, None)
        if session.stack.count() == 0 and not session.on_disk and not session.saving:
            self.sessions.drop(session.image_id)
            self.state_changed.emit()

    def apply(self, op, wait_for_tool: bool = False, image_id: int | None = None):
        """Run ``op(mask) -> Patch | None`` on the image on screen as one undo step."""
        doc = self.document()
        if image_id is None and doc is not None:
            image_id = doc.rec.id
        if wait_for_tool and self.tool is not None and self.tool.holds_mask:
            QTimer.singleShot(30, lambda: self.apply(op, True, image_id))
            return None
        if doc is None or doc.rec.id != image_id:
            self.message("an edit was dropped: another image is shown")
            return None
        session = self.begin_edit()
        if session is None:
            return None
        try:
            patch = op(session.mask)
        except (SegStudioError, ValueError) as exc:
            self.message(str(exc))
            return None
        if patch is not None:
            self._repaint(session, patch.bbox)
        self.commit(session, patch)
        return patch

    def pick_class_at(self, x: float, y: float) -> int | None:
        """Eyedropper: the class under (x, y) of the mask (else the prediction)."""
        doc = self.document()
        if doc is None or not doc.ok:
            return None
        source = doc.mask if doc.mask is not None else doc.prediction
        if source is None:
            self.message("this image has no mask or prediction to pick a class from")
            return None
        cid = edits.pick_class(source, x, y)
        if cid is None:
            return None
        if not self.class_panel.set_active_class(cid):
            self.message(f"id {cid} under the cursor is not a class of this project")
            return None
        return cid

    def undo(self) -> None:
        self.sessions.undo()

    def redo(self) -> None:
        self.sessions.redo()

    # -- session events ------------------------------------------------------------------------
    def _before_history(self, session: EditSession) -> None:
        # an undo/redo while a stroke is held: take the stroke back first
        if self.tool is not None and self.tool.holds_mask:
            self.tool.abort()

    def _mask_touched(self, session: EditSession, bbox) -> None:
        self._settle(session)
        self._repaint(session, bbox)
        self.saver.changed()
        if session.at_start:
            # back at the start: nothing to keep; the saver takes back what it wrote now
            self.saver.save(session)

    def _history_changed(self) -> None:
        self.state_changed.emit()

    def _saved(self, session: EditSession, rec) -> None:
        self.controller.update_record(rec)  # the document on screen gets it too

    def _show_state(self) -> None:
        session = self.current_session()
        self.unsaved_changed.emit(session is not None and session.dirty)
        self.ui.show_state(session)

    def _trim(self) -> None:
        doc = self.document()
        for session in self.sessions.trim(doc.rec.id if doc is not None else None):
            if session.dirty and not session.saving:
                self.saver.save(session)

    # -- documents -----------------------------------------------------------------------------
    def _prepare_document(self, doc) -> np.ndarray | None:
        """Before a document is shown: an image with a session shows the session's mask
        (returned to the controller, which puts it in the document)."""
        session = self.sessions.get(doc.rec.id)
        if session is None or not doc.ok or session.at_start:
            return None  # (a session at its start shows no mask: see _document_shown)
        if isinstance(session, LargeEditSession) and doc.large is not None:
            return large_editing.prepare_document(session, doc)
        if session.mask.shape != (doc.height, doc.width):
            self.message(f"{doc.rec.relpath} changed size on disk; its undo history was dropped")
            if session.dirty:
                self.saver.save(session)
            self.sessions.drop(doc.rec.id)
            return None
        return session.mask

    def _document_shown(self, doc) -> None:
        self.sessions.activate(doc.rec.id if doc is not None and doc.ok else None)
        session = self.current_session()
        if session is not None:
            self._settle(session)
        self._trim()
        self.ui.document_shown(doc)
        self.state_changed.emit()

    def _leaving(self, rec) -> None:
        """Another image was asked for: save the one on screen now."""
        doc = self.document()
        if doc is None or (rec is not None and rec.id == doc.rec.id):
            return
        session = self.sessions.get(doc.rec.id)
        if session is not None:
            self.saver.save(session)

    # -- provenance actions --------------------------------------------------------------------
    def save_now(self) -> None:
        """Ctrl+S: save the image on screen now."""
        if self.tool is not None and self.tool.holds_mask:
            return  # the release saves it
        session = self.current_session()
        if session is None or not self.saver.save(session):
            self.message("nothing to save: every edit is saved")

    def mark_reviewed(self) -> bool:
        marked = provenance.mark_reviewed(self)
        session = self.current_session()
        if session is not None:
            self._settle(session)  # a session at its start shows the mask it now saves
        return marked

    def reset_to_prediction(self) -> bool:
        return provenance.reset_to_prediction(self)

    def _confirm(self, title: str, text: str) -> bool:
        return ask_yes_cancel(self.parent_widget, title, text)

    # -- closing -------------------------------------------------------------------------------
    def _finish_tool(self) -> None:
        if self.tool is not None and self.tool.holds_mask:
            self.tool.document_changed()  # a held stroke becomes an undo step

    def can_close(self) -> bool:
        """Save every edit and wait for the writes.  When some could not be written,
        ask whether to close anyway; False keeps the window (and the edits) open."""
        self._finish_tool()
        failures = self.saver.flush()
        if not failures:
            return True
        names = ", ".join(s.rec.relpath for s, _ in failures[:5])
        reason = failures[0][1]
        return self.confirm("Edits not saved",
                            f"The edits of {len(failures)} image(s) ({names}) could not be "
                            f"saved: {reason}\n\nClose anyway and lose them?")

    def _project_closing(self) -> None:
        self._finish_tool()
        failures = self.saver.flush()
        for session, reason in failures:
            self.message(f"the edits of {session.rec.relpath} were not saved: {reason}")
        self.saver.reset()
        self.sessions.clear()
        self.state_changed.emit()

    def _masks_rewriting(self) -> None:
        """Class ids are about to be rewritten in every mask file: save, then forget the
        in-memory masks and their history (their ids would be stale)."""
        self._finish_tool()
        if self.tool is not None:
            self.tool.abort()
        for session, reason in self.saver.flush():
            self.message(f"the edits of {session.rec.relpath} were not saved: {reason}")
        with_history = sum(1 for session in self.sessions if session.stack.count())
        if with_history:  # said in the message that ends the delete (never silently)
            self.controller.remap_notes.append(
                f"the undo history of {with_history} image(s) was cleared (their masks were "
                "rewritten; the edits themselves are saved)")
        self.sessions.clear()
        self.state_changed.emit()

    def shutdown(self) -> None:
        self.saver.shutdown()
