"""The installed Qt binding must not leak or drop references to None/True/False.

PySide6 6.12.0 on Python 3.11 dropped one reference per void call and per
signal emit, which aborts a busy window after a few thousand calls."""

from __future__ import annotations

import sys

from PySide6.QtCore import QObject, Signal
from PySide6.QtWidgets import QLabel


class _Emitter(QObject):
    fired = Signal(int)


def test_void_calls_and_emits_keep_singleton_refcounts(qtbot):
    label = QLabel()
    qtbot.addWidget(label)
    emitter = _Emitter()
    got = []
    emitter.fired.connect(got.append)
    none0, true0 = sys.getrefcount(None), sys.getrefcount(True)
    for i in range(2000):
        label.setText("x")
        emitter.fired.emit(i)
    assert len(got) == 2000
    assert abs(sys.getrefcount(None) - none0) < 50
    assert abs(sys.getrefcount(True) - true0) < 50
