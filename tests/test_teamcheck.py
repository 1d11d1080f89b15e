"""The team ambition check without Telegram: tallies, permissions, placement, words, storage."""

from __future__ import annotations

import asyncio
import io
import json
from collections.abc import Coroutine
from typing import Any

import docx
import pytest
import yaml

from bot.telegram.group import BoardRefresher, board_markup, choice_data, parse_press, vote_data
from flows.prompting import plain
from flows.teamcheck import (
    KEEP_CHECKS,
    MAX_THEMES,
    PROBE_CONTEXT,
    REQUIRED_KEYS,
    ChatChecks,
    SourceChoice,
    TeamCheck,
    TeamTexts,
    ThemeTally,
    base_themes,
    board_text,
    chart_png,
    level_text,
    result_docx,
    result_text,
    team_texts,
    tender_themes,
)
from flows.texts import prompts_dir
from storage import Store
from tests.fakes import parse_html
from tests.team_board import board_counts

NASTY = '<b>Schoonmaak</b> & "2027" </i> {{ x }} $5 🌱'


@pytest.fixture
def t() -> TeamTexts:
    return team_texts()


def make_check(private: bool = False, subject: str = "") -> TeamCheck:
    return TeamCheck(
        id="abc123",
        chat_key="tg-scan-1" if private else "tg-group--100",
        starter_id=1,
        subject=subject,
        themes=base_themes(),
        chat_id=1 if private else -100,
        private=private,
    )


def cast(check: TeamCheck, ballots: dict[int, list[int]]) -> None:
    for user, levels in ballots.items():
        for index, level in enumerate(levels):
            assert check.vote(user, index, level).status in ("new", "changed", "same")


def tally(*votes: int) -> ThemeTally:
    return ThemeTally("klimaat", "Klimaat", 1, tuple(sorted(votes)))


# -- tallies -----------------------------------------------------------------------------------


def test_median_of_an_odd_count_is_the_middle_vote() -> None:
    t = tally(3, 0, 2)
    assert (t.median, t.level, t.low, t.high, t.spread) == (2.0, 2, 0, 3, 3)


def test_even_count_median_between_levels_rounds_down_for_the_advice() -> None:
    t = tally(1, 2)
    assert t.median == 1.5
    assert t.level == 1  # only half the team carries level 2, all of it carries level 1
    t = tally(0, 2, 2, 3)
    assert (t.median, t.level) == (2.0, 2)
    t = tally(0, 0, 3, 3)
    assert (t.median, t.level) == (1.5, 0)


def test_no_votes_means_no_median_and_no_placement() -> None:
    t = tally()
    assert (t.median, t.level, t.spread, t.agrees, t.differs) == (None, None, None, False, False)


def test_spread_decides_agree_and_differ() -> None:
    assert tally(2, 2, 3).agrees
    assert not tally(2, 2, 3).differs
    assert tally(1, 3).differs
    assert tally(0, 3).differs
    assert tally(1).agrees


def test_counts_per_level() -> None:
    assert tally(0, 2, 2, 2, 3).counts == (1, 0, 3, 1)


def test_level_text_uses_a_dutch_decimal_comma() -> None:
    assert (level_text(2.0), level_text(1.5)) == ("2", "1,5")


# -- voting and closing ------------------------------------------------------------------------


def test_pressing_again_changes_the_vote_and_the_same_level_keeps_it() -> None:
    check = make_check()
    assert check.vote(7, 1, 2).status == "new"
    assert check.vote(7, 1, 2).status == "same"
    changed = check.vote(7, 1, 3)
    assert (changed.status, changed.theme, changed.level) == ("changed", "Klimaat", 3)
    assert check.tallies()[1].votes == (3,)
    assert check.voters == 1


def test_out_of_range_votes_are_refused() -> None:
    check = make_check()
    assert check.vote(7, 6, 1).status == "invalid"
    assert check.vote(7, -1, 1).status == "invalid"
    assert check.vote(7, 0, 4).status == "invalid"
    assert check.votes == {}


