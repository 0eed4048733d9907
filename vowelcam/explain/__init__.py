"""The explain stage: class activation maps read in Hz, against formants, with evidence that they matter.

Entry point: :func:`vowelcam.explain.stage.explain_run` (``vowelcam cam RUN_DIR``). Floors:

- ``maps/``: the CAM methods as a registry (``maps/methods/``: one small class per method, registered by name;
  ``cam``, ``gradcam``, ``gradcam++``, ``hirescam``, ``layercam``, ``scorecam``, ...; ``CAM_METHODS`` lists them),
  running them batched and hook-safe (``cam``, ``capture``), the layer grid -> Hz mapping and upsampling (``grid``),
  each layer's measured point spread (``resolution``), the ``cams/`` folder (``store``).
- ``readings/``: per-token band metrics (``bands``), their controls (``controls``: energy and envelope baselines,
  the same-speaker null), per-vowel tables with bootstrap intervals and confusion pairs (``agreement``),
  predicted-minus-true maps of confusions (``contrastive``), class-discriminativeness per method with collapsed
  methods flagged (``discrimination``).
- ``evidence/``: band deletion and deletion curves (``deletion``), cascading randomisation (``randomisation``),
  vocal-tract-length warp (``warp``), the three run by ``faithfulness``; formant resynthesis (``causal``); what
  they share (inputs, settings, predictions, profiles, the table row) in ``common``.
- the stage: ``stage`` (``explain_run``), ``context`` (:class:`~vowelcam.explain.context.ExplainContext`: the
  loaded model, layer grid and store), ``map_pass`` (the batched pass streamed into ``cams/``),
  ``method_tables`` (resolution, discrimination.csv, contrastive.csv), ``evidence_stage`` (faithfulness.csv,
  causal.csv); ``errors``.

Every output states the Hz per CAM row at the layer used (``hz_per_row``: meta.json key, CSV column).

Files written into the run directory
------------------------------------
``cams/``: ``meta.json`` (method, layer, hz_per_row, freqs [Hz of each stored row], times, n_frames, grid [layer
rows/cols, strides, the Hz mapping in words], band_halfwidth, reference, profile_clip, analysis_frames,
normalisation {stored: "raw", norm_arrays, norm, norm_scale}); ``index.csv`` (token_id, row, true, predicted,
correct, split, frame_start, frame_end, hz_per_row); ``true.npy``/``pred.npy`` (float32 [N, F, T] maps for the
true / predicted class on the model's input grid, ReLU on the layer grid where the method has one, no rescaling)
and ``true_norm.npy``/``pred_norm.npy`` (the same divided by one run-wide ``norm_scale``, the 99th percentile of
all positive values); ``contrast.npy`` (float32 [N, F, T]: predicted-class minus true-class map before the ReLU,
zero for correct tokens). ``meta.json`` also holds ``input_normalisation``, ``resolution`` (per layer:
point_spread_hz, point_spread_ms, their sd, n_tokens, the probed cell, definition, hz_per_row), ``point_spread_hz``,
``point_spread_ms`` and ``ms_per_column`` of the CAM layer, ``time_resolution`` (a sentence: whether columns resolve
the vowel or the profile integrates the window), ``contrast`` and ``discrimination`` (per method: rho_other,
rho_reinit with intervals, n, n_clusters, unit, collapsed, reason).

``discrimination.csv``: see :mod:`vowelcam.explain.readings.discrimination` (DISCRIMINATION_COLUMNS).
``contrastive.csv``: one row per misclassified token, see :mod:`vowelcam.explain.readings.contrastive`.

``bands.csv`` (true-class maps) and ``bands_pred.csv`` (predicted-class maps), one row per token:
token_id, file, speaker, group, vowel (true label), predicted, correct (0/1), split, method, layer, hz_per_row,
frame_start, frame_end, point_spread_hz, point_spread_ms (the CAM layer's measured point spread), n_frames_used,
mass_total (clipped map summed over the token's frames), neg_share
(negative mass clipped / total absolute mass), n_formants_measured (0-3), has_reference (0/1);
per formant k = 1..3: fk_hz (measured at 50 %), bandk_lo_hz, bandk_hi_hz, fk_ref_hz (reference mean);
mass_fk, enrich_fk (mass share / axis share), hf_share_above_f3 and the same with suffix ``_ref`` (bands around
the reference formants); hf_share_above_4k (empty when the axis stops at 4 kHz); per peak i = 1..3 (1 = the
profile maximum): peaki_hz, peaki_share (mass share at the peak row), peaki_nearest (F1/F2/F3),
peaki_dist_hz (peak minus formant), peaki_on_formant (0/1), and the last three with ``_ref``; peak1_on_f1..f3
(the top peak lies in that formant's band). ``bands.csv`` only: the controls (:mod:`vowelcam.explain.readings.controls`)
``energy_*``, ``envelope_*``, ``null_*`` for enrich_f1..3, mass_f1..3, peak1_hz, peak1_nearest, peak1_on_formant,
peak1_on_f1..3, hf_share_above_f3; null_token_id, null_vowel. ``cams/controls.npz``: energy and envelope profiles
[N, F] (rows as in index.csv). Empty field = not computable (no formant measured, band off the axis, zero map, no
other vowel of the same speaker for the null).

``agreement.csv`` (true-class maps, held-out tokens; see :mod:`vowelcam.explain.readings.agreement`): vowel (or ALL),
subset (all / correct / misclassified; not_held_out for training tokens under ``--tokens all``), held_out, n,
n_correct, accuracy (``_lo``/``_hi``), n_no_formants, n_no_reference, n_no_null, ci_unit, n_clusters, then for each
of enrich_f1..3, peak_on_formant_share, hf_share_above_f3, hf_share_above_4k, the ``_ref`` variants and
peak_on_f1..3_share: the mean, ``_lo``/``_hi`` (95 % cluster bootstrap over speakers), ``_n``; for enrich_f1..3,
peak_on_formant_share and peak_on_f1..3_share beside each control c in energy/envelope/null: ``_c`` (+ lo/hi) and
``_minus_c`` (CAM minus control, paired; + lo/hi/n); verdict_f1..f3 (support / no support / empty); hz_per_row.

``confusions.csv``: true, predicted, n, n_correct_true, n_correct_predicted, excess_hz, deficit_hz, profile_l1,
d_enrich_f1..3, f1_confused, f2_confused, f1_true_correct, f2_true_correct, f1_predicted_correct,
f2_predicted_correct, hz_per_row (see :mod:`vowelcam.explain.readings.agreement`).

``faithfulness.csv``: test, condition, metric, value, ci_lo, ci_hi, n, n_clusters, unit, width_hz, hz_per_row
(intervals: speaker-level cluster bootstrap). Tests: band_deletion and deletion_curve (:mod:`.deletion`),
randomisation (:mod:`.randomisation`), vtl_warp (:mod:`.warp`); see :mod:`vowelcam.explain.evidence.faithfulness`.

``causal.csv`` and ``causal_summary.csv`` (``cam --causal``): the resynthesis test, see :mod:`.causal`.
"""
