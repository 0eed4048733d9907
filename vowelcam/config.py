"""Settings: frozen dataclasses with defaults < TOML config file < command-line flags.

Every run writes its fully resolved settings to ``config.toml``; ``vowelcam analyze --config FILE`` reads such
a file back. Unknown sections or keys are config errors (a typo must not pass silently).
"""

from __future__ import annotations

import dataclasses
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any

import tomli_w

if sys.version_info >= (3, 11):
    import tomllib
else:  # Python 3.10: the same parser, as the tomli package (a dependency there only)
    import tomli as tomllib

from ._version import __version__
from .checks.settings_rules import check_value
from .errors import ConfigError
from .rundir import atomic_write_text


@dataclass(frozen=True)
class CorpusSettings:
    """How to find audio/label pairs, tiers and speakers."""

    words_tier: str = ""  # "" = detect (words, word, "<speaker> - words", ...)
    phones_tier: str = ""  # "" = detect (phones, phone, "<speaker> - phones", a lone interval tier)
    speaker_pattern: str = ""  # regex with a named group 'speaker' (and optional 'group') on the relative path
    speaker_from: str = "auto"  # auto | tiers | pattern | folder | file
    speaker_groups: str = ""  # CSV file speaker,group (group: men/women/children or m/w/c) for formant ceilings
    audio_extensions: tuple[str, ...] = (".wav", ".flac")
    carry_tiers: tuple[str, ...] = ()  # other tiers whose label at the token's midpoint becomes a column tier_<name>


@dataclass(frozen=True)
class LabelSettings:
    """Which labels become tokens."""

    convention: str = "auto"  # auto | arpabet | timit | ipa | path to a mapping CSV
    vowel_set: str = "all"  # corner | monophthongs | hillenbrand12 | all | comma list of ARPAbet classes
    stress: str = "any"  # any | stressed (1 or 2) | primary (1) | unstressed (0)
    min_duration_ms: float = 0.0
    include_unvoiced: bool = True  # also extract P T K CH F TH S SH HH as class-'unvoiced' tokens


@dataclass(frozen=True)
class MeasureSettings:
    """Praat measurement settings (see vowelcam.acoustics.praat).

    The ceilings are the centres of the per-token ceiling search (with 5.5 formants, as Fast Track uses; the
    classic single-ceiling values for 5 formants are 500 Hz lower). Defaults were chosen on Hillenbrand et al.
    (1995) against its hand-edited formants (bench/bench_formants.py).
    """

    max_formants: float = 5.5
    ceiling_men: float = 5500.0
    ceiling_women: float = 6000.0
    ceiling_children: float = 7000.0
    ceiling_search: bool = True  # choose a ceiling per token from a range around the group's (Fast Track style)
    ceiling_steps: int = 5  # 5 within +-18 %: as accurate as 7 on Hillenbrand 1995, 26 % faster (bench_formants)
    ceiling_span: float = 0.18  # +- fraction around the group ceiling searched
    pitch_floor: float = 60.0
    pitch_ceiling: float = 500.0
    time_step: float = 0.005
    ceiling_unknown: float = 6000.0  # centre of the search when the speaker group is unknown
    ceiling_steps_unknown: int = 12
    ceiling_span_unknown: float = 0.3
    ceiling_prior: float = 0.02  # weight of (log(ceiling / centre))^2 added to a candidate's roughness
    window_length: float = 0.025  # Praat's "window length" (the Gaussian window spans twice this)
    pre_emphasis_from: float = 50.0
    track_frames: int = 9  # Burg frames per token, evenly spread over [track_from, 1 - track_from]
    track_from: float = 0.1
    smooth_order: int = 5  # DCT terms fitted to each log-formant track to judge a ceiling
    max_missing: float = 0.34  # a ceiling whose F1-F3 frames are missing more often than this is refused
    missing_penalty: float = 0.05  # roughness added per fraction of missing F1-F3 frames
    f1_max: float = 1200.0  # a ceiling whose median F1 is above this is implausible
    b2_max: float = 600.0  # ... or whose median B2 / B3 is wider than this (a spurious pole, not a formant)
    b3_max: float = 800.0
    f1_pool: int = 2  # F1 = median over the chosen ceiling and this many neighbours on each side (0 = chosen)
    f0_frames: int = 7  # pitch frames over the middle 60 % of the token
    band_fraction: float = 0.975  # formant analyses stop at this fraction of Nyquist (see acoustics/band.py)
    track_step: float = 0.05  # tracks.csv: F1-F3 every this fraction of the vowel, chosen ceiling (0 = no tracks)
    points: tuple[int, ...] = (20, 50, 80)  # % of the vowel with wide f1_<p>..f3_<p> columns (20/50/80 always)
    dct_order: int = 5  # DCT coefficients per formant track in tokens.csv (f1_dct0..)


