"""The Display panel: brightness, contrast, gamma, display range, auto-contrast and
"show the image", for the eyes only (the model and the files see the pixels as they
are; see :mod:`segstudio.core.display`).

The settings apply to the whole project, or to the image on screen alone when
"This image only" is ticked; both are kept in the project (setting ``gui.display``:
``{"project": {...}, "images": {relpath: {...}}, "show_image": bool}``).  The panel
emits ``changed(DisplayAdjust, show_image)``; the window gives it to the canvas.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtCore import QSignalBlocker, Qt, Signal
from PySide6.QtGui import QAction
from PySide6.QtWidgets import (
    QCheckBox,
    QDockWidget,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QSlider,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from ...core.display import DisplayAdjust, auto_adjust

if TYPE_CHECKING:
    from ..collaborators import DockHost
    from ..project_controller import ProjectController
    from .canvas import Canvas

SETTING = "gui.display"


def _slider(lo: int, hi: int, tip: str, parent) -> QSlider:
    s = QSlider(Qt.Orientation.Horizontal, parent)
    s.setRange(lo, hi)
    s.setToolTip(tip)
    return s


class DisplayPanel(QWidget):
    changed = Signal(object, bool)   # DisplayAdjust, show the image
    save_requested = Signal(dict)    # the project setting to write

    def __init__(self, parent=None):
        super().__init__(parent)
        self.data: dict = {"project": {}, "images": {}, "show_image": True}
        self.relpath: str | None = None
        self.image = None            # the display array of the image on screen (auto range)
        self.show_image_action: QAction | None = None  # H, made by attach_display_panel
        self.show_image = QCheckBox("Show the image (H)", self)
        self.show_image.setChecked(True)
        self.show_image.setToolTip("Hide the image to see the masks alone")
        self.brightness = _slider(-100, 100, "Brightness (display only)", self)
        self.contrast = _slider(10, 500, "Contrast in % (display only)", self)
        self.gamma = _slider(10, 500, "Gamma x 100: above 100 brightens the shadows", self)
        self.low = QSpinBox(self, minimum=0, maximum=254)
        self.high = QSpinBox(self, minimum=1, maximum=255)
        self.low.setToolTip("Values at or below this show black")
        self.high.setToolTip("Values at or above this show white")
        self.auto = QPushButton("Auto", self)
        self.auto.setToolTip("A good picture from any state: brightness, contrast and gamma "
                             "back to neutral, and the display range from the 0.5th to the "
                             "99.5th percentile of this image's values")
        self.reset = QPushButton("Reset", self)
        self.per_image = QCheckBox("This image only", self)
        self.per_image.setToolTip("Keep these settings for the image on screen only; "
                                  "unticked, they apply to every image of the project")
        self.values = {w: QLabel(self) for w in (self.brightness, self.contrast, self.gamma)}
        form = QFormLayout()
        form.setVerticalSpacing(2)
        for text, w in (("Brightness", self.brightness), ("Contrast", self.contrast),
                        ("Gamma", self.gamma)):
            row = QHBoxLayout()
            row.addWidget(w, 1)
            self.values[w].setMinimumWidth(40)
            row.addWidget(self.values[w])
            form.addRow(text, row)
        rng = QHBoxLayout()
        for w in (self.low, QLabel("to", self), self.high, self.auto):
            rng.addWidget(w)
        form.addRow("Range", rng)
        buttons = QHBoxLayout()
        buttons.addWidget(self.per_image)
        buttons.addStretch(1)
        buttons.addWidget(self.reset)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(4, 4, 4, 4)
        lay.addWidget(self.show_image)
        lay.addLayout(form)
        lay.addLayout(buttons)
        lay.addStretch(1)
        for w in (self.brightness, self.contrast, self.gamma, self.low, self.high):
            w.valueChanged.connect(self._edited)
        self.show_image.toggled.connect(self._show_toggled)
        self.auto.clicked.connect(self.auto_contrast)
        self.reset.clicked.connect(lambda: self.set_adjust(DisplayAdjust(), edited=True))
        self.per_image.toggled.connect(self._per_image_toggled)
        self._show(DisplayAdjust())

    # -- state --------------------------------------------------------------------------
    def adjust(self) -> DisplayAdjust:
        return DisplayAdjust(self.brightness.value() / 100, self.contrast.value() / 100,
                             self.gamma.value() / 100, self.low.value(),
                             self.high.value()).validated()

    def set_project_setting(self, data) -> None:
        """The project's stored settings (None: none yet)."""
        data = data if isinstance(data, dict) else {}
        images = data.get("images") if isinstance(data.get("images"), dict) else {}
        self.data = {"project": data.get("project") or {}, "images": dict(images),
                     "show_image": bool(data.get("show_image", True))}
        with QSignalBlocker(self.show_image):
            self.show_image.setChecked(self.data["show_image"])
        self.set_image(self.relpath, self.image)

    def set_image(self, relpath: str | None, image) -> None:
        """The image on screen: its own settings, else the project's."""
        self.relpath, self.image = relpath, image
        own = relpath is not None and relpath in self.data["images"]
        with QSignalBlocker(self.per_image):
            self.per_image.setChecked(own)
        self.per_image.setEnabled(relpath is not None)
        self.auto.setEnabled(image is not None)
        stored = self.data["images"][relpath] if own else self.data["project"]
        self._show(DisplayAdjust.from_dict(stored))
        self.changed.emit(self.adjust(), self.show_image.isChecked())

    def set_adjust(self, adjust: DisplayAdjust, edited: bool = False) -> None:
        self._show(adjust)
        if edited:
            self._edited()

    def auto_contrast(self) -> None:
        if self.image is not None:
            self.set_adjust(auto_adjust(self.image), edited=True)

    # -- widgets ------------------------------------------------------------------------
    def _show(self, adjust: DisplayAdjust) -> None:
        a = adjust.validated()
        for w, v in ((self.brightness, round(a.brightness * 100)),
                     (self.contrast, round(a.contrast * 100)), (self.gamma, round(a.gamma * 100)),
                     (self.low, round(a.low)), (self.high, round(a.high))):
            with QSignalBlocker(w):
                w.setValue(v)
        self._labels()

    def _labels(self) -> None:
        self.values[self.brightness].setText(f"{self.brightness.value():+d}")
        self.values[self.contrast].setText(f"{self.contrast.value()} %")
        self.values[self.gamma].setText(f"{self.gamma.value() / 100:.2f}")

    def _edited(self, *_args) -> None:
        self._labels()
        adjust = self.adjust()
        if self.per_image.isChecked() and self.relpath is not None:
            self.data["images"][self.relpath] = adjust.as_dict()
        else:
            self.data["project"] = adjust.as_dict()
        self.changed.emit(adjust, self.show_image.isChecked())
        self.save_requested.emit(self.data)

    def _show_toggled(self, on: bool) -> None:
        self.data["show_image"] = bool(on)
        self.changed.emit(self.adjust(), bool(on))
        self.save_requested.emit(self.data)

    def _per_image_toggled(self, on: bool) -> None:
        if self.relpath is None:
            return
        if on:  # the image starts from what it shows now
            self.data["images"][self.relpath] = self.adjust().as_dict()
        else:
            self.data["images"].pop(self.relpath, None)
            self._show(DisplayAdjust.from_dict(self.data["project"]))
        self.changed.emit(self.adjust(), self.show_image.isChecked())
        self.save_requested.emit(self.data)


