"""The summary in the chat and as Markdown, the answers file, and `inkoopkompas render`."""

from __future__ import annotations

import html
import io
import json
from pathlib import Path

import docx
import pytest
import yaml

from bot.cli import main
from flows.advice import SECTIONS
from flows.events import DocumentRequest
from flows.report.answers_file import AnswersFileError, dump_answers, load_answers_file
from flows.report.context import ReportBuilder
from flows.report.documents import render_bytes
from flows.report.markdown import md_escape, report_markdown
from flows.report.splitting import split_message
from flows.report.summary import chat_summary
from flows.spec import load_spec

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
NASTY = 'Koffie <b>&</b> "thee" *vet* | pijp 🌱'


def catering() -> DocumentRequest:
    return load_answers_file(EXAMPLES / "catering.yaml")


@pytest.mark.parametrize("path", sorted(EXAMPLES.glob("*.yaml")), ids=lambda p: p.stem)
@pytest.mark.parametrize("fmt", ["md", "docx", "json"])
def test_examples_render(path: Path, fmt: str) -> None:
    data = render_bytes(load_answers_file(path), fmt)
    assert data
    if fmt == "json":
        doc = json.loads(data)
        sections = {i["section"] for i in doc["advice"]}
        assert {"eis", "gunningscriterium", "contractbepaling"} <= sections


def test_at_least_four_examples() -> None:
    assert len(list(EXAMPLES.glob("*.yaml"))) >= 4


def test_catering_advice_follows_the_rules() -> None:
    report = ReportBuilder().build(catering())
    award = [i.theme for i in report.advice.section("gunningscriterium") if i.theme]
    assert award == ["circulariteit", "klimaat", "social_return"]
    assert [i.theme for i in report.advice.items if i.theme == "samenwerking"]
    sections = [i.section for i in report.advice.items if i.theme == "samenwerking"]
    assert sections[0] == "contractbepaling"
    assert not set(sections) & {"eis", "gunningscriterium", "geschiktheidseis"}
    assert report.collaboration.form == "Relationeel"


@pytest.mark.parametrize("name", ["old-style-catering", "old-style-ict"])
def test_old_answers_file_renders_with_new_questions_as_open_points(name: str) -> None:
    request = load_answers_file(Path(__file__).resolve().parent / "data" / f"{name}.yaml")
    report = ReportBuilder().build(request)
    step = load_spec().step("vertaling").title
    assert any(step in p for p in report.open_points)
    for fmt in ("md", "docx", "json", "txt", "png"):
        assert render_bytes(request, fmt)


def test_json_export_follows_the_schema(tmp_path: Path) -> None:
    out = tmp_path / "s.json"
    assert main(["render", str(EXAMPLES / "ict.yaml"), "--format", "json", "-o", str(out)]) == 0
    doc = json.loads(out.read_text(encoding="utf-8"))
    theme_ids = {c.value for c in load_spec().roles["themes"].choices}
    assert doc["advice"]
    assert isinstance(doc["open_points"], list)
    for item in doc["advice"]:
        assert item["section"] in SECTIONS
        assert item["theme"] is None or item["theme"] in theme_ids
        assert {"text", "reason", "proof", "measure"} <= set(item)
        if item["section"] == "gunningscriterium":
            assert isinstance(item["weight"], int)
            assert item["scoring"]


def test_sections_in_the_same_order_in_every_output() -> None:
    report = ReportBuilder().build(catering())
    titles = [f"{n}. {s.title}" for n, s in enumerate(report.sections, start=1)]
    markdown = report_markdown(report)
    chat = html.unescape("\n".join(chat_summary(catering())))
    document = docx.Document(io.BytesIO(render_bytes(catering(), "docx")))
    headings = "\n".join(
        p.text for p in document.paragraphs if p.style and str(p.style.name).startswith("Heading")
    )
    for text in (markdown, chat, headings):
        positions = [text.index(t) for t in titles]
        assert positions == sorted(positions)


