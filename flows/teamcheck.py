"""The team ambition check: a quick Ambitieweb filled in by a whole team, without Telegram.

In the guides an Ambitieweb is filled in by five to ten people who each put stickers on it and
then discuss the differences. Here every member votes a level (0-3) per theme; closing the check
gives per theme the median, the lowest and highest vote, where the team agrees (spread of at most
one level) and where it differs by two levels or more, which is the conversation to have first.

Which level counts for the advice. The rules of the summary (`flows.advice.place_themes`) want
one whole level per theme, and a median of an even number of votes can fall between two (1.5).
The level used is the *lower median*: the highest level that more than half of the voters chose
or exceeded. It equals the median whenever that is a whole level and otherwise rounds down,
because a tender should not demand more than a majority of its own team carries. The chart and
the text still show the exact median, so "1,5" stays visible as a point to discuss. Priority for
the award-criteria cap is the order on the board (for a tender's themes, that tender's priority).

Everything here is plain data in and out: `TeamCheck.to_dict` is JSON for the store and
`from_dict` accepts older or hand-edited records, dropping what it cannot use rather than failing
on one bad vote. Words come from `prompts/teamcheck.yaml`.
"""

from __future__ import annotations

import functools
import io
import re
import secrets
import statistics
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

from flows.advice import Placement, ThemeChoice, place_themes
from flows.prompting import plain, shorten
from flows.session import now_iso
from flows.spec import FlowSpec, load_spec
from flows.texts import Texts, prompts_dir

LEVELS = (0, 1, 2, 3)
MAX_THEMES = 12
SUBJECT_MAX = 120
LABEL_MAX = 80
KEEP_CHECKS = 5
DIFFER_FROM = 2
THEMES_Q = "themas"
ORDER_Q = "prioriteit"
BASE_THEMES = (
    "milieu",
    "klimaat",
    "circulariteit",
    "ketenverantwoordelijkheid",
    "social_return",
    "diversiteit_inclusie",
)

VoteStatus = Literal["new", "changed", "same", "closed", "invalid"]
CloseStatus = Literal["closed", "already", "denied"]

_SPACES = re.compile(r"\s+")


def new_id() -> str:
    """Six hex characters: unique enough within one chat, and short in 64-byte button data."""
    return secrets.token_hex(3)


def base_themes(spec: FlowSpec | None = None) -> list[tuple[str, str]]:
    spec = spec or load_spec()
    return [(value, spec.label(THEMES_Q, value)) for value in BASE_THEMES]


def tender_themes(
    answers: Mapping[str, Any], spec: FlowSpec | None = None
) -> list[tuple[str, str]]:
    """A tender's chosen themes in its own priority order, own themes included as typed."""
    spec = spec or load_spec()
    items = spec.items(THEMES_Q, answers, ORDER_Q)[:MAX_THEMES]
    return [(value, shorten(spec.label(THEMES_Q, value), LABEL_MAX)) for value in items]


def level_text(value: float) -> str:
    """1.5 as "1,5" and 2.0 as "2": Dutch decimals, no needless ",0"."""
    return str(int(value)) if float(value).is_integer() else f"{value:.1f}".replace(".", ",")


# ---------------------------------------------------------------------------------------------
# Tallies and the result


@dataclass(frozen=True)
class ThemeTally:
    value: str
    label: str
    priority: int
    votes: tuple[int, ...]

    @property
    def count(self) -> int:
        return len(self.votes)

    @property
    def counts(self) -> tuple[int, ...]:
        return tuple(self.votes.count(level) for level in LEVELS)

    @property
    def median(self) -> float | None:
        return float(statistics.median(self.votes)) if self.votes else None

    @property
    def level(self) -> int | None:
        """The level for the advice: the lower median (see the module docstring)."""
        return int(statistics.median_low(self.votes)) if self.votes else None

    @property
    def low(self) -> int | None:
        return min(self.votes) if self.votes else None

    @property
    def high(self) -> int | None:
        return max(self.votes) if self.votes else None

    @property
    def spread(self) -> int | None:
        return max(self.votes) - min(self.votes) if self.votes else None

    @property
    def agrees(self) -> bool:
        return self.spread is not None and self.spread < DIFFER_FROM

    @property
    def differs(self) -> bool:
        return self.spread is not None and self.spread >= DIFFER_FROM