def test_only_the_starter_or_an_admin_may_close() -> None:
    check = make_check()
    cast(check, {2: [1, 1, 1, 1, 1, 1]})
    assert check.close(by=2, is_admin=False).status == "denied"
    assert not check.closed
    closing = check.close(by=3, is_admin=True)
    assert closing.status == "closed"
    assert check.closed
    assert check.closed_by == 3
    assert closing.result is not None
    assert closing.result.voters == 1


def test_closing_twice_is_harmless_and_votes_after_closing_do_not_count() -> None:
    check = make_check()
    cast(check, {1: [2, 2, 2, 2, 2, 2]})
    assert check.close(by=1, is_admin=False).status == "closed"
    stamp = check.closed_at
    assert check.close(by=1, is_admin=False).status == "already"
    assert check.closed_at == stamp
    assert check.vote(9, 0, 3).status == "closed"
    assert check.tallies()[0].votes == (2,)


# -- placement ---------------------------------------------------------------------------------


def test_placement_follows_the_summary_rules_with_board_order_as_priority() -> None:
    check = make_check()
    # medians: milieu 3, klimaat 3, circulariteit 2, keten 2, social return 1, d&i 0
    cast(check, {1: [3, 3, 2, 2, 1, 0], 2: [3, 3, 2, 2, 1, 0], 3: [2, 3, 3, 2, 1, 0]})
    routes = {p.theme.value: (p.route, p.reason.key) for p in check.result().placements}
    assert routes["milieu"] == ("gunningscriterium", "advice.reason.award3")
    assert routes["klimaat"] == ("gunningscriterium", "advice.reason.award3")
    assert routes["circulariteit"] == ("gunningscriterium", "advice.reason.award2")
    # a fourth level-2 theme gets no weight of its own, and is never turned into a knock-out
    assert routes["ketenverantwoordelijkheid"] == ("groeipad", "advice.reason.groeipad")
    assert routes["social_return"] == ("eis", "advice.reason.level1")
    assert routes["diversiteit_inclusie"] == ("geen", "advice.reason.level0")


def test_an_even_split_between_levels_is_placed_at_the_lower_level() -> None:
    check = make_check()
    check.vote(1, 0, 1)
    check.vote(2, 0, 2)
    placement = check.result().placements[0]
    assert placement.theme.level == 1
    assert placement.route == "eis"
    assert check.result().placements[1].route == "open"


# -- storage shape -----------------------------------------------------------------------------


def test_round_trip_through_plain_json() -> None:
    check = make_check(subject=NASTY)
    cast(check, {1: [0, 1, 2, 3, 2, 1], 2: [3, 3, 3, 3, 3, 3]})
    check.board_message_id = 42
    again = TeamCheck.from_dict(json.loads(json.dumps(check.to_dict())))
    assert again == check


def test_reading_is_tolerant_of_damage_and_unknown_fields() -> None:
    raw = make_check().to_dict()
    raw["votes"] = {
        "1": {"klimaat": 2, "onbekend": 3, "milieu": 7, "circulariteit": "2"},
        "2": "kapot",
        "3": {"social_return": True},
    }
    raw["toekomstig_veld"] = {"wat": "dan ook"}
    raw["board_message_id"] = "12"
    check = TeamCheck.from_dict(raw)
    assert check is not None
    assert check.votes == {"1": {"klimaat": 2}}
    assert check.board_message_id is None
    assert TeamCheck.from_dict({"id": "x", "chat_key": "k", "themes": []}) is None
    assert TeamCheck.from_dict({"chat_key": "k", "themes": [["a", "A"]]}) is None


