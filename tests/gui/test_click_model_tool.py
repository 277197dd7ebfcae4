"""The Click tool driven through the canvas: the project's click model predicts on a
worker, the preview follows each click, Enter paints exactly the preview in one undo
step, Esc drops it, a box drag starts it, and without a click model it says how to
train one."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from PySide6.QtCore import Qt

from segstudio.core.sample import CAR, SAMPLE_CLASSES
from segstudio.nn.click.data import click_sample
from segstudio.nn.click.model import ClickPredictor, ClickTrainStep, click_normalization
from segstudio.nn.models.segnet import IMAGENET_MEAN, IMAGENET_STD, build_model
from segstudio.nn.runs.checkpoint import checkpoint_dict, save_checkpoint
from segstudio.nn.train.data import to_tensor
from segstudio.nn.train.step import recalibrate_batchnorm

from .editor_helpers import CTRL, click, drag, open_editor, view_point


def _train_tiny_click_model(path, image, labels, size=32, steps=12):
    """A click model trained for a few steps on one street scene's objects."""
    torch.manual_seed(0)
    model = build_model("segnet", 1, 6, 0.25)
    mean, std = click_normalization(IMAGENET_MEAN, IMAGENET_STD)
    rng = np.random.default_rng(0)
    got = [click_sample(image, labels, rng, size) for _ in range(8)]
    inputs, targets = np.stack([g[0] for g in got]), np.stack([g[1] for g in got])
    opt = torch.optim.AdamW(model.parameters(), lr=1e-2, weight_decay=1e-2)
    step = ClickTrainStep(model, opt, torch.device("cpu"), mean, std, iters=1, rng=rng)
    for _ in range(steps):
        step(inputs, targets)
    recalibrate_batchnorm(model, [to_tensor(inputs, mean, std, torch.device("cpu"))])
    save_checkpoint(path, checkpoint_dict(model.eval(), SAMPLE_CLASSES, mean, std,
                                          task="click", click={"size": size}))
    return path


def _settle(qtbot, tool):
    qtbot.waitUntil(lambda: tool.running is None, timeout=15000)


def _car_pixel(labels):
    from segstudio.nn.click import simulate as C

    return C.first_click(labels == CAR)


@pytest.fixture()
def click_window(qtbot, window, street_project, tmp_path):
    folder, images, labels = street_project
    ckpt = _train_tiny_click_model(tmp_path / "click.pt", images[0], labels[0])
    canvas = open_editor(qtbot, window, folder)
    return window, canvas, images, labels, ckpt


def test_without_a_click_model_the_tool_says_how_to_train_one(qtbot, click_window):
    window, canvas, _images, labels, ckpt = click_window
    ed = window.editor
    qtbot.keyClick(canvas, Qt.Key.Key_C)
    assert ed.tool is ed.tools["click"] and ed.ui.tool_actions["click"].isChecked()
    assert "no click model" in canvas.hint() and "--task click" in canvas.hint()
    x, y = _car_pixel(labels[0])
    click(qtbot, canvas, view_point(canvas, x + 0.5, y + 0.5))
    assert ed.tool.pos == [] and ed.tool.running is None
    window.controller.project.settings.set("active_click_checkpoint", str(ckpt))
    ed.tool.hint_changed()
    assert canvas.hint() == "Click: click on an object (or drag a box round it)"
    # a click model that was made active only because there was no other says so
    window.controller.project.settings.set("active_click_checkpoint_score", 0.04)
    ed.tool.hint_changed()
    assert canvas.hint() == ("Click: click on an object (or drag a box round it) (the click "
                             "model reaches only 4 % IoU after 3 clicks on its validation "
                             "objects: train it longer)")


