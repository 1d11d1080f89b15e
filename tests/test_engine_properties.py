"""Random sequences of answers, button presses and commands against the real engine and store.

Invariants after every event: no exception, the person is in a known mode, the cursor points at a
question that applies (or nowhere when finished), and no saved answer vanished or changed unless
the buyer answered that very question or confirmed a deletion.
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from flows.engine import MODES, Conversation
from flows.events import Event
from flows.spec import load_spec
from storage import Store

SPEC = load_spec()
COMMANDS = [
    "start",
    "help",
    "terug",
    "overslaan",
    "verder",
    "overzicht",
    "wijzig",
    "nieuw",
    "hervat",
    "verwijder",
    "annuleren",
    "stop",
    "opnieuw",
    "onbekend",
]
TEXTS = st.one_of(
    st.sampled_from(["1", "2", "3", "0", "1,2", "2,1", "ja", "nee", "2030", "", " ", "Klimaat"]),
    st.text(max_size=30),
    st.text(alphabet="<>&*_[]`\\/🌱é\n", max_size=12),
)
EVENTS = st.one_of(
    TEXTS.map(Event.typed),
    st.sampled_from(COMMANDS).map(Event.cmd),
    st.tuples(st.integers(-1, 20), st.booleans()).map(lambda t: ("pick", *t)),
    st.booleans().map(lambda stale: ("done", stale)),
    st.sampled_from(["een sticker", "een foto"]).map(Event.media),
)


def snapshot(store: Store, user: str) -> dict[tuple[str, str], Any]:
    out = {}
    for meta in store.list_tenders(user):
        tender = store.get_tender(user, meta["id"])
        assert tender is not None
        for key, value in tender.answers.items():
            out[(tender.id, key)] = value
    return out


def resolve(raw: Any, seq: int) -> Event:
    """Button presses are generated as 'current' or 'stale' and bound to a real seq here."""
    if isinstance(raw, Event):
        return raw
    if raw[0] == "pick":
        _, index, stale = raw
        return Event.pick(index, seq - 1 if stale else seq)
    return Event.done(seq - 1 if raw[1] else seq)


@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(st.lists(EVENTS, min_size=1, max_size=60), st.booleans())
def test_random_conversations_keep_their_invariants(raw_events: list[Any], buttons: bool) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        store = Store(Path(tmp))
        conversation = Conversation(store, buttons=buttons)
        user = "tg-7"
        conversation.handle(user, Event.cmd("start"))
        for raw in raw_events:
            doc = store.get_user(user) or {}
            event = resolve(raw, int(doc.get("seq") or 0))
            before = snapshot(store, user)
            active = doc.get("active")
            tender = store.get_tender(user, active) if active else None
            cursor = tender.state.get("cursor") if tender else None
            mode_before = doc.get("mode")

            reply = conversation.handle(user, event)

            assert reply.messages, event
            doc = store.get_user(user) or {"mode": "asking"}
            assert doc["mode"] in MODES
            after = snapshot(store, user)
            deleting = mode_before == "confirming"
            for (tender_id, key), value in before.items():
                if (tender_id, key) not in after:
                    assert deleting, (key, event)
                elif after[(tender_id, key)] != value:
                    assert (tender_id, key) == (active, cursor), event
            if doc.get("active"):
                now = store.get_tender(user, doc["active"])
                assert now is not None
                ids = {s.id for s in SPEC.slots(now.answers)}
                assert now.state.get("cursor") in ids | {None}
