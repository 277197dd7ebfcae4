"""Tools whose work runs on a worker: :class:`SmartTool`, and :class:`PreviewTool` for
those that preview what Enter paints.

A new smart tool is one class::

    class BlobTool(PreviewTool):
        name, label, shortcut, tip = "blob", "Blob", "Shift+B", "Blob: click an object"

        def request(self):                  # GUI thread: Qt-free inputs, or None
            doc = self.host.document()
            return None if self.seed is None else (doc.display, self.seed)

        @staticmethod
        def compute(inputs):                # a worker thread: no Qt, no self
            image, seed = inputs
            return find_blob(image, seed)   # a core function: (y0, x0, sel) or None

        def show_preview(self, region):     # GUI thread, only for a fresh result
            self.overlay.show_region(region, self.tint())
            return region                   # what Enter paints

        def paint_op(self, region, value, allowed):
            return lambda mask: edits.paint_region(mask, *region, value, allowed=allowed)

``self.run()`` submits (a :class:`~.tool_jobs.ToolJob`: the request is stamped
with a generation and the image on screen, and a stale result never reaches
``apply``); ``self.running`` is the task under way.  A :class:`PreviewTool`
keeps its marks after a preview so the user can refine them (each change calls
``run()`` again); Enter (:meth:`PreviewTool.accept`) paints the latest preview
as one undo step, once it has arrived; Esc drops the marks and the preview.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from PySide6.QtCore import Qt

from .base import EditTool
from .tool_jobs import ToolJob


class SmartTool(EditTool):
    """A tool with one kind of worker request: ``request`` -> ``compute`` -> ``apply``."""

    job_key = ""     # the worker lane key (default: the tool's name)
    what = ""        # what notes call its work (default: the label)

    def __init__(self, host) -> None:
        super().__init__(host)
        self.job = ToolJob(host, self.job_key or self.name, self.what or self.label,
                           settled=self.hint_changed)

    # -- the parts a tool gives ------------------------------------------------------------
    def request(self) -> Any:
        """GUI thread: the Qt-free inputs of ``compute`` (None: nothing to compute)."""
        return None

    @staticmethod
    def compute(inputs: Any) -> Any:
        """A worker thread: the result for ``inputs`` (no Qt here)."""
        raise NotImplementedError

    def apply(self, result: Any) -> None:
        """GUI thread: use a fresh result."""
        raise NotImplementedError

    def busy_text(self, inputs: Any) -> str:
        return f"{self.label}: computing …"

    def failed(self, message: str) -> None:
        self.host.message(f"{self.what or self.label} failed: {message}")

    # -- running ---------------------------------------------------------------------------
    def run(self) -> bool:
        """Submit ``compute(request())``; False when there is nothing to compute."""
        inputs = self.request()
        if inputs is None:
            return False
        compute = type(self).compute
        started = self.job.start(lambda: compute(inputs), self.apply,
                                 busy=self.busy_text(inputs), on_error=self.failed)
        self.hint_changed()
        return started

    @property
    def running(self):
        """The task under way (a :class:`~segstudio.gui.workers.TaskHandle`), or None."""
        return self.job.handle


class PreviewTool(SmartTool):
    """A smart tool whose result is a preview; Enter paints it (see the module doc)."""

    needs_class = True   # Enter paints with the active class (watershed: its strokes' own)

    def __init__(self, host) -> None:
        super().__init__(host)
        self.preview: Any = None          # what Enter paints (from show_preview)
        self._accept_when_ready = False

    # -- the parts a tool gives ------------------------------------------------------------
    @property
    def pending(self) -> bool:
        """Marks were made (what Esc drops)."""
        return False

    def show_preview(self, result: Any) -> Any:
        """Draw ``result`` (None: hide the preview); return what Enter paints (or None)."""
        raise NotImplementedError

    def paint_op(self, preview: Any, value: int | None,
                 allowed) -> Callable[[Any], Any]:
        """``op(mask) -> Patch | None`` that paints ``preview`` (``value``: the active
        class, None when ``needs_class`` is False)."""
        raise NotImplementedError

    def forget(self) -> None:
        """Drop the marks (the preview and the request are dropped by :meth:`clear`)."""

    def fillable(self, preview: Any) -> bool:
        """``preview`` has something to paint."""
        return preview is not None

    def nothing_text(self) -> str:
        return f"{self.label}: nothing to fill yet"

    # -- the flow --------------------------------------------------------------------------
    def apply(self, result: Any) -> None:
        self.preview = self.show_preview(result)
        self.hint_changed()
        if self._accept_when_ready:
            self._accept_when_ready = False
            self.accept()

    def failed(self, message: str) -> None:
        self._accept_when_ready = False
        super().failed(message)

    def accept(self) -> bool:
        """Enter: paint the preview as one undo step (the one under way once it arrives);
        False when there is nothing to paint."""
        if self.job.running:
            self._accept_when_ready = True
            self.hint_changed()
            return True
        if not self.fillable(self.preview):
            self.host.message(self.nothing_text())
            return False
        value = None
        if self.needs_class:
            value = self.host.require_class()
            if value is None:
                return False
        op = self.paint_op(self.preview, value, self.host.allowed())
        self.clear()
        self.host.apply(op, wait_for_tool=True)
        return True

    def clear(self) -> None:
        """Drop the marks, the preview and the request under way."""
        self.job.cancel()
        self.preview = None
        self._accept_when_ready = False
        self.forget()
        self.show_preview(None)
        self.hint_changed()

    def waiting_hint(self) -> str:
        return (f"{self.label}: computing the preview … (Enter fills it when it is ready, "
                "Esc drops it)")

    def unfinished(self) -> str:
        if self.pending or self.job.running:
            return (f"the {self.label} preview is not filled yet (Enter fills it, Esc drops "
                    "it)")
        return super().unfinished()

    def key_press(self, event) -> bool:
        key = event.key()
        if key in (Qt.Key.Key_Return, Qt.Key.Key_Enter) and self.pending:
            self.accept()
            return True
        if key == Qt.Key.Key_Escape and (self.pending or self.job.running):
            self.clear()
            return True
        return False

    def document_changed(self) -> None:
        self.clear()