@dataclass(frozen=True)
class SpectrogramSettings:
    """Linear-frequency dB spectrograms with an explicit Hz axis.

    Defaults: audio resampled to 16 kHz; 512-point FFT (31.25 Hz per bin, so formants ~100 Hz wide span
    several rows); a 15 ms Hann window, short enough to smooth the harmonics of most voices into formant bands
    while keeping them visible for low voices; 5 ms hop; 96 frames (480 ms) centred on the vowel, so a long
    Hillenbrand vowel fits with context and duration remains a visible cue. ``max_freq`` 4000 = the study's
    Exp 2/3 band; 0 = full band (Nyquist of ``sample_rate``).
    """

    sample_rate: int = 16000
    n_fft: int = 512
    window_ms: float = 15.0
    hop_ms: float = 5.0
    n_frames: int = 96
    max_freq: float = 0.0
    db_floor: float = -100.0  # dB re full scale; values are clipped below
    dtype: str = "float16"


@dataclass(frozen=True)
class ExtractSettings:
    """Execution of extraction."""

    jobs: int = 1
    chunk_files: int = 16  # files per resumable chunk (and per parallel job)
    chunk_seconds: float = 300.0  # seconds of audio per chunk at most; a longer recording is cut into windows


@dataclass(frozen=True)
class TrainSettings:
    """Training (see vowelcam.learn.train)."""

    task: str = "vowels"  # vowels | vowels4k | voicing
    arch: str = "auto"  # auto (resnet101 on CUDA, resnet18-w16 on a CPU) | resnet18..101 | resnet18-w32 | resnet18-w16
    pretrained: bool = False
    weights: str = "auto"  # auto (the base model for a small corpus it fits) | none | base | a weights file
    epochs: int = 0  # 0 = auto: enough for ~1400 optimizer steps, 30..300 (vowelcam.learn.plan.recipe)
    batch_size: int = 0  # 0 = auto: 16 below 1000 training tokens, else 32
    lr: float = 0.0  # 0 = auto: 1e-3 from random or ImageNet weights, 1e-4 fine-tuning a vowelcam model
    weight_decay: float = 1e-4
    patience: int = 0  # 0 = auto: a quarter of the epochs, at least 8
    seed: int = 0
    folds: int = 0  # 0 = one held-out split; k >= 2 = grouped k-fold
    group_by: str = "auto"  # split groups: auto | speaker | recording (auto never falls back silently)
    val_fraction: float = 0.15
    test_fraction: float = 0.2
    max_hz_per_row: float = 125.0  # at the CAM layer (layer4); 0 = standard ResNet strides
    workers: int = 0
    vowels: str = "all"  # corner | monophthongs | hillenbrand12 | all | comma list of ARPAbet classes
    schedule: str = "cosine"  # cosine | plateau
    augment: bool = True  # time shift, time mask, noise, gain (axis-preserving only)
    class_weighting: bool = True  # inverse-frequency class weights in the loss
    label_smoothing: float = 0.0
    freq_pool: int = 1  # average the input over this many rows (coarser spectrogram, faster CPU training)
    time_pool: int = 1  # ... and this many frames
    eval_batch_size: int = 0  # inference batch; 0 = batch_size on a CPU, 256 on CUDA
    precision: str = "auto"  # training steps: auto (bf16 on CUDA and on CPUs with bf16 instructions) | fp32 | bf16
    compile: bool = False  # torch.compile the training model (falls back to eager, with a warning, if it fails)
    min_class_tokens: int = 5  # classes with fewer tokens are left out before splitting (model/problems.csv):
    # fewer cannot be spread over train, validation and test with more than a token or two left to learn from


