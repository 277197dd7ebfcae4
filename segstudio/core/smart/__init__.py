"""Classical smart tools (no downloaded weights): intelligent scissors, watershed from
scribbles, SLIC superpixels and the magic wand preview.

One module per tool; each gives a region (or label crop) for the GUI to show or
paint, and a ``*_fill`` function returning the :class:`~segstudio.core.history.Patch`
of the edit (one undo step).  Qt-free, like the rest of :mod:`segstudio.core`.
"""
