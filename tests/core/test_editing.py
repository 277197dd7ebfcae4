"""The Qt-free editing model: the session store's typed signals (psygnal) and when a
session is back at its start (nothing of the user's to keep)."""

import numpy as np
import pytest

from segstudio.core.editing import EditSession, SessionStore
from segstudio.core.history import Patch, UndoStack
from segstudio.core.project import ImageRecord


def _rec(image_id: int, status: str) -> ImageRecord:
    return ImageRecord(image_id, f"img_{image_id}.png", 4, 3, 3, 8, 100, status, None, False,
                       None, None, None, None, None, None, None)


def _edit(session: EditSession, value: int, rows: slice = slice(0, 1)) -> Patch:
    before = session.mask.copy()
    session.mask[rows] = value
    patch = Patch.from_arrays("Fill", before, session.mask)
    assert patch is not None
    session.push(patch)
    return patch


def test_the_store_reports_through_its_signals():
    store = SessionStore()
    heard: list[tuple] = []
    store.mask_changed.connect(lambda s, bbox: heard.append(("mask", s.image_id, bbox)))
    store.history_changed.connect(lambda: heard.append(("history",)))
    store.history_moving.connect(lambda s: heard.append(("moving", s.image_id)))
    store.dropped.connect(lambda image_id: heard.append(("dropped", image_id)))
    session = store.create(_rec(1, "predicted"), np.zeros((3, 4), np.uint8), on_disk=False)
    store.activate(1)
    assert heard == [("history",)]
    heard.clear()
    _edit(session, 5)
    assert heard == [("mask", 1, None), ("history",)]
    heard.clear()
    store.undo()
    assert heard == [("moving", 1), ("mask", 1, (0, 0, 1, 4)), ("history",)]
    heard.clear()
    store.drop(1)
    assert heard == [("history",), ("dropped", 1)]
    # typed: a slot that needs more arguments, or other types, is refused at connect
    with pytest.raises(ValueError, match="requires at least 3"):
        store.mask_changed.connect(lambda session, bbox, extra: None)

    def by_path(image_id: str) -> None: ...

    with pytest.raises(ValueError, match="do not match"):
        store.dropped.connect(by_path)


def test_at_start_only_without_a_mask_before_and_with_every_edit_undone():
    store = SessionStore(undo_limit=2)
    fresh = store.create(_rec(1, "predicted"), np.zeros((3, 4), np.uint8), on_disk=False)
    assert fresh.at_start
    _edit(fresh, 5)
    assert not fresh.at_start
    fresh.undo()
    assert fresh.at_start and fresh.stack.can_redo()
    fresh.redo()
    assert not fresh.at_start
    fresh.undo()
    fresh.status = "reviewed"           # Mark reviewed asked for a mask: it is kept
    assert not fresh.at_start

    had = store.create(_rec(2, "corrected"), np.zeros((3, 4), np.uint8), on_disk=True)
    _edit(had, 5)
    had.undo()
    assert not had.at_start             # the mask from before the session stays

    bounded = store.create(_rec(3, "unlabelled"), np.zeros((3, 4), np.uint8), on_disk=False)
    for value in (1, 2, 3):             # the first of three steps falls off a 2-step stack
        _edit(bounded, value, slice(value - 1, value))
    bounded.undo()
    bounded.undo()
    assert not bounded.stack.can_undo() and bounded.mask[0, 0] == 1
    assert not bounded.at_start         # the start is out of reach: this is not it


def test_undo_stack_origin():
    mask = np.zeros((2, 2), np.uint8)
    stack = UndoStack(mask, limit=1)
    assert stack.at_origin()
    for value in (1, 2):
        before = mask.copy()
        mask[:] = value
        stack.push(Patch.from_arrays("Fill", before, mask))
    stack.undo()
    assert stack.index() == 0 and not stack.at_origin() and (mask == 1).all()
