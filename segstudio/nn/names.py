"""Names the settings choose from, and thresholds the window shows, without importing
torch (the window reads them early)."""

from .registry import LOSSES as LOSS_ENTRIES
from .registry import MODELS

ARCHS = tuple(MODELS)
LOSSES = tuple(LOSS_ENTRIES)

# a click model scoring less IoU after 3 clicks on its validation objects does no better
# than the clicks themselves: it is made active only when the project has no other, and
# the Click tool says so (nn.click_run, gui.editor.click_model_tool)
CLICK_USABLE = 0.10
