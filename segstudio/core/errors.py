"""Typed errors whose messages name the file and say what to do."""

from __future__ import annotations


class SegStudioError(Exception):
    """Base class: the message is meant for the user, one line."""


class ImageReadError(SegStudioError):
    """An image could not be read (broken, truncated, empty, too large)."""


class MaskError(SegStudioError):
    """A mask is unreadable or does not fit its image or class table."""


class ClassTableError(SegStudioError):
    """A class table (JSON or edit) is invalid."""


class ProjectError(SegStudioError):
    """The project cannot be opened or written."""


class DiskFullError(SegStudioError):
    """A write failed for lack of space; the previous file is intact."""