@dataclass(frozen=True)
class CamSettings:
    """CAM computation and band analysis (see vowelcam.explain)."""

    method: str = "gradcam"
    layer: str = ""
    band_halfwidth_hz: float = 0.0  # 0 = +- half the token's measured bandwidth (at least 50 Hz)
    band_min_halfwidth_hz: float = 50.0
    tokens: str = "test"  # test | all
    bootstrap: int = 1000
    reference: str = "h95"  # h95 | pb52
    batch_size: int = 0  # tokens per CAM batch; 0 = 32 on a CPU, 256 on CUDA
    # --- calibrated verdicts (vowelcam.explain.verdict_stage): every instrument read the same way ---
    verdicts: bool = True  # readings.csv and verdicts.csv, each verdict gated by the instrument's calibration
    instruments: str = "auto"  # comma list of METHOD@LAYER | occlusion | integrated-gradients; auto = all calibrated
    # training seeds of the replicates (vowelcam.explain.replication): the network trained again with each, read the
    # same way, recurrence.csv says which verdicts recur in most runs; "" = no replicates; "auto" = two more seeds
    # when that costs at most replicate_max_seconds (twice the run's training time; vowelcam.explain.evidence.plan)
    replicate_seeds: str = "auto"
    replicate_max_seconds: float = 300.0
    # --- faithfulness (vowelcam.explain.evidence: deletion, randomisation, warp) ---
    faithfulness: bool = True  # run band deletion, randomisation and vocal-tract-length warp tests
    deletion_width_hz: float = 250.0  # band_deletion width (top-CAM, top-energy and energy-matched random bands)
    deletion_widths_hz: str = "125,250,500,1000"  # deletion_curve widths (comma list; "" = the main width only)
    deletion_random_draws: int = 2  # energy-matched random bands per token, averaged
    deletion_energy_tolerance_db: float = 3.0  # random bands' mean dB within this of the top-CAM band's
    warp_factors: str = "0.9,1.1"  # vtl_warp: spectral-envelope frequency scale factors (comma list)
    randomisation_seeds: int = 2  # cascading randomisation repeated with this many seeds
    randomisation_max_tokens: int = 64  # randomisation on a random subset of at most this many tokens
    label_permutation: bool = False  # also train the top block on permuted labels (opt-in: costs a short training)
    permutation_epochs: int = 6
    noise_percentile: float = 5.0  # the energy control map: dB above this percentile of the token's own dB
    faithfulness_max_tokens: int = 1000  # a random subset above this
    # --- causal formant test (vowelcam.explain.evidence.causal; needs the corpus audio) ---
    causal: str = "auto"  # auto: run when the corpus audio is reachable (always in analyze) | on | off
    causal_corpus: str = ""  # the corpus folder tokens.csv's file paths are relative to ("" = sources.json's)
    # Fk+-d: formant k moved d Bark; vtlX: all x X; notchKL: a 1-Bark notch between Fk and Fl (F4 and the notches
    # are the shams the causal verdicts compare the moves with)
    causal_manipulations: str = "F1+1,F1-1,F2+1,F2-1,F3+1,F3-1,F4+1,F4-1,notch12,notch23,vtl0.9,vtl1.1"
    causal_max_tokens: int = 200  # a random subset of the explained tokens above this
    seed: int = 0


@dataclass(frozen=True)
class ReportSettings:
    """Report rendering."""

    gallery_size: int = 12
    title: str = "vowelcam report"


