"""Maps: the CAM methods (:mod:`.methods`, a registry), running them (:mod:`.cam`, :mod:`.capture`), the layer
grid and its Hz mapping (:mod:`.grid`), each layer's measured point spread (:mod:`.resolution`) and the ``cams/``
folder of a run (:mod:`.store`)."""
