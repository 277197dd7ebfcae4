"""The neural-network layer: SegNet models, training engine, evaluation, inference.

Qt-free.  The GUI drives :func:`fit` (a generator of events, see
:mod:`segstudio.nn.runs.events`) from a worker thread and uses :class:`Predictor`
for masks; the CLI commands train/predict/eval/export-model use the same code.

The names this package offers are listed once, in ``__init__.pyi``: type checkers
read them there, and ``lazy_loader`` (scientific Python's, as scikit-image uses it)
reads the same file to import each on first use (PEP 562), so ``segstudio.nn.config``
and friends stay light and the window builds its training defaults without importing
torch on the GUI thread.
"""

import lazy_loader

__getattr__, __dir__, __all__ = lazy_loader.attach_stub(__name__, __file__)
