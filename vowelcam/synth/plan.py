"""Plan one synthetic utterance: phone timing, control tracks for the KlattGrid and the per-vowel truth.

An utterance is a list of words, each a list of phones (ARPAbet, vowels without stress digit). Planning lays
the phones out in time and turns them into breakpoints of KlattGrid tiers (pitch, voicing, aspiration,
frication, oral and frication formants). KlattGrid interpolates linearly between breakpoints, so the formant truth
of each vowel (F1–F4 at 20/50/80 %) is read from the same breakpoints with ``np.interp``; the F0 truth is the
token's contour (start/mid/end) before jitter.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .lexicon import CONSONANTS, LOCUS_BLEND, VELAR_F2_FACTOR, Consonant
from .speakers import Speaker, VowelToken

N_ORAL = 6
N_FRICATION = 2
RAMP = 0.006  # seconds of amplitude ramp at each segment edge
OFF_DB = 0.0  # "off" for KlattGrid amplitude tiers (90 dB below a vowel)
TRUTH_FRACTIONS = (0.2, 0.5, 0.8)


@dataclass
class Phone:
    """A phone interval; ``token`` is set for vowels."""

    label: str
    start: float
    end: float
    token: VowelToken | None = None


@dataclass
class Word:
    """A word interval with its phones."""

    text: str
    phones: list[Phone]

    @property
    def start(self) -> float:
        return self.phones[0].start

    @property
    def end(self) -> float:
        return self.phones[-1].end


@dataclass
class UtterancePlan:
    """Everything needed to render an utterance and to write its TextGrid and truth rows."""

    words: list[Word]
    duration: float
    tracks: dict[str, list[tuple[float, float]]] = field(default_factory=dict)

    def add(self, tier: str, time: float, value: float) -> None:
        """Add a breakpoint ``(time, value)`` to the named tier."""
        self.tracks.setdefault(tier, []).append((float(time), float(value)))

    def value(self, tier: str, time: float) -> float:
        """The tier's linearly interpolated value at ``time`` (as KlattGrid computes it)."""
        points = sorted(self.tracks[tier])
        return float(np.interp(time, [p[0] for p in points], [p[1] for p in points]))

    def vowels(self) -> list[tuple[Word, Phone]]:
        """The vowel phones with their words, in time order."""
        return [(w, p) for w in self.words for p in w.phones if p.token is not None]


def layout(
    words: list[tuple[str, list[tuple[str, VowelToken | None]]]],
    speaker: Speaker,
    rng: np.random.Generator,
    lead: float = 0.1,
    pause_probability: float = 0.3,
) -> UtterancePlan:
    """Place the words' phones in time: leading/trailing silence, consonant durations, optional pauses."""
    time = round(lead * rng.uniform(0.8, 1.2), 4)
    placed = []
    for index, (text, phones) in enumerate(words):
        if index and rng.random() < pause_probability:
            time = round(time + rng.uniform(0.05, 0.12), 4)
        laid = []
        for label, token in phones:
            length = token.duration if token is not None else _consonant_duration(label, speaker, rng)
            end = round(time + length, 4)  # 0.1 ms grid: the same numbers in TextGrid and truth.csv
            laid.append(Phone(label, time, end, token))
            time = end
        placed.append(Word(text, laid))
    return UtterancePlan(words=placed, duration=round(time + lead * rng.uniform(0.8, 1.2), 4))


def _consonant_duration(label: str, speaker: Speaker, rng: np.random.Generator) -> float:
    low, high = CONSONANTS[label].duration_ms
    return float(rng.uniform(low, high) / 1000.0 * speaker.rate)


def build_tracks(plan: UtterancePlan, speaker: Speaker) -> None:
    """Fill ``plan.tracks`` with the breakpoints of every KlattGrid tier."""
    phones = [p for w in plan.words for p in w.phones]
    for index, phone in enumerate(phones):
        before = phones[index - 1] if index and phones[index - 1].end == phone.start else None
        after = phones[index + 1] if index + 1 < len(phones) and phones[index + 1].start == phone.end else None
        if phone.token is not None:
            _vowel_tracks(plan, phone, before, after, speaker)
        else:
            _consonant_tracks(plan, phone, before, after, speaker)
    _silence_edges(plan, phones)