@dataclass(frozen=True)
class Settings:
    """All settings of a run, one section per stage."""

    corpus: CorpusSettings = field(default_factory=CorpusSettings)
    labels: LabelSettings = field(default_factory=LabelSettings)
    measure: MeasureSettings = field(default_factory=MeasureSettings)
    spectrogram: SpectrogramSettings = field(default_factory=SpectrogramSettings)
    extract: ExtractSettings = field(default_factory=ExtractSettings)
    train: TrainSettings = field(default_factory=TrainSettings)
    cam: CamSettings = field(default_factory=CamSettings)
    report: ReportSettings = field(default_factory=ReportSettings)

    def to_dict(self) -> dict[str, dict[str, Any]]:
        """Plain nested dict (tuples as lists) for TOML."""
        out: dict[str, dict[str, Any]] = {}
        for f in fields(self):
            section = dataclasses.asdict(getattr(self, f.name))
            out[f.name] = {k: list(v) if isinstance(v, tuple) else v for k, v in section.items()}
        return out

    def with_overrides(self, overrides: Mapping[str, Mapping[str, Any]]) -> Settings:
        """A copy with ``{section: {key: value}}`` applied; ``None`` values are ignored (unset flags).

        Every value is checked by :mod:`vowelcam.checks.settings_rules` (type, range, choices, lists): a
        :class:`ConfigError` with one line per bad key, all of them at once."""
        updated, problems = {}, []
        for section_name, values in overrides.items():
            section, section_problems = _section(self, section_name)
            if section is not None:
                clean = {k: v for k, v in values.items() if v is not None}
                updated[section_name], more = _replace_checked(section, section_name, clean)
                section_problems += more
            problems += section_problems
        if problems:
            raise ConfigError("\n".join(problems))
        return replace(self, **updated)


def _section(settings: Settings, name: str) -> tuple[Any, list[str]]:
    known = [f.name for f in fields(settings)]
    if name not in known:
        return None, [f"unknown config section [{name}]; known: {', '.join(known)}"]
    return getattr(settings, name), []


def _replace_checked(section: Any, section_name: str, values: Mapping[str, Any]) -> tuple[Any, list[str]]:
    known = {f.name for f in fields(section)}
    checked, problems = {}, []
    for key, value in values.items():
        if key not in known:
            problems.append(f"unknown setting {section_name}.{key}; known: {', '.join(sorted(known))}")
            continue
        checked[key], problem = check_value(f"{section_name}.{key}", value, getattr(section, key))
        if problem:
            problems.append(problem)
    return (section if problems else replace(section, **checked)), problems


def load_settings(path: str | Path | None = None, base: Settings | None = None) -> Settings:
    """Defaults, overridden by a TOML file when given."""
    settings = base or Settings()
    if path is None:
        return settings
    path = Path(path)
    data = _read_toml(path)
    data.pop("vowelcam", None)  # provenance block written by save_settings
    for name, section in data.items():
        if not isinstance(section, dict):
            raise ConfigError(f"{path}: top-level key {name!r} must be a [section]")
    try:
        return settings.with_overrides(data)
    except ConfigError as exc:  # one line per bad key, each naming the file
        raise ConfigError("\n".join(f"{path}: {line}" for line in str(exc).splitlines())) from None


def _read_toml(path: Path) -> dict[str, Any]:
    """A config file's tables; ConfigError (one line, what to do) when it is not a readable UTF-8 TOML file."""
    try:
        return tomllib.loads(path.read_bytes().decode("utf-8-sig"))  # a BOM (Windows editors) is fine
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read config file ({exc.strerror})") from None
    except UnicodeDecodeError as exc:
        raise ConfigError(
            f"{path}: not a UTF-8 text file (byte 0x{exc.object[exc.start]:02x} at offset {exc.start}); "
            "a config file is TOML saved as UTF-8, like a run's config.toml"
        ) from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML ({' '.join(str(exc).split())}); see a run's config.toml") from None


def save_settings(settings: Settings, path: str | Path) -> None:
    """Write the resolved settings as TOML, atomically."""
    data = {"vowelcam": {"version": __version__}, **settings.to_dict()}
    atomic_write_text(path, tomli_w.dumps(data))