def test_clicks_preview_enter_paints_exactly_the_preview_and_undo_restores(qtbot, click_window):
    window, canvas, images, labels, ckpt = click_window
    window.controller.project.settings.set("active_click_checkpoint", str(ckpt))
    ed = window.editor
    qtbot.keyClick(canvas, Qt.Key.Key_C)
    tool = ed.tool
    window.class_panel.set_active_class(CAR)
    before = canvas.mask().copy()
    model = ClickPredictor.from_checkpoint(ckpt)

    x, y = _car_pixel(labels[0])
    click(qtbot, canvas, view_point(canvas, x + 0.5, y + 0.5))
    assert tool.pos == [(x, y)] and tool.running is not None  # on a worker
    _settle(qtbot, tool)
    first = model.predict(images[0], [(x, y)], [], None)
    assert first.any() and np.array_equal(tool.preview, first)
    assert not tool.layer.pixmap().isNull() and tool.layer.scene() is canvas.scene()
    assert np.array_equal(canvas.mask(), before)  # a preview only

    # a right click takes away: the model sees both clicks and the previous mask
    nx, ny = 10, 70
    click(qtbot, canvas, view_point(canvas, nx + 0.5, ny + 0.5), Qt.MouseButton.RightButton)
    _settle(qtbot, tool)
    second = model.predict(images[0], [(x, y)], [(nx, ny)], first)
    assert tool.neg == [(nx, ny)] and np.array_equal(tool.preview, second) and second.any()
    assert canvas.hint().startswith("Click: Enter fills the object with Car")

    qtbot.keyClick(canvas, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: ed.current_session() is not None
                    and ed.current_session().stack.count() == 1, timeout=5000)
    want = before.copy()
    want[second] = CAR
    assert np.array_equal(canvas.mask(), want)
    assert ed.ui.undo.text() == "Undo Click model"
    assert tool.preview is None and tool.pos == [] and tool.layer.pixmap().isNull()
    qtbot.keyClick(canvas, Qt.Key.Key_Z, CTRL)
    assert np.array_equal(canvas.mask(), before)


def test_escape_drops_backspace_takes_a_click_back_and_a_box_starts_it(qtbot, click_window):
    window, canvas, images, labels, ckpt = click_window
    window.controller.project.settings.set("active_click_checkpoint", str(ckpt))
    ed = window.editor
    qtbot.keyClick(canvas, Qt.Key.Key_C)
    tool = ed.tool
    window.class_panel.set_active_class(CAR)
    before = canvas.mask().copy()
    model = ClickPredictor.from_checkpoint(ckpt)
    x, y = _car_pixel(labels[0])

    # two quick clicks: only the result of the last one is shown
    click(qtbot, canvas, view_point(canvas, x + 0.5, y + 0.5))
    click(qtbot, canvas, view_point(canvas, x + 3.5, y + 0.5))
    _settle(qtbot, tool)
    assert tool.pos == [(x, y), (x + 3, y)] and tool.generation == 2
    first = model.predict(images[0], [(x, y)], [], None)
    # the second click went out before the first came back: its previous mask was none
    assert np.array_equal(tool.preview, model.predict(images[0], [(x, y), (x + 3, y)], [],
                                                      None)) or \
        np.array_equal(tool.preview, model.predict(images[0], [(x, y), (x + 3, y)], [], first))
    qtbot.keyClick(canvas, Qt.Key.Key_Backspace)
    assert tool.pos == [(x, y)] and tool.history == [None]
    qtbot.keyClick(canvas, Qt.Key.Key_Escape)
    assert tool.pos == [] and tool.preview is None and tool.layer.pixmap().isNull()
    qtbot.keyClick(canvas, Qt.Key.Key_Return)  # nothing to fill
    assert np.array_equal(canvas.mask(), before) and ed.current_session() is None

    # a box drag: the first click at its centre, the model looks inside the box
    rows, cols = np.nonzero(labels[0] == CAR)
    y0, y1, x0, x1 = rows.min(), rows.max(), cols.min(), cols.max()
    got = drag(qtbot, canvas, [view_point(canvas, x0 + 0.5, y0 + 0.5),
                               view_point(canvas, (x0 + x1) / 2 + 0.5, (y0 + y1) / 2 + 0.5),
                               view_point(canvas, x1 + 0.5, y1 + 0.5)])
    assert [tuple(int(v) for v in g) for g in (got[0], got[-1])] == [(x0, y0), (x1, y1)]
    box = (int(y0), int(x0), int(y1) + 1, int(x1) + 1)
    centre = ((x0 + x1) // 2, (y0 + y1) // 2)
    assert tool.box == box and tool.pos == [centre]
    _settle(qtbot, tool)
    assert np.array_equal(tool.preview, model.predict(images[0], [centre], [], None, box))
    qtbot.keyClick(canvas, Qt.Key.Key_Escape)
    assert tool.box is None and np.array_equal(canvas.mask(), before)
