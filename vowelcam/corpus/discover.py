"""Find audio / label-file pairs in a corpus: one folder or two, nested folders, paired by relative path or stem.

Audio without labels and labels without audio are reported as problems, not fatal. TIMIT-style ``.phn``
(+ ``.wrd``) files are used where no TextGrid exists for a recording.

Symbolic links are followed once: a folder or file whose real path was already visited (a link to a parent
folder, two links to one folder, a link beside its target) is skipped and reported in ``problems.csv``, so no
recording is extracted twice and no link loop is walked.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from ..errors import ConfigError, DataProblem
from ..rundir import STAMP

log = logging.getLogger(__name__)

AUDIO_EXTENSIONS = (".wav", ".flac")
TEXTGRID_EXTENSIONS = (".textgrid",)
TIMIT_EXTENSIONS = (".phn",)


@dataclass(frozen=True)
class Pair:
    """One recording and its label file (``labels`` is a TextGrid or a TIMIT ``.phn``)."""

    audio: Path
    labels: Path
    rel: str  # audio path relative to the corpus root, POSIX style: stable id and resume key

    @property
    def is_timit(self) -> bool:
        """Whether the labels are TIMIT ``.phn`` sample offsets."""
        return self.labels.suffix.lower() in TIMIT_EXTENSIONS


@dataclass
class Discovery:
    """Pairs found, plus what could not be paired."""

    pairs: list[Pair]
    problems: list[DataProblem]
    n_audio: int
    n_labels: int


def _files(root: Path, skipped: list[DataProblem] | None = None) -> list[Path]:
    """Every file under ``root``, sorted, skipping hidden items, vowelcam run directories (their outputs) and
    anything already reached through another path (symlinks followed once); what was skipped goes to ``skipped``.
    """
    skipped = [] if skipped is None else skipped
    seen_dirs = {os.path.realpath(root)}
    seen_files: dict[str, str] = {}
    found = []
    for folder, dirs, names in os.walk(root, followlinks=True):
        if STAMP in names:
            dirs[:] = []
            continue
        kept = []
        for d in sorted(d for d in dirs if not d.startswith(".")):
            real = os.path.realpath(os.path.join(folder, d))
            if real in seen_dirs:
                skipped.append(
                    DataProblem(
                        os.path.join(folder, d),
                        "folder reached twice (skipped)",
                        f"a link to {real}, which is already part of the corpus",
                    )
                )
                continue
            seen_dirs.add(real)
            kept.append(d)
        dirs[:] = kept
        for name in sorted(n for n in names if not n.startswith(".")):
            path = os.path.join(folder, name)
            real = os.path.realpath(path)
            if not os.path.isfile(real):
                continue
            if real in seen_files:
                skipped.append(DataProblem(path, "file reached twice (skipped)", f"same file as {seen_files[real]}"))
                continue
            seen_files[real] = path
            found.append(path)
    return sorted(Path(f) for f in found)  # Path order: by folder, then name


def _with_extension(files: list[Path], extensions: Iterable[str]) -> list[Path]:
    exts = tuple(e.lower() for e in extensions)
    return [f for f in files if f.suffix.lower() in exts]


def _key(path: Path, root: Path) -> str:
    return path.relative_to(root).with_suffix("").as_posix().lower()


def discover(
    corpus: str | Path, textgrids: str | Path | None = None, audio_extensions: Iterable[str] = AUDIO_EXTENSIONS
) -> Discovery:
    """Pair every audio file under ``corpus`` with its TextGrid (in ``textgrids`` or beside it) or ``.phn``."""
    corpus = Path(corpus)
    tg_root = Path(textgrids) if textgrids else corpus
    for folder, what in ((corpus, "corpus"), (tg_root, "TextGrid")):
        if not folder.is_dir():
            raise ConfigError(f"{what} folder {folder} does not exist or is not a folder")
    skipped: list[DataProblem] = []
    corpus_files = _files(corpus, skipped)
    label_files = _files(tg_root, skipped) if textgrids else corpus_files
    audio = _with_extension(corpus_files, audio_extensions)
    grids = _with_extension(label_files, TEXTGRID_EXTENSIONS)
    timit = _with_extension(corpus_files, TIMIT_EXTENSIONS) + (
        _with_extension(label_files, TIMIT_EXTENSIONS) if textgrids else []
    )
    by_rel = {_key(p, tg_root): p for p in grids}
    by_rel_timit = {_key(p, p_root): p for p_root in {corpus, tg_root} for p in timit if p_root in p.parents}
    by_stem = _unique_by_stem(grids)
    by_stem_timit = _unique_by_stem(timit)
    pairs, problems, used = [], list(skipped), set()
    for wav in audio:
        key = _key(wav, corpus)
        stem = wav.stem.lower()
        label = by_rel.get(key) or by_stem.get(stem) or by_rel_timit.get(key) or by_stem_timit.get(stem)
        if label is None:
            problems.append(DataProblem(wav, "no label file", f"no TextGrid or .phn named {wav.stem}.*"))
            continue
        used.add(label)
        pairs.append(Pair(wav, label, wav.relative_to(corpus).as_posix()))
    for grid in grids:
        if grid not in used:
            problems.append(DataProblem(grid, "no audio", f"no .wav/.flac named {grid.stem}.* in {corpus}"))
    log.info("found %d audio files, %d label files, %d pairs", len(audio), len(grids) + len(timit), len(pairs))
    if skipped:
        log.warning("skipped %d folders/files reached twice through symbolic links (see problems.csv)", len(skipped))
    return Discovery(pairs, problems, len(audio), len(grids) + len(timit))


def _unique_by_stem(paths: list[Path]) -> dict[str, Path]:
    """Stem -> path for stems that occur once (ambiguous stems are not paired by stem)."""
    seen: dict[str, list[Path]] = {}
    for p in paths:
        seen.setdefault(p.stem.lower(), []).append(p)
    return {stem: ps[0] for stem, ps in seen.items() if len(ps) == 1}


def timit_words_file(phn: Path) -> Path | None:
    """The ``.wrd`` file beside a ``.phn`` file, if any (any case)."""
    for suffix in (".wrd", ".WRD"):
        candidate = phn.with_suffix(suffix)
        if candidate.exists():
            return candidate
    return None
