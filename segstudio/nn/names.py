"""Names the settings choose from, without importing torch (the window reads them early)."""

ARCHS = ("segnet", "segnet-basic")
LOSSES = ("ce", "ce+dice", "ce+lovasz", "focal")
