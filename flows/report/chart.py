"""The Ambitieweb: the buyer's ambition level per theme as a radar chart, rendered to PNG.

Built on a bare `Figure` with its own Agg canvas and never through pyplot, whose global figure
registry is not thread-safe: the bot renders this in a worker thread, off the event loop. Text
is drawn with mathtext off and with characters DejaVu Sans lacks removed, because labels are
whatever the buyer typed: a `$` must not start a formula and an emoji must not warn on every
render.

The web is drawn straight onto the figure in "level units" (one unit per ambition level), not in
an Axes: an Axes with its tickers and spines costs more time than everything else drawn here.
"""

from __future__ import annotations

import functools
import math
import struct
import textwrap
import threading
import zlib
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from matplotlib import font_manager, ft2font
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch, PathPatch, Polygon
from matplotlib.path import Path as MplPath
from matplotlib.transforms import Affine2D, Transform

from flows.texts import yaml_section

FONT = "DejaVu Sans"
SIZE_INCHES = 8.0
DPI = 150
PIXELS = SIZE_INCHES * DPI
MAX_LEVEL = 3

INK = "#1f2933"
MUTED = "#6b7280"
GRID = "#c5cad1"
RIM = "#9aa1ab"
FAINT = "#e6e9ed"
WEB_FILL = "#f5f7f8"
LEVEL_COLOR = "#13795b"
SPREAD_COLOR = "#e08a1e"

LABEL_GAP = 14.0
MIN_RADIUS = 0.17 * PIXELS
GOOD_RADIUS = 0.22 * PIXELS
MAX_RADIUS = 0.33 * PIXELS
LONGEST_LINE = 28

_TEXT: dict[str, Any] = {"fontfamily": FONT, "parse_math": False}

Box = tuple[float, float, float, float]


@dataclass(frozen=True)
class ChartTexts:
    rings: tuple[str, str, str, str]
    levels: str
    median: str
    spread: str
    axis: str
    empty: str


@dataclass(frozen=True)
class _LabelStyle:
    size: float
    width: int
    lines: int


# Tried in order until the theme labels fit without overlapping around a web of fair size.
_STYLES = (
    _LabelStyle(11.5, 18, 3),
    _LabelStyle(10.5, 16, 3),
    _LabelStyle(9.5, 16, 2),
    _LabelStyle(9.0, 14, 2),
)


@functools.cache
def chart_texts() -> ChartTexts:
    """Read once and check early, so a broken yaml fails on the first render, not in a corner."""
    section, path = yaml_section("report_docx.yaml", "chart")
    rings = section.get("rings")
    if not (isinstance(rings, list) and len(rings) == MAX_LEVEL + 1):
        raise ValueError(f"{path}: chart.rings moet {MAX_LEVEL + 1} teksten hebben")
    values: dict[str, str] = {}
    for key in ("levels", "median", "spread", "axis", "empty"):
        value = section.get(key)
        if not isinstance(value, str):
            raise ValueError(f"{path}: chart.{key} ontbreekt")
        values[key] = value.strip()
    r0, r1, r2, r3 = (str(r) for r in rings)
    return ChartTexts(rings=(r0, r1, r2, r3), **values)


@functools.cache
def _glyphs() -> frozenset[int]:
    path = font_manager.findfont(font_manager.FontProperties(family=FONT))
    return frozenset(ft2font.FT2Font(path).get_charmap())


def drawable(text: str) -> str:
    """Keep what the font can draw, on one line; a missing glyph would warn and show a box."""
    glyphs = _glyphs()
    kept = "".join(ch if ord(ch) in glyphs else " " for ch in text)
    return " ".join(kept.split())


def _clip(line: str, limit: int) -> str:
    return line if len(line) <= limit else line[: limit - 1].rstrip() + "…"


def wrap_label(text: str, width: int = 18, max_lines: int = 3) -> str:
    """Words are never split (a Dutch compound broken anywhere reads badly), so a line may run
    past `width`; only absurdly long words and text beyond `max_lines` are cut, with "…"."""
    lines = textwrap.wrap(drawable(text), width=width, break_long_words=False)
    if len(lines) > max_lines:
        lines = [*lines[: max_lines - 1], lines[max_lines - 1] + " …"]
    limit = max(width + 10, LONGEST_LINE)
    return "\n".join(_clip(line, limit) for line in lines) or "…"


