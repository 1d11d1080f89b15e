"""The contract phase with a moved clock: check-ins, reminders across restarts, snooze, stop,
delete, summer time, and the conversation that records measurements."""

from __future__ import annotations

import io
import json
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml
from docx import Document

from bot.cli import main
from flows.contract import schedule
from flows.contract.documents import contract_block, progress_files
from flows.contract.export import EXPORT_KEY
from flows.contract.model import CONTRACT_KEY, goal_number, kpis, parse_number
from flows.contract.progress import kpi_progress
from flows.contract.room import register
from flows.contract.schedule import AMSTERDAM, Calendar
from flows.engine import Conversation
from flows.events import DocumentRequest, Event
from flows.report.answers_file import load_answers_file
from flows.report.documents import render_bytes
from flows.report.json_export import report_json
from flows.report.summary import chat_summary, default_builder
from storage import Store
from tests.driver import CATERING, SKIP, Driver


class Clock:
    def __init__(self, start: datetime) -> None:
        self.now = start

    def __call__(self) -> datetime:
        return self.now

    def local(self, y: int, m: int, d: int, h: int = 12) -> None:
        self.now = datetime(y, m, d, h, tzinfo=AMSTERDAM).astimezone(UTC)


def contract_for(award: str, months: int, frequency: str) -> dict[str, Any]:
    return {
        "award": award,
        "supplier": "Cateraar",
        "months": months,
        "frequency": frequency,
        "kpis": [
            {
                "id": "k1",
                "name": "Hergebruik (%)",
                "theme": "circulariteit",
                "baseline": 40,
                "target": 80,
                "year": 2028,
            }
        ],
        "checkins": schedule.plan(date.fromisoformat(award), months, frequency),
        "measurements": [],
        "reminders": "aan",
    }


def saved_and_loaded(store: Store, contract: dict[str, Any]) -> tuple[str, str]:
    tender = store.create_tender("tg-1", {"name": "Catering"})
    tender.state[CONTRACT_KEY] = contract
    store.save_tender("tg-1", tender)
    return "tg-1", tender.id


def tick(store: Store, user: str, tid: str, cal: Calendar) -> list[int]:
    """What one wake-up of a freshly started bot does: load, take what is due, save."""
    tender = store.get_tender(user, tid)
    assert tender is not None
    numbers = schedule.take_due(tender.state[CONTRACT_KEY], cal)
    store.save_tender(user, tender)
    return numbers


def test_quarterly_over_two_years_is_exactly_eight_checkins(store: Store) -> None:
    clock = Clock(datetime(2027, 1, 15, 10, tzinfo=UTC))
    cal = Calendar(clock=clock)
    user, tid = saved_and_loaded(store, contract_for("2027-01-15", 24, "kwartaal"))
    sent: list[int] = []
    while clock.now < datetime(2029, 3, 1, tzinfo=UTC):
        sent += tick(store, user, tid, cal)
        clock.now += timedelta(hours=6)
    assert sent == [1, 2, 3, 4, 5, 6, 7, 8]


def test_reminder_comes_at_nine_local_time() -> None:
    clock = Clock(datetime(2027, 1, 15, 10, tzinfo=UTC))
    cal = Calendar(clock=clock)
    contract = contract_for("2027-01-15", 24, "kwartaal")
    when = schedule.next_reminder(contract, cal)
    assert when is not None
    assert when.astimezone(AMSTERDAM).replace(tzinfo=None) == datetime(2027, 4, 15, 9)


def test_restart_between_checkins_loses_and_duplicates_nothing(store: Store) -> None:
    clock = Clock(datetime(2027, 4, 15, 12, tzinfo=UTC))
    cal = Calendar(clock=clock)
    user, tid = saved_and_loaded(store, contract_for("2027-01-15", 24, "kwartaal"))
    assert tick(store, user, tid, cal) == [1]
    clock.local(2027, 5, 30)  # down and up again between two moments
    assert tick(store, user, tid, cal) == []
    clock.local(2027, 7, 15)
    assert tick(store, user, tid, cal) == [2]
    assert tick(store, user, tid, cal) == []


def test_moment_missed_while_down_is_sent_once_after_restart(store: Store) -> None:
    clock = Clock(datetime(2027, 4, 14, 12, tzinfo=UTC))
    cal = Calendar(clock=clock)
    user, tid = saved_and_loaded(store, contract_for("2027-01-15", 24, "kwartaal"))
    assert tick(store, user, tid, cal) == []
    clock.local(2027, 4, 16, 10)  # the bot was down on the 15th
    assert tick(store, user, tid, cal) == [1]
    assert tick(store, user, tid, cal) == []


