"""What this process holds of one data file: its checked records, and its bytes once encoded.

The store used to keep file bytes in memory and decode, check and encode a whole tender again on
every answer. With a hundred buyers answering at once that CPU, serialised by the GIL, was most of
the time until an answer was acknowledged. Now a file that was read and checked once is held as
its decoded records: a read hands out a copy (containers copied, immutable values shared), a save
compares with what is held and checks and journals only what changed (see ``storage.store``), and
the file's bytes are encoded when a checkpoint writes it: once per checkpoint, not per answer.

``Raw`` is what came from disk (or from the journal at start-up) and has not been checked yet; the
store checks it on first use and puts the decoded content in its place. Held content is never
changed in place, except for ``rules`` (which checks it has passed), so a reader or the checkpoint
thread never sees half a save.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from typing import Any

import orjson

from storage.schema import SCHEMA_KEY, SCHEMA_VERSION

META_TABLE = "meta"
STATE_TABLE = "state"
ANSWERS_TABLE = "answers"

_ATOMS = frozenset({str, int, bool, type(None)})


_ENCODER = json.JSONEncoder(ensure_ascii=False, allow_nan=False, separators=(",", ":"))


def dumps(obj: Any) -> bytes:
    """Compact UTF-8 JSON, the only encoding of every file and journal line.

    For plain data (see :func:`plain`): orjson, a tenth of the standard encoder's time on every
    answer and checkpoint; the standard encoder where orjson declines (integers beyond 64 bits,
    or anything that is not JSON at all, which it then refuses with its own error)."""
    try:
        return orjson.dumps(obj)
    except TypeError:
        return _ENCODER.encode(obj).encode()


def loads(data: bytes) -> Any:
    """Parse JSON: orjson, and the standard parser where orjson declines (integers beyond 64
    bits) so that nothing this program ever wrote reads differently; a real error is the
    standard parser's. ``NaN`` and ``Infinity`` are refused by both: they are not JSON."""
    try:
        return orjson.loads(data)
    except orjson.JSONDecodeError:
        return json.loads(data, parse_constant=_reject_constant)


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def plain(value: Any) -> Any:
    """A copy of ``value`` made of dicts, lists, str, int, float, bool and None only: exactly what
    a JSON round trip of it gives. Raises ``TypeError``/``ValueError`` for what JSON cannot hold.

    The common shapes are copied by hand (cheap); anything unusual (a tuple, a non-str key, a
    subclass) takes the real round trip, so the held copy always equals what the file will say."""
    kind = type(value)
    if kind in _ATOMS:
        return value
    if kind is float:
        if not math.isfinite(value):
            raise ValueError(f"out of range float values are not JSON compliant: {value!r}")
        return value
    if kind is dict:
        out: dict[str, Any] = {}
        for key, item in value.items():
            if type(key) is not str:
                return _round_trip(value)
            out[key] = plain(item)
        return out
    if kind is list:
        return [plain(item) for item in value]
    return _round_trip(value)


def _round_trip(value: Any) -> Any:
    """What the standard encoder makes of an unusual value (it, unlike orjson, refuses dates,
    dataclasses and the like rather than turning them into something else)."""
    return json.loads(_ENCODER.encode(value))


def thaw(value: Any) -> Any:
    """A copy of held (plain) data that the caller may change without touching what is held."""
    kind = type(value)
    if kind is dict:
        return {key: thaw(item) for key, item in value.items()}
    if kind is list:
        return [thaw(item) for item in value]
    return value


def same(held: Any, value: Any) -> bool:
    """Whether ``value`` would be stored exactly as ``held`` is: equal *and* of the same JSON
    types (``1 == True == 1.0`` in Python, not on disk), dict keys in the same order."""
    if held is value:
        return True
    kind = type(held)
    if kind is not type(value):
        return False
    if kind is dict:
        return len(held) == len(value) and all(
            k1 == k2 and same(v1, v2)
            for (k1, v1), (k2, v2) in zip(held.items(), value.items(), strict=True)
        )
    if kind is list:
        return len(held) == len(value) and all(map(same, held, value))
    return bool(held == value)