@dataclass(frozen=True)
class TeamResult:
    check: TeamCheck
    tallies: tuple[ThemeTally, ...]
    placements: tuple[Placement, ...]

    @property
    def voters(self) -> int:
        return self.check.voters

    @property
    def agree(self) -> list[ThemeTally]:
        return [t for t in self.tallies if t.agrees]

    @property
    def differ(self) -> list[ThemeTally]:
        """Widest spread first: those are the conversations to start with."""
        found = [t for t in self.tallies if t.differs]
        return sorted(found, key=lambda t: (-(t.spread or 0), t.priority))


# ---------------------------------------------------------------------------------------------
# One check


@dataclass(frozen=True)
class Vote:
    status: VoteStatus
    theme: str = ""
    level: int = 0


@dataclass(frozen=True)
class Closing:
    status: CloseStatus
    result: TeamResult | None = None


@dataclass
class TeamCheck:
    """One board: its themes, everybody's current vote per theme, and whether it is closed."""

    id: str
    chat_key: str
    starter_id: int
    subject: str = ""
    themes: list[tuple[str, str]] = field(default_factory=list)
    votes: dict[str, dict[str, int]] = field(default_factory=dict)
    closed: bool = False
    created: str = field(default_factory=now_iso)
    closed_at: str | None = None
    closed_by: int | None = None
    board_message_id: int | None = None
    chat_id: int | None = None
    source: str = ""
    private: bool = False

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "chat_key": self.chat_key,
            "starter_id": self.starter_id,
            "subject": self.subject,
            "themes": [[value, label] for value, label in self.themes],
            "votes": {user: dict(levels) for user, levels in self.votes.items()},
            "closed": self.closed,
            "created": self.created,
            "closed_at": self.closed_at,
            "closed_by": self.closed_by,
            "board_message_id": self.board_message_id,
            "chat_id": self.chat_id,
            "source": self.source,
            "private": self.private,
        }

    @classmethod
    def from_dict(cls, raw: Mapping[str, Any]) -> TeamCheck | None:
        """None when the record is too damaged to be a check (no id or no themes); unknown keys
        are ignored and single bad votes dropped, so one odd value never loses the others."""
        check_id, chat_key = raw.get("id"), raw.get("chat_key")
        if not isinstance(check_id, str) or not check_id or not isinstance(chat_key, str):
            return None
        themes: list[tuple[str, str]] = []
        for item in raw.get("themes") or []:
            if isinstance(item, list | tuple) and len(item) == 2:
                value, label = item
                if isinstance(value, str) and value and all(value != v for v, _ in themes):
                    themes.append((value, str(label)))
        if not themes:
            return None
        known = {value for value, _ in themes}
        votes: dict[str, dict[str, int]] = {}
        raw_votes = raw.get("votes")
        for user, levels in (raw_votes if isinstance(raw_votes, Mapping) else {}).items():
            if not isinstance(levels, Mapping):
                continue
            kept = {
                str(theme): level
                for theme, level in levels.items()
                if theme in known and type(level) is int and level in LEVELS
            }
            if kept:
                votes[str(user)] = kept
        return cls(
            id=check_id,
            chat_key=chat_key,
            starter_id=_int(raw.get("starter_id")) or 0,
            subject=str(raw.get("subject") or ""),
            themes=themes,
            votes=votes,
            closed=raw.get("closed") is True,
            created=str(raw.get("created") or ""),
            closed_at=_str_or_none(raw.get("closed_at")),
            closed_by=_int(raw.get("closed_by")),
            board_message_id=_int(raw.get("board_message_id")),
            chat_id=_int(raw.get("chat_id")),
            source=str(raw.get("source") or ""),
            private=raw.get("private") is True,
        )

    @property
    def voters(self) -> int:
        return sum(1 for levels in self.votes.values() if levels)

    def vote(self, user_id: int | str, theme_index: int, level: int) -> Vote:
        """Set or change one person's level for one theme; pressing the same level keeps it."""
        if self.closed:
            return Vote("closed")
        if not 0 <= theme_index < len(self.themes) or level not in LEVELS:
            return Vote("invalid")
        value, label = self.themes[theme_index]
        mine = self.votes.setdefault(str(user_id), {})
        before = mine.get(value)
        mine[value] = level
        status: VoteStatus = "new" if before is None else "same" if before == level else "changed"
        return Vote(status, label, level)

    def mine(self, user_id: int | str) -> dict[str, int]:
        return dict(self.votes.get(str(user_id), {}))

    def may_close(self, by: int, is_admin: bool) -> bool:
        return by == self.starter_id or is_admin

    def close(self, by: int, is_admin: bool, when: str | None = None) -> Closing:
        """Closing twice is harmless: the second call says "already" and changes nothing."""
        if self.closed:
            return Closing("already", self.result())
        if not self.may_close(by, is_admin):
            return Closing("denied")
        self.closed = True
        self.closed_at = when or now_iso()
        self.closed_by = by
        return Closing("closed", self.result())

    def tallies(self) -> tuple[ThemeTally, ...]:
        return tuple(
            ThemeTally(
                value=value,
                label=label,
                priority=position,
                votes=tuple(
                    sorted(levels[value] for levels in self.votes.values() if value in levels)
                ),
            )
            for position, (value, label) in enumerate(self.themes, start=1)
        )

    def result(self) -> TeamResult:
        tallies = self.tallies()
        choices = [
            ThemeChoice(
                value=t.value,
                label=t.label,
                priority=t.priority,
                level=t.level,
                goal=None,
                indicator=None,
                measures_theme=None,
            )
            for t in tallies
        ]
        return TeamResult(self, tallies, tuple(place_themes(choices)))


