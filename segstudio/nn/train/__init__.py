"""The training engine: one run request resolved (:mod:`.request`) into a run that
:func:`.engine.fit` sets up (:mod:`.setup`), trains interval by interval
(:mod:`.epoch`, :mod:`.step`, :mod:`.data`, :mod:`.augment`, :mod:`.losses`), checks
against the trivial predictor and turns when it must (:mod:`.guard`, :mod:`.course`),
measures (:mod:`.validation`) and records (:mod:`.store`), counted in epochs or a budget
(:mod:`.length`); a segmentation run's own ways are :mod:`.semantic`, torchrun's
:mod:`.distributed`.  A new loss: a term in :mod:`.losses` and a record in
:data:`segstudio.nn.registry.LOSSES`."""
