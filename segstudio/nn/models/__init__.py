"""The networks segstudio trains: SegNet and SegNet-Basic (:mod:`.segnet`).  A new model
is a module here plus one record in :data:`segstudio.nn.registry.MODELS`.  A model knows
nothing of training, runs or the click tool (an import-linter contract)."""
