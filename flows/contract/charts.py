"""The realised Ambitieweb beside the original one, and a small trend chart per KPI.

Drawn like the summary's web (flows/report/chart.py): the same figure size, fonts, colours and
label layout, on a bare `Figure` without pyplot, so it is safe in a worker thread. The original
levels are the green web the buyer knows from the summary; the realised levels are drawn over it
in orange, so the gap per theme is what the eye sees first.
"""

from __future__ import annotations

import io
import math
from collections.abc import Sequence
from datetime import UTC, date, datetime
from typing import Any

from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch, Polygon
from matplotlib.ticker import FuncFormatter

from flows.contract.progress import KpiProgress, deadline, planned
from flows.report import chart as web
from flows.report.chart import (
    DPI,
    FONT,
    GRID,
    INK,
    LEVEL_COLOR,
    MUTED,
    PIXELS,
    SIZE_INCHES,
    SPREAD_COLOR,
    drawable,
)

TREND_SIZE = (6.4, 3.0)


def _png(fig: Figure) -> bytes:
    out = io.BytesIO()
    fig.savefig(out, format="png", dpi=fig.dpi, facecolor="white")
    return out.getvalue()


def _month(value: float, _: object) -> str:
    """ "4-2027" rather than matplotlib's "2027-04": how a Dutch reader writes a month."""
    moment = datetime.fromtimestamp(value * 86400, UTC)  # matplotlib counts days since 1970
    return f"{moment.month}-{moment.year}"


def realised_web_png(
    themes: Sequence[tuple[str, float, float | None]],
    *,
    title: str,
    planned_label: str,
    realised_label: str,
    subtitle: str | None = None,
) -> bytes:
    """`themes` are (label, planned level, realised level or None when not measured yet)."""
    if len(themes) < 3:
        points = [(label, level) for label, level, _ in themes]
        return web.ambitieweb_png(points, title=title, subtitle=subtitle)
    fig = Figure(figsize=(SIZE_INCHES, SIZE_INCHES), dpi=DPI, facecolor="white")
    FigureCanvasAgg(fig)
    top = web._title(fig, title, subtitle)
    labels = [
        f"{label} (geen meting)" if real is None and level > 0 else label
        for label, level, real in themes
    ]
    texts = web.chart_texts()
    # The original web exactly as the summary draws it; the same layout again places the
    # realised web on top of it.
    web._radar(fig, texts, labels, [web._level(p) for _, p, _ in themes], None, top)
    angles = web._angles(len(themes))
    area = (0.025 * PIXELS, 0.075 * PIXELS, 0.975 * PIXELS, top * PIXELS)
    layout = web._layout(fig, labels, angles, area)
    plane = web._plane(fig, layout.radius / web.MAX_LEVEL, layout.centre)
    xy = web._ring(angles, [web._level(r or 0.0) for _, _, r in themes])
    fig.add_artist(
        Polygon(
            xy, facecolor=SPREAD_COLOR, alpha=0.35, edgecolor="none", transform=plane, zorder=2.3
        )
    )
    fig.add_artist(
        Line2D(
            [x for x, _ in xy] + [xy[0][0]],
            [y for _, y in xy] + [xy[0][1]],
            color=SPREAD_COLOR,
            lw=2.2,
            marker="o",
            ms=6,
            mec="white",
            mew=1.2,
            transform=plane,
            zorder=2.6,
        )
    )
    fig.legends.clear()
    web._legend(
        fig,
        [
            Patch(facecolor=LEVEL_COLOR, alpha=0.5, edgecolor=LEVEL_COLOR, label=planned_label),
            Patch(facecolor=SPREAD_COLOR, alpha=0.6, edgecolor=SPREAD_COLOR, label=realised_label),
        ],
    )
    return _png(fig)


def trend_png(
    row: KpiProgress,
    start: date,
    *,
    measured_label: str,
    planned_label: str,
    target_label: str,
) -> bytes:
    """Values over time, the planned straight line and the target; gaps where not measured."""
    kpi = row.kpi
    fig = Figure(figsize=TREND_SIZE, dpi=DPI, facecolor="white")
    FigureCanvasAgg(fig)
    ax = fig.add_axes((0.1, 0.2, 0.86, 0.66))
    end = deadline(kpi)
    plot: Any = ax.plot  # dates on the x axis: matplotlib's stubs only name numbers
    plot(
        [start, end],
        [planned(kpi, start, start), kpi.target],
        color=GRID,
        lw=1.6,
        ls="--",
        label=planned_label,
    )
    ax.axhline(kpi.target, color=LEVEL_COLOR, lw=1.2, ls=":", label=target_label)
    dates = [d for d, _ in row.points]
    values = [math.nan if v is None else v for _, v in row.points]
    if dates:
        plot(dates, values, color=SPREAD_COLOR, lw=2.0, marker="o", ms=5, label=measured_label)
    ax.set_title(
        drawable(kpi.name), fontsize=11, color=INK, loc="left", fontfamily=FONT, parse_math=False
    )
    ax.tick_params(labelsize=8, colors=MUTED)
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)
    ax.grid(axis="y", color=GRID, lw=0.5)
    ax.legend(
        loc="upper center",
        bbox_to_anchor=(0.5, -0.12),
        ncols=3,
        frameon=False,
        prop={"family": FONT, "size": 8},
    )
    ax.xaxis.set_major_formatter(FuncFormatter(_month))
    return _png(fig)
