"""The explain stage: class activation maps read in Hz, against formants, with evidence that they matter.

Entry point: :func:`vowelcam.explain.run.explain_run` (``vowelcam cam RUN_DIR``). Modules:
``cam`` (CAM methods, batched and hook-safe), ``grid`` (layer grid -> Hz mapping and upsampling), ``bands``
(per-token band metrics), ``agreement`` (per-vowel tables with bootstrap intervals, confusion pairs),
``faithfulness`` (band deletion, randomisation, vocal-tract-length warp; ``causal`` resynthesis), ``store`` (the ``cams/`` folder), ``errors``.

Every output states the Hz per CAM row at the layer used (``hz_per_row``: meta.json key, CSV column).

Files written into the run directory
------------------------------------
``cams/``: ``meta.json`` (method, layer, hz_per_row, freqs [Hz of each stored row], times, n_frames, grid [layer
rows/cols, strides, the Hz mapping in words], band_halfwidth, reference, profile_clip, analysis_frames,
normalisation {stored: "raw", norm_arrays, norm, norm_scale}); ``index.csv`` (token_id, row, true, predicted,
correct, split, frame_start, frame_end, hz_per_row); ``true.npy``/``pred.npy`` (float32 [N, F, T] raw maps for the
true / predicted class on the model's input grid) and ``true_norm.npy``/``pred_norm.npy`` (the same divided by
one run-wide ``norm_scale``, the 99th percentile of all positive raw values).

``bands.csv`` (true-class maps) and ``bands_pred.csv`` (predicted-class maps), one row per token:
token_id, speaker, group, vowel (true label), predicted, correct (0/1), split, method, layer, hz_per_row,
frame_start, frame_end, n_frames_used, mass_total (clipped map summed over the token's frames), neg_share
(negative mass clipped / total absolute mass), n_formants_measured (0-3), has_reference (0/1);
per formant k = 1..3: fk_hz (measured at 50 %), bandk_lo_hz, bandk_hi_hz, fk_ref_hz (reference mean);
mass_fk, enrich_fk (mass share / axis share), hf_share_above_f3 and the same with suffix ``_ref`` (bands around
the reference formants); hf_share_above_4k (empty when the axis stops at 4 kHz); per peak i = 1..3 (1 = the
profile maximum): peaki_hz, peaki_share (mass share at the peak row), peaki_nearest (F1/F2/F3),
peaki_dist_hz (peak minus formant), peaki_on_formant (0/1), and the last three with ``_ref``.
Empty field = not computable (no formant measured, band off the axis, zero map).

``agreement.csv`` (true-class maps): vowel (or ALL), subset (all / correct / misclassified), n, n_correct,
accuracy, n_no_formants, n_no_reference, then for each of enrich_f1, enrich_f2, enrich_f3,
peak_on_formant_share, hf_share_above_f3, hf_share_above_4k, enrich_f1_ref, enrich_f2_ref, enrich_f3_ref,
peak_on_formant_share_ref, hf_share_above_f3_ref: the mean, ``_lo``/``_hi`` (bootstrap 95 %), ``_n`` (tokens with
a value); hz_per_row.

``confusions.csv``: true, predicted, n, n_correct_true, n_correct_predicted, excess_hz, deficit_hz, profile_l1,
d_enrich_f1..3, f1_confused, f2_confused, f1_true_correct, f2_true_correct, f1_predicted_correct,
f2_predicted_correct, hz_per_row (see :mod:`vowelcam.explain.agreement`).

``faithfulness.csv``: test, condition, metric, value, ci_lo, ci_hi, n, n_clusters, unit, width_hz, hz_per_row
(intervals: speaker-level cluster bootstrap). Tests: band_deletion and deletion_curve (:mod:`.deletion`),
randomisation (:mod:`.randomisation`), vtl_warp (:mod:`.warp`); see :mod:`vowelcam.explain.faithfulness`.

``causal.csv`` and ``causal_summary.csv`` (``cam --causal``): the resynthesis test, see :mod:`.causal`.
"""
