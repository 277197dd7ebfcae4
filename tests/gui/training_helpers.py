"""Shared parts of the training GUI tests: a small street project, a trained model,
the panel set to a tiny config, and event recording."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

from segstudio.core.project import Project
from segstudio.core.sample import SAMPLE_CLASSES, draw_scene

from .conftest import open_and_wait

SIZE = (96, 128)
N_IMAGES = 8
N_MASKS = 6  # scene_1 .. scene_6 have corrected masks; scene_7 and scene_8 none


@pytest.fixture()
def streets(tmp_path) -> tuple[Path, list[np.ndarray], list[np.ndarray]]:
    folder = tmp_path / "streets"
    folder.mkdir()
    images, labels = [], []
    for i in range(N_IMAGES):
        img, lab = draw_scene(20 + i, SIZE)
        cv2.imwrite(str(folder / f"scene_{i + 1}.png"), cv2.cvtColor(img, cv2.COLOR_RGB2BGR))
        images.append(img)
        labels.append(lab)
    with Project.open(folder) as project:
        project.set_classes(SAMPLE_CLASSES)
        for rec in project.images()[:N_MASKS]:
            project.save_mask(rec, labels[int(rec.relpath[6]) - 1])
    return folder, images, labels


def tiny_config(epochs: int = 3, val_split: float = 0.3):
    from segstudio.nn.config import default_train_config

    return default_train_config("cpu").replace(width=0.25, epochs=epochs, batch_size=2,
                                               crop=(64, 96), val_split=val_split, seed=0,
                                               imagenet=None)


@pytest.fixture()
def trained(streets, tmp_path):
    """(folder, checkpoint path): 2 epochs of the tiny config, made active."""
    from segstudio.nn.train.engine import fit

    folder = streets[0]
    with Project.open(folder, scan=False) as project:
        events = list(fit(project, tiny_config(2), device="cpu"))
    fin = events[-1]
    assert fin.status == "completed", fin
    return folder, fin.best_checkpoint


@pytest.fixture()
def stop_training(window, monkeypatch):
    """A training left running by a failed test must not leave the window's close
    question open (pytest-qt closes the window before fixtures end): answer Yes."""
    from PySide6.QtWidgets import QMessageBox

    monkeypatch.setattr(QMessageBox, "question",
                        staticmethod(lambda *a, **k: QMessageBox.StandardButton.Yes))
    external = window.training.trainer.external
    yield
    proc = external.proc
    window.training.trainer.stop_and_wait(60000)
    if proc is not None and proc.poll() is None:  # a separate process must not outlive it
        proc.kill()
        proc.wait(30)


def open_ready(qtbot, window, folder) -> None:
    """Open ``folder`` and wait until the devices are detected (torch imported)."""
    open_and_wait(qtbot, window, folder)
    qtbot.waitUntil(lambda: window.training.ready, timeout=60000)


def set_panel(panel, cfg) -> None:
    panel.set_device("cpu")
    panel.set_config(cfg)
    panel.set_mode("scratch")


class Recorder:
    """Every event of the trainer, in the order it reached the GUI thread."""

    def __init__(self, trainer):
        self.events: list = []
        trainer.event.connect(self._got)

    def _got(self, ev) -> None:
        self.events.append(ev)

    def of(self, kind: str) -> list:
        return [e for e in self.events if type(e).__name__ == kind]

    def finished(self):
        fin = self.of("Finished")
        return fin[-1] if fin else None

