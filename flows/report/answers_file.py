"""The answers file: a tender's answers as readable YAML, written by `/export`, read by `render`.

The same structure comes out of a chat and goes into `inkoopkompas render`, so a buyer (or a test)
can produce the documents without chatting, and a chat's export renders exactly like the chat's own
documents. Per-theme answers are nested under their theme so the file reads naturally.

A file to render may come from anywhere, so reading it is bounded: its size, how deep it nests, no
YAML aliases (an alias bomb of a few hundred bytes expands to gigabytes), and every answer must have
the type and length a chat could have produced. Anything else is one clear line, never a traceback.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import yaml

from flows.contract import export as contract_export
from flows.events import DocumentRequest
from flows.inputs import OWN_OPTION_LENGTH_MAX
from flows.spec import FlowSpec, Question, load_spec, slot_id, split_slot_id

FORMAT_VERSION = 1
SIZE_MAX = 1_000_000
DEPTH_MAX = 8
NAME_MAX = 200
LIST_MAX = 40
"""More options than any question offers plus the own ones a chat allows."""


class _Refused(ValueError):
    pass


class _BoundedLoader(yaml.SafeLoader):
    """Safe YAML without aliases and without nesting deeper than an answers file ever does.

    Checked while composing, before anything is built, so a hostile file costs no more than its
    own size.
    """

    def __init__(self, stream: str) -> None:
        super().__init__(stream)
        self._depth = 0

    def compose_node(self, parent: Any, index: Any) -> Any:
        if self.check_event(yaml.AliasEvent):
            raise _Refused("bevat YAML-verwijzingen (& en *); schrijf elk antwoord voluit")
        self._depth += 1
        try:
            if self._depth > DEPTH_MAX:
                raise _Refused(f"is dieper genest dan {DEPTH_MAX} niveaus")
            return super().compose_node(parent, index)
        finally:
            self._depth -= 1


class _PlainDumper(yaml.SafeDumper):
    """Writes a value that occurs twice in full, so every export reads back without aliases."""

    def ignore_aliases(self, data: Any) -> bool:
        return True


class AnswersFileError(ValueError):
    """An answers file that cannot be used; the message names the file and the problem."""


def dump_answers(request: DocumentRequest, spec: FlowSpec | None = None) -> str:
    spec = spec or load_spec()
    flat: dict[str, Any] = {}
    nested: dict[str, dict[str, dict[str, Any]]] = {}
    for sid, value in request.answers.items():
        base, item = split_slot_id(sid)
        q = spec.questions.get(base)
        if q is None:
            continue
        if item is None:
            flat[sid] = value
        else:
            group = nested.setdefault(q.export_as or "per_item", {})
            group.setdefault(item, {})[base] = value
    doc: dict[str, Any] = {"inkoopkompas": FORMAT_VERSION, "naam": request.name, "antwoorden": flat}
    doc.update(nested)
    if request.skipped:
        doc["overgeslagen"] = list(request.skipped)
    if isinstance(request.answers.get(contract_export.EXPORT_KEY), dict):
        doc[contract_export.FILE_KEY] = contract_export.exported(
            request.answers[contract_export.EXPORT_KEY]
        )
    return yaml.dump(doc, Dumper=_PlainDumper, allow_unicode=True, sort_keys=False, width=100)


def parse_answers(raw: Any, source: str, spec: FlowSpec | None = None) -> DocumentRequest:
    spec = spec or load_spec()

    def fail(message: str) -> AnswersFileError:
        return AnswersFileError(f"{source}: {message}")

    if not isinstance(raw, dict) or raw.get("inkoopkompas") != FORMAT_VERSION:
        raise fail(f"verwacht een antwoordenbestand met 'inkoopkompas: {FORMAT_VERSION}' bovenaan")
    answers: dict[str, Any] = {}
    flat = raw.get("antwoorden") or {}
    if not isinstance(flat, dict):
        raise fail("'antwoorden' moet een lijst van vraag: antwoord zijn")
    for qid, value in flat.items():
        base, item = split_slot_id(str(qid))
        q = spec.questions.get(base)
        if q is None or (item is not None and q.export_as):
            raise fail(f"onbekende vraag {_show(qid)}")
        answers[str(qid)] = _checked(q, value, fail, spec.text_max)
    groups = {q.export_as: q for q in spec.questions.values() if q.export_as}
    for key, value in raw.items():
        if key in ("inkoopkompas", "naam", "antwoorden", "overgeslagen"):
            continue
        if key == contract_export.FILE_KEY:
            answers[contract_export.EXPORT_KEY] = contract_export.checked(value, fail)
            continue
        if key not in groups:
            raise fail(f"onbekend onderdeel {_show(key)}")
        if not isinstance(value, dict):
            raise fail(f"'{key}' moet per thema de antwoorden geven")
        if len(value) > LIST_MAX:
            raise fail(f"'{key}' noemt meer thema's dan een aanbesteding kan hebben")
        for item, per_item in value.items():
            if not _is_short_text(item, OWN_OPTION_LENGTH_MAX):
                raise fail(f"'{key}' noemt een thema dat geen korte tekst is: {_show(item)}")
            if not isinstance(per_item, dict):
                raise fail(f"'{key}.{item}' moet vraag: antwoord paren bevatten")
            for base, answer in per_item.items():
                q = spec.questions.get(str(base))
                if q is None or q.export_as != key:
                    raise fail(f"onbekende vraag {_show(base)} onder {key}.{item}")
                answers[slot_id(str(base), str(item))] = _checked(q, answer, fail, spec.text_max)
    skipped = raw.get("overgeslagen") or []
    if not isinstance(skipped, list) or not all(_is_short_text(x, 200) for x in skipped):
        raise fail("'overgeslagen' moet een lijst van vraag-id's zijn")
    name = raw.get("naam") or answers.get("naam") or ""
    if not _is_short_text(name, NAME_MAX, empty=True):
        raise fail(f"'naam' moet een tekst van hoogstens {NAME_MAX} tekens zijn")
    return DocumentRequest(tender_id="bestand", name=name, answers=answers, skipped=tuple(skipped))


def load_answers_file(path: Path, spec: FlowSpec | None = None) -> DocumentRequest:
    try:
        with path.open("rb") as handle:
            data = handle.read(SIZE_MAX + 1)
    except OSError as exc:
        raise AnswersFileError(f"{path}: kan het bestand niet lezen ({exc.strerror})") from exc
    if len(data) > SIZE_MAX:
        raise AnswersFileError(f"{path}: is groter dan {SIZE_MAX // 1_000_000} MB")
    try:
        raw = yaml.load(data.decode("utf-8"), Loader=_BoundedLoader)
    except UnicodeDecodeError as exc:
        raise AnswersFileError(f"{path}: is geen UTF-8-tekst (byte {exc.start})") from exc
    except _Refused as exc:
        raise AnswersFileError(f"{path}: {exc}") from exc
    except yaml.YAMLError as exc:
        raise AnswersFileError(f"{path}: geen geldige YAML: {_first_line(exc)}") from exc
    except (ValueError, RecursionError) as exc:
        raise AnswersFileError(f"{path}: bevat een waarde die ik niet kan lezen") from exc
    return parse_answers(raw, str(path), spec)


def _first_line(exc: Exception) -> str:
    return " ".join(str(exc).split())[:200]


def _show(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _is_short_text(value: Any, limit: int, *, empty: bool = False) -> bool:
    return isinstance(value, str) and (empty or value.strip() != "") and len(value) <= limit


def _is_scalar(value: Any) -> bool:
    return isinstance(value, str | int) and not isinstance(value, bool)


def _checked(
    q: Question, value: Any, fail: Callable[[str], AnswersFileError], text_max: int
) -> Any:
    ok: bool
    match q.kind:
        case "text":
            ok = isinstance(value, str | int | float) and not isinstance(value, bool)
            value = str(value) if ok else value
            ok = ok and _is_short_text(value, q.max_length or text_max)
        case "level":
            ok = isinstance(value, int) and not isinstance(value, bool) and 0 <= value <= 3
        case "year":
            ok = isinstance(value, int) and not isinstance(value, bool) and 2000 <= value <= 2100
        case "yesno":
            ok = isinstance(value, bool)
        case "multi" | "order":
            ok = (
                isinstance(value, list)
                and len(value) <= LIST_MAX
                and all(_is_scalar(v) for v in value)
                and all(
                    _is_short_text(v, OWN_OPTION_LENGTH_MAX) for v in value if isinstance(v, str)
                )
            )
        case _:
            known = [c.value for c in q.choices]
            ok = _is_scalar(value) and (
                value in known
                or ((q.other or bool(q.item_choices)) and _is_short_text(value, text_max))
            )
    if not ok:
        raise fail(
            f"het antwoord op {q.id!r} past niet bij een vraag van soort {q.kind}: {_show(value)}"
        )
    return value