def _level(value: float) -> float:
    if not math.isfinite(value):
        return 0.0
    return min(max(float(value), 0.0), float(MAX_LEVEL))


def ambitieweb_png(
    points: Sequence[tuple[str, float]],
    *,
    title: str,
    ranges: Sequence[tuple[float, float]] | None = None,
    subtitle: str | None = None,
) -> bytes:
    """With `ranges` (a team check) each point is the team's median and each range its lowest
    and highest vote. Fewer than three themes make no web, so those get bars on the same scale."""
    fig = _reused_figure()
    _draw_web(fig, points, title=title, ranges=ranges, subtitle=subtitle)
    canvas = _agg(fig)
    canvas.draw()
    return png_bytes(canvas.buffer_rgba())


_per_thread = threading.local()


def _reused_figure() -> Figure:
    """One figure per thread, cleared for each chart. A fresh figure comes with a fresh Agg
    renderer, a new 1200 × 1200 buffer and an empty text-size cache (matplotlib keys it on the
    renderer), so every label was measured anew; a document worker draws chart after chart, and
    the theme, ring and legend labels repeat. Per thread because a figure is not thread-safe."""
    fig: Figure | None = getattr(_per_thread, "figure", None)
    if fig is None:
        fig = _new_figure()
        _per_thread.figure = fig
    else:
        fig.clear()
    return fig


def _new_figure() -> Figure:
    fig = Figure(figsize=(SIZE_INCHES, SIZE_INCHES), dpi=DPI, facecolor="white")
    FigureCanvasAgg(fig)
    return fig


PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
PNG_ZLIB_LEVEL = 3


def png_bytes(rgba: Any) -> bytes:
    """An RGB PNG of an opaque RGBA canvas buffer (height × width × 4), written directly.

    Pillow and savefig choose a filter per row by trying all five, which took more time than
    drawing the chart. A chart is mostly flat colour, which zlib packs well without any filter:
    no filter at level 3 is a quarter of Pillow's time and a smaller file, with the same pixels.
    """
    pixels = np.asarray(rgba)
    height, width = pixels.shape[:2]
    rows = np.empty((height, 1 + 3 * width), dtype=np.uint8)
    rows[:, 0] = 0  # each row: filter type 0 (none), then its RGB bytes
    rgb = rows[:, 1:].reshape(height, width, 3)  # a view into `rows`, not a copy
    for channel in range(3):  # three plain copies take a third of one strided RGBA-to-RGB copy
        rgb[:, :, channel] = pixels[:, :, channel]
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)  # 8-bit RGB, no interlace
    return b"".join(
        (
            PNG_SIGNATURE,
            _chunk(b"IHDR", header),
            _chunk(b"IDAT", zlib.compress(rows.data, PNG_ZLIB_LEVEL)),
            _chunk(b"IEND", b""),
        )
    )


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def ambitieweb_figure(
    points: Sequence[tuple[str, float]],
    *,
    title: str,
    ranges: Sequence[tuple[float, float]] | None = None,
    subtitle: str | None = None,
) -> Figure:
    """The figure behind `ambitieweb_png`, for another output format or to check the layout."""
    fig = _new_figure()
    _draw_web(fig, points, title=title, ranges=ranges, subtitle=subtitle)
    return fig


def _draw_web(
    fig: Figure,
    points: Sequence[tuple[str, float]],
    *,
    title: str,
    ranges: Sequence[tuple[float, float]] | None,
    subtitle: str | None,
) -> None:
    if ranges is not None and len(ranges) != len(points):
        raise ValueError("ranges en points moeten even lang zijn")
    texts = chart_texts()
    labels = [label for label, _ in points]
    values = [_level(v) for _, v in points]
    spans = (
        [(min(_level(lo), _level(hi)), max(_level(lo), _level(hi))) for lo, hi in ranges]
        if ranges is not None
        else None
    )
    top = _title(fig, title, subtitle)
    if not points:
        _empty(fig, texts, top)
    elif len(points) < 3:
        _bars(fig, texts, labels, values, spans, top)
    else:
        _radar(fig, texts, labels, values, spans, top)