def _int(value: Any) -> int | None:
    return value if type(value) is int else None


def _str_or_none(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


# ---------------------------------------------------------------------------------------------
# All checks of one chat, as stored under its chat key


@dataclass(frozen=True)
class SourceOption:
    name: str
    themes: list[tuple[str, str]]


@dataclass
class SourceChoice:
    """The starter's pending choice between the base themes and one of their own tenders."""

    id: str
    starter_id: int
    subject: str
    options: list[SourceOption]

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "starter_id": self.starter_id,
            "subject": self.subject,
            "options": [
                {"name": o.name, "themes": [[v, label] for v, label in o.themes]}
                for o in self.options
            ],
        }

    @classmethod
    def from_dict(cls, raw: Any) -> SourceChoice | None:
        if not isinstance(raw, Mapping) or not isinstance(raw.get("id"), str):
            return None
        options = []
        for item in raw.get("options") or []:
            if not isinstance(item, Mapping):
                continue
            themes = [
                (str(t[0]), str(t[1]))
                for t in item.get("themes") or []
                if isinstance(t, list | tuple) and len(t) == 2
            ]
            if themes:
                options.append(SourceOption(str(item.get("name") or ""), themes))
        return cls(
            id=str(raw["id"]),
            starter_id=_int(raw.get("starter_id")) or 0,
            subject=str(raw.get("subject") or ""),
            options=options,
        )


@dataclass
class ChatChecks:
    """The checks of one chat, oldest first; only the newest can be open."""

    checks: list[TeamCheck] = field(default_factory=list)
    choice: SourceChoice | None = None

    @property
    def current(self) -> TeamCheck | None:
        return self.checks[-1] if self.checks else None

    @property
    def open_check(self) -> TeamCheck | None:
        current = self.current
        return current if current is not None and not current.closed else None

    @property
    def last_closed(self) -> TeamCheck | None:
        return next((c for c in reversed(self.checks) if c.closed), None)

    def start(self, check: TeamCheck) -> TeamCheck:
        """Keep a few closed checks for /download; older ones are of no use to anybody."""
        self.checks = [*self.checks, check][-KEEP_CHECKS:]
        self.choice = None
        return check

    def to_dict(self) -> dict[str, Any]:
        return {
            "teamcheck": 1,
            "checks": [c.to_dict() for c in self.checks],
            "choice": self.choice.to_dict() if self.choice is not None else None,
        }

    @classmethod
    def from_dict(cls, raw: Mapping[str, Any] | None) -> ChatChecks:
        if not raw:
            return cls()
        checks = [
            check
            for item in raw.get("checks") or []
            if isinstance(item, Mapping)
            for check in [TeamCheck.from_dict(item)]
            if check is not None
        ]
        return cls(checks=checks, choice=SourceChoice.from_dict(raw.get("choice")))


