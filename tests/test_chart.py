"""The Ambitieweb PNG: a real, sizeable image for any number of themes and any label a buyer
types, with readable labels that stay clear of each other."""

from __future__ import annotations

import io
import logging
import struct
import warnings
import zlib
from concurrent.futures import ThreadPoolExecutor
from itertools import combinations
from typing import Any

import numpy as np
import pytest
from matplotlib.patches import Polygon, Rectangle
from matplotlib.transforms import Bbox
from PIL import Image

from flows.report.chart import ambitieweb_figure, ambitieweb_png, chart_texts

CATERING = [
    ("Klimaat", 3),
    ("Gezondheid en vitaliteit", 3),
    ("Circulariteit en biobased", 2),
    ("Ketenverantwoordelijkheid", 2),
    ("Social return", 1),
    ("Milieu", 1),
]

# Every theme the flow offers, in its own words: the longest realistic web.
ALL_THEMES = [
    "Milieu",
    "Klimaat",
    "Circulariteit en biobased",
    "Ketenverantwoordelijkheid",
    "Social return",
    "Diversiteit en inclusie",
    "Gezondheid en vitaliteit",
    "Materialen",
    "Water- en bodemkwaliteit",
    "Ecologie en biodiversiteit",
    "Energie en CO2-prestatieladder",
    "Klimaatadaptatie",
    "Samenwerking met de markt",
    "MKB-vriendelijk inkopen",
    "Gedragsverandering bij gebruikers",
    "Bereikbaarheid",
    "Toekomstbestendigheid",
]


