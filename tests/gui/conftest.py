"""GUI fixtures: real windows (offscreen), real projects in tmp folders."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from segstudio.core.project import Project
from segstudio.core.sample import SAMPLE_CLASSES, draw_scene

SCENE = (80, 120)  # small street scenes keep the tests fast


@pytest.fixture(autouse=True)
def _private_user_dirs(tmp_path, monkeypatch):
    """Settings and per-user data go to the test's tmp folder, never to ~."""
    monkeypatch.setenv("SEGSTUDIO_SETTINGS", str(tmp_path / "settings.ini"))
    monkeypatch.setenv("SEGSTUDIO_DATA_DIR", str(tmp_path / "userdata"))


@pytest.fixture()
def street_project(tmp_path) -> tuple[Path, list[np.ndarray], list[np.ndarray]]:
    """A folder of 4 drawn street scenes; images 0 and 2 have exact human masks.
    Returns (folder, images, label maps)."""
    import cv2

    folder = tmp_path / "streets"
    folder.mkdir()
    images, labels = [], []
    for i in range(4):
        img, lab = draw_scene(7 + i, SCENE)
        cv2.imwrite(str(folder / f"scene_{i + 1}.png"), cv2.cvtColor(img, cv2.COLOR_RGB2BGR))
        images.append(img)
        labels.append(lab)
    with Project.open(folder) as project:
        project.set_classes(SAMPLE_CLASSES)
        recs = project.images()
        project.save_mask(recs[0], labels[0], "corrected")
        project.save_mask(recs[2], labels[2], "reviewed")
    return folder, images, labels


@pytest.fixture()
def window(qtbot, tmp_path):
    from segstudio.gui.main_window import MainWindow
    from segstudio.gui.settings import AppSettings

    win = MainWindow(AppSettings(tmp_path / "settings.ini"), sample_base=tmp_path / "userdata")
    qtbot.addWidget(win)
    win.resize(1200, 800)
    win.show()
    qtbot.waitExposed(win)
    win.activateWindow()
    yield win
    win.close()


def open_and_wait(qtbot, win, folder, project_dir=None, relpath: str | None = None):
    """Open ``folder`` and wait until an image (``relpath`` if given) is on the canvas."""
    assert win.open_folder(folder, project_dir)
    wait_document(qtbot, win, relpath)


def wait_document(qtbot, win, relpath: str | None = None, timeout: int = 10000):
    def shown():
        doc = win.canvas.document()
        assert doc is not None
        assert win.controller.document is doc
        if relpath is not None:
            assert doc.rec.relpath == relpath

    qtbot.waitUntil(shown, timeout=timeout)
    return win.canvas.document()


def expected_over(dst: np.ndarray, rgb, alpha: int) -> np.ndarray:
    """Qt's SourceOver of a non-premultiplied colour at ``alpha`` onto opaque ``dst``,
    with Qt's integer rounding: premul(c, a) + premul(d, 255 - a)."""
    def mul(x, a):
        t = x.astype(np.int64) * a
        return (t + (t >> 8) + 0x80) >> 8

    src = np.asarray(rgb, np.int64)
    return (mul(src, alpha) + mul(dst, 255 - alpha)).astype(np.uint8)


def qimage_rgb(image) -> np.ndarray:
    """(H, W, 3) RGB copy of a 32-bit QImage."""
    from PySide6.QtGui import QImage

    image = image.convertToFormat(QImage.Format.Format_RGB32)
    h, w = image.height(), image.width()
    arr = np.frombuffer(image.constBits(), np.uint8).reshape(h, image.bytesPerLine())[:, :w * 4]
    return arr.reshape(h, w, 4)[:, :, 2::-1].copy()
