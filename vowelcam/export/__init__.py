"""Outputs written back in the formats phoneticians open: TextGrids with vowelcam's tiers (:mod:`.textgrids`)."""
