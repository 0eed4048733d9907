"""Every closed set of values a flag accepts, in one place, and the checks for the open ones.

An option whose values form a closed set is typed with one of these Enums: Typer then lists the values in
``--help``, completes them in the shell and refuses anything else with a one-line error before the command
runs (so nothing is written). Options with an open form (a named set *or* a list, a name *or* a path, ``cuda:N``)
use a ``check_*`` callback with the same one-line behaviour.

The values repeat constants of the library (``learn.models.ARCHS``, ...) because importing those modules would
import torch at start-up; ``tests/test_cli.py`` checks that both agree. To add a choice: add an Enum here, type the
option with it, and add the library constant to that test. The CAM methods are the exception: their registry
(:mod:`vowelcam.explain.maps.methods`) imports no torch, so :class:`CamMethod` is built from it.
"""

from __future__ import annotations

import re
from enum import Enum
from pathlib import Path
from typing import Optional

import typer

from ..explain.maps.methods import CAM_METHODS


class Task(str, Enum):
    """``--task``: the study's three experiments."""

    vowels = "vowels"  # vowel classes, full band (Exp 1)
    vowels4k = "vowels4k"  # vowel classes below 4 kHz (Exp 2)
    voicing = "voicing"  # vowel vs unvoiced below 4 kHz (Exp 3)


class Arch(str, Enum):
    """``--arch``: auto = resnet101 on a GPU, resnet18-w16 on a CPU; the -w models are ResNet-18s at a quarter
    (w16) or half (w32) of the width, trained from scratch (no ImageNet weights)."""

    auto = "auto"
    resnet18 = "resnet18"
    resnet34 = "resnet34"
    resnet50 = "resnet50"
    resnet101 = "resnet101"
    resnet18_w32 = "resnet18-w32"
    resnet18_w16 = "resnet18-w16"


class Precision(str, Enum):
    """``--precision``: of the training steps (auto = bf16 on CUDA and on CPUs with bf16 instructions)."""

    auto = "auto"
    fp32 = "fp32"
    bf16 = "bf16"


class Schedule(str, Enum):
    """``--schedule``: the learning-rate schedule."""

    cosine = "cosine"
    plateau = "plateau"


class GroupBy(str, Enum):
    """``--group-by``: what a split keeps together (auto: speakers when there are several, else recordings)."""

    auto = "auto"
    speaker = "speaker"
    recording = "recording"


def _member(name: str) -> str:
    """An Enum member name for a choice value (``gradcam++`` -> ``gradcam_pp``)."""
    return re.sub(r"\W", "_", name.replace("++", "_pp"))


CamMethod = Enum("CamMethod", {_member(m): m for m in CAM_METHODS}, type=str, module=__name__)
CamMethod.__doc__ = "``--method``: the CAM methods of the registry :mod:`vowelcam.explain.maps.methods`."


class CamLayer(str, Enum):
    """``--layer``: the ResNet stage whose activations make the map."""

    layer1 = "layer1"
    layer2 = "layer2"
    layer3 = "layer3"
    layer4 = "layer4"


class CamTokens(str, Enum):
    """``--tokens``: which tokens get maps."""

    test = "test"
    all = "all"


class Stress(str, Enum):
    """``--stress``: which vowels by lexical stress."""

    any = "any"
    stressed = "stressed"  # primary or secondary
    primary = "primary"
    unstressed = "unstressed"


class SpeakerFrom(str, Enum):
    """``--speaker-from``: where a token's speaker comes from."""

    auto = "auto"
    tiers = "tiers"
    pattern = "pattern"
    folder = "folder"
    file = "file"


VOWEL_SET_NAMES = ("corner", "monophthongs", "hillenbrand12", "all")
REFERENCE_NAMES = ("h95", "pb52")
LABEL_CONVENTIONS = ("auto", "arpabet", "timit", "ipa", "buckeye")
SPEAKER_GROUPS = ("men", "women", "children")
_DEVICE = re.compile(r"^(auto|cpu|cuda(:\d+)?)$")


def value(choice: object) -> object:
    """The plain value of an Enum member (anything else unchanged): what the settings dataclasses hold."""
    return choice.value if isinstance(choice, Enum) else choice


def check_device(text: str) -> str:
    """``--device``: auto, cpu, cuda or cuda:N."""
    if not _DEVICE.match(text):
        raise typer.BadParameter(f"{text!r} is not a device; use auto, cpu, cuda or cuda:N")
    return text


def check_vowels(text: Optional[str]) -> Optional[str]:
    """``--vowels``: a named set or a comma list of ARPAbet vowels (checked against the label inventory)."""
    if text is None or text.strip().lower() in VOWEL_SET_NAMES:
        return text.strip().lower() if text else text
    from ..corpus.labels import vowel_set  # the inventory (package data), only when a list is given
    from ..errors import ConfigError

    try:
        vowel_set(text)
    except ConfigError as exc:
        raise typer.BadParameter(str(exc)) from None
    return text


def check_reference(text: Optional[str]) -> Optional[str]:
    """``--reference``: h95, pb52 or an existing CSV file."""
    if text is None or text in REFERENCE_NAMES or Path(text).is_file():
        return text
    raise typer.BadParameter(f"{text!r} is neither {' nor '.join(REFERENCE_NAMES)} nor an existing CSV file")


def check_convention(text: Optional[str]) -> Optional[str]:
    """``--labels``: a built-in label convention or an existing mapping CSV."""
    if text is None or text in LABEL_CONVENTIONS or Path(text).is_file():
        return text
    raise typer.BadParameter(f"{text!r} is neither one of {', '.join(LABEL_CONVENTIONS)} nor an existing CSV file")


def check_groups(text: Optional[str]) -> Optional[str]:
    """``synth --groups``: a comma list of men, women, children."""
    if text is None:
        return text
    items = [g.strip().lower() for g in text.split(",") if g.strip()]
    bad = [g for g in items if g not in SPEAKER_GROUPS]
    if not items or bad:
        raise typer.BadParameter(
            f"unknown speaker group(s) {', '.join(bad) or repr(text)}; use a comma list of {', '.join(SPEAKER_GROUPS)}"
        )
    return ",".join(items)
