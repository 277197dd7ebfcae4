"""Qt-free core: projects, classes, masks, image IO, edits and history.

Nothing in this package may import Qt (a test enforces it)."""
