"""IPA labels for the report: "i (IY)", IPA first, the ARPAbet class in brackets.

The lead's ``vowelcam.corpus.labels`` may expose ``arpabet_to_ipa``; when it does, it is used, so the report and
the corpus agree on symbols. This table is the fallback (General American values, as in CMUdict practice).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Optional

ARPABET_TO_IPA: dict[str, str] = {
    # monophthongs
    "IY": "i",
    "IH": "ɪ",
    "EH": "ɛ",
    "AE": "æ",
    "AA": "ɑ",
    "AO": "ɔ",
    "UH": "ʊ",
    "UW": "u",
    "AH": "ʌ",
    "ER": "ɝ",
    "AX": "ə",
    "AXR": "ɚ",
    "IX": "ɨ",
    "UX": "ʉ",
    # diphthongs
    "EY": "eɪ",
    "OW": "oʊ",
    "AY": "aɪ",
    "AW": "aʊ",
    "OY": "ɔɪ",
    # consonants
    "P": "p",
    "T": "t",
    "K": "k",
    "B": "b",
    "D": "d",
    "G": "ɡ",
    "CH": "tʃ",
    "JH": "dʒ",
    "F": "f",
    "V": "v",
    "TH": "θ",
    "DH": "ð",
    "S": "s",
    "Z": "z",
    "SH": "ʃ",
    "ZH": "ʒ",
    "HH": "h",
    "M": "m",
    "N": "n",
    "NG": "ŋ",
    "L": "l",
    "R": "ɹ",
    "W": "w",
    "Y": "j",
    "DX": "ɾ",
    "Q": "ʔ",
    "EL": "l̩",
    "EM": "m̩",
    "EN": "n̩",
}


def _corpus_lookup() -> Optional[Callable[[str], str]]:
    try:
        from ..corpus.labels import arpabet_to_ipa  # type: ignore[attr-defined]
    except (ImportError, AttributeError):
        return None
    return arpabet_to_ipa if callable(arpabet_to_ipa) else None


def to_ipa(phone: str) -> str:
    """The IPA symbol of an ARPAbet class (stress digits ignored); other labels are returned unchanged."""
    code = phone.strip().upper().rstrip("012")
    lookup = _corpus_lookup()
    if lookup is not None:
        try:
            symbol = lookup(code)
            if symbol and symbol != code:
                return str(symbol)
        except (KeyError, ValueError):
            pass
    return ARPABET_TO_IPA.get(code, phone)


def ipa_label(phone: str) -> str:
    """``"i (IY)"`` for an ARPAbet class; a label that is not ARPAbet (e.g. ``unvoiced``) as it is."""
    symbol = to_ipa(phone)
    return f"{symbol} ({phone})" if symbol != phone else phone