def test_catch_up_at_night_waits_for_the_morning(store: Store) -> None:
    clock = Clock(datetime(2027, 4, 14, 12, tzinfo=UTC))
    cal = Calendar(clock=clock)
    user, tid = saved_and_loaded(store, contract_for("2027-01-15", 24, "kwartaal"))
    clock.local(2027, 4, 16, 3)
    assert tick(store, user, tid, cal) == []
    tender = store.get_tender(user, tid)
    assert tender is not None
    when = schedule.next_reminder(tender.state[CONTRACT_KEY], cal)
    assert when is not None
    assert when.astimezone(AMSTERDAM).replace(tzinfo=None) == datetime(2027, 4, 16, 9)


@pytest.mark.parametrize(
    ("award", "utc_hour"),
    [("2026-12-28", 7), ("2027-07-31", 8)],  # moments on 28 March (summer time starts), 31 Oct
)
def test_summer_time_change_neither_doubles_nor_drops(
    store: Store, award: str, utc_hour: int
) -> None:
    clock = Clock(datetime.fromisoformat(award).replace(tzinfo=UTC) + timedelta(days=80))
    cal = Calendar(clock=clock)
    user, tid = saved_and_loaded(store, contract_for(award, 3, "kwartaal"))
    fired: list[datetime] = []
    for _ in range(24 * 20):
        if tick(store, user, tid, cal):
            fired.append(clock.now)
        clock.now += timedelta(hours=1)
    assert len(fired) == 1
    assert fired[0].hour == utc_hour  # 09:00 in Amsterdam, in summer or winter time


def test_snooze_moves_the_reminder_a_week_and_sends_it_again() -> None:
    clock = Clock(datetime(2027, 4, 15, 12, tzinfo=UTC))
    cal = Calendar(clock=clock)
    contract = contract_for("2027-01-15", 24, "kwartaal")
    assert schedule.take_due(contract, cal) == [1]
    assert schedule.snooze(contract, cal) == date(2027, 4, 22)
    clock.local(2027, 4, 21)
    assert schedule.take_due(contract, cal) == []
    clock.local(2027, 4, 22)
    assert schedule.take_due(contract, cal) == [1]


def test_snooze_before_a_moment_never_brings_it_forward() -> None:
    clock = Clock(datetime(2027, 2, 1, 12, tzinfo=UTC))
    contract = contract_for("2027-01-15", 24, "kwartaal")
    assert schedule.snooze(contract, Calendar(clock=clock)) == date(2027, 4, 22)


def test_stop_sends_nothing_until_switched_on_again() -> None:
    clock = Clock(datetime(2027, 4, 1, 12, tzinfo=UTC))
    cal = Calendar(clock=clock)
    contract = contract_for("2027-01-15", 24, "kwartaal")
    schedule.set_reminders(contract, False)
    clock.local(2027, 8, 1)
    assert schedule.take_due(contract, cal) == []
    assert schedule.next_reminder(contract, cal) is None
    schedule.set_reminders(contract, True)
    assert schedule.take_due(contract, cal) == [1, 2]


def test_month_end_award_keeps_to_month_end() -> None:
    days = [c["due"] for c in schedule.plan(date(2027, 1, 31), 6, "maand")]
    assert days[:2] == ["2027-02-28", "2027-03-31"]


@pytest.mark.parametrize(
    ("typed", "value"), [("45", 45.0), ("12,5", 12.5), ("1.250", 1250.0), ("12%", 12.0)]
)
def test_numbers_as_a_buyer_types_them(typed: str, value: float) -> None:
    assert parse_number(typed) == value


def test_relative_goal_is_applied_to_the_baseline() -> None:
    assert goal_number("In 2028 50% minder CO2 dan in 2024", 10.0) == pytest.approx(5.0)
    assert goal_number("In 2028 is 80% hergebruikt", 40.0) == pytest.approx(80.0)


def test_on_track_follows_the_straight_line_in_the_kpi_direction() -> None:
    contract = contract_for("2027-01-01", 24, "kwartaal")
    contract["kpis"][0].update(baseline=10, target=5, year=2027)  # lower is better
    contract["measurements"] = [{"date": "2027-07-02", "checkin": 2, "values": {"k1": 7}}]
    row = kpi_progress(contract, kpis(contract)[0])
    assert row.status == "op_koers"  # halfway through the year, 7 is past the line at 7.5
    contract["measurements"][0]["values"]["k1"] = 8
    row = kpi_progress(contract, kpis(contract)[0])
    assert row.status == "achter"


