"""Label conventions (ARPAbet, TIMIT, IPA, Buckeye) mapped to one common inventory, kept as data files.

``vowelcam/corpus/data/inventory.csv`` lists the common classes (ARPAbet symbols without stress, with their IPA,
kind and voicing); ``arpabet.csv`` (CMUdict, MFA's ARPAbet models), ``timit.csv``, ``ipa.csv`` (IPA, including
the phone set of MFA's ``english_mfa`` models) and ``buckeye.csv`` map each convention's labels onto it.

A user may pass a CSV of their own as the convention: ``label,phone[,stress]`` folds labels into the common
classes, and with the columns ``kind`` (vowel | consonant | silence | other) and optionally ``ipa``,
``voicing`` (voiced | unvoiced) a row *defines a new class* named exactly as its ``phone`` (case-sensitive, IPA
welcome: ``y``, ``ø``, ``ɛ̃``), so a French or Māori corpus keeps its own vowels. A user CSV matches labels
exactly first, then case-insensitively with a trailing stress digit split off. Unknown labels are returned as
such, so callers count and report them rather than dropping them silently.
"""

from __future__ import annotations

import csv
import io
import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from pathlib import Path

from ..errors import ConfigError

BUILTIN_CONVENTIONS = ("arpabet", "timit", "ipa", "buckeye")
KINDS = ("vowel", "consonant", "silence", "other")

VOWEL_SETS: dict[str, tuple[str, ...]] = {
    "corner": ("IY", "AE", "AO", "AA", "UW"),  # the study's five corner vowels
    "hillenbrand12": ("IY", "IH", "EY", "EH", "AE", "AA", "AO", "OW", "UH", "UW", "AH", "ER"),
    "monophthongs": ("IY", "IH", "EH", "AE", "AA", "AO", "UH", "UW", "AH", "ER"),
    "all": ("IY", "IH", "EY", "EH", "AE", "AA", "AO", "OW", "UH", "UW", "AH", "ER", "AW", "AY", "OY"),
}
UNVOICED = ("P", "T", "K", "CH", "F", "TH", "S", "SH", "HH")

_STRESS_DIGIT = re.compile(r"^(.*?)([012])$")
_IPA_DROP = {"ː", "ˑ", "\u0361", "\u035c", "ʰ", "ʷ", "ʲ", "˞"}
_IPA_STRESS = {"ˈ": "1", "ˌ": "2"}
_IPA_KEEP = {"\u0327"}  # the cedilla of ç (a letter of its own, not a diacritic to drop)


@dataclass(frozen=True)
class Phone:
    """One class of the common inventory."""

    phone: str
    ipa: str
    kind: str  # vowel | consonant | silence | other
    vowel_type: str
    voicing: str


@dataclass(frozen=True)
class LabelInfo:
    """A label as understood: its class (None when unknown) and stress ('' when the label carries none)."""

    label: str
    phone: Phone | None
    stress: str

    @property
    def known(self) -> bool:
        """Whether the label maps onto the inventory."""
        return self.phone is not None


@lru_cache(maxsize=1)
def inventory() -> dict[str, Phone]:
    """The common inventory by ARPAbet class."""
    rows = _read_csv(resources.files(__package__).joinpath("data/inventory.csv").read_text(encoding="utf-8"))
    return {r["phone"]: Phone(r["phone"], r["ipa"], r["kind"], r["vowel_type"], r["voicing"]) for r in rows}


def arpabet_to_ipa(phone: str) -> str:
    """IPA of an inventory class (``'IY' -> 'i'``); the input back when unknown."""
    entry = inventory().get(phone.upper())
    return entry.ipa if entry and entry.ipa else phone


def to_ipa(phone: str) -> str:
    """The IPA symbol of an ARPAbet class (stress digits ignored): the inventory's, else a fallback table of
    General American values; other labels are returned unchanged."""
    code = phone.strip().upper().rstrip("012")
    try:
        symbol = arpabet_to_ipa(code)
        if symbol and symbol != code:
            return str(symbol)
    except (KeyError, ValueError):
        pass
    return _FALLBACK_IPA.get(code, phone)


