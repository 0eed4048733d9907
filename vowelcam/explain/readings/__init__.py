"""Readings of the maps: per-token band metrics (:mod:`.bands`), their controls (:mod:`.controls`: energy and
envelope baselines, the same-speaker null), per-vowel agreement and confusions (:mod:`.agreement`), contrastive
readings of confusions (:mod:`.contrastive`) and the class-discriminativeness of each method
(:mod:`.discrimination`)."""
