"""The report read by a phonetician: confusion numbers printed at 8 pt, vowel labels that do not collide, the
appendix in words with units and sensible rounding, titles that fit."""

from __future__ import annotations

import re

import numpy as np
from matplotlib.figure import Figure

from vowelcam.report.cards import TITLE_CHARS, wrap_title
from vowelcam.report.figures import _confusion_cells
from vowelcam.report.plots import _label, _text_box, confusion_figure, spread_labels
from vowelcam.report.render import label, readable, subtable

CONTENT_WIDTH_PT = (210 - 2 * 18) / 25.4 * 72  # A4 minus the report's side margins


def test_the_confusion_figure_prints_at_its_own_size(tmp_path):
    for n in (4, 12, 18):
        labels = [f"V{i}" for i in range(n)]
        path = confusion_figure(np.eye(n, dtype=int) * 3 + 1, labels, tmp_path / f"cm{n}.svg")
        width = float(re.search(r'width="([\d.]+)pt"', path.read_text()).group(1))
        assert width <= CONTENT_WIDTH_PT  # shown 1:1 (CSS width: auto), so its 8-pt numbers print at 8 pt


def test_big_matrices_go_to_a_table():
    assert _confusion_cells(np.eye(12, dtype=int), [str(i) for i in range(12)]) == ("share_count", [])
    assert _confusion_cells(np.eye(18, dtype=int), [str(i) for i in range(18)])[0] == "share"
    cells, rows = _confusion_cells(np.eye(20, dtype=int) * 2, ["IY"] + [str(i) for i in range(19)])
    assert cells == "none" and len(rows) == 20 and rows[0] == {"label": "i (IY)", "counts": [2] + [0] * 19, "n": 2}


def test_labels_on_one_point_are_spread_until_none_overlap():
    fig = Figure(figsize=(4, 3), dpi=100)
    ax = fig.add_subplot()
    ax.set_xlim(0, 10)
    ax.set_ylim(0, 10)
    texts = [_label(ax, (5, 5), name, "black", 11) for name in ("u", "oʊ", "ʊ", "ʌ")]
    texts.append(_label(ax, (1, 1), "i", "black", 11))  # alone: stays on its point
    moved = spread_labels(fig, texts)
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    renderer = FigureCanvasAgg(fig).get_renderer()
    boxes = [_text_box(t, renderer) for t in texts]  # the labels, not their leader lines
    assert not any(boxes[i].overlaps(boxes[j]) for i in range(5) for j in range(i + 1, 5))
    assert moved >= 3 and texts[-1].xyann == (0, 0)


def test_appendix_keys_and_values_read_as_words_with_units():
    assert label("point_spread_hz_sd") == "point spread SD (Hz)"
    assert label("top_minus_random@500Hz") == "top minus random, 500 Hz"
    assert label("prob_drop") == "drop in p(true class)"
    assert readable(623.540722803534, "point_spread_hz") == "624"
    assert readable(57.03299142849055, "point_spread_ms") == "57.0"
    assert readable(-0.13779272314986601, "rho_other") == "-0.138"
    assert readable(True) == "yes" and readable(list(range(20))).endswith("… (20 values)")
    table = subtable(
        {
            "layer1": {"layer": "layer1", "point_spread_hz": 365.08, "n_tokens": 32, "definition": "x" * 60},
            "layer2": {"layer": "layer2", "point_spread_hz": 472.49, "n_tokens": 32, "definition": "x" * 60},
        }
    )
    assert table["columns"] == ["point spread (Hz)", "n tokens"]
    assert table["rows"] == [["layer1", "365", "32"], ["layer2", "472", "32"]]
    assert table["notes"] == ["layer1, layer2: " + "x" * 60]
    with_ci = subtable({"cam": {"rho_other": -0.1378, "rho_other_lo": -0.2539, "rho_other_hi": -0.0217, "n": 48}})
    assert with_ci["columns"] == ["ρ other [95 % CI]", "n"] and with_ci["rows"][0][1] == "-0.138 [-0.254, -0.0217]"
    assert subtable({"a": 1}) is None and subtable("text") is None


def test_a_long_show_title_breaks_between_parts():
    parts = ["men/m01ae:phones:2", "speaker m01", "label AE1", "true æ (AE) p=0.30", "predicted i (IY) p=0.71"]
    parts += ["F1/F2/F3 at 50 % 690/1740/2500 Hz", "F0 121 Hz", "243 ms", "ceiling 5000 Hz"]
    lines = wrap_title(" · ".join(parts)).split("\n")
    assert len(lines) == 2 and all(len(line) <= TITLE_CHARS for line in lines)
    assert " · ".join(lines) == " · ".join(parts) and wrap_title("") == ""


def test_settings_read_as_words_with_units():
    from vowelcam.report.render import setting_label

    assert setting_label("ceiling_men") == "ceiling men (Hz)"
    assert setting_label("window_ms") == "window (ms)" and setting_label("db_floor") == "floor (dB)"
    assert setting_label("time_step") == "time step (s)" and setting_label("epochs") == "epochs"
