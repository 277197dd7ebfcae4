"""Display controls (issue 13, item 8): brightness, contrast, gamma, auto-contrast per
image or per project, hiding the image; the pixels the model and the files see never
change."""

from __future__ import annotations

import cv2
import numpy as np
from PySide6.QtCore import Qt

from segstudio.core.display import DisplayAdjust, auto_range
from segstudio.core.project import Project

from .conftest import open_and_wait, qimage_rgb, wait_document


def _show(qtbot, window, relpath):
    rec = next(r for r in window.controller.records if r.relpath == relpath)
    window.browser.select_image(rec.id)
    return wait_document(qtbot, window, relpath)


def test_display_adjusts_the_view_only_per_project_or_per_image(qtbot, window, tmp_path):
    folder = tmp_path / "dark"
    folder.mkdir()
    rng = np.random.default_rng(5)
    frames = [rng.integers(5, 60, size=(40, 60, 3)).astype(np.uint8) for _ in range(2)]
    for i, f in enumerate(frames):
        cv2.imwrite(str(folder / f"f{i}.png"), cv2.cvtColor(f, cv2.COLOR_RGB2BGR))
    open_and_wait(qtbot, window, folder, relpath="f0.png")
    panel, canvas = window.display_panel, window.canvas
    doc = canvas.document()
    source = doc.display.copy()
    assert np.array_equal(source, frames[0])
    assert np.array_equal(canvas.displayed_image(), source)   # identity: as it is

    # project-wide brightness and gamma, by the sliders
    panel.brightness.setValue(20)
    panel.gamma.setValue(150)
    want = DisplayAdjust(brightness=0.2, gamma=1.5)
    assert panel.adjust() == want
    assert np.array_equal(canvas.displayed_image(), want.lut()[source])
    assert np.array_equal(doc.display, source)                  # the model's pixels
    # what is painted on screen is the adjusted image (one image pixel, at 100 %)
    window.controller.set_style(window.controller.style.__class__(global_opacity=0.0))
    shot = qimage_rgb(canvas.render_scene())
    assert np.array_equal(shot, want.lut()[source])

    # the next image shares the project's settings
    doc1 = _show(qtbot, window, "f1.png")
    assert np.array_equal(canvas.displayed_image(), want.lut()[doc1.display])

    # auto-contrast for this image only: its percentiles; f0 keeps the project's
    qtbot.mouseClick(panel.per_image, Qt.MouseButton.LeftButton)
    assert panel.per_image.isChecked()
    qtbot.mouseClick(panel.auto, Qt.MouseButton.LeftButton)
    lo, hi = auto_range(frames[1])
    own = DisplayAdjust().with_range(round(lo), round(hi))  # Auto resets the rest
    assert panel.adjust() == own
    assert np.array_equal(canvas.displayed_image(), own.lut()[frames[1]])
    _show(qtbot, window, "f0.png")
    assert not panel.per_image.isChecked() and panel.adjust() == want

    # H hides the image: the masks alone
    qtbot.keyClick(canvas, Qt.Key.Key_H)
    assert not panel.show_image.isChecked() and not canvas._image.isVisible()
    shot = qimage_rgb(canvas.render_scene())
    assert (shot == 0).all()                      # black background, no mask here
    qtbot.keyClick(canvas, Qt.Key.Key_H)
    assert canvas._image.isVisible()

    # kept with the project; the image files are untouched
    window.close_project()
    with Project.open(folder, scan=False) as project:
        data = project.settings.get("gui.display")
        assert DisplayAdjust.from_dict(data["project"]) == want
        assert DisplayAdjust.from_dict(data["images"]["f1.png"]) == own
        for i, f in enumerate(frames):
            assert np.array_equal(project.load_image(project.find(f"f{i}.png")), f)
    open_and_wait(qtbot, window, folder, relpath="f0.png")
    _show(qtbot, window, "f1.png")
    assert window.display_panel.adjust() == own and window.display_panel.per_image.isChecked()


def test_auto_gives_a_good_picture_from_any_state(qtbot, window, tmp_path):
    """Issue 25, item 14: a pale EM-like image with brightness, contrast and gamma turned
    up is nearly white; Auto makes it a full-range picture again, not just a new range."""
    folder = tmp_path / "em"
    folder.mkdir()
    rng = np.random.default_rng(3)
    em = np.full((64, 64), 205, np.uint8)
    em[::8, :] = 150  # dark membranes on a pale cytoplasm
    em[:, ::8] = 150
    em = np.clip(em.astype(int) + rng.integers(-6, 7, em.shape), 0, 255).astype(np.uint8)
    cv2.imwrite(str(folder / "em.png"), em)
    open_and_wait(qtbot, window, folder)
    panel, canvas = window.display_panel, window.canvas
    panel.brightness.setValue(40)
    panel.contrast.setValue(300)
    panel.gamma.setValue(200)
    washed = canvas.displayed_image()
    assert np.percentile(washed, 5) == 255  # nearly white: the membranes are gone
    qtbot.mouseClick(panel.auto, Qt.MouseButton.LeftButton)
    lo, hi = auto_range(canvas.document().display)
    assert panel.adjust() == DisplayAdjust(0.0, 1.0, 1.0, round(lo), round(hi))
    assert (panel.brightness.value(), panel.contrast.value(), panel.gamma.value()) == (0, 100, 100)
    shown = canvas.displayed_image()
    assert np.array_equal(shown, panel.adjust().lut()[canvas.document().display])
    assert np.percentile(shown, 0.5) <= 2 and np.percentile(shown, 99.5) >= 253
    membranes = np.zeros(em.shape, bool)
    membranes[::8, :] = membranes[:, ::8] = True
    assert shown[membranes].mean() < 60 < 200 < shown[~membranes].mean()
