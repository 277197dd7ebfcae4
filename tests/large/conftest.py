"""The large-image tests use small files: 4096^2 counts as large here."""

from __future__ import annotations

import pytest

from segstudio.core import pyramid


@pytest.fixture(autouse=True)
def small_large_threshold():
    old = pyramid.large_pixels()
    pyramid.set_large_pixels(1024 * 1024)
    yield
    pyramid.set_large_pixels(old)
