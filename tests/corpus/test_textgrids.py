"""Tolerant TextGrid / TIMIT reading: formats, encodings, sloppy intervals, and files that are not TextGrids."""

from __future__ import annotations

from pathlib import Path

import pytest

from vowelcam.corpus.textgrids import read_textgrid, read_timit
from vowelcam.errors import TextGridParseError

LONG = '''File type = "ooTextFile"
Object class = "TextGrid"

xmin = 0
xmax = 1.0
tiers? <exists>
size = 2
item []:
    item [1]:
        class = "IntervalTier"
        name = "words"
        xmin = 0
        xmax = 1.0
        intervals: size = 2
        intervals [1]:
            xmin = 0
            xmax = 0.5
            text = "he said ""hi"" = ok"
        intervals [2]:
            xmin = 0.5
            xmax = 1.0
            text = ""
    item [2]:
        class = "TextTier"
        name = "points"
        xmin = 0
        xmax = 1.0
        points: size = 1
        points [1]:
            number = 0.25
            mark = "steady"
'''

SHORT = '''File type = "ooTextFile"
Object class = "TextGrid"

0
1.0
<exists>
1
"IntervalTier"
"phones"
0
1.0
3
0
0.3
"iː"
0.3
0.3
""
0.3
1.0000004
"ə"
'''


def write(tmp_path: Path, name: str, text: str, encoding: str = "utf-8") -> Path:
    path = tmp_path / name
    path.write_bytes(text.encode(encoding))
    return path


def test_long_format_with_quotes_and_point_tier(tmp_path):
    grid = read_textgrid(write(tmp_path, "a.TextGrid", LONG))
    assert [t.name for t in grid.tiers] == ["words", "points"]
    assert grid.tiers[0].intervals[0].text == 'he said "hi" = ok'
    assert grid.tiers[1].is_point and grid.tiers[1].intervals[0].start == pytest.approx(0.25)
    assert grid.interval_tiers == [grid.tiers[0]]


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "utf-16"])
def test_short_format_encodings_zero_length_and_past_end(tmp_path, encoding):
    grid = read_textgrid(write(tmp_path, "b.TextGrid", SHORT, encoding))
    phones = grid.tier("phones")
    assert [iv.text for iv in phones.intervals] == ["iː", "", "ə"]
    assert phones.intervals[1].duration == 0  # zero-length interval kept
    assert phones.intervals[2].end == 1.0  # a hair past the tier's end: clipped, not refused


def test_not_a_textgrid_names_the_file(tmp_path):
    path = write(tmp_path, "bad.TextGrid", "this is not a textgrid\n")
    with pytest.raises(TextGridParseError, match="bad.TextGrid.*not a TextGrid"):
        read_textgrid(path)


def test_truncated_textgrid_is_a_parse_error(tmp_path):
    path = write(tmp_path, "cut.TextGrid", LONG[: LONG.index("intervals [2]")])
    with pytest.raises(TextGridParseError, match="cut.TextGrid"):
        read_textgrid(path)


def test_a_reversed_interval_is_kept_for_the_caller_to_report(tmp_path):
    path = write(tmp_path, "rev.TextGrid", SHORT.replace('0.3\n0.3\n""', '0.3\n0.2\n""'))
    intervals = read_textgrid(path).tier("phones").intervals
    assert [(iv.index, iv.duration < 0) for iv in intervals] == [(1, False), (2, True), (3, False)]


THREE_VOWELS = SHORT.replace('0.3\n0.3\n""', '0.3\n0.6\n"AA1"').replace('"iː"', '"IY1"').replace('"ə"', '"UW1"')


@pytest.mark.parametrize(
    ("second", "reason", "detail"),
    [
        ('0.6\n0.3\n"AA1"', "interval ends before it starts", "0.6..0.3 s, label 'AA1'"),
        ('0.3\n0.3\n"AA1"', "zero-length interval", "at 0.3 s, label 'AA1'"),
    ],
)
def test_a_reversed_or_zero_length_interval_is_a_problem_of_that_interval_alone(tmp_path, second, reason, detail):
    from vowelcam.config import LabelSettings
    from vowelcam.corpus.select import select_tokens
    from vowelcam.corpus.tiers import find_tier_groups

    path = write(tmp_path, "bad.TextGrid", THREE_VOWELS.replace('0.3\n0.6\n"AA1"', second))
    grid = read_textgrid(path)
    specs, problems = select_tokens(grid, find_tier_groups(grid), LabelSettings())
    assert [s.phone for s in specs] == ["IY", "UW"]  # the file's other tokens stay
    assert [(p.reason, p.tier, p.interval) for p in problems] == [(reason, "phones", "2")]
    assert detail in problems[0].detail


def test_timit_phn_and_wrd(tmp_path):
    phn = write(tmp_path, "SA1.PHN", "0 3050 h#\n3050 4559 sh\n4559 5723 ix\n5723 6000 h#\n")
    wrd = write(tmp_path, "SA1.WRD", "3050 5723 she\n")
    grid = read_timit(phn, 16000, wrd)
    assert [t.name for t in grid.tiers] == ["words", "phones"]
    assert grid.tier("phones").intervals[1].start == pytest.approx(3050 / 16000)
    assert grid.tier("words").intervals[0].text == "she"


def test_timit_garbage_is_refused(tmp_path):
    with pytest.raises(TextGridParseError, match="not a TIMIT label file"):
        read_timit(write(tmp_path, "x.phn", "hello world\n"), 16000)


def test_real_mfa_files_parse(shared_data):
    grids = sorted((shared_data / "ljspeech-32" / "textgrids").glob("*.TextGrid"))
    assert len(grids) == 32
    for path in grids:
        grid = read_textgrid(path)
        assert [t.name for t in grid.tiers] == ["words", "phones"]
        phones = grid.tier("phones").intervals
        assert all(a.end <= b.start + 1e-9 for a, b in zip(phones, phones[1:]))