def stamped(record: Mapping[str, Any]) -> dict[str, Any]:
    return {**record, SCHEMA_KEY: SCHEMA_VERSION}


def tender_file(
    meta: Mapping[str, Any], state: Mapping[str, Any], answers: Mapping[str, Any]
) -> dict[str, dict[str, dict[str, Any]]]:
    """The TinyDB tables of a tender file: one meta, one state, the answers numbered in order."""
    return {
        META_TABLE: {"1": stamped(meta)},
        STATE_TABLE: {"1": stamped(state)},
        ANSWERS_TABLE: {
            str(number): {"qid": qid, "value": value, SCHEMA_KEY: SCHEMA_VERSION}
            for number, (qid, value) in enumerate(answers.items(), start=1)
        },
    }


class Content:
    """One file's content as held in memory; ``data()`` is the file's bytes, encoded once."""

    __slots__ = ("_data",)

    def __init__(self, data: bytes | None) -> None:
        self._data = data

    def data(self) -> bytes:
        if self._data is None:
            self._data = self.encode()
        return self._data

    def encode(self) -> bytes:
        raise NotImplementedError

    def written(self) -> None:
        """The file now holds these bytes: drop them (decoded content can encode them again)."""
        self._data = None


class Raw(Content):
    """Bytes as read from disk or rebuilt from the journal: not checked yet."""

    __slots__ = ()

    def __init__(self, data: bytes) -> None:
        super().__init__(data)

    def encode(self) -> bytes:  # pragma: no cover - ``_data`` is always set
        raise AssertionError("raw content always has its bytes")

    def written(self) -> None:
        """Raw content is nothing but its bytes."""


class Single(Content):
    """A file holding one document (a person or a group chat), checked by ``rules`` if set."""

    __slots__ = ("doc", "rules", "table")

    def __init__(
        self, table: str, doc: dict[str, Any], *, data: bytes | None = None, rules: object = None
    ) -> None:
        super().__init__(data)
        self.table = table
        self.doc = doc
        self.rules = rules

    def encode(self) -> bytes:
        return dumps({self.table: {"1": stamped(self.doc)}})


class TenderContent(Content):
    """A tender file's records: ``meta`` (with ``id`` and ``updated``), ``state``, ``answers`` in
    order; ``rules`` is the ``Rules`` object that has checked all of them (``None``: unchecked)."""

    __slots__ = ("answers", "meta", "rules", "state")

    def __init__(
        self,
        meta: dict[str, Any],
        state: dict[str, Any],
        answers: dict[str, Any],
        *,
        data: bytes | None = None,
        rules: object = None,
    ) -> None:
        super().__init__(data)
        self.meta = meta
        self.state = state
        self.answers = answers
        self.rules = rules

    def encode(self) -> bytes:
        return dumps(tender_file(self.meta, self.state, self.answers))

    def index_record(self) -> dict[str, Any]:
        """The meta as the person's index keeps it (stamped, like in the file)."""
        return stamped(self.meta)


def patched(
    answers: Mapping[str, Any], changed: Mapping[str, Any], order: list[str] | None
) -> dict[str, Any]:
    """The answers after a save that set ``changed`` and, when which questions are answered (or
    their order) changed, listed them all in ``order``. Shared by the save and the replay of its
    journal line, so both arrive at the same answers.

    Replaying the lines of a tender from a file that already holds some of them (a checkpoint that
    died before dropping the journal) ends at the same answers: ``order`` fixes which and in what
    order, and every value is the last one set."""
    if order is None:
        out = dict(answers)
        out.update(changed)
        return out
    return {
        qid: changed[qid] if qid in changed else answers[qid]
        for qid in order
        if qid in changed or qid in answers
    }
