"""Build a scale corpus for benchmarks: the 32 LJSpeech clips of ../shared/data/ljspeech-32, repeated by
symbolic links (audio and TextGrids under new names) up to a chosen multiple.

    python -m bench.lib.scale_corpus OUT_DIR --factor 16        # 512 recordings, ~14 000 vowel tokens
"""

from __future__ import annotations

import argparse
from pathlib import Path

from .paths import DATA

SHARED = DATA / "ljspeech-32"


def make_scale_corpus(out: Path, factor: int, source: Path = SHARED) -> Path:
    """Link ``factor`` copies of every wav/TextGrid pair into ``out/rNNNN/`` and return ``out``."""
    wavs = sorted((source / "wavs").glob("*.wav"))
    if not wavs:
        raise SystemExit(f"no wavs in {source / 'wavs'}")
    for rep in range(factor):
        folder = out / f"r{rep:04d}"
        folder.mkdir(parents=True, exist_ok=True)
        for wav in wavs:
            grid = source / "textgrids" / f"{wav.stem}.TextGrid"
            for src, dst in ((wav, folder / wav.name), (grid, folder / grid.name)):
                if not dst.exists():
                    dst.symlink_to(src.resolve())
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("out", type=Path)
    parser.add_argument("--factor", type=int, default=4)
    args = parser.parse_args()
    make_scale_corpus(args.out, args.factor)
    print(f"{args.out}: {args.factor} x 32 recordings")


if __name__ == "__main__":
    main()
