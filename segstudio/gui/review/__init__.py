"""The review queue: a dock that steps through the regions the model most likely got
wrong and takes one key per answer (see :mod:`.controller`)."""

from .controller import ReviewQueue

__all__ = ["ReviewQueue"]
