"""A small but complete fake run directory for the report, written the way the pipeline's stages write theirs
(see the stage contracts in vowelcam.rundir and the stage modules): used by the report tests and
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
from vowelcam.config import ReportSettings, Settings, SpectrogramSettings, save_settings
from vowelcam.learn.metrics import prediction_columns
from vowelcam.rundir import PROBLEM_COLUMNS, RunDir, write_csv

from ..spectra import formant_peaks
from .parts import formant_columns, prediction_row, token_row, write_spectrograms, write_tokens
from .reported_tables import (
    AGREEMENT_COLUMNS,
    FAITHFULNESS_COLUMNS,
    GROUP_SCALE,
    ODD,
    VOWELS,
    agreement_table,
    bands_table,
    causal_verdicts_table,
    faithfulness_table,
    problems_table,
    verdicts_table,
)

TITLE = "Fake run <b>&amp; 'quotes' \"double\""
SPEC = SpectrogramSettings()
MAX_FREQ = 4000.0
HZ_PER_ROW = 62.5
N_SPEC_PROTOTYPES = 48  # spectrograms in the store; tokens share them (the report reads only a few)


def reported_run(root: str | Path, n_tokens: int = 240, seed: int = 0, gallery_size: int = 6) -> RunDir:
    """Write a fake run with ``n_tokens`` vowel tokens (CAMs for the test split) into ``root``; return it."""
    rng = np.random.default_rng(seed)
    run = RunDir(root).create()
    settings = Settings(report=ReportSettings(gallery_size=gallery_size, title=TITLE))
    save_settings(settings, run.path(rundir.CONFIG))
    freqs = _write_store(run, rng)
    tokens = _tokens(n_tokens, rng)
    write_tokens(run.root, tokens)
    predictions = _predictions(tokens, rng)
    labels = list(VOWELS)
    write_csv(run.path(rundir.PREDICTIONS), predictions, prediction_columns(labels))
    _write_model(run, labels)
    _write_metrics(run)
    test = [p for p in predictions if p["split"] == "test"]
    _write_cams(run, tokens, test, freqs, rng)
    write_csv(run.path(rundir.BANDS), bands_table(tokens, test), ["token_id", "vowel", "ref_f1", "ref_f2", "ref_f3"])
    write_csv(run.path(rundir.AGREEMENT), agreement_table(test, rng), AGREEMENT_COLUMNS)
    write_csv(run.path(rundir.FAITHFULNESS), faithfulness_table(len(test)), FAITHFULNESS_COLUMNS)
    write_csv(run.path(rundir.PROBLEMS), problems_table(), PROBLEM_COLUMNS)
    verdicts = verdicts_table()
    write_csv(run.path("verdicts.csv"), verdicts, list(verdicts[0]))
    causal = causal_verdicts_table()
    write_csv(run.path("causal_verdicts.csv"), causal, list(causal[0]))
    recurrence = [
        {**{k: r[k] for k in ("instrument", "vowel", "formant", "verdict")}, "n_runs": 3}
        | {"n_support": 2 if r["verdict"] == "support" else 0, "recurs": int(r["verdict"] == "support")}
        for r in verdicts
    ]
    write_csv(run.path("recurrence.csv"), recurrence, list(recurrence[0]))
    return run


def _write_store(run: RunDir, rng: np.random.Generator) -> np.ndarray:
    freqs = np.arange(SPEC.n_fft // 2 + 1) * SPEC.sample_rate / SPEC.n_fft
    times = (np.arange(SPEC.n_frames) - (SPEC.n_frames - 1) / 2) * SPEC.hop_ms / 1000
    names = list(VOWELS)
    specs = np.stack([_spectrogram(VOWELS[names[i % len(names)]], freqs, rng) for i in range(N_SPEC_PROTOTYPES)])
    write_spectrograms(run.root, SPEC, specs, (freqs, times))
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
        row = token_row(
            token_id=f"{stem}:phones{ODD}:{interval}",
            file=f"wav/{stem}.wav",
            textgrid=f"tg/{stem}.TextGrid",
            speaker=speaker,
            group=group,
            tier=f"phones{ODD}",
            interval=interval,
            label=f"{vowel}1",
            convention="arpabet",
            phone=vowel,
            stress=1,
            word=f"h{vowel.lower()}d" + ("'s<&>" if i % 5 == 0 else ""),
            prev_phone="HH",
            next_phone="D",
            start=start,
            end=round(start + duration / 1000, 4),
            duration_ms=duration,
            f0=120 * scale,
            ceiling=5000 * scale,
            spec_row=names.index(vowel) + len(names) * int(rng.integers(0, N_SPEC_PROTOTYPES // len(names))),
            frame_start=48 - int(duration / 10),
            frame_end=48 + int(duration / 10),
            **formant_columns(f, (80.0, 110.0, 160.0), drift=(0.96, 1.0, 1.03)),
        )
        if i % 37 == 5:
            row["f3_20"] = row["f3_50"] = row["f3_80"] = None  # not measurable
        rows.append(row)
    return rows


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
        prob = dict(zip(labels, map(float, probs)))
        rows.append(prediction_row(t["token_id"], true, predicted, prob[true], prob[predicted], prob, split))
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