def test_not_measured_is_kept_as_a_gap() -> None:
    contract = contract_for("2027-01-01", 24, "kwartaal")
    contract["measurements"] = [
        {"date": "2027-04-01", "checkin": 1, "values": {"k1": 45}},
        {"date": "2027-07-01", "checkin": 2, "values": {"k1": None}},
    ]
    row = kpi_progress(contract, kpis(contract)[0])
    assert [v for _, v in row.points] == [45.0, None]
    assert row.latest == (date(2027, 4, 1), 45.0)


# --- the conversation ------------------------------------------------------------------------

SETUP = ["/contract", "15-1-2027", "Cateraar BV", "2 jaar"]
PREPARED: dict[str, Any] = {
    **CATERING,
    "doeljaar": 2030,
    "doel[circulariteit]": "In 2028 is 80% van het serviesgoed en meubilair hergebruikt.",
    "indicator[circulariteit]": "Aandeel hergebruikt materiaal (%)",
    "niveau[klimaat]": 3,
    "doel[klimaat]": "In 2028 50% minder CO2 per maaltijd dan in 2024",
    "indicator[klimaat]": "CO2-uitstoot (ton CO2 per jaar)",
    "doel[social_return]": SKIP,
    "indicator[social_return]": SKIP,
    "doel[samenwerking]": SKIP,
    "indicator[samenwerking]": SKIP,
    "kpis": "CO2 per maaltijd, % plantaardig, kg voedselverspilling per week",
    "rapportage": "kwartaal",
}


@pytest.fixture
def clock() -> Clock:
    return Clock(datetime(2027, 1, 20, 10, tzinfo=UTC))


@pytest.fixture
def buyer(store: Store, clock: Clock) -> Driver:
    conversation = Conversation(store, buttons=False, summarizer=chat_summary)
    register(conversation, calendar=Calendar(clock=clock))
    driver = Driver(conversation, "cli-c")
    driver.complete(**PREPARED)
    return driver


def contract_of(store: Store, user: str) -> dict[str, Any]:
    (meta,) = store.list_tenders(user)
    tender = store.get_tender(user, str(meta["id"]))
    assert tender is not None
    value: dict[str, Any] = tender.state[CONTRACT_KEY]
    return value


def set_up(buyer: Driver) -> None:
    """Step 3's indicators with goals as defaults, then step 7's own KPIs skipped but one."""
    buyer.run(SETUP)
    buyer.run(["40", "/neem", "/neem"])  # hergebruik: target 80 from the goal, year 2028
    buyer.run(["10", "/neem", "/neem"])  # CO2: "50% minder" → 5, in 2028
    buyer.run(["/overslaan", "3", "20", "2029", "/overslaan", "/klaar"])


def test_end_of_preparation_offers_the_contract(buyer: Driver) -> None:
    assert "/contract" in buyer.text


def test_contract_setup_uses_goals_as_defaults(buyer: Driver, store: Store) -> None:
    set_up(buyer)
    contract = contract_of(store, "cli-c")
    by_name = {k["name"]: k for k in contract["kpis"]}
    assert by_name["Aandeel hergebruikt materiaal (%)"]["target"] == 80
    assert by_name["CO2-uitstoot (ton CO2 per jaar)"]["target"] == pytest.approx(5)
    assert by_name["CO2-uitstoot (ton CO2 per jaar)"]["year"] == 2028
    assert len(contract["checkins"]) == 8
    assert contract["frequency"] == "kwartaal"  # from step 7's reporting frequency


def test_each_measurement_is_saved_before_the_next_question(
    buyer: Driver, store: Store, clock: Clock
) -> None:
    set_up(buyer)
    clock.local(2027, 4, 15, 10)
    buyer.say("/meting")
    buyer.say("50")
    values = contract_of(store, "cli-c")["measurements"][0]["values"]
    assert list(values.values()) == [50.0]
    buyer.say("/nietgemeten")
    values = contract_of(store, "cli-c")["measurements"][0]["values"]
    assert list(values.values()) == [50.0, None]


