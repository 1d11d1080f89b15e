"""Progress per KPI against its planned path, and the realised Ambitieweb.

The rule, stated to the buyer as well: a KPI is on track when its latest value is at least as far
from the baseline, towards the target, as a straight line from the baseline on the award date to
the target on 31 December of the target year. A measurement recorded as "niet gemeten" counts as
no value; two checks in a row behind the line is when the guide's advice (talk with the supplier,
adjust the KPI or the roadmap) becomes pressing.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any, Literal

from flows.contract.model import Kpi, award_date, kpis, series, theme_levels

Status = Literal["geen_meting", "op_koers", "achter", "bereikt"]


@dataclass(frozen=True)
class KpiProgress:
    kpi: Kpi
    points: tuple[tuple[date, float | None], ...]
    latest: tuple[date, float] | None
    expected: float | None
    status: Status
    behind_streak: int
    share: float | None
    """How much of the way from baseline to target the latest value has come (0 to 1)."""


def deadline(kpi: Kpi) -> date:
    return date(kpi.year, 12, 31)


def planned(kpi: Kpi, start: date, day: date) -> float:
    """Where the straight line from baseline (at the award) to target (end of the target year)
    is on `day`; before the award the baseline, after the deadline the target."""
    end = deadline(kpi)
    span = (end - start).days
    fraction = 1.0 if span <= 0 else min(max((day - start).days / span, 0.0), 1.0)
    return kpi.baseline + (kpi.target - kpi.baseline) * fraction


def _gain(kpi: Kpi, value: float) -> float:
    """Progress in the KPI's own direction: more is better when the target is above the
    baseline, less when it is below."""
    return value - kpi.baseline if kpi.target >= kpi.baseline else kpi.baseline - value


def share(kpi: Kpi, value: float) -> float:
    whole = abs(kpi.target - kpi.baseline)
    if whole == 0:
        return 1.0 if _gain(kpi, value) >= 0 else 0.0
    return min(max(_gain(kpi, value) / whole, 0.0), 1.0)


def _status(kpi: Kpi, start: date, day: date, value: float) -> Status:
    if _gain(kpi, value) >= _gain(kpi, kpi.target):
        return "bereikt"
    if _gain(kpi, value) >= _gain(kpi, planned(kpi, start, day)) - 1e-9:
        return "op_koers"
    return "achter"


def kpi_progress(contract: dict[str, Any], kpi: Kpi) -> KpiProgress:
    start = award_date(contract)
    points = tuple(series(contract, kpi.id))
    measured = [(d, v) for d, v in points if v is not None]
    if not measured:
        return KpiProgress(kpi, points, None, None, "geen_meting", 0, None)
    streak = 0
    for d, v in reversed(measured):
        if _status(kpi, start, d, v) != "achter":
            break
        streak += 1
    day, value = measured[-1]
    return KpiProgress(
        kpi,
        points,
        (day, value),
        planned(kpi, start, day),
        _status(kpi, start, day, value),
        streak,
        share(kpi, value),
    )


def progress(contract: dict[str, Any]) -> list[KpiProgress]:
    return [kpi_progress(contract, k) for k in kpis(contract)]


@dataclass(frozen=True)
class ThemeWeb:
    theme: str
    planned: int
    realised: float | None
    """The planned level times the share of the way to the targets its KPIs have come; None
    when no KPI of the theme has a value yet."""


def realised_web(contract: dict[str, Any], answers: dict[str, Any]) -> list[ThemeWeb]:
    rows = progress(contract)
    out = []
    for theme, level in theme_levels(answers):
        shares = [r.share for r in rows if r.kpi.theme == theme and r.share is not None]
        realised = level * sum(shares) / len(shares) if shares else None
        out.append(ThemeWeb(theme, level, realised))
    return out
