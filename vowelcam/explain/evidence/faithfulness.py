"""Evidence that the maps mean something, built so that it can fail (``faithfulness.csv``).

Columns: test, condition, metric, value, ci_lo, ci_hi, n, n_clusters, unit, width_hz. Every interval is a 95 %
cluster bootstrap over speakers (tokens kept together; recordings when there is one speaker), see
:mod:`vowelcam.intervals`; ``unit`` names what was resampled, ``n_clusters`` how many there were.

Tests (each in its own module):

- ``band_deletion`` / ``deletion_curve`` (:mod:`.deletion`): the band holding the most true-class CAM mass is
  in-filled from the neighbouring spectral envelope with matched noise; against random bands *matched on
  energy* and against the band of maximal energy (the "where the energy is" arm), over several band widths.
- ``randomisation`` (:mod:`.randomisation`, Adebayo et al. 2018): maps of copies whose layers are re-initialised
  in a cascade from the top, over several seeds, and of a copy whose top block learnt permuted labels.
- ``vtl_warp`` (:mod:`.warp`): the spectral envelope's frequency axis scaled (a vocal-tract-length change, F0
  and harmonics kept), replacing a linear shift in Hz (Rothmann's objection: formants of a longer tract scale,
  they do not shift). Whether the prediction changes and whether the map's profile scales with it.

A band claim counts as supported only when the top-CAM band hurts more than energy-matched random bands
(``top_minus_random`` interval above 0); :func:`deletion_passes` states that rule once.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from ...progress import ProgressCallback, report
from .common import FaithInputs, FaithSpec, interval_profiles, layer_maps, predict
from .deletion import band_deletion
from .randomisation import randomisation
from .warp import vtl_warp


def deletion_passes(
    rows: Sequence[dict[str, Any]], condition: str = "top_minus_random", test: str = "band_deletion"
) -> bool:
    """Whether band deletion supports the maps: the paired ``condition`` difference in ``prob_drop`` has an
    interval wholly above 0 (a point estimate without an interval never passes)."""
    for r in rows:
        if (r["test"], r["condition"], r["metric"]) == (test, condition, "prob_drop"):
            lo = float(r["ci_lo"]) if r["ci_lo"] not in (None, "") else float("nan")
            return bool(np.isfinite(lo) and lo > 0)
    return False


def run_faithfulness(
    inp: FaithInputs, spec: FaithSpec, progress: ProgressCallback | None = None
) -> list[dict[str, Any]]:
    """All tests; rows for ``faithfulness.csv``."""
    report(progress, "faithfulness", 0, 4, "trained maps")
    base_probs = predict(inp, inp.specs, spec)
    base_maps = layer_maps(inp, inp.specs, spec)
    profiles = interval_profiles(base_maps, inp)
    report(progress, "faithfulness", 1, 4, "band deletion")
    rows = band_deletion(inp, base_probs, profiles, spec)
    report(progress, "faithfulness", 2, 4, "randomisation")
    rows += randomisation(inp, base_maps, spec)
    report(progress, "faithfulness", 3, 4, "vocal-tract-length warp")
    rows += vtl_warp(inp, base_probs, profiles, spec)
    report(progress, "faithfulness", 4, 4, "done")
    return rows
