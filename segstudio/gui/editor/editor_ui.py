"""The editor's actions, tool bar, tool options, Edit menu and status label.

Shortcuts: V view (no tool), B brush, E eraser, F fill, P polygon, L lasso,
R rectangle, I eyedropper, Y accept prediction, Shift+R replace class,
G GrabCut; [ and ] brush size; Ctrl+Z undo, Ctrl+Shift+Z / Ctrl+Y redo;
Ctrl+S save now; Ctrl+Return mark reviewed.  Keys 1-9 (the class panel's)
choose the class to paint.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtCore import QSignalBlocker, QSize, Qt, Signal
from PySide6.QtGui import QAction, QActionGroup, QKeySequence
from PySide6.QtWidgets import QCheckBox, QComboBox, QLabel, QSpinBox, QToolBar

from ...core.editor_state import MAX_RADIUS
from ..widgets.class_panel import swatch_icon

if TYPE_CHECKING:
    from .editor_controller import EditorController
    from .session import EditSession


class EnterSpinBox(QSpinBox):
    """A spin box that also says when Enter is typed in it (focus leaving it does not)."""

    entered = Signal()

    def keyPressEvent(self, event) -> None:
        super().keyPressEvent(event)
        if event.key() in (Qt.Key.Key_Return, Qt.Key.Key_Enter):
            self.entered.emit()


class EditorUI:
    """Builds and updates the editor's widgets; holds no editing state."""

    def __init__(self, editor: EditorController):
        self.editor = editor
        win = editor.parent_widget      # the Qt parent of the actions and widgets
        self.parent_widget = win
        self.chrome = editor.chrome     # where they go: shortcuts, menu, tool bar, status bar

        self.undo = QAction("Undo", win)
        self.undo.setShortcuts([QKeySequence("Ctrl+Z")])
        self.undo.triggered.connect(lambda _=False: editor.undo())
        self.redo = QAction("Redo", win)
        self.redo.setShortcuts([QKeySequence("Ctrl+Shift+Z"), QKeySequence("Ctrl+Y")])
        self.redo.triggered.connect(lambda _=False: editor.redo())
        for act in (self.undo, self.redo):
            act.setShortcutContext(Qt.ShortcutContext.WindowShortcut)
            self.chrome.addAction(act)
        editor.sessions.history_changed.connect(self._sync_history)
        self._sync_history()
        # the tool bar's buttons keep a fixed text so nothing after them moves; the
        # step's name ("Undo Accept prediction") is in their tooltip and the Edit menu
        self.bar_undo = self._bar_twin(self.undo, "Undo", editor.undo, "Ctrl+Z")
        self.bar_redo = self._bar_twin(self.redo, "Redo", editor.redo, "Ctrl+Shift+Z")
        self.save = self._action("&Save now", editor.save_now, ["Ctrl+S"],
                                 "Save the mask of this image now (edits also save by themselves)")
        self.reviewed = self._action("Mark &reviewed", editor.mark_reviewed, ["Ctrl+Return"],
                                     "Mark this image's mask as reviewed")
        self.reset = self._action("Reset to &prediction…", editor.reset_to_prediction, [],
                                  "Replace the human mask by the prediction (the mask goes to "
                                  "the project's trash folder)")
        self.smaller = self._action("Brush smaller", lambda: editor.grow_radius(-1), ["["],
                                    "Smaller brush")
        self.larger = self._action("Brush larger", lambda: editor.grow_radius(1), ["]"],
                                   "Larger brush")
        self.preserve = self._action("Preserve other &classes", editor.set_preserve, [],
                                     "Paint only over unlabelled pixels and the classes ticked "
                                     "BG (background) in the class panel",
                                     checkable=True, toggled=True)
        self.preserve.setIconText("Preserve")
        self.preserve.setChecked(editor.preserve)

        self.tool_group = QActionGroup(win)
        self.tool_group.setExclusive(True)
        self.tool_actions: dict[str, QAction] = {}
        view = self._action("View", lambda: editor.set_tool(None), ["V"],
                            "View only: clicks do not edit", checkable=True)
        view.setChecked(True)
        self.tool_actions[""] = view
        self.tool_group.addAction(view)
        for name, tool in editor.tools.items():
            act = self._action(tool.label, lambda _=False, n=name: editor.set_tool(n),
                               [tool.shortcut], tool.tip, checkable=True)
            self.tool_actions[name] = act
            self.tool_group.addAction(act)
        editor.tool_changed.connect(self._tool_changed)
        self._build_options()
        self._build_toolbar()
        self._build_menu()
        self.hint_label = QLabel(win)  # the tool's next step; a note covers it for a while
        self.hint_label.setObjectName("tool-hint")
        self.chrome.statusBar().addWidget(self.hint_label, 1)
        self.state_label = QLabel(win)
        self.state_label.setMinimumWidth(120)
        self.chrome.statusBar().addPermanentWidget(self.state_label)
        self.busy_label = QLabel(win)
        self.chrome.statusBar().addPermanentWidget(self.busy_label)
        editor.options_changed.connect(self._sync_options)
        c = editor.controller
        for bar in (self.toolbar, self.options_bar):
            c.project_opened.connect(lambda _p, b=bar: b.setVisible(True))
            c.project_closed.connect(lambda b=bar: b.setVisible(False))
            c.opening.connect(lambda _f, b=bar: b.setVisible(False))
            bar.setVisible(False)
        c.classes_changed.connect(self._fill_classes)
        self.document_shown(None)

    def _action(self, text, slot, shortcuts, tip, checkable=False, toggled=False) -> QAction:
        act = QAction(text, self.parent_widget)
        if shortcuts:
            act.setShortcuts([QKeySequence(s) for s in shortcuts])
            act.setToolTip(f"{tip} ({shortcuts[0]})")
        else:
            act.setToolTip(tip)
        act.setStatusTip(tip)
        act.setCheckable(checkable)
        (act.toggled if toggled else act.triggered).connect(slot)
        act.setShortcutContext(Qt.ShortcutContext.WindowShortcut)
        self.chrome.addAction(act)
        return act

    def _sync_history(self) -> None:
        """The Edit menu's Undo / Redo: enabled when possible, named after the step."""
        store = self.editor.sessions
        for act, word, can, text in ((self.undo, "Undo", store.can_undo(), store.undo_text()),
                                     (self.redo, "Redo", store.can_redo(), store.redo_text())):
            act.setEnabled(can)
            act.setText(f"{word} {text}" if can and text else word)

    def _bar_twin(self, menu_act: QAction, word: str, slot, key: str) -> QAction:
        act = QAction(word, self.parent_widget)  # no shortcut: the Edit menu's action has it
        act.triggered.connect(lambda _=False: slot())

        def sync(*_):
            act.setEnabled(menu_act.isEnabled())
            name = menu_act.text().replace("&", "")
            act.setToolTip(f"{name} ({key})" if menu_act.isEnabled()
                           else f"{word}: nothing to {word.lower()}")

        menu_act.changed.connect(sync)
        sync()
        return act

    def _build_options(self) -> None:
        e, win = self.editor, self.parent_widget
        self.radius = QSpinBox(win)
        self.radius.setRange(0, MAX_RADIUS)
        self.radius.setSuffix(" px")
        self.radius.setValue(e.radius)
        self.radius.valueChanged.connect(e.set_radius)
        self.tolerance = EnterSpinBox(win)
        self.tolerance.setRange(0, 255)
        self.tolerance.setToolTip("Wand tolerance: the wand's region takes the image colours "
                                  "within this distance of the clicked pixel's; Enter here "
                                  "fills the wand's preview")
        self.tolerance.setValue(e.tolerance)
        self.tolerance.valueChanged.connect(e.set_tolerance)
        self.tolerance.entered.connect(self._tolerance_entered)
        self.replace_from = QComboBox(win)
        self.replace_from.setToolTip("The class the Replace tool turns into the active class")
        self.replace_from.currentIndexChanged.connect(
            lambda _i: e.set_replace_from(self.replace_from.currentData()))
        self.replace_to = QLabel(win)  # "→ Building": what Replace turns the class into
        self.replace_to.setToolTip("Replace turns the chosen class into the active class")
        self._show_radius_and_target()
        self.preserve_box = QCheckBox("Preserve others", win)
        self.preserve_box.setToolTip(self.preserve.toolTip())
        self.preserve_box.setChecked(e.preserve)
        self.preserve_box.toggled.connect(self.preserve.setChecked)
        self.preserve.toggled.connect(self.preserve_box.setChecked)

    def _build_toolbar(self) -> None:
        bar = QToolBar("Editor", self.parent_widget)
        bar.setObjectName("toolbar-editor")
        bar.setIconSize(QSize(18, 18))
        bar.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextOnly)
        bar.addAction(self.bar_undo)
        bar.addAction(self.bar_redo)
        bar.addSeparator()
        for act in self.tool_actions.values():
            bar.addAction(act)
        # the tools' options go on the first row, beside the window's bar (where there is
        # room): on one row with the tools, Preserve others and Mark reviewed fell behind
        # the bar's » at 1600 px
        options = QToolBar("Tool options", self.parent_widget)
        options.setObjectName("toolbar-tool-options")
        options.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextOnly)
        for label, widget in (("Radius", self.radius), ("Tolerance", self.tolerance),
                              ("Replace", self.replace_from)):
            options.addWidget(QLabel(f" {label} ", options))
            options.addWidget(widget)
        options.addWidget(self.replace_to)
        options.addWidget(self.preserve_box)
        options.addSeparator()
        options.addAction(self.reviewed)
        self.chrome.addToolBar(Qt.ToolBarArea.TopToolBarArea, options)
        self.chrome.addToolBarBreak(Qt.ToolBarArea.TopToolBarArea)
        self.chrome.addToolBar(Qt.ToolBarArea.TopToolBarArea, bar)
        self.toolbar = bar
        self.options_bar = options

    def _build_menu(self) -> None:
        bar = self.chrome.menuBar()
        view = next((a for a in bar.actions() if a.text().replace("&", "") == "View"), None)
        menu = bar.addMenu("&Edit")
        if view is not None:  # File, Edit, View ... as everywhere
            bar.removeAction(menu.menuAction())
            bar.insertAction(view, menu.menuAction())
        for act in (self.undo, self.redo):
            menu.addAction(act)
        menu.addSeparator()
        for act in (self.save, self.reviewed, self.reset):
            menu.addAction(act)
        menu.addSeparator()
        tools = menu.addMenu("&Tools")
        for act in self.tool_actions.values():
            tools.addAction(act)
        for act in (self.smaller, self.larger, self.preserve):
            menu.addAction(act)
        self.menu = menu

    # -- updates ------------------------------------------------------------------------
    def _tool_changed(self, name: str) -> None:
        act = self.tool_actions.get(name)
        if act is not None and not act.isChecked():
            act.setChecked(True)

    def _sync_options(self) -> None:
        e = self.editor
        for widget, value in ((self.radius, e.radius), (self.tolerance, e.tolerance)):
            if widget.value() != value:
                with QSignalBlocker(widget):
                    widget.setValue(value)
        if self.preserve.isChecked() != e.preserve:
            self.preserve.setChecked(e.preserve)
        idx = self.replace_from.findData(e.replace_from)
        if idx >= 0 and idx != self.replace_from.currentIndex():
            with QSignalBlocker(self.replace_from):
                self.replace_from.setCurrentIndex(idx)
        self._show_radius_and_target()

    def _tolerance_entered(self) -> None:
        tool = self.editor.tool
        if tool is not None:
            tool.options_entered()
            self.editor.canvas.setFocus()  # the next keys are the canvas's again

    def _show_radius_and_target(self) -> None:
        e = self.editor
        r = e.radius
        self.radius.setToolTip(f"Brush radius in image pixels: the brush is {2 * r + 1} px "
                               "across ([ and ])")
        info = e.class_table().by_id(e.active_class) if e.active_class is not None else None
        self.replace_to.setText(f" → {info.name} " if info is not None else " → active class ")

    def _fill_classes(self, table) -> None:
        combo = self.replace_from
        with QSignalBlocker(combo):
            combo.clear()
            for c in table.classes:
                combo.addItem(swatch_icon(c.color), c.name, c.id)
        idx = combo.findData(self.editor.replace_from)
        if idx < 0 and combo.count():
            idx = 0
        combo.setCurrentIndex(idx)
        self.editor.set_replace_from(combo.currentData() if idx >= 0 else None)

    def document_shown(self, doc) -> None:
        ok = doc is not None and doc.ok
        for act in (self.save, self.reviewed, self.reset):
            act.setEnabled(ok)

    def show_state(self, session: EditSession | None) -> None:
        if session is None:
            text = ""
        elif session.dirty:
            text = "● Unsaved changes" if not session.saving else "Saving …"
        else:
            text = "All changes saved"
        self.state_label.setText(text)

    def set_hint(self, text: str) -> None:
        self.hint_label.setText(text)
        self.hint_label.setToolTip(text)

    def set_busy_text(self, text: str) -> None:
        self.busy_label.setText(text)
