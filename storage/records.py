"""Strict shapes of the stored records, checked on every load.

Valid JSON is not enough: ``"skipped": 7`` or ``"active": "../../x"`` decode fine and then break
the conversation on every message, with no way out, not even deletion. A record that fails here
is reported by file name and set aside like any damaged file. Fields this module does not name
are allowed (other parts of the program may add their own), but the named ones must have their
type. What the answers must look like depends on the questions, so the caller may pass a check.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass
from itertools import repeat
from typing import Any

from storage.keys import check_tender_id

AnswerCheck = Callable[[str, Any], bool]
_ABSENT = object()


def _is_str(value: Any) -> bool:
    return isinstance(value, str)


def _is_int(value: Any) -> bool:
    return type(value) is int


def _opt_str(value: Any) -> bool:
    return value is None or isinstance(value, str)


def _str_list(value: Any) -> bool:
    # a loop in C: a state's history grows with every answer and is checked on every save
    return isinstance(value, list) and all(map(isinstance, value, repeat(str)))


def _tender_ref(value: Any) -> bool:
    if value is None:
        return True
    try:
        check_tender_id(value)
    except ValueError:
        return False
    return True


def _menu(value: Any) -> bool:
    if not isinstance(value, dict):
        return False
    shapes = {
        "kind": _is_str,
        "values": _str_list,
        "labels": _str_list,
        "title": _opt_str,
        "target": _opt_str,
        "name": _opt_str,
        "page": _is_int,
        "pages": _is_int,
    }
    return _fields(value, shapes) is None


_USER: dict[str, Callable[[Any], bool]] = {
    "created": _is_str,
    "mode": _is_str,
    "active": _tender_ref,
    "seq": _is_int,
    "update_id": _is_int,
    "menu": lambda v: v is None or _menu(v),
}
_STATE: dict[str, Callable[[Any], bool]] = {
    "cursor": _opt_str,
    "skipped": _str_list,
    "history": _str_list,
    "seq": _is_int,
    "update_id": _is_int,
    "return_to": _opt_str,
}
_META: dict[str, Callable[[Any], bool]] = {
    "name": _is_str,
    "created": _is_str,
    "updated": _is_str,
}


def _fields(doc: Mapping[str, Any], shapes: Mapping[str, Callable[[Any], bool]]) -> str | None:
    for key, ok in shapes.items():
        value = doc.get(key, _ABSENT)
        if value is not _ABSENT and not ok(value):
            return f"field {key!r} has the wrong type or value ({type(value).__name__})"
    return None


@dataclass(frozen=True)
class Rules:
    """What a valid record is, beyond its generic shape; the empty default checks shapes only."""

    modes: Collection[str] = ()
    answer_ok: AnswerCheck | None = None

    def user_problem(self, doc: Mapping[str, Any]) -> str | None:
        problem = _fields(doc, _USER)
        if problem is None and self.modes and "mode" in doc and doc["mode"] not in self.modes:
            problem = f"field 'mode' has an unknown value {str(doc['mode'])[:40]!r}"
        return problem

    def tender_problem(
        self, meta: Mapping[str, Any], state: Mapping[str, Any], answers: Mapping[str, Any]
    ) -> str | None:
        problem = _fields(meta, _META) or _fields(state, _STATE)
        if problem is None and self.answer_ok is not None:
            for qid, value in answers.items():
                if not self.answer_ok(qid, value):
                    return f"answer {qid[:40]!r} has the wrong type ({type(value).__name__})"
        return problem