# ---------------------------------------------------------------------------------------------
# Words


REQUIRED_KEYS = (
    "board.close_button",
    "board.closed",
    "board.intro_group",
    "board.intro_private",
    "board.row_group",
    "board.row_private",
    "board.source",
    "board.title",
    "board.voters",
    "chart.subtitle",
    "chart.title",
    "docx.agree_heading",
    "docx.agree_none",
    "docx.chart_caption",
    "docx.col_high",
    "docx.col_low",
    "docx.col_median",
    "docx.col_route",
    "docx.col_theme",
    "docx.col_votes",
    "docx.date",
    "docx.discuss_heading",
    "docx.discuss_intro",
    "docx.discuss_none",
    "docx.discuss_row",
    "docx.empty",
    "docx.made_with",
    "docx.no_subject",
    "docx.rounding",
    "docx.source",
    "docx.subject",
    "docx.table_heading",
    "docx.title",
    "docx.voters",
    "message.already_open",
    "message.base_button",
    "message.choose_source",
    "message.close_denied",
    "message.download_caption",
    "message.download_none",
    "message.kept",
    "message.none_open",
    "message.photo_caption",
    "message.wipe_confirm",
    "message.wipe_no",
    "message.wipe_not_admin",
    "message.wipe_yes",
    "message.wiped",
    "reason.award2",
    "reason.award3",
    "reason.contract",
    "reason.groeipad",
    "reason.intern",
    "reason.level0",
    "reason.level1",
    "reason.no_level",
    "reason.plan",
    "reason.procedure",
    "result.agree",
    "result.differ_head",
    "result.differ_row",
    "result.download_hint",
    "result.no_differ",
    "result.per_theme",
    "result.per_theme_private",
    "result.placement_head",
    "result.placement_row",
    "result.rounding",
    "result.row",
    "result.row_private",
    "result.title",
    "result.voters",
    "route.contract",
    "route.eis",
    "route.geen",
    "route.groeipad",
    "route.gunningscriterium",
    "route.intern",
    "route.open",
    "route.plan",
    "route.procedure",
    "toast.choice_denied",
    "toast.choice_stale",
    "toast.close_denied",
    "toast.closed",
    "toast.label",
    "toast.same",
    "toast.unknown",
    "toast.vote",
    "toast.wipe_denied",
)


class TeamTexts:
    """`prompts/teamcheck.yaml` through the project's Jinja2 environment (autoescape on).

    `html` is for Telegram messages; `plain` renders the same template and then drops the tags
    and decodes entities, for places that show text as is (toasts, captions, chart, Word).
    User text is escaped during rendering, so stripping tags afterwards can never eat it.
    """

    def __init__(self, texts: Texts | None = None) -> None:
        self.texts = texts or Texts(prompts_dir() / "teamcheck.yaml")
        for key in REQUIRED_KEYS:
            self.texts(key, **PROBE_CONTEXT)

    def html(self, key: str, **context: Any) -> str:
        return self.texts(key, **context)

    def plain(self, key: str, **context: Any) -> str:
        return plain(self.texts(key, **context))


# Every variable any template may use, so a typo or a missing key fails at start-up.
PROBE_CONTEXT: dict[str, Any] = {
    "subject": "",
    "source": "",
    "label": "",
    "votes": 0,
    "counts": [0, 0, 0, 0],
    "mine": None,
    "voters": 0,
    "theme": "",
    "level": 0,
    "median": "",
    "low": 0,
    "high": 0,
    "route": "",
    "reason": "",
    "private": False,
    "date": "",
    "themes": "",
    "priority": 1,
    "max": 3,
}


