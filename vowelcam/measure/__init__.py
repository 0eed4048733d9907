"""What extraction hands back beside the fixed measurements: formant tracks, DCT coefficients, extra measurement
points, intensity, carried tiers (:mod:`.tracks`, :mod:`.carry`) and per-speaker normalisation (:mod:`.normalise`)."""