def png_size(data: bytes) -> tuple[int, int]:
    """Width and height from the IHDR chunk, after checking the file really is a PNG."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    length, kind = struct.unpack(">I4s", data[8:16])
    assert kind == b"IHDR"
    assert length == 13
    width, height = struct.unpack(">II", data[16:24])
    crc = struct.unpack(">I", data[29:33])[0]
    assert crc == zlib.crc32(data[12:29])
    assert data[-12:] == b"\x00\x00\x00\x00IEND\xaeB`\x82"
    return width, height


def assert_sizeable_png(data: bytes) -> None:
    width, height = png_size(data)
    assert width >= 800
    assert height >= 800


def test_a_web_of_six_themes_is_a_large_square_png() -> None:
    data = ambitieweb_png(CATERING, title="Ambitieweb – Catering")
    width, height = png_size(data)
    assert width == height >= 1000


@pytest.mark.parametrize("count", [1, 2])
def test_one_or_two_themes_fall_back_to_bars(count: int) -> None:
    data = ambitieweb_png(CATERING[:count], title="Ambitieweb")
    assert_sizeable_png(data)
    fig = ambitieweb_figure(CATERING[:count], title="Ambitieweb")
    (ax,) = fig.axes
    bars = [p for p in ax.patches if isinstance(p, Rectangle)]
    assert len(bars) == len(ax.patches) == count
    assert [bar.get_width() for bar in bars] == [v for _, v in CATERING[:count]]


def test_no_themes_gives_a_clean_image_that_says_so() -> None:
    data = ambitieweb_png([], title="Ambitieweb")
    assert_sizeable_png(data)
    fig = ambitieweb_figure([], title="Ambitieweb")
    shown = " ".join(t.get_text().replace("\n", " ") for t in fig.texts)
    assert chart_texts().empty in shown
    assert data != ambitieweb_png(CATERING[:1], title="Ambitieweb")


def test_team_ranges_are_drawn_and_explained_in_the_legend() -> None:
    ranges = [(2, 3), (1, 3), (2, 2), (0, 3), (1, 2), (1, 1)]
    data = ambitieweb_png(CATERING, title="Teamcheck", ranges=ranges, subtitle="5 stemmen")
    assert_sizeable_png(data)
    assert data != ambitieweb_png(CATERING, title="Teamcheck", subtitle="5 stemmen")
    fig = ambitieweb_figure(CATERING, title="Teamcheck", ranges=ranges)
    (legend,) = fig.legends
    entries = [t.get_text() for t in legend.get_texts()]
    assert entries == [chart_texts().median, chart_texts().spread]


def test_ranges_in_the_bar_fallback() -> None:
    data = ambitieweb_png(CATERING[:2], title="Teamcheck", ranges=[(1, 3), (2, 2)])
    assert_sizeable_png(data)


def test_ranges_must_match_the_themes() -> None:
    with pytest.raises(ValueError, match="even lang"):
        ambitieweb_png(CATERING, title="x", ranges=[(1, 2)])


def test_different_levels_give_different_images() -> None:
    other = [(label, 3 - level) for label, level in CATERING]
    assert ambitieweb_png(CATERING, title="A") != ambitieweb_png(other, title="A")
    assert ambitieweb_png(CATERING, title="A") != ambitieweb_png(CATERING, title="B")
    assert ambitieweb_png(CATERING, title="A") == ambitieweb_png(CATERING, title="A")


def test_seventeen_long_labels_with_emoji_render_without_a_warning(
    caplog: pytest.LogCaptureFixture,
) -> None:
    points = [
        (f"Ons eigen thema {i} 🌱 met een buitengewoon lange omschrijving " + "x" * 60 * i, i % 4)
        for i in range(17)
    ]
    with caplog.at_level(logging.WARNING), warnings.catch_warnings():
        warnings.simplefilter("error")
        data = ambitieweb_png(points, title='Ambitieweb 🍽️ <&> "test"', subtitle="emoji 🚀")
    assert_sizeable_png(data)
    assert [r for r in caplog.records if r.levelno >= logging.WARNING] == []


@pytest.mark.parametrize("label", ["Kosten $5 en $", r"$\frac{1}{$", "a\\b\n\t\x00c", "中文 ✓ ½"])
def test_labels_are_never_read_as_formulas_or_glyphs_the_font_lacks(label: str) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        data = ambitieweb_png([(label, 2), *CATERING[:3]], title=label, subtitle=label)
    assert_sizeable_png(data)


def test_out_of_range_levels_are_clamped_not_fatal() -> None:
    points = [("A", -1.0), ("B", 7.0), ("C", float("nan")), ("D", float("inf"))]
    assert_sizeable_png(ambitieweb_png(points, title="x"))


def test_all_seventeen_theme_labels_are_whole_inside_the_image_and_clear_of_all_else() -> None:
    fig = ambitieweb_figure([(label, i % 4) for i, label in enumerate(ALL_THEMES)], title="Alles")
    renderer = fig.canvas.get_renderer()  # type: ignore[attr-defined]
    by_text = {" ".join(t.get_text().split()): t for t in fig.texts}
    missing = [label for label in ALL_THEMES if label not in by_text]
    assert missing == []
    boxes = {label: by_text[label].get_window_extent(renderer) for label in ALL_THEMES}
    width, height = fig.canvas.get_width_height()
    for label, box in boxes.items():
        assert Bbox.from_bounds(0, 0, width, height).contains(box.x0, box.y0), label
        assert Bbox.from_bounds(0, 0, width, height).contains(box.x1, box.y1), label
    overlapping = [(a, b) for a, b in combinations(ALL_THEMES, 2) if boxes[a].overlaps(boxes[b])]
    assert overlapping == []
    rim = max(
        (p for p in fig.artists if isinstance(p, Polygon)),
        key=lambda p: p.get_window_extent(renderer).width,
    )
    web = rim.get_transform().transform_path(rim.get_path())
    title = next(t for t in fig.texts if t.get_text() == "Alles").get_window_extent(renderer)
    for label, box in boxes.items():
        assert not web.contains_points(box.corners()).any(), label
        assert box.count_contains(web.vertices) == 0, label
        assert not box.overlaps(title), label


def test_rendering_in_threads_gives_the_same_images() -> None:
    inputs = [CATERING[:n] for n in (0, 2, 3, 6)] * 2
    expected = [ambitieweb_png(points, title="Parallel") for points in inputs]
    with ThreadPoolExecutor(max_workers=4) as pool:
        got = list(pool.map(lambda points: ambitieweb_png(points, title="Parallel"), inputs))
    assert got == expected


def pixels(data: bytes) -> np.ndarray[tuple[int, ...], np.dtype[np.uint8]]:
    with Image.open(io.BytesIO(data)) as image:
        assert image.mode == "RGB"
        return np.asarray(image)


def test_the_png_holds_exactly_what_matplotlib_drew() -> None:
    """The PNG is written by hand rather than by Pillow: no pixel may change on the way."""
    fig = ambitieweb_figure(CATERING, title="Ambitieweb – Catering")
    canvas: Any = fig.canvas
    canvas.draw()
    drawn = np.asarray(canvas.buffer_rgba())
    assert (drawn[:, :, 3] == 255).all()  # opaque, so dropping alpha loses nothing
    assert np.array_equal(
        pixels(ambitieweb_png(CATERING, title="Ambitieweb – Catering")), drawn[:, :, :3]
    )


def test_a_chart_drawn_after_others_is_the_same_as_one_drawn_first() -> None:
    """Each thread reuses one figure: nothing of an earlier chart may show in the next one."""
    kinds: list[dict[str, Any]] = [
        {"points": CATERING, "title": "Eerst"},
        {"points": CATERING[:2], "title": "Balken", "ranges": [(1, 3), (2, 2)]},
        {"points": [], "title": "Leeg", "subtitle": "niets gekozen"},
        {"points": CATERING, "title": "Team", "ranges": [(0, 3)] * 6, "subtitle": "5 stemmen"},
    ]
    with ThreadPoolExecutor(max_workers=1) as fresh:
        first = [fresh.submit(ambitieweb_png, **kind).result() for kind in kinds]
    for kind in kinds:
        with ThreadPoolExecutor(max_workers=1) as new_thread:
            alone = new_thread.submit(ambitieweb_png, **kind).result()
        assert alone == first[kinds.index(kind)]
    after_others = [ambitieweb_png(**kind) for kind in reversed(kinds)]
    assert after_others == first[::-1]