def test_a_chat_keeps_only_its_last_checks_and_knows_the_last_closed(tmp_path: object) -> None:
    record = ChatChecks()
    for n in range(KEEP_CHECKS + 2):
        check = record.start(make_check())
        check.id = f"c{n}"
        check.close(by=1, is_admin=False)
    open_one = record.start(make_check())
    assert len(record.checks) == KEEP_CHECKS
    assert record.open_check is open_one
    assert record.last_closed is not None
    assert record.last_closed.id == f"c{KEEP_CHECKS + 1}"
    record.choice = SourceChoice("ff", 1, "x", chat_id=-100, thread_id=7, message_id=3)
    again = ChatChecks.from_dict(json.loads(json.dumps(record.to_dict())))
    assert again.to_dict() == record.to_dict()
    assert ChatChecks.from_dict(None).current is None


def test_the_record_is_accepted_by_the_store(tmp_path: object) -> None:
    from pathlib import Path

    store = Store(Path(str(tmp_path)) / "data")
    record = ChatChecks()
    check = record.start(make_check(subject=NASTY))
    cast(check, {1: [1, 2, 3, 0, 1, 2]})
    store.save_group("tg-group--100", record.to_dict())
    loaded = ChatChecks.from_dict(store.get_group("tg-group--100"))
    assert loaded.current == check


def test_tender_themes_follow_the_tenders_priority_and_keep_own_themes() -> None:
    answers = {
        "themas": ["klimaat", "Gezonde voeding", "social_return"],
        "prioriteit": ["social_return", "Gezonde voeding", "klimaat"],
    }
    assert tender_themes(answers) == [
        ("social_return", "Social return"),
        ("Gezonde voeding", "Gezonde voeding"),
        ("klimaat", "Klimaat"),
    ]
    many = {"themas": [f"eigen {n}" for n in range(20)]}
    assert len(tender_themes(many)) == MAX_THEMES


# -- words -------------------------------------------------------------------------------------


def test_every_text_is_known_and_renders(t: TeamTexts) -> None:
    raw = yaml.safe_load((prompts_dir() / "teamcheck.yaml").read_text(encoding="utf-8"))

    def keys(node: dict[str, Any], prefix: str = "") -> set[str]:
        found: set[str] = set()
        for key, value in node.items():
            found |= keys(value, f"{prefix}{key}.") if isinstance(value, dict) else {prefix + key}
        return found

    assert keys(raw) == set(REQUIRED_KEYS)
    assert all(t.html(key, **PROBE_CONTEXT) for key in REQUIRED_KEYS)


def test_board_shows_counts_per_level_and_escapes_the_subject(t: TeamTexts) -> None:
    check = make_check(subject=NASTY)
    check.source = "<Catering> & co"
    cast(check, {1: [0, 2, 2, 2, 2, 2], 2: [1, 2, 2, 2, 2, 2], 3: [3, 3, 2, 2, 2, 2]})
    text, _ = parse_html(board_text(check, t))
    assert NASTY in text
    assert "Catering" not in text  # a tender's name is never shown in a group
    counts = board_counts(text)
    assert counts["Milieu"] == (1, 1, 0, 1)
    assert counts["Klimaat"] == (0, 0, 2, 1)
    assert "3 mensen hebben gestemd." in text


def test_private_board_shows_the_buyers_own_levels(t: TeamTexts) -> None:
    check = make_check(private=True)
    check.vote(1, 1, 3)
    check.source = "<Catering> & co"
    text, _ = parse_html(board_text(check, t))
    assert "2. Klimaat · niveau 3" in text
    assert "1. Milieu · nog niet gekozen" in text
    assert "<Catering> & co" in text
    assert "stemmen" not in text


def test_closed_board_has_no_buttons(t: TeamTexts) -> None:
    check = make_check()
    assert board_markup(check, t) is not None
    check.close(by=1, is_admin=False)
    assert board_markup(check, t) is None
    assert "Gesloten" in plain(board_text(check, t))


