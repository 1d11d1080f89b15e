"""`inkoopkompas render` on files nobody should trust, and on outputs that cannot be written.

Every problem is one line on stderr with exit code 2, never a traceback; a hostile file costs no
more than its size; a write that fails leaves the previous document in place.
"""

from __future__ import annotations

import errno
import os
import resource
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.cli import main
from flows.report.answers_file import AnswersFileError, parse_answers
from flows.report.documents import render_bytes
from flows.spec import Question, load_spec

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"
ALIAS_BOMB = """inkoopkompas: 1
a: &a ["x","x","x","x","x","x","x","x","x"]
b: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]
c: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]
d: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c]
e: &e [*d,*d,*d,*d,*d,*d,*d,*d,*d]
f: &f [*e,*e,*e,*e,*e,*e,*e,*e,*e]
g: &g [*f,*f,*f,*f,*f,*f,*f,*f,*f]
h: &h [*g,*g,*g,*g,*g,*g,*g,*g,*g]
naam: *h
antwoorden: {naam: x}
"""

HOSTILE: dict[str, bytes] = {
    "alias bomb through naam": ALIAS_BOMB.encode(),
    "alias in an indicator": (
        b"inkoopkompas: 1\nx: &x [1, 2]\nper_thema: {klimaat: {niveau: 2, indicator: *x}}\n"
    ),
    "indicator of the wrong type": (
        b"inkoopkompas: 1\nper_thema: {klimaat: {niveau: 2, indicator: {a: [1, 2]}}}\n"
    ),
    "deep nesting": b"inkoopkompas: 1\nantwoorden: {naam: " + b"[" * 5000 + b"]" * 5000 + b"}\n",
    "deep block nesting": b"inkoopkompas: 1\nantwoorden:\n"
    + b"".join(b"  " * i + b"k%d:\n" % i for i in range(1, 60)),
    "not UTF-8": "inkoopkompas: 1\nnaam: Caf\xe9\n".encode("latin-1"),
    "oversize": b"inkoopkompas: 1\nantwoorden:\n  naam: " + b"x" * 2_000_000 + b"\n",
    "long text answer": b"inkoopkompas: 1\nantwoorden:\n  huidige_situatie: "
    + b"x" * 30_000
    + b"\n",
    "name that is a list": b"inkoopkompas: 1\nnaam: [1, 2]\n",
    "name that is too long": b"inkoopkompas: 1\nnaam: " + b"n" * 5000 + b"\n",
    "skipped that is a mapping": b"inkoopkompas: 1\novergeslagen: {a: 1}\n",
    "huge integer": b"inkoopkompas: 1\nantwoorden: {doeljaar: " + b"9" * 50_000 + b"}\n",
    "a date as year": b"inkoopkompas: 1\nantwoorden: {doeljaar: 2030-01-01}\n",
    "a boolean as text": b"inkoopkompas: 1\nantwoorden: {naam: yes}\n",
    "a complex key": b"inkoopkompas: 1\nantwoorden: {? [a, b] : 1}\n",
    "a theme that is a list": b"inkoopkompas: 1\nper_thema: {[a]: {niveau: 1}}\n",
    "a slot id under antwoorden": b"inkoopkompas: 1\nantwoorden: {niveau__klimaat: {a: 1}}\n",
    "a theme list with a mapping": b"inkoopkompas: 1\nantwoorden: {themas: [klimaat, {a: 1}]}\n",
    "empty": b"",
    "binary": bytes(range(256)),
}


def render_in_subprocess(
    path: Path, output: Path, memory_mb: int = 400
) -> subprocess.CompletedProcess[str]:
    """A separate process with a memory cap, so an alias bomb fails the test instead of the box."""

    def limit() -> None:
        cap = memory_mb * 1024 * 1024
        resource.setrlimit(resource.RLIMIT_AS, (cap, cap))

    return subprocess.run(
        [sys.executable, "-m", "bot.cli", "render", str(path), "--format", "md", "-o", str(output)],
        capture_output=True,
        text=True,
        timeout=60,
        preexec_fn=limit,
        check=False,
    )


def test_an_alias_bomb_is_refused_quickly_and_cheaply(tmp_path: Path) -> None:
    path = tmp_path / "bomb.yaml"
    path.write_text(ALIAS_BOMB, encoding="utf-8")
    result = render_in_subprocess(path, tmp_path / "out.md")
    assert result.returncode == 2, result.stderr[-500:]
    assert "Traceback" not in result.stderr
    assert "verwijzingen" in result.stderr
    assert not (tmp_path / "out.md").exists()


