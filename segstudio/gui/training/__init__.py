"""Training and inference in the window.

Modules:

* :mod:`.ui` -- :class:`TrainingUI`, made once by the main window
  (``window.training``): docks, the Model menu and shortcuts, the wiring;
* :mod:`.trainer` -- :class:`Trainer`: the engine's ``fit`` on its own QThread
  (a QObject worker forwarding events as signals), pause/resume/stop flags;
* :mod:`.panel` -- the Training panel (settings, start/pause/stop, status);
* :mod:`.plot_history`, :mod:`.plots` -- a run's numbers in preallocated arrays and
  the live pyqtgraph plots drawn from them (at most ~10 redraws a second);
* :mod:`.predict` -- predict this image / all unlabelled / the listed images,
  label next (most uncertain image without a human mask);
* :mod:`.runs`, :mod:`.evaluation` -- the Runs panel (active model) and the
  Evaluation panel (per-class IoU, confusion matrix);
* :mod:`.training_jobs` -- the Qt-free parts run on workers (predictor cache, threads).

Nothing here imports torch or pyqtgraph at import time.
"""

from .ui import TrainingUI

__all__ = ["TrainingUI"]