def test_result_text_names_agreement_differences_and_routes(t: TeamTexts) -> None:
    check = make_check(subject=NASTY)
    cast(check, {1: [0, 2, 2, 1, 0, 3], 2: [3, 2, 3, 1, 0, 3], 3: [1, 3, 2, 1, 1, 2]})
    closing = check.close(by=1, is_admin=False)
    assert closing.result is not None
    html_text = result_text(closing.result, t)
    text, _ = parse_html(html_text)
    assert NASTY in text
    assert "3 mensen stemden." in text
    assert "• Milieu: 1 (0 tot 3, 3 stemmen)" in text
    assert "• Circulariteit en biobased: 2 (2 tot 3, 3 stemmen)" in text
    assert "• Ketenverantwoordelijkheid: 1 (alle 3 stemmen)" in text
    agree = next(line for line in text.splitlines() if line.startswith("Hier is het team"))
    assert "Klimaat" in agree
    assert "Milieu" not in agree
    differ = text.split("Bespreek deze eerst", 1)[1].split("Eis of gunningscriterium?", 1)[0]
    assert "Milieu: van 0 tot 3" in differ
    assert "Klimaat" not in differ
    assert "• Klimaat: gunningscriterium." in text
    assert "• Ketenverantwoordelijkheid: eis." in text
    assert "• Social return: geen eis of criterium." in text


def test_toasts_are_plain_text_even_for_odd_theme_names(t: TeamTexts) -> None:
    assert t.plain("toast.vote", theme="Eten & <drinken>", level=2) == (
        "Jouw stem: Eten & <drinken> 2"
    )


# -- documents ---------------------------------------------------------------------------------


def test_word_document_holds_the_table_and_the_discussion_list(t: TeamTexts) -> None:
    check = make_check(subject=NASTY)
    cast(check, {1: [0, 1, 2, 3, 2, 1], 2: [3, 1, 2, 3, 2, 2]})
    closing = check.close(by=1, is_admin=False)
    assert closing.result is not None
    png = chart_png(closing.result, t)
    assert png.startswith(b"\x89PNG")
    data = result_docx(closing.result, png, t)
    document = docx.Document(io.BytesIO(data))
    paragraphs = "\n".join(p.text for p in document.paragraphs)
    assert NASTY in paragraphs
    assert "Milieu: van 0 tot 3" in paragraphs
    rows = [[c.text for c in row.cells] for row in document.tables[0].rows]
    assert rows[0][:5] == ["Thema", "Mediaan", "Laagste", "Hoogste", "Stemmen"]
    assert rows[1][:5] == ["Milieu", "1,5", "0", "3", "2"]
    assert rows[2][0] == "Klimaat"
    assert rows[2][5].startswith("eis:")
    assert len(document.inline_shapes) == 1


# -- button data -------------------------------------------------------------------------------


def test_button_data_is_short_and_parses_back(t: TeamTexts) -> None:
    check = make_check()
    check.themes = [(f"thema{n}", "x" * 200) for n in range(MAX_THEMES)]
    markup = board_markup(check, t)
    assert markup is not None
    data = [b.callback_data for row in markup.inline_keyboard for b in row]
    assert all(isinstance(d, str) and len(d.encode()) <= 64 for d in data)
    vote = parse_press(vote_data("abc123", 11, 3))
    assert vote is not None
    assert (vote.kind, vote.ident, vote.index, vote.level) == ("vote", "abc123", 11, 3)
    close = parse_press("g:abc123:x")
    assert close is not None
    assert close.kind == "close"
    label = parse_press("g:abc123:4")
    assert label is not None
    assert (label.kind, label.index) == ("label", 4)
    mine = parse_press("g:abc123:m")
    assert mine is not None
    assert mine.kind == "mine"
    base = parse_press(choice_data("ff00aa", -1001234567890, None))
    assert base is not None
    assert (base.kind, base.chat_id, base.tender_id) == ("choose", -1001234567890, None)
    own = parse_press(choice_data("ff00aa", 42, "a1b2c3d4"))
    assert own is not None
    assert (own.kind, own.chat_id, own.tender_id) == ("choose", 42, "a1b2c3d4")
    wipe = parse_press("g:w:j")
    assert wipe is not None
    assert (wipe.kind, wipe.level) == ("wipe", 1)
    for forged in (
        "",
        "p:1:0",
        "g:",
        "g:abc:1:2:3",
        "g:a-b:1:2",
        "g:abc:zz",
        "g:abc:t:1",
        "g:abc:b:x",
        "g:abc:١:٢",
        "g:" + "a" * 70,
    ):
        assert parse_press(forged) is None


