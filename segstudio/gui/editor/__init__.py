"""The mask editor in the window (the edits themselves are in core.edits): tools, undo
per image, autosave, provenance.

Modules:

* :mod:`.editor_controller` -- :class:`EditorController`, made once by the main window
  (``window.editor``): tool options, editing entry points, provenance actions;
* :mod:`.session` -- Qt signals of the Qt-free edit sessions (:mod:`segstudio.core.editing`);
* :mod:`.autosave` -- saves off the GUI thread, 2 s after the last change, in order;
* :mod:`.provenance` -- mark reviewed, reset to prediction;
* :mod:`.brush_tools`, :mod:`.shape_tools`, :mod:`.click_tools` and the ``*_tool``
  modules -- the canvas tools (on :mod:`.base`; those that work on a worker on
  :mod:`.smart_base`, whose requests :mod:`.tool_jobs` stamps and whose stale results it
  drops); each sees the editor as a :class:`~.tool_host.ToolHost`;
* :mod:`.editor_ui` -- :class:`EditorUI`: actions, tool bar, tool options, Edit menu.

The pixel rules of every tool are the core's (:mod:`segstudio.core.edits`).
"""

from .editor_controller import EditorController

__all__ = ["EditorController"]
