"""What extraction hands back beside the fixed measurements: formant tracks, DCT coefficients, extra measurement
points, intensity, carried tiers (:mod:`.tracks`, :mod:`.carried_tiers`) and per-speaker formant normalisation
(:mod:`.speaker_normalisation`, with the normalisers of :mod:`.formant_normalisers`); :mod:`.extra_outputs`
is where the extraction stage calls in."""
