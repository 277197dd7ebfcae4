"""The Review queue driven by keys: each answer writes exactly its superpixel into the
mask, as one undo step, saved at once; the image becomes partially labelled."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from PySide6.QtCore import Qt

from segstudio.core import proposal_store as store
from segstudio.core.project import Project
from segstudio.nn.inference import Predictor
from segstudio.nn.models.segnet import IMAGENET_MEAN, IMAGENET_STD, build_model
from segstudio.nn.train.proposals import ProposalSettings, propose

from .conftest import open_and_wait
from .training_helpers import (
    Recorder,
    open_ready,
    set_panel,
    stop_training,
    streets,
    tiny_config,
    trained,
)

__all__ = ["stop_training", "streets", "trained"]  # fixtures

UNLABELLED = 255  # SAMPLE_CLASSES' ignore class


@pytest.fixture()
def proposed(street_project):
    """The street project with a queue of 8 regions in its two unlabelled images, made by
    an untrained model (the ranking does not matter here; the answers do)."""
    folder, _images, _labels = street_project
    with Project.open(folder) as p:
        torch.manual_seed(0)
        model = build_model("segnet-basic", p.classes.num_trainable, 3, 0.25)
        pred = Predictor(model, p.classes, IMAGENET_MEAN, IMAGENET_STD, device="cpu")
        queue = propose(p, ProposalSettings(regions=8, size=12, rare=False, diversity=0.0),
                        predictor=pred)
        assert {r.relpath for r in queue.regions} <= {"scene_2.png", "scene_4.png"}
    return folder


def _ready(qtbot, review):
    def ok():
        region = review.state.current()
        assert region is not None and region.relpath in review.cache
        doc = review.controller.document
        assert doc is not None and doc.rec.relpath == region.relpath

    qtbot.waitUntil(ok, timeout=10000)
    return review.state.current()


def _saved(qtbot, win):
    qtbot.waitUntil(lambda: all(not s.dirty and not s.saving for s in win.editor.sessions),
                    timeout=10000)


def test_answers_by_key_write_exactly_their_superpixels(qtbot, window, proposed):
    win = window
    open_and_wait(qtbot, win, proposed)
    review = win.review
    review.focus()
    project = win.controller.project
    table = project.classes
    active = win.class_panel.active_class()
    answers: list[tuple] = []  # (region, class id or "accept")
    for key in (Qt.Key.Key_2, Qt.Key.Key_Return, Qt.Key.Key_Space, Qt.Key.Key_4,
                Qt.Key.Key_Y):
        region = _ready(qtbot, review)
        before = review.state.position
        qtbot.keyClick(review.dock, key)
        if key == Qt.Key.Key_Space:  # skipped: nothing written
            assert review.state.position > before
            continue
        what = "accept" if key in (Qt.Key.Key_Return, Qt.Key.Key_Y) else \
            table.classes[int(Qt.Key(key).name[-1]) - 1].id
        answers.append((region, what))
        assert review.state.answers_since_round == len(answers)
    _saved(qtbot, win)
    # the digits answered; the window's class keys did not see them
    assert win.class_panel.active_class() == active
    assert review.dock.where.text().startswith("region ")
    by_image: dict[str, list[tuple]] = {}
    for region, what in answers:
        by_image.setdefault(region.relpath, []).append((region, what))
    for rel, done in by_image.items():
        rec = project.find(rel)
        assert rec.status == "partial"
        props = store.load_image(project, rec)
        seg = props.spmap.full_labels()
        expected = np.full(seg.shape, UNLABELLED, np.uint8)
        for region, what in done:
            inside = seg == region.segment
            expected[inside] = props.prediction[inside] if what == "accept" else what
        assert np.array_equal(project.load_mask(rec), expected), rel  # on disk, exactly
        stack = win.editor.sessions.get(rec.id).stack
        assert stack.count() == stack.index() == len(done)  # one undo step each
    # Ctrl+Z on the image on screen takes its last answer back (one step)
    doc = win.canvas.document()
    mine = by_image.get(doc.rec.relpath)
    assert mine, "the image on screen has answers"
    win.canvas.setFocus()
    qtbot.keyClick(win.canvas, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    _saved(qtbot, win)
    region, _what = mine[-1]
    seg = store.load_image(project, doc.rec).spmap.full_labels()
    mask = project.load_mask(doc.rec)
    if len(mine) == 1:  # its only answer: undone, the image is as it was, without a mask
        assert mask is None
        assert project.find(doc.rec.relpath).status not in ("partial", "corrected")
    else:
        assert (mask[seg == region.segment] == UNLABELLED).all()
    stack = win.editor.sessions.get(doc.rec.id).stack
    assert stack.index() == len(mine) - 1 and stack.can_redo()


def test_the_dock_says_where_the_person_is_and_rounds_are_asked_for(qtbot, window, proposed):
    win = window
    open_and_wait(qtbot, win, proposed)
    review = win.review
    review.focus()
    _ready(qtbot, review)
    n = len(review.state.regions)
    order = sorted(r.relpath for r in win.controller.records)
    first = review.state.current()
    assert review.dock.where.text() == \
        f"region 1 of {n}, image {order.index(first.relpath) + 1} of 4"
    review.dock.round_size.setValue(5)  # the spin box's least: a round every 5 answers
    assert project_setting(win) == 5
    review.round_size = 2  # as few as the test needs
    asked = []
    review.round_requested.disconnect()
    review.round_requested.connect(lambda: asked.append(True))
    for _ in range(2):
        _ready(qtbot, review)
        qtbot.keyClick(review.dock, Qt.Key.Key_1)
    assert asked == [True] and review.state.answers_since_round == 0


def project_setting(win) -> int:
    from segstudio.core.review import ROUND_SETTING

    return int(win.controller.project.settings.get(ROUND_SETTING))


def test_k_answers_start_a_round_and_the_queue_is_proposed_again(qtbot, window, trained,
                                                                  stop_training):
    folder, active = trained
    win = window
    open_ready(qtbot, win, folder)
    ui, review = win.training, win.review
    set_panel(ui.panel, tiny_config(epochs=4, val_split=0.3))
    ui.panel.set_mode("active")
    assert review.refresh()
    qtbot.waitUntil(lambda: not review.computing and review.state.current() is not None,
                    timeout=60000)
    first = store.load_queue(win.controller.project)
    assert first.checkpoint == active
    # the queue's images have the model's prediction now (Prediction layer, Label next)
    assert {r.status for r in win.controller.project.images()
            if r.relpath in {g.relpath for g in first.regions}} == {"predicted"}
    review.round_size = 2
    rec = Recorder(ui.trainer)
    answered = []
    for key in (Qt.Key.Key_3, Qt.Key.Key_Return):
        answered.append(_ready(qtbot, review))
        qtbot.keyClick(review.dock, key)
    qtbot.waitUntil(lambda: bool(rec.of("Finished")), timeout=600000)  # a loaded machine
    assert rec.of("Finished")[0].status == "completed"
    texts = [m.text for m in rec.of("Message")]
    assert any(t.startswith(f"continuing from the active model {active}") for t in texts)
    # the new model's proposals replace the queue, without the answered regions
    qtbot.waitUntil(lambda: (store.load_queue(win.controller.project).made_at
                             > first.made_at and not review.computing), timeout=60000)
    keys = {(r.relpath, r.segment) for r in review.state.regions}
    assert not keys & {(r.relpath, r.segment) for r in answered}
    assert review.state.current() is not None and review.state.position == 0