def test_a_year_of_quarterly_checkins(buyer: Driver, store: Store, clock: Clock) -> None:
    set_up(buyer)
    for quarter, (month, reuse, co2) in enumerate(
        [(4, "48", "9"), (7, "55", "niet gemeten"), (10, "58", "8"), (1, "66", "8")], start=1
    ):
        clock.local(2027 if month > 1 else 2028, month, 15, 10)
        buyer.say("/start")
        assert "meetmoment" in buyer.text
        buyer.run(["/meting", reuse, co2, "4", "Afspraak kwartaal " + str(quarter)])
    contract = contract_of(store, "cli-c")
    assert [bool(c.get("done")) for c in contract["checkins"]] == [True] * 4 + [False] * 4
    assert len(contract["actions"]) == 4
    buyer.say("/voortgang")
    files = progress_files(buyer.last.documents)  # type: ignore[arg-type]
    doc = Document(io.BytesIO(files["docx"]))
    text = "\n".join(p.text for p in doc.paragraphs)
    assert "Aandeel hergebruikt materiaal (%)" in text
    assert "Afspraak kwartaal 4" in text
    assert len(doc.inline_shapes) == 1 + len(contract["kpis"])  # the web and one trend each
    assert files["png"].startswith(b"\x89PNG")
    block = contract_block(contract, {})
    assert [m["waarde"] for m in block["kpis"][1]["metingen"]] == [9.0, None, 8.0, 8.0]


def test_snooze_and_stop_from_the_chat(buyer: Driver, store: Store, clock: Clock) -> None:
    set_up(buyer)
    clock.local(2027, 4, 15, 10)
    buyer.run(["/herinnering", "1"])
    assert contract_of(store, "cli-c")["checkins"][0]["remind"] == "2027-04-22"
    buyer.run(["/herinnering", "3"])
    assert contract_of(store, "cli-c")["reminders"] == "uit"


def test_deleting_the_tender_deletes_the_contract(buyer: Driver, store: Store) -> None:
    set_up(buyer)
    (meta,) = store.list_tenders("cli-c")
    buyer.say("/verwijder")
    buyer.choose(str(meta["id"]))
    buyer.choose("ja")
    assert store.list_tenders("cli-c") == []


def test_bad_input_gets_a_short_reply_and_keeps_the_question(buyer: Driver, store: Store) -> None:
    def step() -> str:
        (meta,) = store.list_tenders("cli-c")
        tender = store.get_tender("cli-c", str(meta["id"]))
        assert tender is not None
        return str(tender.state["contract_dialog"]["step"])

    buyer.run(SETUP[:3])
    buyer.say("een paar jaar")
    assert step() == "duration"
    buyer.say("/onzin")
    assert step() == "duration"
    assert buyer.last.prompt is not None


def test_terminal_documents_are_written(buyer: Driver, tmp_path: Path) -> None:
    from flows.report.documents import write_documents

    set_up(buyer)
    request = buyer.send(Event.cmd("voortgang")).documents
    assert request is not None
    paths = write_documents(request, tmp_path)
    assert sorted(p.suffix for p in paths) == [".docx", ".json", ".png"]


def test_a_half_entered_measurement_resumes_where_it_stopped(
    buyer: Driver, store: Store, clock: Clock
) -> None:
    set_up(buyer)
    clock.local(2027, 4, 15, 10)
    buyer.run(["/meting", "46", "/annuleren", "/meting"])
    buyer.say("9")
    (entry,) = contract_of(store, "cli-c")["measurements"]
    assert list(entry["values"].values()) == [46.0, 9.0]


def test_after_a_missed_moment_the_current_one_is_measured(
    buyer: Driver, store: Store, clock: Clock
) -> None:
    set_up(buyer)
    clock.local(2027, 7, 16, 10)
    buyer.run(["/meting", "49", "9", "5", "/geen"])
    contract = contract_of(store, "cli-c")
    assert [m["checkin"] for m in contract["measurements"]] == [2]
    assert [bool(c.get("done")) for c in contract["checkins"][:3]] == [True, True, False]


# --- the contract in the answers file and the JSON export ------------------------------------


def measured_twice(buyer: Driver, clock: Clock) -> None:
    set_up(buyer)
    clock.local(2027, 4, 15, 10)
    buyer.run(["/meting", "48", "9", "4", "Afspraak kwartaal 1"])
    clock.local(2027, 7, 15, 10)
    buyer.run(["/meting", "55", "niet gemeten", "6", "/geen"])


def exported_file(buyer: Driver, path: Path) -> Path:
    buyer.say("/export")
    request = buyer.last.documents
    assert request is not None
    assert request.formats == ("yaml",)
    path.write_bytes(render_bytes(request, "yaml"))
    return path


def rendered_json(source: Path, tmp_path: Path) -> dict[str, Any]:
    out = tmp_path / "out.json"
    assert main(["render", str(source), "--format", "json", "-o", str(out)]) == 0
    data: dict[str, Any] = json.loads(out.read_text("utf-8"))
    return data


