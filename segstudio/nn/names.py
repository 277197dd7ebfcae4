"""Names the settings choose from, without importing torch (the window reads them early)."""

from .registry import MODELS

ARCHS = tuple(MODELS)
LOSSES = ("ce", "ce+dice", "ce+lovasz", "focal")