@functools.cache
def team_texts() -> TeamTexts:
    return TeamTexts()


def board_text(check: TeamCheck, t: TeamTexts, viewer: int | None = None) -> str:
    """The board; in a group only counts per level, never who voted what. In a private scan the
    only voter is the viewer, so their own choices are shown instead."""
    lines = [t.html("board.title", subject=check.subject)]
    if check.source:
        lines.append(t.html("board.source", source=check.source))
    if check.closed:
        lines.append(t.html("board.closed"))
    else:
        lines.append(t.html("board.intro_private" if check.private else "board.intro_group"))
    lines.append("")
    mine = check.mine(viewer if viewer is not None else check.starter_id)
    for tally in check.tallies():
        if check.private:
            lines.append(t.html("board.row_private", label=tally.label, mine=mine.get(tally.value)))
        else:
            lines.append(
                t.html(
                    "board.row_group",
                    label=tally.label,
                    votes=tally.count,
                    counts=list(tally.counts),
                )
            )
    if not check.private:
        lines += ["", t.html("board.voters", voters=check.voters)]
    return "\n".join(lines)


def route_reason(placement: Placement, t: TeamTexts) -> tuple[str, str]:
    key = placement.reason.key.rsplit(".", 1)[-1]
    return t.html(f"route.{placement.route}"), t.html(f"reason.{key}", **placement.reason.params)


def result_text(result: TeamResult, t: TeamTexts) -> str:
    check = result.check
    blocks = [
        "\n".join(
            [
                t.html("result.title", subject=check.subject),
                t.html("result.voters", voters=result.voters, private=check.private),
            ]
        ),
        "\n".join(
            [t.html("result.per_theme_private" if check.private else "result.per_theme")]
            + [
                t.html(
                    "result.row_private" if check.private else "result.row",
                    label=tally.label,
                    votes=tally.count,
                    median=level_text(tally.median) if tally.median is not None else "",
                    low=tally.low,
                    high=tally.high,
                )
                for tally in result.tallies
            ]
        ),
    ]
    if not check.private and result.voters:
        agree = result.agree
        if agree:
            blocks.append(t.html("result.agree", themes=", ".join(a.label for a in agree)))
        differ = result.differ
        if differ:
            blocks.append(
                "\n".join(
                    [t.html("result.differ_head")]
                    + [
                        t.html("result.differ_row", label=d.label, low=d.low, high=d.high)
                        for d in differ
                    ]
                )
            )
        else:
            blocks.append(t.html("result.no_differ"))
    placement_lines = [t.html("result.placement_head")]
    for placement in result.placements:
        route, reason = route_reason(placement, t)
        placement_lines.append(
            t.html("result.placement_row", label=placement.theme.label, route=route, reason=reason)
        )
    blocks.append("\n".join(placement_lines))
    footer = [] if check.private else [t.html("result.rounding"), t.html("result.download_hint")]
    if footer:
        blocks.append("\n".join(footer))
    return "\n\n".join(blocks)


def _date(check: TeamCheck) -> str:
    stamp = check.closed_at or check.created
    try:
        return datetime.fromisoformat(stamp).strftime("%d-%m-%Y")
    except ValueError:
        return stamp


def chart_png(result: TeamResult, t: TeamTexts) -> bytes:
    """The shared Ambitieweb: median per theme, lowest to highest vote as the orange band.
    A theme without votes sits at 0 with no band; the text says it had no votes."""
    from flows.report.chart import ambitieweb_png  # matplotlib: only where a chart is made

    check = result.check
    points = [(tally.label, tally.median or 0.0) for tally in result.tallies]
    ranges = [(float(tally.low or 0), float(tally.high or 0)) for tally in result.tallies]
    return ambitieweb_png(
        points,
        title=t.plain("chart.title", subject=check.subject),
        ranges=ranges,
        subtitle=t.plain(
            "chart.subtitle", voters=result.voters, private=check.private, date=_date(check)
        ),
    )


DOCX_WIDTHS = (4.2, 1.7, 1.7, 1.7, 1.7, 5.0)


