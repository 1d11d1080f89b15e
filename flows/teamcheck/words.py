"""The words of the team check: the board, the result and the toasts, from
`prompts/teamcheck.yaml`, rendered with the project's Jinja2 environment (autoescape on)."""

from __future__ import annotations

import functools
from typing import Any

from flows.advice import Placement
from flows.prompting import plain
from flows.teamcheck.model import TeamCheck, TeamResult, level_text
from flows.texts import Texts, prompts_dir

BAR_BLOCKS = 8
TOAST_MAX = 200

REQUIRED_KEYS = (
    "board.bars",
    "board.close_button",
    "board.closed",
    "board.intro_group",
    "board.intro_private",
    "board.mine_button",
    "board.source",
    "board.theme_group",
    "board.theme_private",
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
    "message.choice_stale",
    "message.choose_button",
    "message.choose_private",
    "message.choosing",
    "message.chosen",
    "message.close_denied",
    "message.download_caption",
    "message.download_none",
    "message.group_help",
    "message.group_help_button",
    "message.kept",
    "message.moved",
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
    "toast.mine",
    "toast.mine_none",
    "toast.mine_short",
    "toast.same",
    "toast.theme_mine",
    "toast.theme_none",
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
    "bars": [(0, 0, "")],
    "number": 1,
    "mine": None,
    "levels": "",
    "link": "",
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


def bar(count: int, total: int) -> str:
    """A small bar for a level's share of a theme's votes: the four bars of a theme add up to
    about eight blocks, so the line fits a phone however many vote. A single vote still shows."""
    if count <= 0 or total <= 0:
        return ""
    return "▮" * max(1, round(count / total * BAR_BLOCKS))


def board_text(check: TeamCheck, t: TeamTexts) -> str:
    """The board. Each theme is numbered with its full name (the buttons carry the same number,
    shortened if need be); in a group only the counts per level show, never who voted what. In a
    private scan the only voter is the starter, so their own choices show instead."""
    lines = [t.html("board.title", subject=check.subject)]
    if check.source and check.private:
        lines.append(t.html("board.source", source=check.source))
    if check.closed:
        lines.append(t.html("board.closed"))
    else:
        lines.append(t.html("board.intro_private" if check.private else "board.intro_group"))
    lines.append("")
    mine = check.mine(check.starter_id)
    for number, tally in enumerate(check.tallies(), start=1):
        if check.private:
            lines.append(
                t.html(
                    "board.theme_private",
                    number=number,
                    label=tally.label,
                    mine=mine.get(tally.value),
                )
            )
            continue
        lines.append(
            t.html("board.theme_group", number=number, label=tally.label, votes=tally.count)
        )
        if tally.count:
            bars = [(level, n, bar(n, tally.count)) for level, n in enumerate(tally.counts)]
            lines.append(t.html("board.bars", bars=bars))
    if not check.private:
        lines += ["", t.html("board.voters", voters=check.voters)]
    return "\n".join(lines)


def theme_toast(check: TeamCheck, index: int, person: int, t: TeamTexts) -> str:
    """What pressing a theme's name row tells the presser: their own level for it."""
    label, level = check.my_levels(person)[index]
    if level is None:
        return t.plain("toast.theme_none", theme=label)
    return t.plain("toast.theme_mine", theme=label, level=level)


def my_votes_toast(check: TeamCheck, person: int, t: TeamTexts) -> str:
    """All of one person's levels in a toast (at most 200 characters): with the themes' names
    when they fit, else with their numbers on the board."""
    levels = check.my_levels(person)
    if all(level is None for _, level in levels):
        return t.plain("toast.mine_none")
    full = t.plain("toast.mine", levels=levels)
    if len(full) <= TOAST_MAX:
        return full
    numbered = [(str(n), level) for n, (_, level) in enumerate(levels, start=1)]
    return t.plain("toast.mine_short", levels=numbered)[:TOAST_MAX]


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