def test_every_question_of_the_product_flow_has_a_formal_label() -> None:
    raw = yaml.safe_load(
        (Path(__file__).resolve().parent.parent / "prompts" / "flow.yaml").read_text("utf-8")
    )

    def questions(entries: list[dict[str, object]]) -> list[dict[str, object]]:
        out: list[dict[str, object]] = []
        for e in entries:
            nested = e.get("questions")
            out += questions(nested) if isinstance(nested, list) else [e]
        return out

    found = [q for s in raw["steps"] for q in questions(s["questions"])]
    assert found
    assert all(q.get("label") for q in found), [q["id"] for q in found if not q.get("label")]


def test_a_question_added_to_any_step_appears_in_every_document(tmp_path: Path) -> None:
    flow = (Path(__file__).resolve().parent.parent / "prompts" / "flow.yaml").read_text("utf-8")
    extra = """      - id: extra_vraag
        kind: text
        label: Wens van de gebruikers
        optional: true
        prompt: Welke wens hebben de gebruikers nog?

"""
    flow = flow.replace("      - id: kpis\n", extra + "      - id: kpis\n", 1)
    path = tmp_path / "flow.yaml"
    path.write_text(flow, encoding="utf-8")
    spec = load_spec(path)
    answers = dict(catering().answers, extra_vraag="Een rustige eetplek")
    report = ReportBuilder(spec=spec).build(DocumentRequest("t", "x", answers))
    assert "Een rustige eetplek" in report_markdown(report)
    from flows.report.docx_doc import report_docx

    document = docx.Document(io.BytesIO(report_docx(report, None)))
    assert any("Een rustige eetplek" in p.text for p in document.paragraphs)


def test_chat_summary_fits_telegram_and_escapes_user_text() -> None:
    request = catering()
    answers = dict(request.answers)
    answers["naam"] = NASTY
    answers["doel[klimaat]"] = "x" * 1990
    answers["minimumniveau"] = ("lang " * 390).strip()
    messages = chat_summary(DocumentRequest("t", NASTY, answers))
    assert len(messages) >= 2
    assert all(len(m) <= 4096 for m in messages)
    joined = "\n".join(messages)
    # Telegram's HTML mode understands numeric entities such as &#34;
    assert "Koffie &lt;b&gt;&amp;&lt;/b&gt; &#34;thee&#34;" in joined
    assert "<b>&</b>" not in joined


def test_almost_empty_session_renders_with_open_points() -> None:
    request = DocumentRequest("t", "Leeg", {"naam": "Leeg"})
    report = ReportBuilder().build(request)
    assert report.open_points
    assert any("thema's" in p for p in report.open_points)
    text = "\n".join(chat_summary(request))
    assert "Open punten" in text
    markdown = report_markdown(report)
    assert "Open punten" in markdown
    for fmt in ("docx", "md", "png", "txt"):
        assert render_bytes(request, fmt)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("*vet* | <script> [a](b)", r"\*vet\* \| \<script\> \[a\](b)"),
        ("CO2-uitstoot (ton CO2 per jaar)", "CO2-uitstoot (ton CO2 per jaar)"),
        ("Klaar! 5% + 3. Goed & wel", "Klaar! 5% + 3. Goed & wel"),
        ("# kop", r"\# kop"),
        ("1. eerste", r"1\. eerste"),
    ],
)
def test_markdown_escapes_only_what_would_become_formatting(text: str, expected: str) -> None:
    assert md_escape(text) == expected


def test_markdown_keeps_user_text_literal() -> None:
    answers = dict(catering().answers)
    answers["naam"] = NASTY
    markdown = report_markdown(ReportBuilder().build(DocumentRequest("t", NASTY, answers)))
    assert r"# Koffie \<b\>&\</b\>" in markdown
    assert "| 1 | Circulariteit en biobased | 3 ambitieus |" in markdown


@pytest.mark.parametrize(
    ("text", "limit"),
    [("a\n\nb\n\nc", 3), ("<b>kop</b>\n\n" + "woord " * 2000, 500), ("x" * 9000, 4096)],
)
def test_split_message_respects_limit_and_keeps_tags_whole(text: str, limit: int) -> None:
    parts = split_message(text, limit)
    assert all(len(p) <= limit for p in parts)
    for part in parts:
        assert part.count("<b>") == part.count("</b>")
    assert "".join(p.replace("\n", "").replace(" ", "") for p in parts).count("x") == text.count(
        "x"
    )


