"""The rules every setting value obeys, from a flag, a TOML config file or a keyword of the API alike.

A value must have its default's type (no silent coercion: ``epochs = 3.9`` is refused, not truncated to 3;
``augment = "maybe"`` is refused, not read as false; ``audio_extensions = ".wav"`` is refused, not split into
characters), lie in the setting's range and be one of its choices. :func:`check_value` returns the value to use
or the one line that says what is wrong; :mod:`vowelcam.config` collects those lines, one per bad key.

The ranges repeat the flags' ``min=``/``max=`` and the choices their Enums (:mod:`vowelcam.commands.choices`);
``tests/test_config_values.py`` checks that they agree.
"""

from __future__ import annotations

import json
import math
import numbers
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

TRUE_WORDS = ("true", "yes", "on", "1")
FALSE_WORDS = ("false", "no", "off", "0")
SWITCH = ("auto", "on", "off")


@dataclass(frozen=True)
class Rule:
    """Range (inclusive ``low``/``high``; ``positive`` = strictly above 0), choices, list items, or a check."""

    low: float | None = None
    high: float | None = None
    positive: bool = False
    choices: tuple[str, ...] = ()
    item: type | None = None  # for lists: the type of every item
    check: Callable[[Any], str] | None = None  # "" when fine, else what is wrong
    switch: bool = False  # auto | on | off, where true/false (an older run's config) mean on/off


def _folds(value: int) -> str:
    return "" if value == 0 or value >= 2 else "use 0 (one held-out split) or at least 2 (k-fold)"


def _extensions(value: tuple[str, ...]) -> str:
    bad = [e for e in value if not e.startswith(".") or len(e) < 2]
    return f"extensions start with a dot, e.g. \".wav\"; not {', '.join(map(repr, bad))}" if bad else ""


def _percentages(value: tuple[int, ...]) -> str:
    return "" if all(0 <= p <= 100 for p in value) else "percentages of the vowel lie in 0..100"


def _positive_list(text: str) -> str:
    """A comma list of positive numbers ("" allowed)."""
    try:
        numbers = [float(x) for x in text.split(",") if x.strip()]
    except ValueError:
        return "expected a comma list of numbers such as \"125,250,500\""
    return "" if all(n > 0 and math.isfinite(n) for n in numbers) else "every number must be above 0"


def _cam_method(name: str) -> str:
    from ..explain.errors import UnknownMethodError  # the registry imports no torch
    from ..explain.maps.methods import check_method

    try:
        check_method(name)
    except UnknownMethodError as exc:
        return str(exc)
    return ""


AT_LEAST_0 = Rule(low=0)
AT_LEAST_1 = Rule(low=1)
POSITIVE = Rule(positive=True)
FRACTION = Rule(low=0, high=1)

RULES: dict[str, Rule] = {
    # corpus
    "corpus.speaker_from": Rule(choices=("auto", "tiers", "pattern", "folder", "file")),
    "corpus.audio_extensions": Rule(item=str, check=_extensions),
    "corpus.carry_tiers": Rule(item=str),
    # labels
    "labels.stress": Rule(choices=("any", "stressed", "primary", "unstressed")),
    "labels.min_duration_ms": AT_LEAST_0,
    # measure
    "measure.max_formants": POSITIVE,
    "measure.ceiling_men": POSITIVE,
    "measure.ceiling_women": POSITIVE,
    "measure.ceiling_children": POSITIVE,
    "measure.ceiling_unknown": POSITIVE,
    "measure.ceiling_steps": AT_LEAST_1,
    "measure.ceiling_steps_unknown": AT_LEAST_1,
    "measure.ceiling_span": Rule(low=0, high=0.9),
    "measure.ceiling_span_unknown": Rule(low=0, high=0.9),
    "measure.ceiling_prior": AT_LEAST_0,
    "measure.pitch_floor": POSITIVE,
    "measure.pitch_ceiling": POSITIVE,
    "measure.time_step": POSITIVE,
    "measure.window_length": POSITIVE,
    "measure.pre_emphasis_from": AT_LEAST_0,
    "measure.track_frames": AT_LEAST_1,
    "measure.track_from": Rule(low=0, high=0.5),
    "measure.smooth_order": AT_LEAST_1,
    "measure.max_missing": FRACTION,
    "measure.missing_penalty": AT_LEAST_0,
    "measure.f1_max": POSITIVE,
    "measure.b2_max": POSITIVE,
    "measure.b3_max": POSITIVE,
    "measure.f1_pool": AT_LEAST_0,
    "measure.f0_frames": AT_LEAST_1,
    "measure.band_fraction": Rule(positive=True, high=1),
    "measure.track_step": Rule(low=0, high=0.5),
    "measure.points": Rule(item=int, check=_percentages),
    "measure.dct_order": AT_LEAST_0,
    # spectrogram
    "spectrogram.sample_rate": AT_LEAST_1,
    "spectrogram.n_fft": AT_LEAST_1,
    "spectrogram.window_ms": POSITIVE,
    "spectrogram.hop_ms": POSITIVE,
    "spectrogram.n_frames": AT_LEAST_1,
    "spectrogram.max_freq": AT_LEAST_0,
    "spectrogram.dtype": Rule(choices=("float16", "float32")),
    # extract
    "extract.jobs": AT_LEAST_1,
    "extract.chunk_files": AT_LEAST_1,
    "extract.chunk_seconds": POSITIVE,
    # train
    "train.task": Rule(choices=("vowels", "vowels4k", "voicing")),
    "train.arch": Rule(
        choices=("auto", "resnet18", "resnet34", "resnet50", "resnet101", "resnet18-w32", "resnet18-w16")
    ),
    "train.epochs": AT_LEAST_0,  # 0 = auto (vowelcam.learn.plan.recipe)
    "train.batch_size": AT_LEAST_0,
    "train.lr": AT_LEAST_0,  # 0 = auto (vowelcam.learn.plan.initial)
    "train.weight_decay": AT_LEAST_0,
    "train.patience": AT_LEAST_0,
    "train.folds": Rule(low=0, check=_folds),
    "train.group_by": Rule(choices=("auto", "speaker", "recording")),
    "train.val_fraction": Rule(low=0, high=0.9),
    "train.test_fraction": Rule(low=0, high=0.9),
    "train.max_hz_per_row": AT_LEAST_0,
    "train.workers": AT_LEAST_0,
    "train.schedule": Rule(choices=("cosine", "plateau")),
    "train.label_smoothing": Rule(low=0, high=0.99),
    "train.freq_pool": AT_LEAST_1,
    "train.time_pool": AT_LEAST_1,
    "train.eval_batch_size": AT_LEAST_0,
    "train.precision": Rule(choices=("auto", "fp32", "bf16")),
    "train.min_class_tokens": AT_LEAST_1,
    # cam
    "cam.method": Rule(check=_cam_method),
    "cam.layer": Rule(choices=("", "layer1", "layer2", "layer3", "layer4")),
    "cam.tokens": Rule(choices=("test", "all")),
    "cam.band_halfwidth_hz": AT_LEAST_0,
    "cam.band_min_halfwidth_hz": AT_LEAST_0,
    "cam.bootstrap": AT_LEAST_0,
    "cam.batch_size": AT_LEAST_0,
    "cam.deletion_width_hz": POSITIVE,
    "cam.deletion_widths_hz": Rule(check=_positive_list),
    "cam.deletion_random_draws": AT_LEAST_1,
    "cam.deletion_energy_tolerance_db": AT_LEAST_0,
    "cam.warp_factors": Rule(check=_positive_list),
    "cam.randomisation_seeds": AT_LEAST_1,
    "cam.randomisation_max_tokens": AT_LEAST_1,
    "cam.permutation_epochs": AT_LEAST_1,
    "cam.noise_percentile": Rule(low=0, high=100),
    "cam.faithfulness_max_tokens": AT_LEAST_1,
    "cam.causal_max_tokens": AT_LEAST_1,
    "cam.causal": Rule(choices=SWITCH, switch=True),
    "cam.replicate_max_seconds": AT_LEAST_0,
    # report
    "report.gallery_size": AT_LEAST_0,
}


