"""How a run is planned from the project: its fingerprint (:mod:`.fingerprint`), the
recipe the fingerprint chooses (:mod:`.recipe`), and the budget a run is counted in
(:mod:`.budget`).  Free of Qt; :mod:`.budget` does not import torch."""
