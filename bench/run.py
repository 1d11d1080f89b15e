"""`make bench`: every benchmark and the crash test in one run.

Each figure is compared with its target. Timings are ratios against a baseline measured in the same
run wherever a baseline exists, because these machines are shared and noisy; absolute milliseconds
are given for context.

Results go to `bench/out/` (ignored by git), so a run never dirties the tree; `BENCH_COMMIT=1 make
bench` (or `--commit`) writes `bench/RESULTS.md` and `bench/results.json` to be committed.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import telegram

from bench import save_cost

HERE = Path(__file__).resolve().parent
OUT = HERE / "out"


def machine() -> dict[str, str]:
    cpu = "unknown"
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.exists():
        for line in cpuinfo.read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    mem = "unknown"
    meminfo = Path("/proc/meminfo")
    if meminfo.exists():
        kb = int(meminfo.read_text().split()[1])
        mem = f"{kb / 1024 / 1024:.1f} GiB"
    return {
        "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "cpu": f"{os.cpu_count()} × {cpu}",
        "memory": mem,
        "os": platform.platform(),
        "python": platform.python_version(),
        "python-telegram-bot": telegram.__version__,
        "disk (data dir)": tempfile.gettempdir(),
    }


def verdict(ok: bool) -> str:
    return "✅ gehaald" if ok else "❌ niet gehaald"


def _python(*args: str) -> subprocess.CompletedProcess[str]:
    """A fresh interpreter in the repository, so imports and caches of another run cannot skew it."""
    return subprocess.run(
        [sys.executable, *args],
        capture_output=True,
        text=True,
        timeout=1800,
        check=False,
        cwd=HERE.parent,
    )


def isolated(module: str, *args: str) -> Any:
    """One benchmark in a fresh interpreter; a failure stops the run."""
    result = _python("-m", f"bench.{module}", *args)
    if result.returncode != 0:
        raise SystemExit(f"bench.{module} mislukte:\n{result.stderr[-3000:]}")
    return json.loads(result.stdout)


def run_crash(kills: int) -> dict[str, Any]:
    script = HERE / "crash.py"
    if not script.exists():
        return {"error": "bench/crash.py ontbreekt"}
    started = time.perf_counter()
    result = subprocess.run(
        [sys.executable, str(script), "--kills", str(kills), "--json"],
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )
    try:
        report: dict[str, Any] = json.loads(result.stdout)
    except json.JSONDecodeError:
        report = {"error": (result.stderr or result.stdout)[-2000:]}
    report["exit_code"] = result.returncode
    report["wall_s"] = round(time.perf_counter() - started, 1)
    return report


def storage_scale(tenders: int) -> Any:
    """bench/storage_scale.py is a script of its own (it runs an older storage beside this one);
    its failure is reported in the results rather than stopping the other benchmarks."""
    result = _python(str(HERE / "storage_scale.py"), "--tenders", str(tenders), "--json")
    if result.returncode != 0:
        return {"error": result.stderr[-3000:]}
    return json.loads(result.stdout)


def isolated_env(module: str, env: dict[str, str], *args: str) -> Any:
    """`isolated`, with extra environment variables (for example the number of workers)."""
    saved = {k: os.environ.get(k) for k in env}
    os.environ.update(env)
    try:
        return isolated(module, *args)
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


def target_rows(results: dict[str, Any]) -> list[tuple[str, ...]]:
    """The performance issue's targets that this run measured, each with its baseline."""
    rows: list[tuple[str, ...]] = []
    http = results.get("http")
    if http:
        ours, echo = http["ours_saturated"], http["echo_saturated"]
        paced = http["ours_paced"]
        rows.append(
            (
                "12.1a",
                "bot CPU per update over HTTP vs a minimal PTB echo bot (same fake, same run)",
                "≤ 2 ×",
                f"{http['cpu_ratio_to_echo']} × ({ours['cpu_ms_per_update']} vs "
                f"{echo['cpu_ms_per_update']} ms CPU per update)",
                verdict((http["cpu_ratio_to_echo"] or 99) <= 2),
            )
        )
        rows.append(
            (
                "12.1b",
                f"sustained throughput over HTTP, {http['buyers']} buyers at once",
                "≥ 60 updates/s",
                f"{ours['updates_per_s']} updates/s (echo bot {echo['updates_per_s']})",
                verdict((ours["updates_per_s"] or 0) >= 60),
            )
        )
        rows.append(
            (
                "12.1c",
                f"p95 latency at {http['offered_rate']:g} updates/s offered",
                "< 100 ms",
                f"p95 {paced['latency']['p95_ms']} ms (echo bot "
                f"{http['echo_paced']['latency']['p95_ms']} ms)",
                verdict(paced["latency"]["p95_ms"] < 100),
            )
        )
    scale = results.get("storage_scale")
    if scale and "ratios" in scale:
        ack, old = scale["ack"]["current"], scale["ack"]["baseline"]
        menus = scale["menus_current"]
        build = scale["build"]
        rows += [
            (
                "12.3",
                "acknowledgement (durable) with 100 buyers answering at once",
                "p95 ≤ 10 ms",
                f"p95 {ack['p95_ms']} ms, p50 {ack['p50_ms']} ms, {ack['answers_per_s']} answers/s "
                f"(baseline {scale['baseline']}: p95 {old['p95_ms']} ms, "
                f"{old['answers_per_s']} answers/s)",
                verdict(ack["p95_ms"] <= 10),
            ),
            (
                "12.4",
                f"start-up, {scale['tenders']:,} vs 10 stored tenders",
                "≤ 1.5 ×",
                f"{scale['ratios']['startup_100k_over_10']} × "
                f"({scale['startup_big']['current']['ms']} vs "
                f"{scale['startup_small']['current']['ms']} ms); built through the storage API "
                f"in {build['seconds']} s, {build['total_seconds']} s with its checkpoint",
                verdict(scale["ratios"]["startup_100k_over_10"] <= 1.5),
            ),
            (
                "12.5",
                "/hervat and /verwijder for a person with 10,000 tenders",
                "p95 ≤ 50 ms",
                f"/hervat p95 {menus['hervat_p95_ms']} ms, /verwijder {menus['verwijder_p95_ms']} "
                f"ms, next page {menus['page_p95_ms']} ms (10 tenders: "
                f"{scale['menus_10_tenders']['hervat_p95_ms']} ms)",
                verdict(max(menus["hervat_p95_ms"], menus["verwijder_p95_ms"]) <= 50),
            ),
        ]
    ops = results.get("message_ops")
    if ops:
        rows.append(
            (
                "12.2",
                "Telegram message operations per answer, one full tender",
                "≤ 1.2",
                f"{ops['ops_per_update']} per update ({ops['updates']} updates); "
                f"{ops['ops_per_answer']} per answered question ({ops['answers']}), the rest "
                f"being one edit per tick in a list; {ops['bot_api_calls_per_update']} Bot API "
                f"calls per update; {ops['bubbles']} bubbles (first build: 1.77 per update, 2.40 "
                "per question, 47 bubbles)",
                verdict(ops["ops_per_update"] <= 1.2),
            )
        )
    docs = results.get("documents_concurrent")
    if docs:
        after, one = docs["default"], docs["one_worker"]
        worst = after.get("last_done_worst_ms", after["last_done_ms"])
        rows.append(
            (
                "12.6",
                f"{after['buyers']} simultaneous summaries: the last buyer has all files",
                "≤ 3 s",
                f"{after['last_done_ms'] / 1000:.2f} s with {after['workers']} worker(s), the "
                f"default here (median of {after.get('bursts', 1)} bursts, worst "
                f"{worst / 1000:.2f} s; one worker: {one['last_done_ms'] / 1000:.2f} s; one set "
                f"alone {after['one_alone_ms']} ms; repeated request "
                f"{after['repeat_from_cache_ms']} ms)",
                verdict(worst <= 3000),
            )
        )
    mem = results.get("memory")
    if mem and "traced" in mem:
        traced, kept = mem["traced"], mem["rss_bytes_per_buyer"]
        defaults = mem["glibc_defaults"]["rss_bytes_per_buyer"]
        rows.append(
            (
                "12.7",
                "memory per buyer active in the last hour, and what stays of buyers gone quiet "
                "(the slope over an hour's last buyers; bench/memory.py)",
                "≤ 10 KB; ~0",
                f"{traced['slope']:,} B traced per active buyer (the slope over "
                f"{traced['slope_buyers']:,} more, in blocks under 64 KB), {kept['slope']:,} B "
                f"resident; gone quiet: {traced['quiet']:,} B traced, {kept['kept_per_quiet_buyer']:,}"
                f" B resident per buyer (three hours {' → '.join(map(str, mem['rss_hours_mb']))} "
                f"MB; with glibc's defaults {defaults['kept_per_quiet_buyer']:,} B, "
                f"{' → '.join(map(str, mem['glibc_defaults']['rss_hours_mb']))} MB)",
                verdict(mem["met"] and mem["rss_flat"]),
            )
        )
    return rows


