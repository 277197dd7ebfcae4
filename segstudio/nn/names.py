"""Names the settings choose from, without importing torch (the window reads them early)."""

from .registry import LOSSES as LOSS_ENTRIES
from .registry import MODELS

ARCHS = tuple(MODELS)
LOSSES = tuple(LOSS_ENTRIES)