def _agg(fig: Figure) -> Any:
    """Typed as Any: the Agg canvas methods used here carry no annotations."""
    canvas = fig.canvas
    return canvas if isinstance(canvas, FigureCanvasAgg) else FigureCanvasAgg(fig)


def _title(fig: Figure, title: str, subtitle: str | None) -> float:
    """Returns where the title block ends (figure fraction), so the chart starts below it."""
    heading = wrap_label(title, width=52, max_lines=2)
    fig.text(
        0.5,
        0.965,
        heading,
        ha="center",
        va="top",
        fontsize=17,
        fontweight="bold",
        linespacing=1.25,
        color=INK,
        **_TEXT,
    )
    bottom = 0.965 - 0.037 * (heading.count("\n") + 1)
    if subtitle:
        sub = wrap_label(subtitle, width=80, max_lines=2)
        fig.text(0.5, bottom - 0.006, sub, ha="center", va="top", fontsize=11, color=MUTED, **_TEXT)
        bottom -= 0.006 + 0.027 * (sub.count("\n") + 1)
    return bottom - 0.015


def _legend(fig: Figure, handles: list[Any]) -> None:
    fig.legend(
        handles=handles,
        loc="lower center",
        bbox_to_anchor=(0.5, 0.015),
        ncols=len(handles),
        frameon=False,
        prop={"family": FONT, "size": 10.5},
        labelcolor=INK,
        handlelength=1.8,
        columnspacing=2.0,
    )


def _handles(texts: ChartTexts, spread: bool, bars: bool) -> list[Any]:
    if not spread:
        alpha = 1.0 if bars else 0.35
        return [
            Patch(facecolor=LEVEL_COLOR, alpha=alpha, edgecolor=LEVEL_COLOR, label=texts.levels)
        ]
    median = (
        Patch(facecolor=LEVEL_COLOR, label=texts.median)
        if bars
        else Line2D([], [], color=LEVEL_COLOR, lw=2.2, marker="o", ms=6, label=texts.median)
    )
    spread_handle = (
        Line2D([], [], color=SPREAD_COLOR, lw=2.2, marker="|", ms=10, mew=2.2, label=texts.spread)
        if bars
        else Patch(facecolor=SPREAD_COLOR, alpha=0.3, edgecolor=SPREAD_COLOR, label=texts.spread)
    )
    return [median, spread_handle]


def _plane(fig: Figure, unit: float, centre: tuple[float, float]) -> Transform:
    """Level units to the figure: `unit` pixels per level, the web's centre at `centre` pixels
    from the lower left. Through inches, so a caller saving at another dpi still gets the same
    picture."""
    return (
        Affine2D().scale(unit / DPI).translate(centre[0] / DPI, centre[1] / DPI)
        + fig.dpi_scale_trans
    )


def _angles(n: int) -> list[float]:
    return [math.pi / 2 - 2 * math.pi * i / n for i in range(n)]


def _ring(angles: Sequence[float], radii: float | Sequence[float]) -> list[tuple[float, float]]:
    rs = [float(radii)] * len(angles) if isinstance(radii, int | float) else list(radii)
    return [(r * math.cos(a), r * math.sin(a)) for a, r in zip(angles, rs, strict=True)]


def _web(fig: Figure, plane: Transform, angles: Sequence[float], fill: str, line: str) -> None:
    top = float(MAX_LEVEL)
    if fill != "none":
        fig.add_artist(
            Polygon(_ring(angles, top), facecolor=fill, edgecolor="none", transform=plane, zorder=1)
        )
    for r in range(1, MAX_LEVEL + 1):
        outer = r == MAX_LEVEL and fill != "none"
        fig.add_artist(
            Polygon(
                _ring(angles, r),
                fill=False,
                edgecolor=RIM if outer else line,
                lw=1.3 if outer else 0.9,
                transform=plane,
                zorder=1.1,
            )
        )
    xs: list[float] = []
    ys: list[float] = []
    for a in angles:
        xs += [0.0, top * math.cos(a), math.nan]
        ys += [0.0, top * math.sin(a), math.nan]
    fig.add_artist(Line2D(xs, ys, color=line, lw=0.9, transform=plane, zorder=1.1))