def test_answers_file_round_trip_renders_identically(tmp_path: Path) -> None:
    request = catering()
    path = tmp_path / "export.yaml"
    path.write_text(dump_answers(request), encoding="utf-8")
    again = load_answers_file(path)
    assert again.answers == request.answers
    assert render_bytes(again, "md") == render_bytes(request, "md")


@pytest.mark.parametrize(
    ("doc", "message"),
    [
        ({"antwoorden": {}}, "inkoopkompas: 1"),
        ({"inkoopkompas": 1, "antwoorden": {"bestaatniet": 1}}, "onbekende vraag"),
        ({"inkoopkompas": 1, "antwoorden": {"doeljaar": "binnenkort"}}, "doeljaar"),
        ({"inkoopkompas": 1, "per_thema": {"klimaat": {"niveau": 7}}}, "niveau"),
        ({"inkoopkompas": 1, "vreemd": {}}, "onbekend onderdeel"),
    ],
)
def test_bad_answers_files_are_refused_clearly(
    tmp_path: Path, doc: dict[str, object], message: str
) -> None:
    path = tmp_path / "a.yaml"
    path.write_text(yaml.safe_dump(doc), encoding="utf-8")
    with pytest.raises(AnswersFileError, match=message) as caught:
        load_answers_file(path)
    assert str(path) in str(caught.value)


def test_render_cli_writes_a_word_file(tmp_path: Path) -> None:
    out = tmp_path / "sub" / "ict.docx"
    assert main(["render", str(EXAMPLES / "ict.yaml"), "--format", "docx", "-o", str(out)]) == 0
    document = docx.Document(io.BytesIO(out.read_bytes()))
    text = "\n".join(p.text for p in document.paragraphs)
    assert "Werkplek-ICT 2026-2030" in text
    assert len(document.inline_shapes) == 1


def test_render_cli_refuses_a_broken_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = tmp_path / "kapot.yaml"
    bad.write_text("inkoopkompas: 1\nantwoorden: [", encoding="utf-8")
    assert main(["render", str(bad), "--format", "md", "-o", str(tmp_path / "x.md")]) == 2
    err = capsys.readouterr().err
    assert "kapot.yaml" in err
    assert "Traceback" not in err


def test_word_file_accepts_a_tender_name_longer_than_a_document_property() -> None:
    # Found by fuzzing: Word's core properties hold 255 characters at most.
    long_name = "é" * 1850
    data = render_bytes(DocumentRequest("t", long_name, {"naam": long_name}), "docx")
    document = docx.Document(io.BytesIO(data))
    assert len(document.core_properties.title) <= 255
    assert long_name in "\n".join(p.text for p in document.paragraphs)


@pytest.mark.parametrize("path", sorted(EXAMPLES.glob("*.yaml")), ids=lambda p: p.stem)
def test_ambition_statement_reads_as_one_sentence(path: Path) -> None:
    statement = ReportBuilder().build(load_answers_file(path)).ambition
    assert ";" not in statement
    assert statement.count(".") == 1
    assert statement.endswith(".")
    assert str(load_answers_file(path).answers["doeljaar"]) in statement


def test_word_theme_table_states_each_level_once() -> None:
    document = docx.Document(io.BytesIO(render_bytes(catering(), "docx")))
    cells = [c.text for t in document.tables for r in t.rows for c in r.cells]
    assert "3 ambitieus" in cells
    assert not any("3 – 3" in c for c in cells)


def test_split_keeps_tags_balanced_when_user_text_has_blank_lines() -> None:
    # Found in review: an organisation ambition with a blank line inside the template's <i>.
    answers = dict(catering().answers)
    answers["ambitie_eigen"] = "a" * 1990
    answers["org_ambitie"] = "a" * 1700 + "\n\n" + "c" * 290
    for part in chat_summary(DocumentRequest("t", "x", answers)):
        assert len(part) <= 4096
        for tag in ("b", "i"):
            assert part.count(f"<{tag}>") == part.count(f"</{tag}>"), part[:200]
