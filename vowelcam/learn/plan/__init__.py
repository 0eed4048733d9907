"""How a training run is laid out before it starts: the splits (:mod:`.splits`) and the recipe that fits the
corpus's size and the hardware (:mod:`.recipe`)."""