def ipa_label(phone: str) -> str:
    """``"i (IY)"`` (IPA first, the class in brackets) for an ARPAbet class, as the report writes it; a label that
    is not ARPAbet (e.g. ``unvoiced``) as it is."""
    symbol = to_ipa(phone)
    return f"{symbol} ({phone})" if symbol != phone else phone


_FALLBACK_IPA: dict[str, str] = {  # classes the inventory lacks (General American values, CMUdict practice)
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


def vowel_set(name: str, extra: dict[str, Phone] | None = None) -> tuple[str, ...]:
    """Vowel classes by set name (corner, hillenbrand12, monophthongs, all) or a comma list of classes.

    ``extra`` holds classes a user label map defined (matched exactly; built-in classes case-insensitively).
    """
    if name in VOWEL_SETS:
        return VOWEL_SETS[name]
    extra = extra or {}
    items = tuple(p.strip() if p.strip() in extra else p.strip().upper() for p in name.split(",") if p.strip())
    known = {**inventory(), **extra}
    bad = [p for p in items if p not in known or known[p].kind != "vowel"]
    if not items or bad:
        raise ConfigError(
            f"unknown vowel set {name!r}"
            + (f" (not vowels: {', '.join(bad)})" if bad else "")
            + f"; use one of {', '.join(VOWEL_SETS)} or a comma list such as IY,AE,UW"
        )
    return items


class LabelMap:
    """One convention's mapping: ``lookup(label) -> LabelInfo``."""

    def __init__(
        self,
        name: str,
        table: dict[str, tuple[str, str]],
        classes: dict[str, Phone] | None = None,
        exact: dict[str, tuple[str, str]] | None = None,
    ):
        self.name = name
        self._table = table  # normalised label -> (phone, stress)
        self._exact = exact or {}  # label as written (NFC) -> (phone, stress); user maps only
        self.classes = classes or {}  # classes this map defines beyond the inventory
        self._is_ipa = name == "ipa"
        self._cache: dict[str, LabelInfo] = {}

    def lookup(self, label: str) -> LabelInfo:
        """Map a raw label; unknown labels come back with ``phone=None``."""
        info = self._cache.get(label)
        if info is None:
            info = self._cache[label] = self._lookup(label)
        return info

    def _lookup(self, label: str) -> LabelInfo:
        key, stress = self._normalise(label)
        hit = self._exact.get(unicodedata.normalize("NFC", label.strip()))
        if hit is not None:
            stress = ""
        else:
            hit = self._table.get(key)
        if hit is None:
            return LabelInfo(label, None, stress)
        phone, table_stress = hit
        entry = self.classes.get(phone) or inventory().get(phone)
        return LabelInfo(label, entry, stress or table_stress)

    def _normalise(self, label: str) -> tuple[str, str]:
        text = label.strip()
        if self._is_ipa:
            return _normalise_ipa(text)
        match = _STRESS_DIGIT.match(text)
        if match and match.group(1):
            return match.group(1).upper(), match.group(2)
        return text.upper(), ""

    def coverage(self, labels: Iterable[str]) -> float:
        """Share of distinct labels this convention knows (used to detect the convention)."""
        labels = set(labels)
        return sum(self.lookup(lab).known for lab in labels) / len(labels) if labels else 0.0


def _normalise_ipa(text: str) -> tuple[str, str]:
    stress = ""
    kept = []
    for ch in unicodedata.normalize("NFD", text):
        if ch in _IPA_STRESS:
            stress = _IPA_STRESS[ch]
        elif ch in _IPA_DROP or (unicodedata.combining(ch) and ch not in _IPA_KEEP):
            continue
        else:
            kept.append(ch)
    return unicodedata.normalize("NFC", "".join(kept)).lower(), stress


@lru_cache(maxsize=16)
def load_convention(name_or_path: str) -> LabelMap:
    """A built-in convention by name, or a user CSV (``label,phone[,stress]``) by path."""
    if name_or_path in BUILTIN_CONVENTIONS:
        text = resources.files(__package__).joinpath(f"data/{name_or_path}.csv").read_text(encoding="utf-8")
        name = name_or_path
    else:
        path = Path(name_or_path)
        try:
            text = path.read_text(encoding="utf-8")
        except OSError:
            raise ConfigError(
                f"label convention {name_or_path!r}: neither {', '.join(BUILTIN_CONVENTIONS)} nor a readable CSV file"
            ) from None
        name = path.stem
    if name_or_path in BUILTIN_CONVENTIONS:
        return LabelMap(name, _builtin_table(name, _read_csv(text)))
    return _user_map(name, name_or_path, _read_csv(text))


def _builtin_table(name: str, rows: list[dict[str, str]]) -> dict[str, tuple[str, str]]:
    table: dict[str, tuple[str, str]] = {}
    for row in rows:
        phone = (row.get("phone") or "").strip().upper()
        if phone not in inventory():
            raise ConfigError(
                f"label map {name}: class {phone!r} of label {row.get('label')!r} is not in the inventory"
            )
        key = row["label"].strip()
        table[_normalise_ipa(key)[0] if name == "ipa" else key.upper()] = (phone, (row.get("stress") or "").strip())
    return table


def _user_map(name: str, path: str, rows: list[dict[str, str]]) -> LabelMap:
    """A user CSV: rows fold labels into inventory classes or, with a ``kind``, define classes of their own."""
    rows = [{k: (v or "").strip() for k, v in row.items() if k} for row in rows]
    classes: dict[str, Phone] = {}
    for line, row in enumerate(rows, start=2):  # first the classes this file defines, wherever they are
        if row.get("kind"):
            phone = unicodedata.normalize("NFC", row.get("phone", ""))
            classes[phone] = _new_class(path, line, phone, row, classes.get(phone))
    table, exact = {}, {}
    for line, row in enumerate(rows, start=2):
        label, phone = row.get("label", ""), unicodedata.normalize("NFC", row.get("phone", ""))
        if phone not in classes:
            if phone.upper() not in inventory():
                raise ConfigError(
                    f"label map {path} line {line}: class {phone!r} of label {label!r} is not in the "
                    "inventory; give it a 'kind' column (vowel/consonant/silence/other) to define it"
                )
            phone = phone.upper()
        entry = (phone, row.get("stress", ""))
        exact[unicodedata.normalize("NFC", label)] = entry
        table[label.upper()] = entry
    return LabelMap(name, table, classes, exact)


def _new_class(path: str, line: int, phone: str, row: dict[str, str], before: Phone | None) -> Phone:
    kind = row["kind"].lower()
    if kind not in KINDS:
        raise ConfigError(f"label map {path} line {line}: kind {row['kind']!r} is not one of {', '.join(KINDS)}")
    builtin = inventory().get(phone)
    if builtin is not None and builtin.kind != kind:
        raise ConfigError(f"label map {path} line {line}: {phone!r} is a built-in {builtin.kind}, not a {kind}")
    if builtin is not None:
        return builtin
    if not phone:
        raise ConfigError(f"label map {path} line {line}: empty class name")
    if before is not None and before.kind != kind:
        raise ConfigError(f"label map {path} line {line}: class {phone!r} defined as {before.kind} and {kind}")
    voicing = row.get("voicing", "") or ("voiced" if kind == "vowel" else "")
    return Phone(phone, row.get("ipa", "") or phone, kind, row.get("vowel_type", ""), voicing)


def detect_convention(labels: Iterable[str]) -> LabelMap:
    """The built-in convention that knows the most of ``labels`` (ties: ARPAbet, TIMIT, IPA, Buckeye)."""
    labels = [lab for lab in labels if lab.strip()]
    maps = [load_convention(name) for name in BUILTIN_CONVENTIONS]
    return max(maps, key=lambda m: m.coverage(labels))  # max keeps the first of equal scores


def _read_csv(text: str) -> list[dict[str, str]]:
    lines = [ln for ln in text.splitlines() if not ln.startswith("#")]
    return list(csv.DictReader(io.StringIO("\n".join(lines))))