def _vowel_tracks(
    plan: UtterancePlan, phone: Phone, before: Phone | None, after: Phone | None, speaker: Speaker
) -> None:
    token = phone.token
    assert token is not None
    t0, dur = phone.start, phone.end - phone.start
    target = np.array(token.formants[:3])
    glide = np.array([token.offglide[0], token.offglide[1], 0.0])
    nucleus, offglide = target * (1 - 0.5 * glide), target * (1 + glide)
    onset = _blend(nucleus, _locus(before, target, speaker))
    offset = _blend(offglide, _locus(after, target, speaker))
    for fraction, values in ((0.0, onset), (0.25, nucleus), (0.5, target), (0.8, offglide), (1.0, offset)):
        for i, value in enumerate(values, start=1):
            plan.add(f"F{i}", t0 + fraction * dur, value)
    for i in range(4, N_ORAL + 1):
        plan.add(f"F{i}", t0 + 0.5 * dur, token.formants[i - 1])
    for i in range(1, N_ORAL + 1):
        plan.add(f"B{i}", t0 + 0.5 * dur, token.bandwidths[i - 1])
    _pitch_points(plan, phone)
    _segment_levels(plan, phone, voicing=token.level_db, aspiration=token.level_db + speaker.breathiness_db)


def _pitch_points(plan: UtterancePlan, phone: Phone) -> None:
    """The F0 contour (exact at start, mid, end) with jitter points in between."""
    token = phone.token
    assert token is not None
    t0, dur = phone.start, phone.end - phone.start
    contour = ([0.0, 0.5, 1.0], list(token.f0))
    for fraction, f0 in zip(*contour):
        plan.add("pitch", t0 + fraction * dur, f0)
    count = len(token.f0_jitter)
    for k, jitter in enumerate(token.f0_jitter, start=1):
        fraction = k / (count + 1)
        if abs(fraction - 0.5) * dur > 0.002:
            plan.add("pitch", t0 + fraction * dur, np.interp(fraction, *contour) * (1.0 + jitter))


def _blend(vowel_edge: np.ndarray, locus: np.ndarray | None) -> np.ndarray:
    return vowel_edge if locus is None else locus + LOCUS_BLEND * (vowel_edge - locus)


def _locus(neighbour: Phone | None, target: np.ndarray, speaker: Speaker) -> np.ndarray | None:
    """F1–F3 locus of an adjacent consonant (None: no transition, e.g. HH or silence)."""
    if neighbour is None or neighbour.token is not None:
        return None
    consonant = CONSONANTS[neighbour.label]
    if neighbour.label == "K":  # velar: F2 and F3 pinch near the vowel's F2
        f2 = target[1] * VELAR_F2_FACTOR
        return np.array([250.0 * speaker.locus_scale, f2, max(target[2], f2 + 400.0)])
    if consonant.locus is None:
        return None
    return np.array(consonant.locus) * speaker.locus_scale


def _consonant_tracks(
    plan: UtterancePlan, phone: Phone, before: Phone | None, after: Phone | None, speaker: Speaker
) -> None:
    consonant = CONSONANTS[phone.label]
    vowel = after if after is not None and after.token is not None else before
    target = np.array(vowel.token.formants[:3]) if vowel is not None and vowel.token is not None else None
    if target is not None:
        locus = _locus(phone, target, speaker)
        if locus is None:  # HH: the vowel's own formants throughout
            locus = target
        for i, value in enumerate(locus, start=1):
            plan.add(f"F{i}", 0.5 * (phone.start + phone.end), value)
    _frication_shape(plan, phone, consonant, speaker, target)
    release = after is not None and after.token is not None
    if consonant.noise == "aspiration":
        _segment_levels(plan, phone, aspiration=consonant.level_db)
    elif consonant.noise == "frication":
        _segment_levels(plan, phone, frication=consonant.level_db)
    elif consonant.noise in ("burst", "voicebar"):
        _stop_levels(
            plan, phone, consonant.level_db, released_into_vowel=release, voicebar=consonant.noise == "voicebar"
        )


