"""Generate a synthetic vowel corpus with known truth (``vowelcam synth``).

Layout of ``out_dir``::

    corpus/<speaker>/<speaker>_<nn>_<words>.wav        16-bit mono WAV
    corpus/<speaker>/<speaker>_<nn>_<words>.TextGrid   tiers "words" and "phones" (ARPAbet with stress), "" = silence
    truth.csv                                          one row per vowel token (see TRUTH_COLUMNS)
    speakers.csv                                       speaker,group (usable as --speaker-groups)

Each speaker says every vowel ``tokens_per_vowel`` times: first as an hVd word alone ("heed"), then in CVC words
with voiceless consonants ("peek", "shop", ...) grouped into short utterances. The same seed gives the same bytes.
With ``SynthSettings.cue`` the classes differ in that one cue only (:mod:`vowelcam.synth.cues`).
"""

from __future__ import annotations

import io
import logging
import re
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import soundfile as sf

from ..corpus.published_formants import ReferenceTable, load_reference
from ..corpus.textgrid_write import grid_from_marks, write_textgrid
from ..errors import ConfigError
from ..progress import ProgressCallback, report
from ..rundir import atomic_write_bytes, write_csv
from .cues import check_cue, cue_reference, shared_cvc_frames
from .lexicon import CVC_WORDS, HVD_WORDS
from .plan import UtterancePlan, build_tracks, layout, vowel_truth
from .render import finish, render_klatt
from .speakers import Speaker, SynthSettings, draw_speakers, draw_vowel

log = logging.getLogger(__name__)

CORPUS_DIR = "corpus"
TRUTH = "truth.csv"
SPEAKERS = "speakers.csv"
TRUTH_COLUMNS = (
    [
        "token_id",
        "file",
        "textgrid",
        "speaker",
        "group",
        "vowel",
        "label",
        "word",
        "context",
        "interval",
        "start",
        "end",
        "duration_ms",
        "f0_start",
        "f0_mid",
        "f0_end",
    ]
    + [f"f{k}_{p}" for p in (20, 50, 80) for k in (1, 2, 3, 4)]
    + ["b1_50", "b2_50", "b3_50", "b4_50"]
)
CVC_DURATION_FACTOR = 0.7  # vowels before voiceless consonants in running speech are shorter than in hVd words

WordSpec = tuple[str, str, list[str]]  # (text, vowel, phones)


@dataclass(frozen=True)
class SynthSummary:
    """What :func:`generate_corpus` wrote."""

    out_dir: Path
    speakers: int
    files: int
    tokens: int
    seconds_of_audio: float
    elapsed_s: float


def generate_corpus(
    out_dir: str | Path, settings: SynthSettings = SynthSettings(), progress: ProgressCallback | None = None
) -> SynthSummary:
    """Synthesise the corpus described in the module docstring into ``out_dir`` and return a summary."""
    began = time.perf_counter()
    out = Path(out_dir)
    reference = _checked_reference(settings)
    speakers = draw_speakers(settings, reference, np.random.default_rng([settings.seed, 0]))
    truth: list[dict[str, object]] = []
    files, audio_s = 0, 0.0
    for s_index, speaker in enumerate(speakers, start=1):
        utterances = _speaker_script(speaker, settings, np.random.default_rng([settings.seed, s_index]))
        for u_index, words in enumerate(utterances, start=1):
            rng = np.random.default_rng([settings.seed, s_index, u_index])
            stem = f"{speaker.speaker}_{u_index:02d}_" + "_".join(_safe(text) for text, _, _ in words)
            rows, seconds = _write_utterance(
                out,
                speaker,
                words,
                stem,
                settings,
                reference,
                rng,
                praat_seed=settings.seed * 100_003 + s_index * 1_009 + u_index,
            )
            truth += rows
            files += 1
            audio_s += seconds
        report(progress, "synth", s_index, len(speakers), speaker.speaker)
    write_csv(out / TRUTH, truth, TRUTH_COLUMNS)
    write_csv(out / SPEAKERS, [{"speaker": s.speaker, "group": s.group} for s in speakers], ["speaker", "group"])
    summary = SynthSummary(out, len(speakers), files, len(truth), audio_s, time.perf_counter() - began)
    log.info(
        "synthesised %d files (%d vowel tokens, %.1f s of audio) in %.1f s",
        files,
        len(truth),
        audio_s,
        summary.elapsed_s,
    )
    return summary


def _checked_reference(settings: SynthSettings) -> ReferenceTable:
    if settings.speakers_per_group < 1 or settings.tokens_per_vowel < 1 or settings.words_per_utterance < 1:
        raise ConfigError("synth: speakers per group, tokens per vowel and words per utterance must be >= 1")
    reference = load_reference(settings.reference)
    missing = [f"{v}/{g}" for v in settings.vowels for g in settings.groups if (v, g) not in reference]
    unknown = [v for v in settings.vowels if v not in HVD_WORDS]
    if unknown or missing:
        raise ConfigError(
            f"synth: no words or reference values for {', '.join(unknown + missing)} "
            f"(reference {settings.reference!r}; vowels: {', '.join(HVD_WORDS)})"
        )
    if check_cue(settings.cue):
        return cue_reference(reference, settings.vowels, settings.groups, settings.cue)
    return reference


