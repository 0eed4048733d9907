"""Evidence that the maps matter, built so that it can fail: band deletion (:mod:`.deletion`), model
randomisation (:mod:`.randomisation`), vocal-tract-length warp (:mod:`.warp`), all three run by
:mod:`.faithfulness`, and the causal formant test by resynthesis (:mod:`.causal`). What they share lives in
:mod:`.common`, which imports none of them."""