def attach_display_panel(host: DockHost, controller: ProjectController, canvas: Canvas,
                         below: QDockWidget, before: QAction | None) -> DisplayPanel:
    """The Display dock of ``host`` (``below`` the classes' dock), its H key (in the View
    menu ``before`` that action; ``panel.show_image_action``), and the wiring: the image
    on screen in, ``canvas`` out, the project setting saved on a worker (debounced; at
    once when the project closes)."""
    from PySide6.QtCore import QTimer
    from PySide6.QtGui import QKeySequence
    from PySide6.QtWidgets import QScrollArea

    panel = DisplayPanel()
    scroll = QScrollArea()  # the dock never raises the window's minimum size
    scroll.setWidgetResizable(True)
    scroll.setFrameShape(QScrollArea.Shape.NoFrame)
    scroll.setWidget(panel)
    scroll.setMinimumSize(1, 1)
    dock = host.add_dock(scroll, "Display", "dock-display", Qt.DockWidgetArea.RightDockWidgetArea)
    host.splitDockWidget(below, dock, Qt.Orientation.Vertical)
    c = controller
    timer = QTimer(panel, singleShot=True, interval=400)
    pending: list = []

    def write(project, data) -> None:
        project.settings.set(SETTING, data)

    def save_later() -> None:
        project = c.project
        if project is not None and pending:
            data = pending.pop()
            pending.clear()
            c.runner.submit(lambda ctx: write(project, data), key="display-setting")

    def requested(data: dict) -> None:
        pending.append({k: (dict(v) if isinstance(v, dict) else v) for k, v in data.items()})
        timer.start()

    def closing() -> None:
        timer.stop()
        if c.project is not None and pending:
            write(c.project, pending.pop())
            pending.clear()

    def shown(doc) -> None:
        ok = doc is not None and doc.ok
        panel.set_image(doc.rec.relpath if ok else None, doc.display if ok else None)

    timer.timeout.connect(save_later)
    panel.save_requested.connect(requested)
    panel.changed.connect(canvas.set_display)
    c.project_opened.connect(lambda project: panel.set_project_setting(
        project.settings.get(SETTING, None)))
    c.document_loaded.connect(shown)
    c.about_to_close.connect(closing)
    act = QAction("Show the &image", panel, checkable=True, checked=True)
    act.setShortcut(QKeySequence("H"))
    act.setShortcutContext(Qt.ShortcutContext.WindowShortcut)
    act.setToolTip("Show the image under the masks, or the masks alone (H)")
    act.toggled.connect(panel.show_image.setChecked)
    panel.show_image.toggled.connect(lambda on: act.isChecked() != on and act.setChecked(on))
    host.addAction(act)
    panel.show_image_action = act
    view = next((a.menu() for a in host.menuBar().actions()
                 if a.text().replace("&", "") == "View"), None)
    if view is not None:
        view.insertAction(before, act)
    return panel