def result_docx(result: TeamResult, png: bytes | None, t: TeamTexts) -> bytes:
    """A short Word report to send on: title, subject, date, chart, table, discussion list.

    Only built-in styles, like the summary's document, so the reader's template restyles it.
    """
    # python-docx only where a document is made, so the bot process does not load it early.
    from docx import Document
    from docx.enum.text import WD_ALIGN_PARAGRAPH
    from docx.shared import Cm, Pt

    from flows.report.docx_doc import clean

    check = result.check
    doc = Document()
    props = doc.core_properties
    props.title = clean(t.plain("docx.title"))
    props.author = "Inkoopkompas"
    doc.add_paragraph(clean(t.plain("docx.title")), style="Title")
    if check.subject:
        doc.add_paragraph(clean(t.plain("docx.subject", subject=check.subject)))
    else:
        doc.add_paragraph(clean(t.plain("docx.no_subject")))
    if check.source:
        doc.add_paragraph(clean(t.plain("docx.source", source=check.source)))
    doc.add_paragraph(clean(t.plain("docx.date", date=_date(check))))
    doc.add_paragraph(clean(t.plain("docx.voters", voters=result.voters)))
    if png is not None:
        picture = doc.add_paragraph()
        picture.alignment = WD_ALIGN_PARAGRAPH.CENTER
        picture.add_run().add_picture(io.BytesIO(png), width=Cm(14))
        caption = doc.add_paragraph(clean(t.plain("docx.chart_caption")), style="Caption")
        caption.alignment = WD_ALIGN_PARAGRAPH.CENTER

    doc.add_heading(clean(t.plain("docx.table_heading")), level=1)
    columns = ("col_theme", "col_median", "col_low", "col_high", "col_votes", "col_route")
    table = doc.add_table(rows=1, cols=len(columns))
    table.style = doc.styles["Table Grid"]
    for cell, key in zip(table.rows[0].cells, columns, strict=True):
        cell.paragraphs[0].add_run(clean(t.plain(f"docx.{key}"))).bold = True
    dash = t.plain("docx.empty")
    for tally, placement in zip(result.tallies, result.placements, strict=True):
        route, reason = route_reason(placement, t)
        row: Sequence[str] = (
            tally.label,
            level_text(tally.median) if tally.median is not None else dash,
            str(tally.low) if tally.low is not None else dash,
            str(tally.high) if tally.high is not None else dash,
            str(tally.count),
            f"{plain(route)}: {plain(reason)}",
        )
        cells = table.add_row().cells
        for cell, text in zip(cells, row, strict=True):
            cell.paragraphs[0].add_run(clean(text)).font.size = Pt(9.5)
    for column, width in zip(table.columns, DOCX_WIDTHS, strict=True):
        for cell in column.cells:
            cell.width = Cm(width)
    doc.add_paragraph(clean(t.plain("docx.rounding"))).runs[0].italic = True

    doc.add_heading(clean(t.plain("docx.discuss_heading")), level=1)
    differ = result.differ
    if differ:
        doc.add_paragraph(clean(t.plain("docx.discuss_intro")))
        for d in differ:
            doc.add_paragraph(
                clean(t.plain("docx.discuss_row", label=d.label, low=d.low, high=d.high)),
                style="List Bullet",
            )
    else:
        doc.add_paragraph(clean(t.plain("docx.discuss_none")))
    doc.add_heading(clean(t.plain("docx.agree_heading")), level=1)
    agree = result.agree
    if agree:
        for a in agree:
            doc.add_paragraph(clean(a.label), style="List Bullet")
    else:
        doc.add_paragraph(clean(t.plain("docx.agree_none")))
    doc.add_paragraph(clean(t.plain("docx.made_with"))).runs[0].italic = True
    out = io.BytesIO()
    doc.save(out)
    return out.getvalue()


def docx_filename(check: TeamCheck) -> str:
    slug = re.sub(r"[^a-z0-9]+", "-", check.subject.lower()).strip("-")[:40]
    return f"ambitiecheck-{slug or check.id}.docx"
