"""Ask a trained model about one recording: every vowel nucleus found in it (no TextGrid), a stretch as one token
(``start``/``end``), or every vowel of a TextGrid.

>>> from vowelcam import classify                                  # doctest: +SKIP
>>> for token in classify("heed.wav", model="run/model/model.pt"):  # doctest: +SKIP
...     print(token.start, token.end, token.top)                    # [("IY", 0.97), ("IH", 0.02), ...]

The model of the last ``vowelcam train`` or ``vowelcam analyze`` is remembered in the user's config directory
(:mod:`vowelcam.learn.model_file`); ``model`` may be a run directory, its ``model/`` folder or a ``model.pt``.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
from torch import nn

from .acoustics.audio import AudioInfo, Recording, audio_info, level_dbfs
from .acoustics.features import geometry, recording_spectrogram
from .checks.finite import listed, nonfinite_rows
from .config import SpectrogramSettings
from .corpus.labels import UNVOICED, detect_convention
from .corpus.textgrid_write import interval_tier, point_tier, write_textgrid
from .corpus.textgrids import TextGrid, read_textgrid
from .corpus.tiers import find_tier_groups
from .errors import AudioError, ConfigError, ModelError
from .learn.familiarity import unfamiliar_input
from .learn.model_file import LAST_MODEL, config_dir, last_model, remember_model, resolve_model_path
from .learn.models import ModelInfo, load_model

log = logging.getLogger(__name__)
SILENCE_DBFS = -80.0  # a token quieter than this (RMS) is treated as silence
__all__ = [  # the model memory lives in learn.model_file; its names stay importable from here
    "LAST_MODEL",
    "config_dir",
    "last_model",
    "remember_model",
    "TokenPrediction",
    "resolve_model",
    "classify",
    "annotate_textgrid",
    "model_spectrogram_settings",
    "span_spectrogram",
]


@dataclass
class TokenPrediction:
    """The top classes of one token."""

    start: float
    end: float
    top: list[tuple[str, float]]
    label: str = ""  # the TextGrid's label, '' without one
    tier: str = ""
    interval: int = 0
    probs: dict[str, float] = field(default_factory=dict)
    peak: float = float("nan")  # intensity peak (s) of a nucleus found without a TextGrid

    @property
    def predicted(self) -> str:
        """The most probable class."""
        return self.top[0][0]

    @property
    def probability(self) -> float:
        """Its probability."""
        return self.top[0][1]


def resolve_model(
    model: str | Path | tuple[nn.Module, ModelInfo] | None, device: str = "cpu"
) -> tuple[nn.Module, ModelInfo]:
    """A loaded model from a path, an already loaded ``(model, info)`` pair, or the remembered last model."""
    if isinstance(model, tuple):
        return model
    return load_model(resolve_model_path(model), device)


def classify(
    audio_path: str | Path,
    textgrid: str | Path | None = None,
    model: str | Path | tuple[nn.Module, ModelInfo] | None = None,
    start: float | None = None,
    end: float | None = None,
    tier: str = "",
    top: int = 3,
    device: str = "cpu",
) -> list[TokenPrediction]:
    """Classify the tokens of one recording with a trained model; ``top`` classes per token.

    Without ``textgrid``: ``start``..``end`` is one token when either is given; otherwise the vowel nuclei are found
    (intensity peaks in voiced stretches, :mod:`vowelcam.acoustics.nuclei`) and each is a token (tier
    ``"nuclei"``, ``peak`` set). With one, every interval of the phone tier (``tier`` or detected) whose class the
    model knows (vowels; unvoiced consonants for a voicing model) within ``start``..``end`` is a token.
    """
    net, info = resolve_model(model, device)
    audio = audio_info(audio_path)
    settings = model_spectrogram_settings(info)
    _check_length(audio, settings)
    peaks: list[float] = []
    unknown: set[str] = set()
    if textgrid is None and start is None and end is None:
        spans, peaks = _nucleus_spans(audio)
    elif textgrid is None:
        lo, hi = _window(audio, start, end)
        spans = [(lo, hi, "", "", 0)]
    else:
        spans = _textgrid_spans(read_textgrid(textgrid), info, tier, start, end, unknown)
    recording = Recording(audio)
    specs = np.stack(
        [
            span_spectrogram(recording, s, e, settings, info, f"{tg_tier}:{iv}" if iv else "")
            for s, e, _, tg_tier, iv in spans
        ]
    )
    with torch.no_grad():
        probs = torch.softmax(net(info.prepare(specs).to(device)).float(), 1).cpu().numpy()
    bad = nonfinite_rows(np.concatenate([specs.reshape(len(specs), -1), probs], axis=1))
    if len(bad):
        where = listed([f"{spans[i][0]:.3f}-{spans[i][1]:.3f} s" for i in bad])
        raise ModelError(f"{audio_path}: NaN or infinite spectrogram or model output for the tokens at {where}")
    results = [_prediction(span, p, info.labels, top) for span, p in zip(spans, probs)]
    for result, peak in zip(results, peaks):
        result.peak = peak
    rate = float(info.spectrogram.get("sample_rate", 0))
    for warning in unfamiliar_input(info.extra, rate, audio.sample_rate, [r.probability for r in results], unknown):
        log.warning("%s: %s", audio.path.name, warning)
    return results


def _nucleus_spans(audio: AudioInfo) -> tuple[list[tuple], list[float]]:
    """Spans ``(start, end, "", "nuclei", k)`` of the nuclei found in the recording, and their peak times."""
    from .acoustics.nuclei import find_nuclei

    samples, _ = Recording(audio).segment(0.0, audio.duration)
    if level_dbfs(samples) < SILENCE_DBFS:
        raise AudioError(audio.path, "silence", f"the whole file is below {SILENCE_DBFS:g} dBFS")
    nuclei = find_nuclei(samples, audio.sample_rate)
    if not nuclei:
        raise AudioError(
            audio.path, "no vowel nuclei", "no voiced intensity peak found; give --start/--end or --textgrid"
        )
    return [(n.start, n.end, "", "nuclei", k) for k, n in enumerate(nuclei, 1)], [n.peak for n in nuclei]


def model_spectrogram_settings(info: ModelInfo) -> SpectrogramSettings:
    """The spectrogram settings a model was trained with (what every input to it must be cut with)."""
    known = SpectrogramSettings.__dataclass_fields__
    return SpectrogramSettings(**{k: v for k, v in info.spectrogram.items() if k in known})


def _check_length(audio: AudioInfo, settings: SpectrogramSettings) -> None:
    window_s = settings.window_ms / 1000
    if audio.duration < window_s:
        raise AudioError(
            audio.path,
            "too short",
            f"{audio.duration * 1000:.1f} ms, shorter than the {settings.window_ms:g} ms analysis window",
        )


def _window(audio: AudioInfo, start: float | None, end: float | None) -> tuple[float, float]:
    lo = 0.0 if start is None else max(0.0, start)
    hi = audio.duration if end is None else min(audio.duration, end)
    if hi <= lo:
        raise ConfigError(f"{audio.path}: empty stretch {lo:.3f}-{hi:.3f} s (file is {audio.duration:.3f} s)")
    return lo, hi


def _textgrid_spans(
    grid: TextGrid, info: ModelInfo, tier: str, start: float | None, end: float | None, unknown: set[str]
) -> list[tuple]:
    """The spans of the intervals whose class the model knows; vowels it has no class for are added to
    ``unknown``."""
    groups = find_tier_groups(grid, phones_tier=tier)
    labels = detect_convention(iv.text for g in groups for iv in g.phones.intervals)
    wanted = set(info.labels)
    lo, hi = start if start is not None else -np.inf, end if end is not None else np.inf
    spans = []
    for group in groups:
        for iv in group.phones.intervals:
            phone = labels.lookup(iv.text).phone
            if phone is None or iv.duration <= 0 or iv.start < lo or iv.end > hi:
                continue
            cls = ("unvoiced" if phone.phone in UNVOICED else phone.kind) if info.task == "voicing" else phone.phone
            if cls in wanted:
                spans.append((iv.start, iv.end, iv.text, group.phones.name, iv.index))
            elif phone.kind == "vowel" and info.task != "voicing":
                unknown.add(phone.phone)
    if not spans:
        raise AudioError(
            grid.path, "no tokens", f"no interval labelled with a class the model knows ({', '.join(info.labels)})"
        )
    return spans


def span_spectrogram(
    recording: Recording, start: float, end: float, settings: SpectrogramSettings, info: ModelInfo, where: str
) -> np.ndarray:
    """The span's spectrogram cut exactly as extraction cuts a token's (same resampling of the recording)."""
    own, _ = recording.segment(start, end)
    if level_dbfs(own) < SILENCE_DBFS:
        raise AudioError(
            recording.info.path, "silence", f"{start:.3f}-{end:.3f} s is below {SILENCE_DBFS:g} dBFS", interval=where
        )
    spec = recording_spectrogram(recording, (start + end) / 2, settings, geometry(settings))
    return spec[: info.n_rows()]


def _prediction(span: tuple, probs: np.ndarray, labels: Sequence[str], top: int) -> TokenPrediction:
    start, end, label, tier, interval = span
    order = np.argsort(-probs)[: max(1, top)]
    return TokenPrediction(
        start=float(start),
        end=float(end),
        top=[(labels[i], float(probs[i])) for i in order],
        label=label,
        tier=tier,
        interval=int(interval),
        probs={lab: float(p) for lab, p in zip(labels, probs)},
    )


def annotate_textgrid(
    predictions: Sequence[TokenPrediction],
    out: str | Path,
    textgrid: str | Path | None = None,
    duration: float | None = None,
    tier_name: str = "vowelcam",
) -> Path:
    """Write ``out``: the input TextGrid (or a new one spanning ``duration``) plus a tier ``"<class> <prob>"``."""
    if textgrid is not None:
        grid = read_textgrid(textgrid)
    else:
        grid = TextGrid(path=Path(out), start=0.0, end=float(duration or max(p.end for p in predictions)), tiers=[])
    names = {t.name for t in grid.tiers}
    name = tier_name
    while name in names:
        name += "_"
    marks = [(p.start, p.end, f"{p.predicted} {p.probability:.2f}") for p in predictions]
    grid.tiers.append(interval_tier(name, grid.start, grid.end, marks))
    peaks = [(p.peak, f"{p.predicted} {p.probability:.2f}") for p in predictions if p.peak == p.peak]
    if peaks:  # nuclei found without a TextGrid: their intensity peaks as a point tier
        grid.tiers.append(point_tier(name + "-peaks", grid.start, grid.end, peaks))
    return write_textgrid(grid, out)
