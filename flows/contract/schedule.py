"""Evaluation moments: when they fall, when to remind, and which reminders are due now.

Moments are stored as local calendar dates (Europe/Amsterdam); the instant to remind is worked
out from that date only when it is needed, at a fixed local hour. So a change to or from summer
time can never double or drop a reminder: each date has exactly one 09:00. The scheduler keeps no
state of its own: what is due follows from the stored dates and their `sent` marks, so a restart
finds every moment it missed and none it already sent.
"""

from __future__ import annotations

import calendar
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from flows.contract.model import FREQUENCY_MONTHS

AMSTERDAM = ZoneInfo("Europe/Amsterdam")
REMIND_AT = time(9, 0)
QUIET_BEFORE = time(8, 0)
QUIET_FROM = time(21, 0)
SNOOZE_DAYS = 7
Clock = Callable[[], datetime]


def utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class Calendar:
    """The clock and the time zone the reminders follow; tests pass a clock they move by hand."""

    clock: Clock = utc_now
    zone: ZoneInfo = AMSTERDAM

    def now(self) -> datetime:
        now = self.clock()
        if now.tzinfo is None:
            raise ValueError("de klok moet een tijdzone hebben")
        return now

    def today(self) -> date:
        return self.now().astimezone(self.zone).date()

    def at(self, day: date, moment: time = REMIND_AT) -> datetime:
        """The instant (UTC) of a local wall-clock time on a local date."""
        return datetime.combine(day, moment, tzinfo=self.zone).astimezone(UTC)

    def sensible(self, when: datetime) -> datetime:
        """`when`, or the next 09:00 if it falls at night: a late catch-up waits for the morning."""
        local = when.astimezone(self.zone)
        if QUIET_BEFORE <= local.time() < QUIET_FROM:
            return when
        day = local.date() if local.time() < QUIET_BEFORE else local.date() + timedelta(days=1)
        return self.at(day)


def add_months(day: date, months: int) -> date:
    """The same day `months` later, or the month's last day when it is shorter."""
    index = day.month - 1 + months
    year, month = day.year + index // 12, index % 12 + 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def plan(award: date, months: int, frequency: str) -> list[dict[str, Any]]:
    """One check-in per reporting period over the contract, the last at the end of it."""
    step = FREQUENCY_MONTHS[frequency]
    count = max(months // step, 1)
    return [
        {"n": n, "due": add_months(award, n * step).isoformat(), "remind": None, "sent": None}
        for n in range(1, count + 1)
    ]


def remind_day(checkin: dict[str, Any]) -> date:
    return date.fromisoformat(str(checkin.get("remind") or checkin["due"]))


def open_checkins(contract: dict[str, Any]) -> list[dict[str, Any]]:
    return [c for c in contract.get("checkins") or [] if not c.get("done")]


def reminders_on(contract: dict[str, Any]) -> bool:
    return bool(contract.get("reminders", "aan") != "uit")


def due(contract: dict[str, Any], cal: Calendar) -> list[dict[str, Any]]:
    """Open moments whose reminder time has passed and that were not reminded yet."""
    if not reminders_on(contract):
        return []
    now = cal.now()
    return [
        c for c in open_checkins(contract) if not c.get("sent") and cal.at(remind_day(c)) <= now
    ]


def next_reminder(contract: dict[str, Any], cal: Calendar) -> datetime | None:
    """When the next reminder should go out (UTC), never at night; None when none is pending."""
    if not reminders_on(contract):
        return None
    pending = [cal.at(remind_day(c)) for c in open_checkins(contract) if not c.get("sent")]
    if not pending:
        return None
    return cal.sensible(max(min(pending), cal.now()))


def mark_sent(contract: dict[str, Any], numbers: list[int], cal: Calendar) -> None:
    stamp = cal.now().isoformat(timespec="seconds")
    for c in contract.get("checkins") or []:
        if c["n"] in numbers:
            c["sent"] = stamp


def take_due(contract: dict[str, Any], cal: Calendar) -> list[int]:
    """The moments to remind about now, marked as sent: the caller saves before sending, so a
    restart can never send them again. Nothing is due at night; it waits for the morning."""
    if cal.sensible(cal.now()) != cal.now():
        return []
    numbers = [int(c["n"]) for c in due(contract, cal)]
    mark_sent(contract, numbers, cal)
    return numbers


def unmark_sent(contract: dict[str, Any], numbers: list[int]) -> None:
    for c in contract.get("checkins") or []:
        if c["n"] in numbers:
            c["sent"] = None


def current_checkin(contract: dict[str, Any], cal: Calendar) -> dict[str, Any] | None:
    """The moment a measurement entered today belongs to: the latest open one that is due, or
    one due within the snooze window (measuring a few days early counts). After a missed
    quarter the buyer measures the current one, not the one that has passed."""
    horizon = cal.today() + timedelta(days=SNOOZE_DAYS)
    due_now = [c for c in open_checkins(contract) if date.fromisoformat(str(c["due"])) <= horizon]
    return due_now[-1] if due_now else None


def close_through(contract: dict[str, Any], number: int, day: date) -> None:
    """Moment `number` is measured; open moments before it are passed and close with it."""
    for c in open_checkins(contract):
        if int(c["n"]) < number:
            c["done"] = "overgeslagen"
        elif int(c["n"]) == number:
            c["done"] = day.isoformat()


def snooze(contract: dict[str, Any], cal: Calendar, days: int = SNOOZE_DAYS) -> date | None:
    """Remind about the first open moment `days` later than planned, counted from today once
    that moment has come: snoozing never brings a reminder forward."""
    checkins = open_checkins(contract)
    if not checkins:
        return None
    return move(contract, max(cal.today(), remind_day(checkins[0])) + timedelta(days=days))


def move(contract: dict[str, Any], day: date) -> date | None:
    """Put the reminder of the first open moment on another date; it will be sent again."""
    checkins = open_checkins(contract)
    if not checkins:
        return None
    checkins[0]["remind"] = day.isoformat()
    checkins[0]["sent"] = None
    return day


def set_reminders(contract: dict[str, Any], on: bool) -> None:
    contract["reminders"] = "aan" if on else "uit"