def _frication_shape(
    plan: UtterancePlan, phone: Phone, consonant: Consonant, speaker: Speaker, target: np.ndarray | None
) -> None:
    formants = list(consonant.fric_formants)
    if phone.label == "K" and target is not None:  # velar burst near the vowel's F2
        formants = [(target[1] * VELAR_F2_FACTOR / speaker.locus_scale, 500.0), formants[-1]]
    for edge in (phone.start + RAMP, phone.end - RAMP):
        for i in range(1, N_FRICATION + 1):
            if i <= len(formants):
                freq, bandwidth = formants[i - 1]
                plan.add(f"FF{i}", edge, min(freq * speaker.locus_scale, 7500.0))
                plan.add(f"FB{i}", edge, bandwidth * speaker.locus_scale)
                plan.add(f"FA{i}", edge, 0.0)
            else:
                plan.add(f"FA{i}", edge, -60.0)
        plan.add("bypass", edge, consonant.fric_bypass_db)


def _stop_levels(plan: UtterancePlan, phone: Phone, level: float, released_into_vowel: bool, voicebar: bool) -> None:
    """Closure (silent or voiced), a 10 ms burst, then aspiration into a following vowel."""
    burst = phone.end - (min(0.045, 0.45 * (phone.end - phone.start)) if released_into_vowel else 0.018)
    closure = Phone(phone.label, phone.start, burst)
    _segment_levels(plan, closure, voicing=60.0 if voicebar else OFF_DB)
    _segment_levels(plan, Phone(phone.label, burst, burst + 0.010), frication=level + 6.0)
    tail = Phone(phone.label, burst + 0.010, phone.end)
    if released_into_vowel and not voicebar:
        _segment_levels(plan, tail, aspiration=level)
    else:
        _segment_levels(plan, tail, frication=level - 8.0)


def _segment_levels(
    plan: UtterancePlan, phone: Phone, voicing: float = OFF_DB, aspiration: float = OFF_DB, frication: float = OFF_DB
) -> None:
    ramp = min(RAMP, 0.25 * (phone.end - phone.start))
    for name, value in (("voicing", voicing), ("aspiration", aspiration), ("frication", frication)):
        plan.add(name, phone.start + ramp, value)
        plan.add(name, phone.end - ramp, value)


def _silence_edges(plan: UtterancePlan, phones: list[Phone]) -> None:
    """Amplitudes off at the utterance edges and inside pauses between words."""
    gaps = (
        [(0.0, phones[0].start)]
        + [(a.end, b.start) for a, b in zip(phones, phones[1:]) if b.start > a.end]
        + [(phones[-1].end, plan.duration)]
    )
    for start, end in gaps:
        _segment_levels(plan, Phone("", start, end))


def vowel_truth(plan: UtterancePlan, phone: Phone) -> dict[str, float]:
    """Truth of one vowel: F0 contour at start/mid/end (without jitter), F1–F4 at 20/50/80 %, B1–B4 at 50 %."""
    t0, dur = phone.start, phone.end - phone.start
    token = phone.token
    assert token is not None
    row = {"f0_start": token.f0[0], "f0_mid": token.f0[1], "f0_end": token.f0[2]}
    for fraction in TRUTH_FRACTIONS:
        for i in range(1, 5):
            row[f"f{i}_{round(fraction * 100)}"] = plan.value(f"F{i}", t0 + fraction * dur)
    for i in range(1, 5):
        row[f"b{i}_50"] = plan.value(f"B{i}", t0 + 0.5 * dur)
    return row
