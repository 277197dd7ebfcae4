"""Training samples from, and predictions into, images too large to hold whole: regions
of pyramids and chunked masks (:mod:`.data`, :mod:`.predict`)."""
