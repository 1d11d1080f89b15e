"""The contract record and the KPI candidates it starts from.

Stored as plain data in the tender's state (`state["contract"]`), so it is saved with the tender
in the same atomic write and goes when the tender goes. Dataclasses are only a typed view: every
change is written back to the dict at once, which is what the store saves.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from typing import Any

from flows.spec import split_slot_id

CONTRACT_KEY = "contract"
FREQUENCY_MONTHS = {"maand": 1, "kwartaal": 3, "halfjaar": 6, "jaar": 12}
_YEAR = re.compile(r"\b(20\d\d)\b")
_NUMBER = re.compile(r"(-?\d+(?:[.,]\d+)?)\s*%?")
_RELATIVE = re.compile(r"\s*%\s*(minder|lager|reductie|kleiner|meer|hoger|groter)")


@dataclass(frozen=True)
class Kpi:
    id: str
    name: str
    theme: str | None
    baseline: float
    target: float
    year: int


@dataclass(frozen=True)
class Candidate:
    """A KPI the buyer can follow, with what step 3 or 7 already says about it."""

    name: str
    theme: str | None
    goal: str | None
    year: int | None


def kpis(contract: dict[str, Any]) -> list[Kpi]:
    return [
        Kpi(
            id=str(k["id"]),
            name=str(k["name"]),
            theme=k.get("theme"),
            baseline=float(k["baseline"]),
            target=float(k["target"]),
            year=int(k["year"]),
        )
        for k in contract.get("kpis") or []
    ]


def award_date(contract: dict[str, Any]) -> date:
    return date.fromisoformat(str(contract["award"]))


def measurements(contract: dict[str, Any]) -> list[dict[str, Any]]:
    return list(contract.get("measurements") or [])


def series(contract: dict[str, Any], kpi_id: str) -> list[tuple[date, float | None]]:
    """The values of one KPI over time; None where it was recorded as not measured."""
    out: list[tuple[date, float | None]] = []
    for m in sorted(measurements(contract), key=lambda m: str(m["date"])):
        values = m.get("values") or {}
        if kpi_id in values:
            raw = values[kpi_id]
            out.append((date.fromisoformat(str(m["date"])), None if raw is None else float(raw)))
    return out


def split_kpi_text(text: str) -> list[str]:
    parts = re.split(r"[,;\n]+|\s+en\s+", text)
    return [p.strip(" .-•*") for p in parts if p.strip(" .-•*")]


def goal_year(goal: str | None) -> int | None:
    match = _YEAR.search(goal or "")
    return int(match.group(1)) if match else None


def goal_number(goal: str | None, baseline: float | None = None) -> float | None:
    """A suggested target from the buyer's goal: its first number that is not a year, or, for
    "50% minder" and the like, that change applied to the baseline."""
    text = _YEAR.sub(" ", goal or "").lower()
    match = _NUMBER.search(text)
    if match is None:
        return None
    value = parse_number(match.group(1))
    relative = _RELATIVE.match(text, match.end(1))
    if value is None or baseline is None or relative is None:
        return value
    sign = -1 if relative.group(1) in ("minder", "lager", "reductie", "kleiner") else 1
    return baseline * (1 + sign * value / 100)


def parse_number(text: str) -> float | None:
    """A number as a buyer types it: `45`, `45,5`, `1.250`, `12%`, `-3`."""
    cleaned = text.strip().replace(" ", "").rstrip("%").replace("\u2212", "-")
    if not cleaned:
        return None
    if "," in cleaned and "." in cleaned:
        cleaned = cleaned.replace(".", "").replace(",", ".")
    elif "," in cleaned:
        cleaned = cleaned.replace(",", ".")
    elif re.fullmatch(r"-?\d{1,3}(\.\d{3})+", cleaned):
        cleaned = cleaned.replace(".", "")
    try:
        value = float(cleaned)
    except ValueError:
        return None
    return value if value == value and abs(value) < 1e12 else None


def candidates(answers: dict[str, Any]) -> list[Candidate]:
    """Step 3's indicator per theme first (with the theme's goal), then step 7's own KPIs."""
    default_year = answers.get("doeljaar")
    out: list[Candidate] = []
    seen: set[str] = set()
    for sid, value in answers.items():
        base, item = split_slot_id(sid)
        if base != "indicator" or not item or not isinstance(value, str) or not value.strip():
            continue
        goal = answers.get(f"doel[{item}]")
        goal_text = str(goal) if isinstance(goal, str) else None
        year = goal_year(goal_text) or (int(default_year) if default_year else None)
        out.append(Candidate(value.strip(), item, goal_text, year))
        seen.add(value.strip().lower())
    for name in split_kpi_text(str(answers.get("kpis") or "")):
        if name.lower() not in seen:
            seen.add(name.lower())
            out.append(Candidate(name, None, None, int(default_year) if default_year else None))
    return out


def theme_levels(answers: dict[str, Any]) -> list[tuple[str, int]]:
    """The original Ambitieweb: each chosen theme with its level, in priority order."""
    order = answers.get("prioriteit") or answers.get("themas") or []
    out = []
    for theme in order:
        level = answers.get(f"niveau[{theme}]")
        if isinstance(level, int):
            out.append((str(theme), level))
    return out
