"""A small but complete fake run directory for the report, written the way the pipeline's stages write theirs
(see the stage contracts in vowelcam.rundir and the stage modules): used by tests/test_report.py and
bench/bench_report.py.

Names from the data carry ``<>&'"`` (speakers, files, tiers, words, labels, problem details) so that escaping is
tested. Everything is deterministic for a seed.
"""

from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path
from typing import Any

import numpy as np

from vowelcam import rundir
from vowelcam.acoustics.store import write_axes, write_shard
from vowelcam.config import ReportSettings, Settings, SpectrogramSettings, save_settings
from vowelcam.rundir import PROBLEM_COLUMNS, RunDir, write_csv
from vowelcam.tokens import TOKEN_COLUMNS

from .spectra import formant_peaks

# Hillenbrand-like means (men) F1, F2, F3 in Hz.
VOWELS = {
    "IY": (342, 2322, 3000),
    "IH": (427, 2034, 2684),
    "EH": (580, 1799, 2605),
    "AE": (588, 1952, 2601),
    "AA": (768, 1333, 2522),
    "UW": (378, 997, 2343),
}
GROUP_SCALE = {"men": 1.0, "women": 1.17}
TITLE = "Fake run <b>&amp; 'quotes' \"double\""
ODD = "<i>&'\""  # appended to names that reach the HTML
SPEC = SpectrogramSettings()
MAX_FREQ = 4000.0
HZ_PER_ROW = 62.5
N_SPEC_PROTOTYPES = 48  # spectrograms in the store; tokens share them (the report reads only a few)
AGREEMENT_METRICS = [
    "enrich_f1",
    "enrich_f2",
    "enrich_f3",
    "peak_on_formant_share",
    "hf_share_above_f3",
    "hf_share_above_4k",
    "enrich_f1_ref",
    "enrich_f2_ref",
    "enrich_f3_ref",
]
CONTROLS = ("energy", "envelope", "null")
CONTROLLED = [
    f"{m}_{c}{s}"
    for m in ("enrich_f1", "enrich_f2", "enrich_f3", "peak_on_f1_share", "peak_on_f2_share", "peak_on_f3_share")
    for c in CONTROLS
    for s in ("", "_lo", "_hi")
]
CONTRASTS = [f"enrich_f{k}_minus_{c}{s}" for k in (1, 2, 3) for c in CONTROLS for s in ("", "_lo", "_hi", "_n")]
AGREEMENT_COLUMNS = (
    [
        "vowel",
        "subset",
        "held_out",
        "n",
        "n_correct",
        "accuracy",
        "accuracy_lo",
        "accuracy_hi",
        "n_no_formants",
        "n_no_reference",
        "ci_unit",
        "n_clusters",
    ]
    + [f"{m}{s}" for m in AGREEMENT_METRICS for s in ("", "_lo", "_hi", "_n")]
    + CONTROLLED
    + CONTRASTS
    + ["verdict_f1", "verdict_f2", "verdict_f3"]
)
FAITHFULNESS_COLUMNS = ["test", "condition", "metric", "value", "ci_lo", "ci_hi", "n"]


def write_fake_run(root: str | Path, n_tokens: int = 240, seed: int = 0, gallery_size: int = 6) -> RunDir:
    """Write a fake run with ``n_tokens`` vowel tokens (CAMs for the test split) into ``root``; return it."""
    rng = np.random.default_rng(seed)
    run = RunDir(root).create()
    settings = Settings(report=ReportSettings(gallery_size=gallery_size, title=TITLE))
    save_settings(settings, run.path(rundir.CONFIG))
    freqs = _write_store(run, rng)
    tokens = _tokens(n_tokens, rng)
    write_csv(run.path(rundir.TOKENS), tokens, TOKEN_COLUMNS)
    predictions = _predictions(tokens, rng)
    labels = list(VOWELS)
    write_csv(run.path(rundir.PREDICTIONS), predictions, _prediction_columns(labels))
    _write_model(run, labels)
    _write_metrics(run)
    test = [p for p in predictions if p["split"] == "test"]
    _write_cams(run, tokens, test, freqs, rng)
    write_csv(run.path(rundir.BANDS), _bands(tokens, test), ["token_id", "vowel", "ref_f1", "ref_f2", "ref_f3"])
    write_csv(run.path(rundir.AGREEMENT), _agreement(test, rng), AGREEMENT_COLUMNS)
    write_csv(run.path(rundir.FAITHFULNESS), _faithfulness(len(test)), FAITHFULNESS_COLUMNS)
    write_csv(run.path(rundir.PROBLEMS), _problems(), PROBLEM_COLUMNS)
    return run