def _speaker_script(speaker: Speaker, settings: SynthSettings, rng: np.random.Generator) -> list[list[WordSpec]]:
    """The speaker's utterances: one hVd word per vowel, then the CVC tokens shuffled into short utterances."""
    script: list[list[WordSpec]] = [[(HVD_WORDS[v], v, ["HH", v, "D"])] for v in settings.vowels]
    cvc: list[WordSpec] = []
    frames = shared_cvc_frames(CVC_WORDS, settings.vowels) if settings.cue else []
    for vowel in settings.vowels:
        choices = [(f"{o}{vowel}{c}".lower(), o, vowel, c) for o, c in frames] or CVC_WORDS[vowel]
        for _ in range(settings.tokens_per_vowel - 1):
            text, onset, _, coda = choices[int(rng.integers(len(choices)))]
            cvc.append((text, vowel, [onset, vowel, coda]))
    order = rng.permutation(len(cvc))
    cvc = [cvc[i] for i in order]
    size = settings.words_per_utterance
    script += [cvc[i : i + size] for i in range(0, len(cvc), size)]
    return script


def _write_utterance(
    out: Path,
    speaker: Speaker,
    words: list[WordSpec],
    stem: str,
    settings: SynthSettings,
    reference: ReferenceTable,
    rng: np.random.Generator,
    praat_seed: int,
) -> tuple[list[dict[str, object]], float]:
    """Plan, render and write one WAV + TextGrid; return its truth rows and its duration."""
    context = "hVd" if len(words) == 1 and words[0][2][0] == "HH" and words[0][2][-1] == "D" else "cvc"
    factor = 1.0 if context == "hVd" else CVC_DURATION_FACTOR
    spec = []
    for text, vowel, phones in words:
        token = draw_vowel(speaker, vowel, reference, settings, rng, duration_factor=factor)
        spec.append((text, [(p, token if p == vowel else None) for p in phones]))
    plan = layout(spec, speaker, rng)
    build_tracks(plan, speaker)
    samples = render_klatt(plan, settings.sample_rate, speaker.tilt_db, praat_seed)
    pcm = finish(
        samples, speaker.brightness, float(rng.uniform(*settings.snr_db)), float(rng.uniform(*settings.peak_dbfs)), rng
    )
    folder = out / CORPUS_DIR / speaker.speaker
    buffer = io.BytesIO()
    sf.write(buffer, pcm, settings.sample_rate, subtype="PCM_16", format="WAV")
    atomic_write_bytes(folder / f"{stem}.wav", buffer.getvalue())
    phones_tier = _write_textgrid(folder / f"{stem}.TextGrid", plan, pcm.size / settings.sample_rate)
    rows = _truth_rows(plan, speaker, stem, context, phones_tier)
    return rows, pcm.size / settings.sample_rate


def _write_textgrid(path: Path, plan: UtterancePlan, duration: float) -> list[tuple[float, float, str]]:
    """Write the words/phones TextGrid (times rounded to the microsecond); return the phone intervals."""
    words = [(round(w.start, 6), round(w.end, 6), w.text) for w in plan.words]
    phones = [
        (round(p.start, 6), round(p.end, 6), f"{p.label}1" if p.token is not None else p.label)
        for w in plan.words
        for p in w.phones
    ]
    grid = grid_from_marks({"words": words, "phones": phones}, 0.0, round(duration, 6), path)
    write_textgrid(grid, path)
    return [(iv.start, iv.end, iv.text) for iv in grid.tier("phones").intervals]


def _truth_rows(
    plan: UtterancePlan, speaker: Speaker, stem: str, context: str, phones_tier: list[tuple[float, float, str]]
) -> list[dict[str, object]]:
    starts = [interval[0] for interval in phones_tier]
    rows = []
    for word, phone in plan.vowels():
        interval = starts.index(phone.start) + 1
        rows.append(
            {
                "token_id": f"{speaker.speaker}/{stem}:phones:{interval}",
                "file": f"{speaker.speaker}/{stem}.wav",
                "textgrid": f"{speaker.speaker}/{stem}.TextGrid",
                "speaker": speaker.speaker,
                "group": speaker.group,
                "vowel": phone.label,
                "label": f"{phone.label}1",
                "word": word.text,
                "context": context,
                "interval": interval,
                "start": phone.start,
                "end": phone.end,
                "duration_ms": 1000.0 * (phone.end - phone.start),
                **vowel_truth(plan, phone),
            }
        )
    return rows


def _safe(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "", text.lower())
