"""The contract record in the answers file (`contract:`), written by `/export`, read by `render`.

Only what the progress report is made from travels: the agreement, the KPIs, the check-ins with
whether they were done, the measurements and the agreed actions. The reminder bookkeeping
(`remind`, `sent`) and the linked Telegram groups stay with the tender: they mean nothing in
another installation and a group id is not the buyer's to hand around.

Reading is as strict as the rest of the answers file: every field has the type and size the
chat could have produced, and anything else is refused with one line naming the field.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from datetime import date, datetime
from typing import Any

from flows.contract.model import FREQUENCY_MONTHS
from flows.contract.room import DURATION_MAX, TEXT_MAX

EXPORT_KEY = "__contract__"
"""Where a document request carries the contract record, beside the answers (like the progress
snapshot), so a render cache keyed on the answers sees a new measurement."""
FILE_KEY = "contract"
ID_MAX = 40
KPI_MAX = 40
ENTRIES_MAX = 2000
"""Measurements and actions: /meting can be used at any time, so more than the check-ins."""
NUMBER_MAX = 1e12

_AGREEMENT = ("award", "supplier", "months", "frequency", "reminders")


def exported(contract: dict[str, Any]) -> dict[str, Any]:
    """The record as the answers file holds it."""
    out: dict[str, Any] = {k: contract.get(k) for k in _AGREEMENT if k in contract}
    out["kpis"] = [
        {k: row.get(k) for k in ("id", "name", "theme", "baseline", "target", "year")}
        for row in contract.get("kpis") or []
    ]
    out["checkins"] = [
        {"n": c.get("n"), "due": c.get("due"), "done": c.get("done")}
        for c in contract.get("checkins") or []
    ]
    out["measurements"] = [
        {"date": m.get("date"), "checkin": m.get("checkin"), "values": dict(m.get("values") or {})}
        for m in contract.get("measurements") or []
    ]
    out["actions"] = [
        {"date": a.get("date"), "text": a.get("text")} for a in contract.get("actions") or []
    ]
    return out


Fail = Callable[[str], Exception]


def checked(raw: Any, fail: Fail) -> dict[str, Any]:
    """The record from a file, or `fail` with what is wrong; dates come back as ISO text."""

    def need(ok: bool, where: str, what: str) -> None:
        if not ok:
            raise fail(f"'{'.'.join(filter(None, (FILE_KEY, where)))}' {what}")

    def fields(value: Any, where: str, allowed: tuple[str, ...]) -> dict[str, Any]:
        need(isinstance(value, dict), where, "moet veld: waarde paren bevatten")
        for key in value:
            need(key in allowed, where, f"kent het veld {str(key)[:40]!r} niet")
        return dict(value)

    def rows(value: Any, where: str, limit: int) -> list[Any]:
        value = [] if value is None else value
        need(isinstance(value, list), where, "moet een lijst zijn")
        need(len(value) <= limit, where, f"heeft meer dan {limit} regels")
        return list(value)

    def text(value: Any, where: str, limit: int) -> str:
        ok = isinstance(value, str) and value.strip() != "" and len(value) <= limit
        need(ok, where, f"moet een tekst van hoogstens {limit} tekens zijn")
        return str(value)

    def day(value: Any, where: str) -> str:
        if isinstance(value, date) and not isinstance(value, datetime):
            return value.isoformat()
        if isinstance(value, str) and len(value) <= ID_MAX:
            try:
                return date.fromisoformat(value).isoformat()
            except ValueError:
                pass
        raise fail(f"'{FILE_KEY}.{where}' moet een datum zijn (JJJJ-MM-DD)")

    def whole(value: Any, where: str, low: int, high: int) -> int:
        ok = isinstance(value, int) and not isinstance(value, bool) and low <= value <= high
        need(ok, where, f"moet een geheel getal van {low} tot en met {high} zijn")
        return int(value)

    def amount(value: Any, where: str) -> float:
        ok = isinstance(value, int | float) and not isinstance(value, bool)
        need(ok and math.isfinite(value) and abs(value) < NUMBER_MAX, where, "moet een getal zijn")
        return float(value)

    top = fields(raw, "", (*_AGREEMENT, "kpis", "checkins", "measurements", "actions"))
    frequency = top.get("frequency")
    need(frequency in FREQUENCY_MONTHS, "frequency", f"moet een van {list(FREQUENCY_MONTHS)} zijn")
    reminders = top.get("reminders", "aan")
    need(reminders in ("aan", "uit"), "reminders", "moet 'aan' of 'uit' zijn")
    out: dict[str, Any] = {
        "award": day(top.get("award"), "award"),
        "supplier": text(top.get("supplier"), "supplier", TEXT_MAX),
        "months": whole(top.get("months"), "months", 1, DURATION_MAX),
        "frequency": frequency,
        "reminders": reminders,
        "kpis": [],
        "checkins": [],
        "measurements": [],
        "actions": [],
    }
    for i, row in enumerate(rows(top.get("kpis"), "kpis", KPI_MAX)):
        where = f"kpis[{i}]"
        k = fields(row, where, ("id", "name", "theme", "baseline", "target", "year"))
        theme = k.get("theme")
        out["kpis"].append(
            {
                "id": text(k.get("id"), f"{where}.id", ID_MAX),
                "name": text(k.get("name"), f"{where}.name", TEXT_MAX),
                "theme": None if theme is None else text(theme, f"{where}.theme", TEXT_MAX),
                "baseline": amount(k.get("baseline"), f"{where}.baseline"),
                "target": amount(k.get("target"), f"{where}.target"),
                "year": whole(k.get("year"), f"{where}.year", 2000, 2100),
            }
        )
    ids = [k["id"] for k in out["kpis"]]
    need(len(set(ids)) == len(ids), "kpis", "noemt een id twee keer")
    for i, row in enumerate(rows(top.get("checkins"), "checkins", DURATION_MAX)):
        where = f"checkins[{i}]"
        c = fields(row, where, ("n", "due", "done"))
        done = c.get("done")
        if done is not None and done != "overgeslagen":
            done = day(done, f"{where}.done")
        out["checkins"].append(
            {
                "n": whole(c.get("n"), f"{where}.n", 1, DURATION_MAX),
                "due": day(c.get("due"), f"{where}.due"),
                "remind": None,
                "sent": None,
                "done": done,
            }
        )
    for i, row in enumerate(rows(top.get("measurements"), "measurements", ENTRIES_MAX)):
        where = f"measurements[{i}]"
        m = fields(row, where, ("date", "checkin", "values"))
        checkin = m.get("checkin")
        values = m.get("values") or {}
        need(isinstance(values, dict), f"{where}.values", "moet per KPI-id een waarde geven")
        for kid in values:
            need(kid in ids, f"{where}.values", f"noemt een onbekende KPI {str(kid)[:40]!r}")
        out["measurements"].append(
            {
                "date": day(m.get("date"), f"{where}.date"),
                "checkin": None
                if checkin is None
                else whole(checkin, f"{where}.checkin", 1, DURATION_MAX),
                "values": {
                    str(kid): None if v is None else amount(v, f"{where}.values.{kid}")
                    for kid, v in values.items()
                },
            }
        )
    for i, row in enumerate(rows(top.get("actions"), "actions", ENTRIES_MAX)):
        where = f"actions[{i}]"
        a = fields(row, where, ("date", "text"))
        out["actions"].append(
            {
                "date": day(a.get("date"), f"{where}.date"),
                "text": text(a.get("text"), f"{where}.text", TEXT_MAX),
            }
        )
    return out
