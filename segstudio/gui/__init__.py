"""The segstudio window (Qt).  Everything here is thin: widgets calling core/nn.

Importing this package first protects the process from a reference-count bug of
the installed PySide6 (6.12) on Python 3.11: its bindings return ``None`` (and
``True``/``False``) without taking a reference, which is harmless only where
those objects are immortal (Python 3.12+).  Measured here: every call of a
void method (``label.setText``, ``app.processEvents``, ``QRunnable.run``) and
every ``signal.emit`` drops one reference of None or a bool, so a busy window
dies after a few thousand calls with "Fatal Python error: none_dealloc".  We
give those three objects a huge reserve of references, which is what Python
3.12 does for them anyway.
"""

from __future__ import annotations

import sys


def _protect_singletons() -> None:
    if sys.version_info >= (3, 12) or sys.implementation.name != "cpython":
        return  # None, True and False are immortal there (or not refcounted this way)
    import ctypes

    for obj in (None, True, False):
        refcount = ctypes.c_ssize_t.from_address(id(obj))  # ob_refcnt is the first field
        if refcount.value < (1 << 40):
            refcount.value += 1 << 40


_protect_singletons()
