"""What does saving one answer cost, and does it grow with the number of stored tenders?

It must not: each tender is its own file and the save path never lists a directory. This script
checks that claim on the real file system: stores with 10, 1,000 and 10,000 tenders, the same
realistic tender saved repeatedly in each, saves interleaved across the stores so that disk
weather hits all sizes alike. Run ``python bench/save_cost.py [--json]``.

Each timed save is the full durable path: compare the tender with the one the store holds, check
and journal what changed (one answer: a patch line, not the whole tender) and wait for the
journal's fdatasync; the file itself follows at the next checkpoint. Absolute numbers depend
mostly on how fast the disk syncs; the ratio is the point.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from storage import Store, Tender
from storage.atomic import encode_tables
from storage.codec import tender_tables

SIZES = (10, 1_000, 10_000)
TENDERS_PER_PERSON = 5
TEMPLATE_ID = "tmpl0000"
LONG = (
    "De opdrachtnemer zet uitsluitend emissievrije voertuigen in, gebruikt schoonmaakmiddelen "
    "met een erkend ecolabel en rapporteert per kwartaal over energie, afval en social return. "
)


def realistic_tender(tender_id: str) -> Tender:
    """Sixty answers shaped like a finished questionnaire: choices, numbers, lists, long texts."""
    answers: dict[str, Any] = {}
    for n in range(60):
        qid = f"stap{n // 8 + 1}.vraag{n % 8 + 1}"
        if n % 6 == 0:
            answers[qid] = LONG * (4 + n % 5)
        elif n % 6 == 1:
            answers[qid] = ["afval", "energie", "mobiliteit", "social-return"][: 1 + n % 4]
        elif n % 6 == 2:
            answers[qid] = {"bedrag": 125_000 + n, "looptijd_jaren": 4, "optie": n % 2 == 0}
        else:
            answers[qid] = f"keuze-{n % 4}"
    return Tender(
        id=tender_id,
        meta={"name": "Schoonmaak en groenonderhoud gemeentehuis", "created": "2025-03-01"},
        state={"step": "criteria", "question": 3, "history": ["intro", "scope", "criteria"]},
        answers=answers,
    )


def populate(root: Path, count: int) -> tuple[str, str]:
    """Write ``count`` tender files directly, byte-identical to what the store writes.

    Going through the store would journal and checkpoint 10,000 tenders first; the bytes are in
    the store's own file format, so the files are indistinguishable from saved ones.
    Returns the person and tender id to time saves on (one in the middle of the store).
    """
    template = realistic_tender(TEMPLATE_ID)
    meta = {**template.meta, "id": TEMPLATE_ID, "updated": "2025-03-01T09:00:00.000000+00:00"}
    blob = encode_tables(root, tender_tables(template, meta))
    target = (f"tg-{count // 2 // TENDERS_PER_PERSON}", f"{count // 2:08x}")
    users = root / "users"
    for number in range(count):
        tenders_dir = users / f"tg-{number // TENDERS_PER_PERSON}" / "tenders"
        if number % TENDERS_PER_PERSON == 0:
            tenders_dir.mkdir(parents=True)
        tender_id = f"{number:08x}"
        (tenders_dir / f"{tender_id}.json").write_bytes(
            blob.replace(TEMPLATE_ID.encode(), tender_id.encode())
        )
    return target


def measure(base: Path, repeats: int) -> dict[str, Any]:
    stores: dict[int, tuple[Store, str, Tender]] = {}
    setup_seconds: dict[int, float] = {}
    for count in SIZES:
        started = time.perf_counter()
        root = base / f"store-{count}"
        user, tender_id = populate(root, count)
        setup_seconds[count] = time.perf_counter() - started
        store = Store(root)
        tender = store.get_tender(user, tender_id)
        if tender is None:
            raise SystemExit(f"populate() did not create {root} {user} {tender_id}")
        stores[count] = (store, user, tender)
    os.sync()

    timings: dict[int, list[float]] = {count: [] for count in SIZES}
    for round_ in range(-5, repeats):
        for count, (store, user, tender) in stores.items():
            tender.answers["stap3.vraag2"] = f"keuze-{round_ % 4}"
            started = time.perf_counter_ns()
            store.save_tender(user, tender)
            elapsed_ms = (time.perf_counter_ns() - started) / 1e6
            if round_ >= 0:
                timings[count].append(elapsed_ms)

    for store, user, tender in stores.values():
        reloaded = store.get_tender(user, tender.id)
        if reloaded is None or reloaded.answers != tender.answers:
            raise SystemExit(f"benchmark store lost data: {store.tender_file(user, tender.id)}")

    results: dict[str, Any] = {}
    for count, samples in timings.items():
        results[str(count)] = {
            "median_ms": round(statistics.median(samples), 3),
            "p95_ms": round(statistics.quantiles(samples, n=20)[18], 3),
            "setup_s": round(setup_seconds[count], 2),
        }
    store, user, tender = stores[SIZES[0]]
    return {
        "repeats": repeats,
        "tender_bytes": store.tender_file(user, tender.id).stat().st_size,
        "answers_per_tender": len(tender.answers),
        "directory": str(base),
        "sizes": results,
        "ratio_10k_10": round(
            results[str(SIZES[-1])]["median_ms"] / results[str(SIZES[0])]["median_ms"], 2
        ),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.add_argument("--repeats", type=int, default=300, help="timed saves per store size")
    parser.add_argument("--dir", type=Path, default=None, help="where to create the stores")
    args = parser.parse_args(argv)

    base = Path(tempfile.mkdtemp(prefix="inkoopkompas-bench-", dir=args.dir))
    try:
        report = measure(base, args.repeats)
    finally:
        shutil.rmtree(base, ignore_errors=True)

    if args.json:
        print(json.dumps(report, indent=2))
        return 0
    print(
        f"save_tender, one answer changed; {report['answers_per_tender']} answers, "
        f"{report['tender_bytes']} bytes per tender, {report['repeats']} saves per size, "
        f"in {report['directory']}"
    )
    print(f"{'tenders':>8}  {'median ms':>10}  {'p95 ms':>8}  {'setup s':>8}")
    for count, row in report["sizes"].items():
        print(
            f"{count:>8}  {row['median_ms']:>10.3f}  {row['p95_ms']:>8.3f}  {row['setup_s']:>8.2f}"
        )
    print(f"ratio 10k/10 (median): {report['ratio_10k_10']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