@pytest.mark.parametrize("case", sorted(HOSTILE))
def test_a_hostile_answers_file_is_one_line_and_exit_2(
    case: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "hostile.yaml"
    path.write_bytes(HOSTILE[case])
    assert main(["render", str(path), "--format", "md", "-o", str(tmp_path / "o.md")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1, err[:500]
    assert len(err) < 400
    assert str(path) in err
    assert not (tmp_path / "o.md").exists()


def test_an_output_path_that_is_a_directory(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(["render", str(EXAMPLES / "ict.yaml"), "--format", "md", "-o", str(tmp_path)])
    assert code == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert "map" in err


@pytest.mark.parametrize("code", [errno.ENOSPC, errno.EROFS, errno.EACCES])
def test_a_failing_write_keeps_the_previous_document(
    code: int, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "ict.md"
    out.write_bytes(b"the good old document")

    def failing_fsync(fd: int) -> None:
        raise OSError(code, os.strerror(code))

    monkeypatch.setattr("bot.document_files.os.fsync", failing_fsync)
    assert main(["render", str(EXAMPLES / "ict.yaml"), "--format", "md", "-o", str(out)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert os.strerror(code) in err
    assert out.read_bytes() == b"the good old document"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ict.md"]


def test_a_file_size_limit_mid_write_leaves_the_good_document(tmp_path: Path) -> None:
    """A real short write: the process may not write more than 8 KB per file (as on a disk that
    fills up halfway), and the Word file is larger than that."""
    out = tmp_path / "ict.docx"
    out.write_bytes(b"the good old document")

    def limit() -> None:
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (8192, 8192))

    result = subprocess.run(
        [sys.executable, "-m", "bot.cli", "render", str(EXAMPLES / "ict.yaml"), "-o", str(out)],
        capture_output=True,
        text=True,
        timeout=120,
        preexec_fn=limit,
        check=False,
    )
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert result.stderr.count("\n") == 1
    assert out.read_bytes() == b"the good old document"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ict.docx"]


def test_a_rendered_document_is_private(tmp_path: Path) -> None:
    out = tmp_path / "ict.md"
    assert main(["render", str(EXAMPLES / "ict.yaml"), "--format", "md", "-o", str(out)]) == 0
    assert out.stat().st_mode & 0o777 == 0o600


SPEC = load_spec()


def value_for(q: Question) -> st.SearchStrategy[object]:
    """Values of the right type for a question, known options or not: what passes the checks."""
    known = [c.value for c in q.choices]
    text = st.text(max_size=30).filter(str.strip)
    one = st.sampled_from(known) if known else text
    match q.kind:
        case "level":
            return st.integers(0, 3)
        case "year":
            return st.integers(2000, 2100)
        case "yesno":
            return st.booleans()
        case "multi" | "order":
            return st.lists(st.one_of(one, text), max_size=8)
        case "text":
            return text
        case _:
            return st.one_of(one, text)


def answers_of(questions: list[Question]) -> st.SearchStrategy[dict[str, object]]:
    ids = st.lists(st.sampled_from([q.id for q in questions]), unique=True, max_size=12)
    return ids.flatmap(
        lambda chosen: st.fixed_dictionaries({i: value_for(SPEC.questions[i]) for i in chosen})
    )


ANSWERS_FILES = st.fixed_dictionaries(
    {
        "inkoopkompas": st.just(1),
        "antwoorden": answers_of([q for q in SPEC.questions.values() if not q.export_as]),
        "per_thema": st.dictionaries(
            st.sampled_from(["klimaat", "circulariteit", "social_return", "eigen thema"]),
            answers_of([q for q in SPEC.questions.values() if q.export_as == "per_thema"]),
            max_size=4,
        ),
    }
)


@settings(deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(raw=ANSWERS_FILES)
def test_every_answers_file_that_passes_the_checks_renders(raw: dict[str, object]) -> None:
    try:
        request = parse_answers(raw, "fuzz.yaml")
    except AnswersFileError:
        return
    for fmt in ("md", "txt", "yaml"):
        assert render_bytes(request, fmt)