def _write_store(run: RunDir, rng: np.random.Generator) -> np.ndarray:
    store = run.path(rundir.SPECTROGRAMS)
    freqs = np.arange(SPEC.n_fft // 2 + 1) * SPEC.sample_rate / SPEC.n_fft
    times = (np.arange(SPEC.n_frames) - (SPEC.n_frames - 1) / 2) * SPEC.hop_ms / 1000
    write_axes(store, SPEC, freqs, times)
    names = list(VOWELS)
    specs = np.stack([_spectrogram(VOWELS[names[i % len(names)]], freqs, rng) for i in range(N_SPEC_PROTOTYPES)])
    write_shard(store, 0, specs.astype(np.float16))
    return freqs


def _spectrogram(formants: tuple[int, ...], freqs: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    t = np.arange(SPEC.n_frames)
    envelope = np.exp(-0.5 * ((t - SPEC.n_frames / 2) / 18) ** 2)
    spectrum = -30 + 5 * np.cos(freqs / 120 * 2 * np.pi) - freqs / 250  # harmonic ripple (F0 = 120 Hz), tilt
    k = np.arange(len(formants))
    spectrum = spectrum + formant_peaks(freqs, formants, 70 + 30 * k, 30 - 6 * k)
    db = spectrum[:, None] * envelope[None, :] + (-85) * (1 - envelope[None, :])
    return np.clip(db + rng.normal(0, 2.5, db.shape), -100, 0)


def _tokens(n: int, rng: np.random.Generator) -> list[dict[str, Any]]:
    rows = []
    names = list(VOWELS)
    for i in range(n):
        vowel = names[i % len(names)]
        group = "men" if (i // len(names)) % 2 == 0 else "women"
        speaker = f"{group[0]}{i % 10:02d}" + (ODD if i % 10 == 3 else "")
        stem = f"{speaker}_utt{i // 10:03d}"
        interval = 2 + i % 3
        scale = GROUP_SCALE[group]
        f = [v * scale * (1 + rng.normal(0, 0.06)) for v in VOWELS[vowel]]
        duration = float(rng.uniform(120, 320))
        start = round(0.2 + (i % 7) * 0.8, 3)
        row = {
            "token_id": f"{stem}:phones{ODD}:{interval}",
            "file": f"wav/{stem}.wav",
            "textgrid": f"tg/{stem}.TextGrid",
            "speaker": speaker,
            "group": group,
            "tier": f"phones{ODD}",
            "interval": interval,
            "label": f"{vowel}1",
            "convention": "arpabet",
            "phone": vowel,
            "ipa": "",
            "stress": 1,
            "kind": "vowel",
            "word": f"h{vowel.lower()}d" + ("'s<&>" if i % 5 == 0 else ""),
            "prev_phone": "HH",
            "next_phone": "D",
            "start": start,
            "end": round(start + duration / 1000, 4),
            "duration_ms": duration,
            "f0": 120 * scale,
            "b1_50": 80.0,
            "b2_50": 110.0,
            "b3_50": 160.0,
            "ceiling": 5000 * scale,
            "spec_shard": 0,
            "spec_row": names.index(vowel) + len(names) * int(rng.integers(0, N_SPEC_PROTOTYPES // len(names))),
            "frame_start": 48 - int(duration / 10),
            "frame_end": 48 + int(duration / 10),
        }
        for k in range(3):
            for pct, drift in ((20, 0.96), (50, 1.0), (80, 1.03)):
                row[f"f{k + 1}_{pct}"] = f[k] * drift
        if i % 37 == 5:
            row["f3_20"] = row["f3_50"] = row["f3_80"] = None  # not measurable
        rows.append(row)
    return rows


def _prediction_columns(labels: list[str]) -> list[str]:
    return [
        "token_id",
        "true",
        "predicted",
        "prob_true",
        "prob_predicted",
        *[f"p_{v}" for v in labels],
        "split",
        "fold",
        "correct",
    ]


def _predictions(tokens: list[dict[str, Any]], rng: np.random.Generator) -> list[dict[str, Any]]:
    labels = list(VOWELS)
    neighbours = {"IY": "IH", "IH": "EH", "EH": "AE", "AE": "EH", "AA": "AE", "UW": "IH"}
    rows = []
    for t in tokens:
        true = t["phone"]
        predicted = true if rng.random() < 0.78 else neighbours[true]
        logits = rng.normal(0, 1, len(labels))
        logits[labels.index(predicted)] += 3.0 + rng.random() * 2
        probs = np.exp(logits) / np.exp(logits).sum()
        speaker_no = int(t["speaker"][1:3])
        split = "test" if speaker_no in (0, 1) else "val" if speaker_no == 2 else "train"
        row = {
            "token_id": t["token_id"],
            "true": true,
            "predicted": predicted,
            "prob_true": float(probs[labels.index(true)]),
            "prob_predicted": float(probs[labels.index(predicted)]),
            "split": split,
            "fold": 0,
            "correct": int(true == predicted),
        }
        row.update({f"p_{v}": float(p) for v, p in zip(labels, probs)})
        rows.append(row)
    return rows


def _write_model(run: RunDir, labels: list[str]) -> None:
    import torch

    checkpoint = {
        "format": "vowelcam-model",
        "version": 1,
        "arch": "resnet18",
        "labels": labels,
        "task": "vowels4k",
        "max_freq": MAX_FREQ,
        "spectrogram": asdict(SPEC),
        "norm": {"mean": -62.5, "std": 18.0},
        "dilation": [False, True, True],
        "cam_layer": "layer4",
        "hz_per_row": {"layer1": 62.5, "layer2": 62.5, "layer3": 62.5, "layer4": HZ_PER_ROW},
        "state_dict": {"fc.weight": torch.zeros(len(labels), 4)},
    }
    path = run.path(rundir.MODEL)
    path.parent.mkdir(parents=True, exist_ok=True)
    torch.save(checkpoint, path)


def _write_metrics(run: RunDir) -> None:
    rows = [
        {
            "epoch": e,
            "fold": 0,
            "train_loss": 2.0 / e,
            "train_acc": 0.5 + 0.08 * e,
            "val_loss": 2.2 / e,
            "val_acc": 0.45 + 0.07 * e,
            "lr": 1e-3,
            "seconds": 3.5,
        }
        for e in range(1, 6)
    ]
    write_csv(
        run.path(rundir.METRICS),
        rows,
        ["epoch", "fold", "train_loss", "train_acc", "val_loss", "val_acc", "lr", "seconds"],
    )


def _write_cams(
    run: RunDir, tokens: list[dict[str, Any]], test: list[dict[str, Any]], freqs: np.ndarray, rng: np.random.Generator
) -> None:
    folder = run.path(rundir.CAMS)
    folder.mkdir(parents=True, exist_ok=True)
    cam_freqs = freqs[freqs <= MAX_FREQ]
    by_id = {t["token_id"]: t for t in tokens}
    true_maps = np.zeros((len(test), len(cam_freqs), SPEC.n_frames), dtype=np.float32)
    pred_maps = np.zeros_like(true_maps)
    for i, p in enumerate(test):
        tok = by_id[p["token_id"]]
        true_maps[i] = _cam(tok, [tok["f1_50"], tok["f2_50"]], cam_freqs, rng)
        pred_maps[i] = _cam(tok, [VOWELS[p["predicted"]][0], VOWELS[p["predicted"]][1]], cam_freqs, rng)
    np.save(folder / "true.npy", true_maps)
    np.save(folder / "pred.npy", pred_maps)
    energy = np.stack([np.exp(-0.5 * ((cam_freqs - by_id[p["token_id"]]["f1_50"]) / 300) ** 2) + 0.2 for p in test])
    np.savez(folder / "controls.npz", energy=energy.astype(np.float32), envelope=energy.astype(np.float32))
    meta = {
        "method": "gradcam",
        "layer": "layer4",
        "hz_per_row": HZ_PER_ROW,
        "freqs": cam_freqs.tolist(),
        "n_frames": SPEC.n_frames,
        "normalisation": "raw",
    }
    (folder / "meta.json").write_text(json.dumps(meta))
    index = [
        {"token_id": p["token_id"], "row": i, "true": p["true"], "predicted": p["predicted"]}
        for i, p in enumerate(test)
    ]
    write_csv(folder / "index.csv", index, ["token_id", "row", "true", "predicted"])


def _cam(token: dict[str, Any], centres: list[float], freqs: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    t = np.arange(SPEC.n_frames)
    inside = (t >= token["frame_start"]) & (t < token["frame_end"])
    profile = sum(np.exp(-0.5 * ((freqs - c) / 150) ** 2) * w for c, w in zip(centres, (1.0, 0.7)))
    profile = profile + 0.05 * rng.random(len(freqs))
    return (profile[:, None] * inside[None, :] * rng.uniform(0.5, 2.0)).astype(np.float32)


def _bands(tokens: list[dict[str, Any]], test: list[dict[str, Any]]) -> list[dict[str, Any]]:
    by_id = {t["token_id"]: t for t in tokens}
    rows = []
    for p in test:
        tok = by_id[p["token_id"]]
        ref = [v * GROUP_SCALE[tok["group"]] for v in VOWELS[tok["phone"]]]
        rows.append(
            {"token_id": p["token_id"], "vowel": tok["phone"], "ref_f1": ref[0], "ref_f2": ref[1], "ref_f3": ref[2]}
        )
    return rows


def _agreement(test: list[dict[str, Any]], rng: np.random.Generator) -> list[dict[str, Any]]:
    """Rows as vowelcam.explain.agreement writes them: per vowel and ``ALL``, subsets all/correct/misclassified."""
    rows = []
    for vowel in [*VOWELS, "ALL"]:
        mine = [p for p in test if vowel in (p["true"], "ALL")]
        subsets = (
            ("all", mine),
            ("correct", [p for p in mine if p["correct"]]),
            ("misclassified", [p for p in mine if not p["correct"]]),
        )
        for subset, chosen in subsets:
            n_correct = sum(p["correct"] for p in chosen)
            row = {
                "vowel": vowel,
                "subset": subset,
                "n": len(chosen),
                "n_correct": n_correct,
                "accuracy": n_correct / len(chosen) if chosen else None,
                "n_no_formants": 0,
                "n_no_reference": 0,
            }
            for metric in AGREEMENT_METRICS:
                enrich = metric.startswith("enrich")
                value = float(rng.uniform(0.6, 3.2)) if enrich else float(rng.uniform(0, 0.9))
                low, high = (0.31, 0.29) if enrich else (0.05, 0.05)
                row.update(
                    {
                        metric: value,
                        f"{metric}_lo": value - low,
                        f"{metric}_hi": value + high,
                        f"{metric}_n": len(chosen),
                    }
                )
            row["hf_share_above_4k"] = 0.0
            row.update(_controls(len(chosen), rng))
            row.update(
                held_out=1,
                accuracy_lo=max(0.0, (row["accuracy"] or 0) - 0.1),
                accuracy_hi=min(1.0, (row["accuracy"] or 0) + 0.1),
                ci_unit="speaker",
                n_clusters=2,
            )
            rows.append(row)
    return rows


def _faithfulness(n: int) -> list[dict[str, Any]]:
    """Rows as vowelcam.explain.faithfulness writes them (a subset of its metrics)."""
    rows = [
        ("band_deletion", "none", "accuracy", 0.79, 0.73, 0.85),
        ("band_deletion", "top_cam_band", "accuracy", 0.41, 0.35, 0.47),
        ("band_deletion", "top_cam_band", "prob_drop", 0.312, 0.27, 0.351),
        ("band_deletion", "random_band", "accuracy", 0.74, 0.69, 0.79),
        ("band_deletion", "random_band", "prob_drop", 0.041, 0.02, 0.063),
        ("band_deletion", "top_minus_random", "prob_drop", 0.271, 0.229, 0.313),
        ("band_deletion", "all", "width_hz", 250.0, None, None),
        ("randomisation", "fc", "spearman", 0.08, 0.03, 0.13),
        ("randomisation", "top_layers <randomised>", "spearman", 0.02, -0.01, 0.05),
        ("frequency_shift", "+150 Hz", "accuracy", 0.52, 0.46, 0.58),
        ("frequency_shift", "+150 Hz", "map_shift_hz", 143.0, 131.0, 155.0),
    ]
    return [dict(zip(FAITHFULNESS_COLUMNS, (*r, n))) for r in rows]


def _problems() -> list[dict[str, str]]:
    return [
        {
            "path": f"wav/bad{ODD}.wav",
            "tier": "",
            "interval": "",
            "reason": "unreadable_audio",
            "detail": "not a RIFF file",
        },
        {
            "path": "tg/x.TextGrid",
            "tier": f"phones{ODD}",
            "interval": "7",
            "reason": "unknown_label",
            "detail": "label 'ax<h>'",
        },
        {
            "path": "tg/y.TextGrid",
            "tier": "phones",
            "interval": "3",
            "reason": "unknown_label",
            "detail": "label 'spn'",
        },
        {"path": "tg/z.TextGrid", "tier": "phones", "interval": "9", "reason": "too_short", "detail": "12 ms < 20 ms"},
    ]


def _controls(n: int, rng: np.random.Generator) -> dict[str, Any]:
    """Control columns as vowelcam.explain.agreement writes them; F2 is the one reading that beats both controls."""
    row: dict[str, Any] = {}
    for name in CONTROLLED:
        if not name.endswith(("_lo", "_hi")):
            value = float(rng.uniform(0.5, 2.0))
            row.update({name: value, f"{name}_lo": value - 0.2, f"{name}_hi": value + 0.2})
    for k in (1, 2, 3):
        for c in CONTROLS:
            value = 0.5 if k == 2 else float(rng.uniform(-0.8, 0.1))
            row.update(
                {
                    f"enrich_f{k}_minus_{c}": value,
                    f"enrich_f{k}_minus_{c}_lo": value - 0.3,
                    f"enrich_f{k}_minus_{c}_hi": value + 0.3,
                    f"enrich_f{k}_minus_{c}_n": n,
                }
            )
        row[f"verdict_f{k}"] = "support" if k == 2 else "no support"
    return row