def write_results(results: dict[str, Any], path: Path) -> None:
    m = results["machine"]
    lines = [
        "# Benchmark results",
        "",
        "Produced by `make bench` (`python -m bench.run`); every number below comes from one run",
        "unless the notes at the end say otherwise. Reproduce with `BENCH_COMMIT=1 make bench` on a",
        "quiet machine (plain `make bench` writes to `bench/out/`); the raw figures are in",
        "`results.json` next to this file.",
        "",
        "## Machine",
        "",
        *[f"- {k}: {v}" for k, v in m.items()],
        "",
        "## Targets",
        "",
        "| # | what | target | measured | result |",
        "|---|---|---|---|---|",
    ]
    pu = results["per_update"]
    at10k = next(r for r in pu if r["stored_tenders"] == max(x["stored_tenders"] for x in pu))
    save = results["save_cost"]
    docs = results["documents"]
    fair = results["fairness"]
    mem = results["memory"]
    crash = results["crash"]
    total_mem = mem["rss_bot_mb"] + (mem["rss_document_worker_mb"] or 0)
    rows: list[tuple[str, ...]] = [
        (
            "1",
            "throughput at 10,000 stored tenders vs PTB echo bot",
            "ratio ≥ 0.5",
            f"{at10k['ratio_to_echo']} ({at10k['updates_per_s']} vs {at10k['echo_updates_per_s']} updates/s)",
            verdict(at10k["ratio_to_echo"] >= 0.5),
        ),
        (
            "2",
            "save one answer, 10,000 vs 10 stored tenders",
            "ratio ≤ 1.5",
            f"{save['ratio_10k_10']} ({save['sizes']['10000']['median_ms']} vs {save['sizes']['10']['median_ms']} ms median)",
            verdict(save["ratio_10k_10"] <= 1.5),
        ),
        (
            "3",
            "documents: chat + .docx + .md + chart, warm",
            "p95 < 500 ms",
            f"p95 {docs['set']['p95_ms']} ms (p50 {docs['set']['p50_ms']} ms)",
            verdict(docs["set"]["p95_ms"] < 500),
        ),
        (
            "4",
            "other buyers' p95 while one buyer downloads in a loop",
            "≤ 2 × quiet p95",
            f"{fair['p95_ratio']} × ({fair['with_document_load']['p95_ms']} vs {fair['quiet']['p95_ms']} ms)",
            verdict(fair["p95_ratio"] <= 2),
        ),
        (
            "5",
            "resident memory, 1,000 buyers mid-preparation",
            "< 200 MB",
            f"bot {mem['rss_bot_mb']} MB + document workers {mem['rss_document_worker_mb']} MB = {total_mem:.1f} MB",
            verdict(total_mem < 200),
        ),
        (
            "crash",
            f"SIGKILL of the terminal chat at random moments ({crash.get('kills', '?')} kills)",
            "nothing lost",
            f"lost {crash.get('lost', '?')}, wrong prompt {crash.get('mismatched_prompts', '?')}, "
            f"{crash.get('answers_checked', '?')} answers checked",
            verdict(crash.get("exit_code") == 0 and crash.get("lost") == 0),
        ),
    ]
    rows += target_rows(results)
    lines += [f"| {' | '.join(str(c) for c in row)} |" for row in rows]
    lines += http_section(results.get("http"))
    lines += ["", "## 1. Per-update cost (in process)", ""]
    lines += [
        "| stored tenders | updates/s | echo updates/s | ratio | handling p50 / p95 / p99 ms | echo p50 / p95 / p99 ms |",
        "|---|---|---|---|---|---|",
    ]
    for r in pu:
        h, e = r["handling"], r["echo_handling"]
        lines.append(
            f"| {r['stored_tenders']:,} | {r['updates_per_s']} | {r['echo_updates_per_s']} | {r['ratio_to_echo']} "
            f"| {h['p50_ms']} / {h['p95_ms']} / {h['p99_ms']} | {e['p50_ms']} / {e['p95_ms']} / {e['p99_ms']} |"
        )
    lines += [
        "",
        "Where one update's time goes (one update in flight, mean per update; the fake Bot API's",
        "HTML checks are off, so they are nobody's cost):",
        "",
        "| stored tenders | wall ms | durable save | conversation without save | PTB, delivery and thread hop | echo wall |",
        "|---|---|---|---|---|---|",
        *[
            f"| {r['stored_tenders']:,} | {b['total']} | {b['durable_save']} | {b['conversation_without_save']} | {b['ptb_delivery_and_thread_hop']} | {r['echo_handling']['mean_ms']} |"
            for r in pu
            for b in [r["breakdown_ms_per_update"]]
        ],
        "",
        "CPU per update (process CPU; conversation and save measured on their own thread):",
        "",
        "| stored tenders | CPU ms | save | conversation without save | PTB, fake and thread hop | echo CPU ms | ratio |",
        "|---|---|---|---|---|---|---|",
        *[
            f"| {r['stored_tenders']:,} | {c['total']} | {c['save']} | {c['conversation_without_save']} | {c['ptb_fake_and_thread_hop']} | {r['echo_cpu_ms_per_update']} | {r['cpu_ratio_to_echo']} |"
            for r in pu
            for c in [r["cpu_ms_per_update"]]
        ],
    ]
    lines += [
        "",
        f"{pu[0]['buyers']} buyers go through the complete Telegram playbook ({pu[0]['updates']} updates), "
        "throughput with all of them active at once, handling time with one update in flight.",
        "",
        "## 2. Save cost",
        "",
        "| stored tenders | median ms | p95 ms |",
        "|---|---|---|",
        *[f"| {int(k):,} | {v['median_ms']} | {v['p95_ms']} |" for k, v in save["sizes"].items()],
        "",
        "## 3. Documents (warm)",
        "",
        "| output | p50 ms | p95 ms |",
        "|---|---|---|",
        *[f"| {k} | {v['p50_ms']} | {v['p95_ms']} |" for k, v in docs.items()],
        "",
        *documents_concurrent_section(results.get("documents_concurrent")),
        "## 4. Fairness",
        "",
        f"{fair['buyers']} buyers answer while one buyer requests documents in a loop "
        f"({fair['downloads_during_load']} document sets made meanwhile, in the worker process).",
        f"Quiet p95 {fair['quiet']['p95_ms']} ms, with load {fair['with_document_load']['p95_ms']} ms.",
        "",
        "## 5. Memory",
        "",
        f"{mem['buyers']} buyers, {mem['updates_each']} updates each. Bot process at start "
        f"{mem['rss_bot_start_mb']} MB, after {mem['rss_bot_mb']} MB; document workers "
        f"{mem['rss_document_worker_mb']} MB.",
        "",
        "## Crash test",
        "",
        "```",
        json.dumps(crash, indent=2),
        "```",
    ]
    if results.get("notes"):
        lines += ["", "## Notes", "", *results["notes"]]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def http_section(http: dict[str, Any] | None) -> list[str]:
    if not http:
        return []
    lines = [
        "",
        "## Over HTTP: the bot process against a local fake Bot API, beside a PTB echo bot",
        "",
        "Both bots run as their own process and long-poll the same kind of fake; CPU is the bot",
        "process's user + system time from /proc, so the fake's work is not counted. Saturated:",
        f"{http['buyers']} buyers each send their next step as soon as the previous one is answered.",
        f"Paced: {http.get('paced_buyers', '?')} buyers, one update offered every",
        f"1/{http['offered_rate']:g} s. Latency: from offering an update until the bot's last call",
        "for that chat.",
        "",
        "| run | updates | updates/s | CPU ms/update | p50 ms | p95 ms | p99 ms | failures |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for key in ("ours_saturated", "echo_saturated", "ours_paced", "echo_paced"):
        r = http[key]
        lat = r["latency"]
        lines.append(
            f"| {key.replace('_', ', ')} | {r['updates']} | {r['updates_per_s']} | "
            f"{r['cpu_ms_per_update']} | {lat['p50_ms']} | {lat['p95_ms']} | {lat['p99_ms']} | "
            f"{len(r['failures'])} |"
        )
    return lines


def documents_concurrent_section(docs: dict[str, Any] | None) -> list[str]:
    if not docs:
        return []
    lines = [
        "",
        "Ten buyers ask for their documents at the same moment (each a different tender), in",
        "several bursts one after the other; first and last are the median burst's, worst the",
        "slowest burst's last buyer. The target is judged on the worst burst.",
        "",
        "| document workers | load average | one set alone ms | first buyer done ms | last buyer done ms | worst burst ms | repeated request (cache) ms |",
        "|---|---|---|---|---|---|---|",
    ]
    for name in ("one_worker", "two_workers", "default"):
        r = docs[name]
        lines.append(
            f"| {r['workers']}{' (default here)' if name == 'default' else ''} | "
            f"{r.get('load_average', '')} | {r['one_alone_ms']} | {r['first_done_ms']} | "
            f"{r['last_done_ms']} | {r.get('last_done_worst_ms', '')} | "
            f"{r['repeat_from_cache_ms']} |"
        )
    return [*lines, ""]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--quick", action="store_true", help="small budgets, for a smoke run")
    parser.add_argument(
        "--commit",
        action="store_true",
        default=os.environ.get("BENCH_COMMIT", "") not in ("", "0"),
        help="write bench/RESULTS.md and bench/results.json (default: bench/out/)",
    )
    args = parser.parse_args(argv)
    quick = args.quick
    out_dir = HERE if args.commit else OUT
    out_dir.mkdir(exist_ok=True)
    results: dict[str, Any] = {"machine": machine()}
    print("over HTTP, bot and echo bot side by side ...", flush=True)
    results["http"] = isolated("http_bot", "--buyers", "6" if quick else "30")
    print("storage at scale ...", flush=True)
    results["storage_scale"] = storage_scale(10_000 if quick else 100_000)
    print("message operations per answer ...", flush=True)
    results["message_ops"] = isolated("message_ops")
    print("simultaneous documents ...", flush=True)
    results["documents_concurrent"] = {
        name: isolated_env("documents_concurrent", {"INKOOPKOMPAS_DOCUMENT_WORKERS": workers})
        for name, workers in (("one_worker", "1"), ("two_workers", "2"), ("default", ""))
    }
    print("save cost ...", flush=True)
    base = Path(tempfile.mkdtemp(prefix="inkoopkompas-save-"))
    try:
        results["save_cost"] = save_cost.measure(base, 60 if quick else 300)
    finally:
        shutil.rmtree(base, ignore_errors=True)
    print("per-update cost ...", flush=True)
    results["per_update"] = isolated("per_update", "--buyers", "5" if quick else "20")
    print("documents ...", flush=True)
    results["documents"] = isolated("documents", "--repeats", "10" if quick else "30")
    print("fairness ...", flush=True)
    results["fairness"] = isolated("fairness", "--buyers", "4" if quick else "10")
    print("memory ...", flush=True)
    results["memory"] = isolated("memory", "--buyers", "100" if quick else "1000")
    print("crash test ...", flush=True)
    results["crash"] = run_crash(5 if quick else 50)
    notes_file = HERE / "NOTES.md"
    if notes_file.exists():
        results["notes"] = notes_file.read_text(encoding="utf-8").splitlines()
    (out_dir / "results.json").write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
    write_results(results, out_dir / "RESULTS.md")
    print((out_dir / "RESULTS.md").read_text(encoding="utf-8"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