def _empty(fig: Figure, texts: ChartTexts, top: float) -> None:
    centre = (PIXELS / 2, (0.05 + top) / 2 * PIXELS)
    plane = _plane(fig, MAX_RADIUS / MAX_LEVEL, centre)
    _web(fig, plane, _angles(6), fill="none", line=FAINT)
    fig.text(
        0,
        0,
        wrap_label(texts.empty, width=40, max_lines=6),
        transform=plane,
        ha="center",
        va="center",
        fontsize=15,
        linespacing=1.5,
        color=MUTED,
        bbox={"boxstyle": "round,pad=0.8", "facecolor": "white", "edgecolor": FAINT},
        zorder=3,
        **_TEXT,
    )


def _align(share: float) -> float:
    """How much of a label lies on the near side of its anchor, along x or y: none for a label
    clearly beside or above its spoke, half for one straight in line with it. Steeper than a
    plain (1 - share) / 2 so a diagonal label clears the rim instead of leaning over it."""
    return min(max((1 - 2 * share) / 2, 0.0), 1.0)


def _label_boxes(
    angles: Sequence[float], sizes: Sequence[tuple[float, float]], radius: float
) -> list[Box]:
    """Label boxes in pixels around the web's centre, just outside the tip of their spoke."""
    boxes = []
    for a, (w, h) in zip(angles, sizes, strict=True):
        c, s = math.cos(a), math.sin(a)
        x0 = (radius + LABEL_GAP) * c - _align(c) * w
        y0 = (radius + LABEL_GAP) * s - _align(s) * h
        boxes.append((x0, y0, x0 + w, y0 + h))
    return boxes


def _extent(
    shares: Sequence[float], spans: Sequence[tuple[float, float]], radius: float
) -> tuple[float, float]:
    """Lowest and highest coordinate along one axis of the labels and the spoke tips, for a web
    of `radius` around 0; `spans` are the labels' extents at radius 0."""
    lows = [low + radius * share for share, (low, _) in zip(shares, spans, strict=True)]
    highs = [high + radius * share for share, (_, high) in zip(shares, spans, strict=True)]
    tips = [radius * share for share in shares]
    return min(*lows, *tips), max(*highs, *tips)


def _fit(
    angles: Sequence[float], sizes: Sequence[tuple[float, float]], width: float, height: float
) -> tuple[float, float, float]:
    """The largest web whose labels fit a width × height area, and the offset of its centre
    that puts labels and web in the middle of that area: a long label on one side or a web
    that is lopsided, like a triangle, moves the centre the other way."""
    base = _label_boxes(angles, sizes, 0.0)
    axes = (
        ([math.cos(a) for a in angles], [(b[0], b[2]) for b in base], width),
        ([math.sin(a) for a in angles], [(b[1], b[3]) for b in base], height),
    )

    def fits(radius: float) -> bool:
        for shares, spans, size in axes:
            low, high = _extent(shares, spans, radius)
            if high - low > size:
                return False
        return True

    # The extent grows with the radius, so the largest radius that fits is found by halving.
    low, high = MIN_RADIUS, MAX_RADIUS
    if fits(high):
        low = high
    while high - low > 0.5:
        middle = (low + high) / 2
        low, high = (middle, high) if fits(middle) else (low, middle)
    cx, cy = (-sum(_extent(shares, spans, low)) / 2 for shares, spans, _ in axes)
    return low, cx, cy


def _overlap(boxes: Sequence[Box], pad: float = 3.0) -> bool:
    for i, (ax0, ay0, ax1, ay1) in enumerate(boxes):
        for bx0, by0, bx1, by1 in boxes[i + 1 :]:
            if ax0 < bx1 + pad and bx0 < ax1 + pad and ay0 < by1 + pad and by0 < ay1 + pad:
                return True
    return False


