"""The summary in the chat and as Markdown, the answers file, and `inkoopkompas render`."""

from __future__ import annotations

import io
from pathlib import Path

import docx
import pytest
import yaml

from bot.cli import main
from flows.events import DocumentRequest
from flows.report.answers_file import AnswersFileError, dump_answers, load_answers_file
from flows.report.context import ReportBuilder
from flows.report.documents import render_bytes
from flows.report.markdown import md_escape, report_markdown
from flows.report.splitting import split_message
from flows.report.summary import chat_summary

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
NASTY = 'Koffie <b>&</b> "thee" *vet* | pijp 🌱'


def catering() -> DocumentRequest:
    return load_answers_file(EXAMPLES / "catering.yaml")


def test_examples_load_and_build() -> None:
    for path in sorted(EXAMPLES.glob("*.yaml")):
        report = ReportBuilder().build(load_answers_file(path))
        assert report.award_criteria, path
        assert report.requirements, path


def test_catering_advice_follows_the_rules() -> None:
    report = ReportBuilder().build(catering())
    award = [row.theme for row in report.award_criteria]
    assert award == ["Circulariteit en biobased", "Klimaat", "Social return"]
    assert report.no_ambition == ("Gedragsverandering bij gebruikers",)
    themes_with_requirements = [row.theme for row in report.requirements]
    assert "Samenwerking met de markt" in themes_with_requirements
    assert report.award_criteria[0].own_goal is not None
    assert "Prioriteit 1, niveau 3" in report.award_criteria[0].reason
    assert report.collaboration.form == "Relationeel"


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
    assert "Nog geen thema's gekozen" in text
    markdown = report_markdown(report)
    assert "## Open punten" in markdown
    for fmt in ("docx", "md", "png", "txt"):
        assert render_bytes(request, fmt)


def test_markdown_escapes_what_would_become_formatting() -> None:
    assert md_escape("*vet* | <script> [a](b)") == r"\*vet\* \| \<script\> \[a\]\(b\)"
    answers = dict(catering().answers)
    answers["naam"] = NASTY
    markdown = report_markdown(ReportBuilder().build(DocumentRequest("t", NASTY, answers)))
    assert r"# Ambitie voor Koffie \<b\>&amp;\</b\>" in markdown
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


def test_ambition_statement_reads_as_one_sentence() -> None:
    statement = ReportBuilder().build(catering()).ambition
    assert ".;" not in statement
    assert not statement.endswith("..")
    assert statement.startswith("Met Catering hoofdkantoor 2027 willen we in 2030")


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