def shown(value: Any) -> str:
    """A value as it would be written in TOML (``3.9``, ``"maybe"``, ``[".wav"]``)."""
    try:
        return json.dumps(list(value) if isinstance(value, tuple) else value, ensure_ascii=False)
    except (TypeError, ValueError):
        return repr(value)


def check_value(key: str, value: Any, default: Any) -> tuple[Any, str]:
    """``(value to use, "")`` when ``value`` suits setting ``key`` (``"section.name"``, whose built-in default is
    ``default``), else ``(None, "section.name = VALUE: what is wrong")``."""
    rule = RULES.get(key, Rule())
    typed, problem = _switch(value) if rule.switch else _typed(value, default, rule)
    if not problem:
        problem = _in_range(typed, rule) or (rule.check(typed) if rule.check else "")
    return (None, f"{key} = {shown(value)}: {problem}") if problem else (typed, "")


def _typed(value: Any, default: Any, rule: Rule) -> tuple[Any, str]:
    """The value as the default's type, or what was expected instead."""
    if isinstance(default, bool):
        return _boolean(value)
    if isinstance(default, tuple):
        return _list(value, rule.item or str)
    if isinstance(default, int):
        ok = isinstance(value, numbers.Integral) and not isinstance(value, bool)
        return (int(value), "") if ok else (None, "expected a whole number")
    if isinstance(default, float):
        ok = isinstance(value, numbers.Real) and not isinstance(value, bool) and math.isfinite(value)
        return (float(value), "") if ok else (None, "expected a number")
    if isinstance(default, str):
        return (value, "") if isinstance(value, str) else (None, "expected a string in quotes")
    return value, ""


def _switch(value: Any) -> tuple[Any, str]:
    """auto | on | off; true/false (and their words) as on/off."""
    if isinstance(value, str) and value.strip().lower() in SWITCH:
        return value.strip().lower(), ""
    on, problem = _boolean(value)
    return (None, 'expected "auto", "on" or "off"') if problem else ("on" if on else "off", "")


def _boolean(value: Any) -> tuple[Any, str]:
    if isinstance(value, bool):
        return value, ""
    if isinstance(value, str) and value.strip().lower() in TRUE_WORDS + FALSE_WORDS:
        return value.strip().lower() in TRUE_WORDS, ""
    return None, "expected true or false"


def _list(value: Any, item: type) -> tuple[Any, str]:
    example = '[".wav", ".flac"]' if item is str else "[20, 50, 80]"
    if not isinstance(value, (list, tuple)):
        return None, f"expected a list such as {example}"
    ok = all(isinstance(v, item) and not isinstance(v, bool) for v in value)
    return (tuple(value), "") if ok else (None, f"expected a list of {item.__name__} values such as {example}")


def _in_range(value: Any, rule: Rule) -> str:
    if rule.choices:
        return "" if value in rule.choices else f"use one of {', '.join(shown(c) for c in rule.choices)}"
    if not isinstance(value, numbers.Real) or isinstance(value, bool):
        return ""
    if rule.positive and value <= 0:
        return "must be above 0"
    if rule.low is not None and value < rule.low:
        return f"must be at least {rule.low:g}"
    if rule.high is not None and value > rule.high:
        return f"must be at most {rule.high:g}"
    return ""
