"""Converting between the documents callers see and the TinyDB tables stored on disk.

Pure functions, no I/O: the store decides when to read and write, this module only decides what
the bytes mean. Decoders validate as they go, because the store decodes a file in full before
overwriting it, and that is where a corrupt or newer file must be caught rather than replaced.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from storage.atomic import Tables
from storage.errors import CorruptFileError
from storage.schema import stamp, unstamp
from storage.tender import Tender

USER_TABLE = "user"
GROUP_TABLE = "group"
META_TABLE = "meta"
STATE_TABLE = "state"
ANSWERS_TABLE = "answers"


def single_doc_tables(table: str, doc: Mapping[str, Any], *, what: str) -> Tables:
    """Tables for a file that holds one document (a person or a group chat)."""
    if not isinstance(doc, Mapping):
        raise TypeError(f"{what}: expected a dict, got {type(doc).__name__}")
    return {table: {"1": stamp(doc, what=what)}}


def single_doc(tables: Tables, table: str, *, path: Path) -> dict[str, Any]:
    """The one document of ``table``; anything else means the file was damaged or hand-edited."""
    docs = tables.get(table)
    if docs is None or len(docs) != 1:
        count = 0 if docs is None else len(docs)
        raise CorruptFileError(path, f"table {table!r} should hold one document, has {count}")
    (record,) = docs.values()
    return unstamp(record, path=path, kind=table)


def tender_tables(tender: Tender, meta: Mapping[str, Any]) -> Tables:
    """The complete contents of a tender file, answers in the caller's order.

    Built whole from the ``Tender`` rather than patched into the old file: the caller always holds
    the full tender, so an answer missing from ``tender.answers`` simply does not appear, and the
    document ids are a function of the tender alone.
    """
    what = f"tender {tender.id}"
    for qid in tender.answers:
        if not isinstance(qid, str):
            raise TypeError(f"{what}: answer keys must be str, got {qid!r}")
    answers = {
        str(number): stamp({"qid": qid, "value": value}, what=what)
        for number, (qid, value) in enumerate(tender.answers.items(), start=1)
    }
    return {
        META_TABLE: {"1": stamp(meta, what=f"{what} meta")},
        STATE_TABLE: {"1": stamp(tender.state, what=f"{what} state")},
        ANSWERS_TABLE: answers,
    }


def tender_meta(tables: Tables, *, path: Path, tender_id: str) -> dict[str, Any]:
    """The meta document; ``"id"`` comes from the file name, which is what callers look up by."""
    meta = single_doc(tables, META_TABLE, path=path)
    meta["id"] = tender_id
    return meta


def tender_from_tables(tables: Tables, *, path: Path, tender_id: str) -> Tender:
    """Decode and validate a whole tender file."""
    meta = tender_meta(tables, path=path, tender_id=tender_id)
    state = single_doc(tables, STATE_TABLE, path=path)
    answers: dict[str, Any] = {}
    records = tables.get(ANSWERS_TABLE, {})
    for doc_id in records:
        if not (doc_id.isascii() and doc_id.isdigit()):
            raise CorruptFileError(path, f"answer document id {doc_id!r} is not a number")
    for doc_id, record in sorted(records.items(), key=lambda item: int(item[0])):
        doc = unstamp(record, path=path, kind=ANSWERS_TABLE)
        qid = doc.get("qid")
        if not isinstance(qid, str) or "value" not in doc:
            raise CorruptFileError(path, f"answer document {doc_id} lacks a 'qid' or 'value'")
        if qid in answers:
            raise CorruptFileError(path, f"answer {qid!r} is stored twice")
        answers[qid] = doc["value"]
    return Tender(id=tender_id, meta=meta, state=state, answers=answers)