@dataclass(frozen=True)
class _Layout:
    style: _LabelStyle
    radius: float
    centre: tuple[float, float]
    boxes: list[Box]


def _layout(fig: Figure, labels: Sequence[str], angles: Sequence[float], area: Box) -> _Layout:
    """Measure the labels in each style and take the first that fits around a web of fair size
    without overlap; failing that, the largest web without overlap, or else the largest web."""
    renderer = _agg(fig).get_renderer()
    probe = fig.text(0, 0, "", linespacing=1.15, **_TEXT)
    width, height = area[2] - area[0], area[3] - area[1]
    middle = ((area[0] + area[2]) / 2, (area[1] + area[3]) / 2)
    tried: list[tuple[bool, float, _Layout]] = []
    try:
        for style in _STYLES[0 if len(labels) <= 10 else 1 :]:
            probe.set_fontsize(style.size)
            sizes = []
            for label in labels:
                probe.set_text(wrap_label(label, style.width, style.lines))
                box = probe.get_window_extent(renderer)
                sizes.append((box.width, box.height))
            radius, cx, cy = _fit(angles, sizes, width, height)
            boxes = _label_boxes(angles, sizes, radius)
            layout = _Layout(style, radius, (middle[0] + cx, middle[1] + cy), boxes)
            clear = not _overlap(boxes)
            if clear and radius >= GOOD_RADIUS:
                return layout
            tried.append((clear, radius, layout))
        return max(tried, key=lambda t: (t[0], t[1]))[2]
    finally:
        probe.remove()


def _radar(
    fig: Figure,
    texts: ChartTexts,
    labels: Sequence[str],
    values: Sequence[float],
    spans: Sequence[tuple[float, float]] | None,
    top: float,
) -> None:
    angles = _angles(len(labels))
    area = (0.025 * PIXELS, 0.075 * PIXELS, 0.975 * PIXELS, top * PIXELS)
    layout = _layout(fig, labels, angles, area)
    plane = _plane(fig, layout.radius / MAX_LEVEL, layout.centre)
    _web(fig, plane, angles, fill=WEB_FILL, line=GRID)
    for a, label, (x0, y0, x1, y1) in zip(angles, labels, layout.boxes, strict=True):
        fig.text(
            (layout.centre[0] + (x0 + x1) / 2) / PIXELS,
            (layout.centre[1] + (y0 + y1) / 2) / PIXELS,
            wrap_label(label, layout.style.width, layout.style.lines),
            ha="center",
            va="center",
            fontsize=layout.style.size,
            linespacing=1.15,
            multialignment=_side(math.cos(a)),
            color=INK,
            **_TEXT,
        )
    if spans is not None:
        _spread(fig, plane, angles, spans)
    xy = _ring(angles, values)
    if spans is None:
        fig.add_artist(
            Polygon(
                xy, facecolor=LEVEL_COLOR, alpha=0.28, edgecolor="none", transform=plane, zorder=2
            )
        )
    fig.add_artist(
        Line2D(
            [x for x, _ in xy] + [xy[0][0]],
            [y for _, y in xy] + [xy[0][1]],
            color=LEVEL_COLOR,
            lw=2.2,
            marker="o",
            ms=6,
            mfc=LEVEL_COLOR,
            mec="white",
            mew=1.2,
            transform=plane,
            zorder=2.5,
        )
    )
    _ring_labels(fig, plane, texts, angles)
    _legend(fig, _handles(texts, spans is not None, bars=False))


def _side(share: float) -> str:
    return "left" if share > 0.3 else "right" if share < -0.3 else "center"


