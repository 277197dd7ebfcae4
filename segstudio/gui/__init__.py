"""The segstudio window (Qt).  Everything here is thin: widgets calling core/nn.

PySide6 6.12.0 on Python 3.11 drops a reference to None/True/False on every
void call and signal emit, and a busy window aborts with "none_dealloc";
pyproject.toml therefore keeps PySide6 below 6.12 on Python < 3.12 and
tests/gui/test_pyside_refcount.py guards against such a binding.
"""
