"""The answers file: a tender's answers as readable YAML, written by `/export`, read by `render`.

The same structure comes out of a chat and goes into `inkoopkompas render`, so a buyer (or a test)
can produce the documents without chatting, and a chat's export renders exactly like the chat's own
documents. Per-theme answers are nested under their theme so the file reads naturally.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import yaml

from flows.events import DocumentRequest
from flows.spec import FlowSpec, Question, load_spec, slot_id, split_slot_id

FORMAT_VERSION = 1


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
    return yaml.safe_dump(doc, allow_unicode=True, sort_keys=False, width=100)


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
        if q is None:
            raise fail(f"onbekende vraag {qid!r}")
        answers[str(qid)] = _checked(q, value, fail)
    groups = {q.export_as: q for q in spec.questions.values() if q.export_as}
    for key, value in raw.items():
        if key in ("inkoopkompas", "naam", "antwoorden", "overgeslagen"):
            continue
        if key not in groups:
            raise fail(f"onbekend onderdeel {key!r}")
        if not isinstance(value, dict):
            raise fail(f"'{key}' moet per thema de antwoorden geven")
        for item, per_item in value.items():
            if not isinstance(per_item, dict):
                raise fail(f"'{key}.{item}' moet vraag: antwoord paren bevatten")
            for base, answer in per_item.items():
                q = spec.questions.get(str(base))
                if q is None or q.export_as != key:
                    raise fail(f"onbekende vraag {base!r} onder {key}.{item}")
                answers[slot_id(str(base), str(item))] = _checked(q, answer, fail)
    skipped = raw.get("overgeslagen") or []
    name = str(raw.get("naam") or answers.get("naam") or "")
    return DocumentRequest(
        tender_id="bestand", name=name, answers=answers, skipped=tuple(str(s) for s in skipped)
    )


def load_answers_file(path: Path, spec: FlowSpec | None = None) -> DocumentRequest:
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise AnswersFileError(f"{path}: kan het bestand niet lezen ({exc.strerror})") from exc
    except yaml.YAMLError as exc:
        raise AnswersFileError(f"{path}: geen geldige YAML: {exc}") from exc
    return parse_answers(raw, str(path), spec)


def _checked(q: Question, value: Any, fail: Callable[[str], AnswersFileError]) -> Any:
    ok: bool
    match q.kind:
        case "text":
            ok = isinstance(value, str | int | float) and str(value).strip() != ""
            value = str(value) if ok else value
        case "level":
            ok = isinstance(value, int) and not isinstance(value, bool) and 0 <= value <= 3
        case "year":
            ok = isinstance(value, int) and not isinstance(value, bool) and 2000 <= value <= 2100
        case "yesno":
            ok = isinstance(value, bool)
        case "multi" | "order":
            ok = isinstance(value, list) and all(isinstance(v, str | int) for v in value)
        case _:
            known = [c.value for c in q.choices]
            ok = value in known or (q.other and isinstance(value, str)) or bool(q.item_choices)
    if not ok:
        raise fail(
            f"het antwoord op {q.id!r} past niet bij een vraag van soort {q.kind}: {value!r}"
        )
    return value
