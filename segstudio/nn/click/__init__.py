"""The click model of the editor's Click tool: its samples (:mod:`.data`), simulated
clicks (:mod:`.simulate`), the model and its predictor (:mod:`.model`), and its run in the
training engine (:mod:`.run`)."""
