"""Hostile text at every kind of prompt, through the conversation (both channels' settings) and
through the terminal.

Each example starts from a saved position at one prompt kind (text, choice, yes/no, multiple
choice, order, year, level, a menu) and types one hostile line: odd Unicode (lone surrogates,
superscript and other scripts' digits, controls, direction marks), 4,000 characters, HTML and
Markdown characters. After it:

- nothing raised, and the reply still asks something (the same question or the next one);
- every message would be accepted by Telegram and can be printed as UTF-8;
- an answer that was stored is clean text (no surrogates or controls) of bounded length, and the
  data directory still loads.

The budget comes from the Hypothesis profile: small in the normal run, large in `make fuzz`.
"""

from __future__ import annotations

import io
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.console import Console, parse_line
from flows.engine import Conversation
from flows.events import Event, Reply
from flows.inputs import OWN_OPTION_LENGTH_MAX, OWN_OPTIONS_MAX
from flows.report.summary import chat_summary
from flows.spec import load_spec
from storage import Store
from tests.driver import lines_to
from tests.fakes.validate import telegram_problems

SPEC = load_spec()
USER = "cli-fuzz"
# How each prompt kind is reached: the lines a terminal buyer types ("/start" first).
POSITIONS: dict[str, list[str]] = {
    "text": lines_to("naam"),
    "choice": lines_to("categorie"),
    "yesno": lines_to("org_ambitie_bestaat"),
    "multi": lines_to("themas"),
    "order": lines_to("prioriteit"),
    "year": lines_to("doeljaar"),
    "level": lines_to("niveau"),
    "menu": [*lines_to("organisatie"), "/wijzig"],
    "confirm": [*lines_to("organisatie"), "/verwijder", "1"],
}
ODD = [
    "\ud800",
    "\udfff",
    "\ud83c\udf31",
    "²",
    "²⁰³⁰",
    "³",
    "٣",
    "２",
    "⑫",
    "\x00",
    "\x1b[2J",
    "\x85",
    "\u200f",
    "\u202e",
    "\ufeff",
    "e\u0301",
    "<b>",
    "</i>",
    "<a href='x'>",
    "&",
    "&#0;",
    "*_`[]()~>#+-=|{}.!",
    "\\",
    ",",
    ";",
    "\n",
    "\r",
    "\t",
    " ",
    "1",
    "99",
    "ja",
]
HOSTILE = st.one_of(
    st.text(st.characters(codec=None), max_size=60),
    st.lists(st.sampled_from(ODD), min_size=1, max_size=12).map("".join),
    st.tuples(st.sampled_from([*ODD, "x", "é", "🌱"]), st.integers(1000, 4000)).map(
        lambda t: (t[0] * t[1])[:4000]
    ),
    st.lists(st.text(st.characters(codec=None), min_size=1, max_size=8), max_size=90).map(
        ", ".join
    ),
    st.integers(-(10**30), 10**30).map(str),
)


def prepared(buttons: bool) -> Iterator[dict[str, Path]]:
    base = Path(tempfile.mkdtemp(prefix="inkoopkompas-fuzz-"))
    try:
        dirs = {}
        for kind, lines in POSITIONS.items():
            data = base / kind
            with Store(data) as store:  # closed, so the copies below see a quiet directory
                conversation = Conversation(store, buttons=buttons, summarizer=chat_summary)
                for line in lines:
                    conversation.handle(USER, parse_line(line))
            dirs[kind] = data
        yield dirs
    finally:
        shutil.rmtree(base, ignore_errors=True)


@pytest.fixture(scope="module")
def typed_positions() -> Iterator[dict[str, Path]]:
    yield from prepared(buttons=False)


@pytest.fixture(scope="module")
def tapped_positions() -> Iterator[dict[str, Path]]:
    yield from prepared(buttons=True)


def copy_of(data: Path) -> Path:
    target = Path(tempfile.mkdtemp(prefix="inkoopkompas-case-")) / "data"
    shutil.copytree(data, target)
    return target


def check_reply(reply: Reply) -> None:
    assert reply.messages, "no reply"
    for message in reply.messages:
        message.text.encode("utf-8")
        params: dict[str, Any] = {"text": message.text, "parse_mode": "HTML"}
        assert telegram_problems(params) == [], message.text[:300]
        for option in message.options:
            option.label.encode("utf-8")


def check_stored(data: Path) -> None:
    store = Store(data)
    assert store.check() == []
    for meta in store.list_tenders(USER):
        tender = store.get_tender(USER, meta["id"])
        assert tender is not None
        for sid, value in tender.answers.items():
            texts = value if isinstance(value, list) else [value]
            for text in (t for t in texts if isinstance(t, str)):
                assert text.encode("utf-8")
                assert not any(ord(c) < 32 and c not in "\n\t" for c in text), sid
                assert len(text) <= SPEC.text_max
            if isinstance(value, list):
                known = {c.value for c in SPEC.questions[sid.split("__")[0]].choices}
                assert len([v for v in value if v not in known]) <= max(
                    OWN_OPTIONS_MAX, len(value) - len(known)
                )
                assert all(len(str(v)) <= max(OWN_OPTION_LENGTH_MAX, 40) for v in value)


FUZZ = settings(
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


@pytest.mark.parametrize("kind", sorted(POSITIONS))
@pytest.mark.parametrize("buttons", [False, True], ids=["terminal", "telegram"])
@FUZZ
@given(text=HOSTILE)
def test_hostile_text_at_every_prompt_kind(
    kind: str,
    buttons: bool,
    text: str,
    typed_positions: dict[str, Path],
    tapped_positions: dict[str, Path],
) -> None:
    positions = tapped_positions if buttons else typed_positions
    data = copy_of(positions[kind])
    try:
        conversation = Conversation(Store(data), buttons=buttons, summarizer=chat_summary)
        reply = conversation.handle(USER, Event.typed(text))
        check_reply(reply)
        check_stored(data)
    finally:
        shutil.rmtree(data.parent, ignore_errors=True)


@pytest.mark.parametrize("kind", ["text", "menu", "year"])
@FUZZ
@given(line=HOSTILE, command=st.sampled_from(["", "/wijzig ", "/help ", "/", "/hervat "]))
def test_hostile_lines_in_the_terminal(
    kind: str, line: str, command: str, typed_positions: dict[str, Path]
) -> None:
    data = copy_of(typed_positions[kind])
    try:
        out = io.StringIO()
        conversation = Conversation(Store(data), buttons=False, summarizer=chat_summary)
        console = Console(conversation, USER, out=out, out_dir=data.parent / "docs", echo=True)
        first = (command + line).split("\n")[0] + "\n"
        console.run(iter([first]))
        out.getvalue().encode("utf-8")
        assert "Tot later" in out.getvalue()
        check_stored(data)
    finally:
        shutil.rmtree(data.parent, ignore_errors=True)
