"""Words and consonants of the synthetic corpus: hVd carrier words, CVC words with voiceless consonants,
and the acoustic recipe of each consonant (formant locus, noise source, durations).

Everything here is plain data for :mod:`vowelcam.synth.plan`. Formant frequencies are for an
adult male vocal tract and are scaled by each speaker's vocal-tract factor.
"""

from __future__ import annotations

from dataclasses import dataclass

# Hillenbrand et al. (1995) hVd words, vowel in ARPAbet.
HVD_WORDS: dict[str, str] = {
    "IY": "heed",
    "IH": "hid",
    "EY": "hayed",
    "EH": "head",
    "AE": "had",
    "AA": "hod",
    "AO": "hawed",
    "OW": "hoed",
    "UH": "hood",
    "UW": "who'd",
    "AH": "hud",
    "ER": "heard",
}

# CVC words whose consonants are voiceless (stops, fricatives, HH), for multi-word utterances.
CVC_WORDS: dict[str, tuple[tuple[str, str, str, str], ...]] = {
    "IY": (("peek", "P", "IY", "K"), ("seat", "S", "IY", "T"), ("sheep", "SH", "IY", "P"), ("keep", "K", "IY", "P")),
    "IH": (("sit", "S", "IH", "T"), ("kiss", "K", "IH", "S"), ("fish", "F", "IH", "SH"), ("tip", "T", "IH", "P")),
    "EY": (("take", "T", "EY", "K"), ("safe", "S", "EY", "F"), ("shape", "SH", "EY", "P"), ("faith", "F", "EY", "TH")),
    "EH": (("pet", "P", "EH", "T"), ("set", "S", "EH", "T"), ("peck", "P", "EH", "K"), ("chef", "SH", "EH", "F")),
    "AE": (("cat", "K", "AE", "T"), ("sack", "S", "AE", "K"), ("path", "P", "AE", "TH"), ("hat", "HH", "AE", "T")),
    "AA": (("pot", "P", "AA", "T"), ("shop", "SH", "AA", "P"), ("top", "T", "AA", "P"), ("cot", "K", "AA", "T")),
    "AO": (("caught", "K", "AO", "T"), ("talk", "T", "AO", "K"), ("sauce", "S", "AO", "S"), ("hawk", "HH", "AO", "K")),
    "OW": (("coat", "K", "OW", "T"), ("soap", "S", "OW", "P"), ("hope", "HH", "OW", "P"), ("tote", "T", "OW", "T")),
    "UH": (("put", "P", "UH", "T"), ("foot", "F", "UH", "T"), ("took", "T", "UH", "K"), ("cook", "K", "UH", "K")),
    "UW": (("suit", "S", "UW", "T"), ("hoop", "HH", "UW", "P"), ("shoot", "SH", "UW", "T"), ("tooth", "T", "UW", "TH")),
    "AH": (("cut", "K", "AH", "T"), ("puff", "P", "AH", "F"), ("shut", "SH", "AH", "T"), ("tough", "T", "AH", "F")),
    "ER": (("hurt", "HH", "ER", "T"), ("shirt", "SH", "ER", "T"), ("perk", "P", "ER", "K"), ("turf", "T", "ER", "F")),
}

# Vowel-inherent spectral change: relative change of (F1, F2) from the 50 % target to the offglide (80 %).
OFFGLIDES: dict[str, tuple[float, float]] = {
    "IY": (-0.03, 0.02),
    "IH": (0.02, -0.03),
    "EY": (-0.12, 0.07),
    "EH": (0.02, -0.03),
    "AE": (0.0, -0.05),
    "AA": (-0.02, 0.03),
    "AO": (-0.03, 0.04),
    "OW": (-0.08, -0.10),
    "UH": (0.0, 0.04),
    "UW": (-0.03, 0.03),
    "AH": (0.0, 0.02),
    "ER": (-0.02, 0.02),
}


@dataclass(frozen=True)
class Consonant:
    """How one consonant is made.

    ``locus`` gives F1–F3 (adult male Hz) the formants move towards; ``None`` means the consonant takes the
    neighbouring vowel's formants (HH). ``noise`` is ``"aspiration"`` (noise through the vocal tract),
    ``"frication"`` (noise through the parallel frication formants ``fric_formants``), ``"burst"`` (a silent
    closure, then a short frication burst and aspiration before a vowel) or ``"voicebar"`` (voiced closure).
    """

    phone: str
    locus: tuple[float, float, float] | None
    noise: str
    duration_ms: tuple[float, float]
    fric_formants: tuple[tuple[float, float], ...] = ()  # (frequency, bandwidth), adult male Hz
    fric_bypass_db: float = -40.0
    level_db: float = 60.0


CONSONANTS: dict[str, Consonant] = {
    "HH": Consonant("HH", None, "aspiration", (60, 90), level_db=66.0),
    "P": Consonant("P", (250, 900, 2200), "burst", (60, 90), ((1200, 900),), fric_bypass_db=-6.0, level_db=62.0),
    "T": Consonant("T", (250, 1700, 2600), "burst", (55, 85), ((3800, 800), (5000, 1000)), level_db=66.0),
    "K": Consonant("K", None, "burst", (60, 90), ((2000, 600), (3200, 900)), level_db=66.0),
    "D": Consonant("D", (250, 1700, 2600), "voicebar", (45, 70), ((3800, 800),), level_db=55.0),
    "S": Consonant("S", (300, 1700, 2600), "frication", (100, 150), ((4600, 700), (6000, 1200)), level_db=62.0),
    "SH": Consonant("SH", (300, 1900, 2500), "frication", (100, 150), ((2600, 500), (4200, 900)), level_db=62.0),
    "F": Consonant("F", (280, 1000, 2300), "frication", (90, 130), ((1800, 1500),), fric_bypass_db=-3.0, level_db=58.0),
    "TH": Consonant(
        "TH", (300, 1400, 2600), "frication", (90, 130), ((3200, 1800),), fric_bypass_db=-3.0, level_db=57.0
    ),
}

VELAR_F2_FACTOR = 1.08  # K's F2 locus follows the adjacent vowel's F2 (front and back velars)
LOCUS_BLEND = 0.55  # vowel onset = locus + LOCUS_BLEND * (target - locus), as in locus equations