def _spread(
    fig: Figure, plane: Transform, angles: Sequence[float], spans: Sequence[tuple[float, float]]
) -> None:
    outer = _ring(angles, [hi for _, hi in spans])
    inner = _ring(angles, [lo for lo, _ in spans])[::-1]
    band = MplPath.make_compound_path(
        MplPath([*outer, outer[0]], closed=True), MplPath([*inner, inner[0]], closed=True)
    )
    fig.add_artist(
        PathPatch(band, facecolor=SPREAD_COLOR, alpha=0.25, lw=0, transform=plane, zorder=1.5)
    )
    xs: list[float] = []
    ys: list[float] = []
    for a, (lo, hi) in zip(angles, spans, strict=True):
        c, s = math.cos(a), math.sin(a)
        xs += [lo * c, hi * c, math.nan]
        ys += [lo * s, hi * s, math.nan]
    fig.add_artist(
        Line2D(
            xs,
            ys,
            color=SPREAD_COLOR,
            lw=2.2,
            solid_capstyle="round",
            transform=plane,
            zorder=1.6,
        )
    )


def _ring_labels(fig: Figure, plane: Transform, texts: ChartTexts, angles: Sequence[float]) -> None:
    """Just inside each ring, in the middle of the first sector: no spoke runs there, and inside
    the rim no theme label can. Each label runs along its ring, so a line between two themes on
    the same level passes alongside it, not through it. Drawn under the buyer's line and points,
    which must stay visible."""
    mid = (angles[0] + angles[1]) / 2
    edge = math.cos((angles[0] - angles[1]) / 2)
    size = 8.5 if len(angles) <= 12 else 8.0
    for r, ring_label in enumerate(texts.rings):
        at = r * edge - 0.04 if r else 0.16
        fig.text(
            at * math.cos(mid),
            at * math.sin(mid),
            drawable(ring_label),
            transform=plane,
            ha="center",
            va="top" if r else "center",
            rotation=math.degrees(mid) - 90 if r else 0.0,
            rotation_mode="anchor",
            fontsize=size,
            color=MUTED,
            zorder=2.2,
            bbox={"boxstyle": "round,pad=0.2", "facecolor": "white", "alpha": 0.8, "lw": 0},
            **_TEXT,
        )


def _bars(
    fig: Figure,
    texts: ChartTexts,
    labels: Sequence[str],
    values: Sequence[float],
    spans: Sequence[tuple[float, float]] | None,
    top: float,
) -> None:
    n = len(labels)
    height = 0.15 * n + 0.05
    ax = fig.add_axes((0.33, (top + 0.1) / 2 - height / 2 + 0.02, 0.56, height))
    ys = list(range(n))
    ax.barh(ys, values, height=0.55, color=LEVEL_COLOR, zorder=2)
    if spans is not None:
        ax.errorbar(
            values,
            ys,
            xerr=[
                [max(v - lo, 0.0) for v, (lo, _) in zip(values, spans, strict=True)],
                [max(hi - v, 0.0) for v, (_, hi) in zip(values, spans, strict=True)],
            ],
            fmt="none",
            ecolor=SPREAD_COLOR,
            elinewidth=2.4,
            capsize=9,
            capthick=2.4,
            zorder=3,
        )
    ax.set_xlim(0, MAX_LEVEL)
    ax.set_ylim(n - 0.5, -0.5)
    ax.set_yticks([])
    ax.set_xticks(range(MAX_LEVEL + 1), labels=[drawable(r) for r in texts.rings])
    for tick in ax.get_xticklabels():
        tick.set_fontfamily(FONT)
        tick.set_fontsize(10.5)
        tick.set_color(MUTED)
    ax.set_xlabel(drawable(texts.axis), fontfamily=FONT, fontsize=11, color=MUTED, labelpad=10)
    ax.grid(axis="x", color=GRID, lw=0.9)
    ax.set_axisbelow(True)
    for side in ("top", "right", "left"):
        ax.spines[side].set_visible(False)
    ax.spines["bottom"].set_color(RIM)
    ax.tick_params(axis="x", length=0, pad=8)
    for y, label in zip(ys, labels, strict=True):
        ax.text(
            -0.04,
            y,
            wrap_label(label),
            transform=ax.get_yaxis_transform(),
            ha="right",
            va="center",
            fontsize=12,
            multialignment="right",
            color=INK,
            **_TEXT,
        )
    _legend(fig, _handles(texts, spans is not None, bars=True))
