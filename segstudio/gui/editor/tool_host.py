"""What an editing tool may ask of the editor: the :class:`ToolHost` protocol.

A tool (:class:`~.base.EditTool`) is given a host, never the whole
:class:`~.editor_controller.EditorController`, and uses only what is listed
here: the image on screen and the image asked for, the options (class to paint,
radius, tolerance, the class to replace, "preserve others"), the editing entry
points (``begin_edit`` / ``repaint`` / ``commit`` for a held stroke, ``apply`` for
a one-shot edit), the status bar, a project setting, and the worker lane its
heavy work runs on (through :class:`~.tool_jobs.ToolJob`, which drops stale
results).  :class:`EditorController` satisfies it; a test checks that no tool
module reads anything else of its host.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Protocol, runtime_checkable

if TYPE_CHECKING:
    import numpy as np

    from ...core.classes import ClassTable
    from ...core.history import Patch
    from ..document import ImageDocument
    from ..workers import Lane
    from .session import EditSession


@runtime_checkable
class ToolHost(Protocol):
    """The editor as its tools see it."""

    @property
    def runner(self) -> Lane:
        """The lane tools submit their work to (use :class:`~.tool_jobs.ToolJob`)."""

    # -- the image -------------------------------------------------------------------------
    def document(self) -> ImageDocument | None:
        """The document on screen."""

    def current_image_id(self) -> int | None:
        """The image the user asked for last (it may not be on screen yet)."""

    def prediction(self) -> np.ndarray | None:
        """The prediction of the image on screen, when it has one of its size."""

    # -- options ---------------------------------------------------------------------------
    @property
    def radius(self) -> int: ...

    @property
    def tolerance(self) -> int:
        """The wand's colour tolerance."""

    @property
    def replace_from(self) -> int | None: ...

    @property
    def active_class(self) -> int | None: ...

    def class_table(self) -> ClassTable: ...

    def class_name(self, class_id: int | None) -> str: ...

    def require_class(self) -> int | None:
        """The class to paint, or None (with a note) when none is chosen."""

    def allowed(self) -> np.ndarray | None:
        """The "preserve other classes" table, or None when the switch is off."""

    def project_setting(self, key: str) -> object | None:
        """A setting of the open project (None without a project)."""

    # -- editing ---------------------------------------------------------------------------
    def begin_edit(self) -> EditSession | None: ...

    def repaint(self, session: EditSession | None, bbox) -> None: ...

    def commit(self, session: EditSession | None, patch: Patch | None) -> bool: ...

    def apply(self, op: Callable[[np.ndarray], Patch | None], wait_for_tool: bool = False,
              image_id: int | None = None) -> Patch | None:
        """Run ``op(mask)`` on the image on screen as one undo step."""

    def pick_class_at(self, x: float, y: float) -> int | None: ...

    # -- what the user reads ---------------------------------------------------------------
    def message(self, text: str) -> None: ...

    def show_hint(self, text: str) -> None:
        """The tool's next step, in the status bar and on the canvas."""

    def busy_message(self, text: str) -> None:
        """What runs on a worker now ('' when nothing)."""