def test_export_then_render_json_carries_the_contract(
    buyer: Driver, store: Store, clock: Clock, tmp_path: Path
) -> None:
    measured_twice(buyer, clock)
    path = exported_file(buyer, tmp_path / "export.yaml")
    raw = yaml.safe_load(path.read_text("utf-8"))
    assert raw["contract"]["supplier"] == "Cateraar BV"
    assert "groups" not in raw["contract"]  # chat ids stay with the tender
    block = rendered_json(path, tmp_path)["contract"]
    assert block["leverancier"] == "Cateraar BV"
    assert block["gunningsdatum"] == "2027-01-15"
    by_name = {k["naam"]: k for k in block["kpis"]}
    reuse = by_name["Aandeel hergebruikt materiaal (%)"]
    assert [(m["datum"], m["waarde"]) for m in reuse["metingen"]] == [
        ("2027-04-15", 48.0),
        ("2027-07-15", 55.0),
    ]
    assert reuse["status"] in ("op_koers", "achter", "bereikt")
    co2 = by_name["CO2-uitstoot (ton CO2 per jaar)"]
    assert [m["waarde"] for m in co2["metingen"]] == [9.0, None]
    assert [c["ingevuld"] for c in block["meetmomenten"]][:3] == [True, True, False]
    assert block["afspraken"] == [{"date": "2027-04-15", "text": "Afspraak kwartaal 1"}]
    # the same block as the contract phase itself computes from the stored record
    assert block == contract_block(contract_of(store, "cli-c"), {**buyer_answers(store)})


def buyer_answers(store: Store) -> dict[str, Any]:
    (meta,) = store.list_tenders("cli-c")
    tender = store.get_tender("cli-c", str(meta["id"]))
    assert tender is not None
    return dict(tender.answers)


def test_a_tender_without_contract_exports_and_renders_as_before(
    buyer: Driver, tmp_path: Path
) -> None:
    path = exported_file(buyer, tmp_path / "export.yaml")
    assert "contract" not in yaml.safe_load(path.read_text("utf-8"))
    assert "contract" not in rendered_json(path, tmp_path)
    request = load_answers_file(path)
    assert EXPORT_KEY not in request.answers
    plain = DocumentRequest("t", request.name, request.answers, request.skipped)
    assert render_bytes(request, "json") == report_json(default_builder().build(plain)).encode()


MALFORMED = {
    "not a mapping": "contract: [1, 2]",
    "unknown field": "contract: {award: 2027-01-15, supplier: X, months: 24, frequency: kwartaal,"
    " groups: [123]}",
    "months as text": "contract: {award: 2027-01-15, supplier: X, months: twee, frequency: jaar}",
    "bad date": "contract: {award: 15-1-2027, supplier: X, months: 24, frequency: jaar}",
    "value of an unknown kpi": "contract: {award: 2027-01-15, supplier: X, months: 24,"
    " frequency: jaar, measurements: [{date: 2027-04-15, values: {k9: 3}}]}",
    "value not a number": "contract: {award: 2027-01-15, supplier: X, months: 24, frequency: jaar,"
    " kpis: [{id: k1, name: A, theme: null, baseline: 1, target: 2, year: 2028}],"
    " measurements: [{date: 2027-04-15, values: {k1: veel}}]}",
    "supplier too long": "contract: {award: 2027-01-15, supplier: " + "x" * 600 + ", months: 24,"
    " frequency: jaar}",
}


@pytest.mark.parametrize("case", sorted(MALFORMED))
def test_a_malformed_contract_block_is_one_dutch_line_and_exit_2(
    case: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "contract.yaml"
    path.write_text(f"inkoopkompas: 1\nnaam: Catering\n{MALFORMED[case]}\n", "utf-8")
    out = tmp_path / "o.json"
    assert main(["render", str(path), "--format", "json", "-o", str(out)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1, err
    assert "'contract" in err
    assert str(path) in err
    assert "Traceback" not in err
    assert not out.exists()


def test_progress_also_comes_as_json(buyer: Driver, clock: Clock) -> None:
    measured_twice(buyer, clock)
    buyer.say("/voortgang")
    request = buyer.last.documents
    assert request is not None
    assert "json" in request.formats
    data = json.loads(progress_files(request)["json"])
    reuse = next(k for k in data["contract"]["kpis"] if k["id"] == "k1")
    assert [m["waarde"] for m in reuse["metingen"]] == [48.0, 55.0]
    assert data["title"]  # the summary's export around it, as ever