# -- throttling --------------------------------------------------------------------------------


INTERVAL = 3.0


class Spawner:
    """Keeps the refresh tasks, so a test can wait for them to finish."""

    def __init__(self) -> None:
        self.tasks: list[asyncio.Task[None]] = []

    def __call__(self, coro: Coroutine[Any, Any, None]) -> None:
        self.tasks.append(asyncio.create_task(coro))

    async def done(self) -> None:
        await asyncio.gather(*self.tasks)


class FakeTime:
    def __init__(self) -> None:
        self.now = 100.0
        self.sleeps: list[float] = []

    def clock(self) -> float:
        return self.now

    async def sleep(self, seconds: float, wake: asyncio.Event) -> None:
        self.sleeps.append(seconds)
        await asyncio.sleep(0)
        if not wake.is_set():
            self.now += seconds


async def test_refresher_coalesces_presses_into_one_edit_per_interval() -> None:
    clock = FakeTime()
    refresher = BoardRefresher(clock=clock.clock, sleep=clock.sleep)
    state = {"votes": 0}
    edited: list[int] = []
    in_edit = asyncio.Event()
    release = asyncio.Event()
    spawn = Spawner()

    async def edit() -> None:
        edited.append(state["votes"])
        in_edit.set()
        await release.wait()

    for _ in range(5):  # a burst of presses: one task, nothing edited yet
        state["votes"] += 1
        refresher.schedule("chat", edit, INTERVAL, spawn)
    await in_edit.wait()
    assert edited == [5]
    assert clock.sleeps == []  # the first edit goes out at once
    for _ in range(3):  # presses while the edit is in flight
        state["votes"] += 1
        refresher.schedule("chat", edit, INTERVAL, spawn)
    release.set()
    await spawn.done()
    assert len(spawn.tasks) == 1
    assert not refresher.pending("chat")
    assert edited == [5, 8]  # one more edit, with the latest state
    assert clock.sleeps == [3.0]  # and only after a full interval


async def test_a_forgotten_refresh_does_not_edit() -> None:
    clock = FakeTime()
    refresher = BoardRefresher(clock=clock.clock, sleep=clock.sleep)
    edited: list[str] = []
    spawn = Spawner()

    async def edit() -> None:
        edited.append("x")

    refresher.mark_edited("chat")  # an edit just happened, so the next one has to wait
    refresher.schedule("chat", edit, INTERVAL, spawn)
    await asyncio.sleep(0)  # the refresh task starts waiting out the interval
    assert clock.sleeps == [3.0]
    refresher.forget("chat")  # the check closed meanwhile
    await spawn.done()
    assert edited == []


async def test_forgetting_wakes_a_waiting_refresh_so_shutdown_is_not_held_up() -> None:
    refresher = BoardRefresher()  # the real clock and sleep
    edited: list[str] = []
    spawn = Spawner()

    async def edit() -> None:
        edited.append("x")

    refresher.mark_edited("chat")
    refresher.schedule("chat", edit, 3600.0, spawn)
    await asyncio.sleep(0)
    assert refresher.pending("chat")
    refresher.forget("chat")
    await asyncio.wait_for(spawn.done(), 10)  # without the wake-up this would wait an hour
    assert edited == []
    assert not refresher.pending("chat")


def test_the_charts_band_is_the_middle_half_not_the_extremes() -> None:
    from flows.teamcheck.documents import middle_half

    assert middle_half([0, *([2] * 28), 3]) == (2.0, 2.0)  # one outlier each way: no 0-3 band
    assert middle_half([1, 2, 2, 3]) == (1.75, 2.25)
    assert middle_half([2]) == (2.0, 2.0)
    assert middle_half([]) == (0.0, 0.0)
