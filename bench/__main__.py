"""python -m bench: run every benchmark on the embedded emulator, print the
table, write bench/results.json."""

from __future__ import annotations

import argparse
import json
import logging
import statistics
import time
from pathlib import Path
from typing import Any

from bench import cost, scenarios
from bench import findings as findings_bench
from bench.emulator_process import separate_emulator, tls_in_this_process
from bench.instruments import RequestCounter, default_session
from credreports.local import emulator as emulator_module
from credreports.observability import logger

RESULTS = Path(__file__).resolve().parent / "results.json"
# Stand-in for one AWS API round trip (STS, IAM, S3 and SQS answer in tens to
# a few hundred ms); the batch benchmark and the billed-duration model use it.
LATENCY = 0.1
# The inline-wait comparison: IAM builds each report in this many seconds (a
# bench-only fault; moto completes on the next poll), the retry delay is
# shortened from 60 s so the run without inline wait takes seconds.
REPORT_SECONDS = 3.0
INLINE_WAITS = ("0", "2", "5", "10")
INLINE_RETRY_DELAY = 10
INLINE_ACCOUNTS = 30
# The batching-window comparison: MaximumBatchingWindowInSeconds of the
# worker's event source, with first attempts arriving over WINDOW_SPREAD s.
BATCHING_WINDOWS = (0.0, 2.0, 5.0)
WINDOW_ACCOUNTS = 100
WINDOW_SPREAD = 30.0
WINDOW_RETRY_DELAY = 5
# The worker's memory: a batch of 10 reports of 5,000 users, then 60 batches
# of small reports (600 more accounts), in a process of its own, over HTTPS
# and over plain HTTP, each MEMORY_RUNS times; then the RSS of one IAM client
# after another, past the adapter's cache size, over each.
MEMORY_RUNS = 3
MEMORY_FOLLOW_UP_BATCHES = 60
MEMORY_CLIENTS = 64
SCHEMES = {"https": True, "http": False}
ABLATION_CACHED_CLIENTS = 10
# The other functions' peak RSS: the producer over an organization of this size.
PRODUCER_MEMORY_ACCOUNTS = 10_000


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench")
    parser.add_argument("--accounts", type=int, default=300, help="accounts of the end-to-end run")
    parser.add_argument("--billed-accounts", type=int, default=100)
    parser.add_argument("--producer-accounts", type=int, default=10_000)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--inline-wait", default=None, help="INLINE_WAIT_SECONDS for the worker")
    parser.add_argument("--output", type=Path, default=RESULTS)
    parser.add_argument(
        "--only",
        choices=["batching-window", "memory"],
        help="run one scenario and merge its figures into the output file",
    )
    args = parser.parse_args()

    # The functions' JSON logs would drown the table.
    logger.setLevel(logging.WARNING)
    logging.getLogger("botocore").setLevel(logging.WARNING)
    environment: dict[str, str] = {}
    if args.inline_wait is not None:
        environment["INLINE_WAIT_SECONDS"] = args.inline_wait
    began = time.perf_counter()
    emulator = emulator_module.start()
    try:
        default_session()
        if args.only == "batching-window":
            only = {"batching_window": run_batching_window(emulator)}
        elif args.only == "memory":
            only = memory_results(run_memory(environment))
        else:
            counter = RequestCounter()
            results = run(emulator, counter, args, environment)
    finally:
        emulator_module.stop(emulator)
    if args.only:
        # The other figures stay as the last full run left them.
        previous = json.loads(args.output.read_text()) if args.output.exists() else {}
        args.output.write_text(json.dumps({**previous, **only}, indent=2, sort_keys=True) + "\n")
        if "batching_window" in only:
            print_batching_window(only["batching_window"])
        else:
            print_memory(memory_by_scheme(only))
        print(f"\nmerged into: {args.output}  ({time.perf_counter() - began:.0f} s)")
        return
    results["bench_wall_seconds"] = time.perf_counter() - began
    args.output.write_text(json.dumps(results, indent=2, sort_keys=True) + "\n")
    print_table(results)
    print_batching_window(results["batching_window"])
    print_memory(memory_by_scheme(results))
    print(f"\nwritten: {args.output}  ({results['bench_wall_seconds']:.0f} s)")


def run_batching_window(emulator: emulator_module.Emulator) -> dict[str, Any]:
    step(
        f"batching window: {WINDOW_ACCOUNTS} accounts arriving over {WINDOW_SPREAD:.0f} s, "
        f"RETRY_DELAY_SECONDS {WINDOW_RETRY_DELAY}, windows "
        + ", ".join(f"{w:g}" for w in BATCHING_WINDOWS)
        + " s"
    )
    return scenarios.batching_window(
        emulator,
        BATCHING_WINDOWS,
        accounts=WINDOW_ACCOUNTS,
        spread_seconds=WINDOW_SPREAD,
        retry_delay=WINDOW_RETRY_DELAY,
    )


def run_memory(environment: dict[str, str]) -> dict[str, Any]:
    """The worker's RSS over HTTPS and over HTTP, each with the emulator in a
    process of its own (a self-signed certificate made now, for HTTPS)."""
    figures: dict[str, Any] = {}
    for scheme, tls in SCHEMES.items():
        step(
            f"worker RSS over {scheme.upper()}: batch of 10 reports of 5,000 users, then "
            f"{MEMORY_FOLLOW_UP_BATCHES * 10} more accounts, {MEMORY_RUNS} runs; "
            f"{MEMORY_CLIENTS} IAM clients one after another, {MEMORY_RUNS} runs"
        )
        with separate_emulator(tls=tls) as remote:
            batches = [
                scenarios.worker_memory(
                    remote, 10, 5_000, environment, follow_up_batches=MEMORY_FOLLOW_UP_BATCHES
                )
                for _ in range(MEMORY_RUNS)
            ]
            clients = [
                scenarios.worker_client_cost(remote, MEMORY_CLIENTS, step=8)
                for _ in range(MEMORY_RUNS)
            ]
            if tls:
                step(f"ablation: {ABLATION_CACHED_CLIENTS} cached IAM clients instead, one run")
                fewer_clients = scenarios.worker_memory(
                    remote,
                    10,
                    5_000,
                    environment,
                    follow_up_batches=MEMORY_FOLLOW_UP_BATCHES,
                    cached_clients=ABLATION_CACHED_CLIENTS,
                )

        def median(runs: list[dict[str, Any]], key: str) -> float:
            return statistics.median(run_[key] for run_ in runs)

        figures[scheme] = {
            "peak_rss_mb": median(batches, "peak_rss_mb"),
            "rss_after_imports_mb": median(batches, "rss_after_imports_mb"),
            "rss_after_batch_mb": median(batches, "rss_after_batch_mb"),
            "rss_after_all_batches_mb": median(batches, "rss_after_all_batches_mb"),
            "peak_rss_all_batches_mb": median(batches, "peak_rss_all_batches_mb"),
            "follow_up_accounts": batches[0]["follow_up_accounts"],
            "report_bytes": batches[0]["report_bytes"],
            "mb_per_cached_client": median(clients, "mb_per_cached_client"),
            "cached_clients_limit": clients[0]["cached_clients_limit"],
            "mb_per_idle_connection": median(clients, "mb_per_idle_connection"),
            "runs": batches,
            "client_runs": clients,
        }
    figures["https"]["ablation_fewer_cached_clients"] = fewer_clients
    step(
        f"producer over {PRODUCER_MEMORY_ACCOUNTS:,} accounts and dlq_handler over 10 dead "
        f"letters ({MEMORY_RUNS} runs), each in a process of its own, over HTTPS"
    )
    with tls_in_this_process() as local:
        figures["https"]["producer"] = scenarios.producer_memory(local, PRODUCER_MEMORY_ACCOUNTS)
        figures["https"]["dlq_handler"] = scenarios.dlq_handler_memory(local, MEMORY_RUNS)
    return figures


def memory_results(by_scheme: dict[str, Any]) -> dict[str, Any]:
    """The results.json keys of the memory figures: the plain-HTTP ones where
    they always were, the HTTPS ones beside them."""
    return {
        "worker_peak_rss_mb": by_scheme["http"]["peak_rss_mb"],
        "worker_peak_rss_mb_tls": by_scheme["https"]["peak_rss_mb"],
        "worker_memory": by_scheme["http"],
        "worker_memory_tls": by_scheme["https"],
    }


def memory_by_scheme(results: dict[str, Any]) -> dict[str, Any]:
    return {"https": results["worker_memory_tls"], "http": results["worker_memory"]}


def print_memory(by_scheme: dict[str, Any]) -> None:
    print(
        f"\nworker RSS, batch of 10 reports of 5,000 users, then "
        f"{by_scheme['http']['follow_up_accounts']} more accounts "
        f"(median of {len(by_scheme['http']['runs'])} runs, MB):"
    )
    print(
        "  scheme  after imports  peak, batch of 10  after more accounts  "
        "per cached IAM client  per idle connection"
    )
    for scheme, m in by_scheme.items():
        print(
            f"  {scheme:<6}  {m['rss_after_imports_mb']:>13.0f}  {m['peak_rss_mb']:>17.0f}  "
            f"{m['rss_after_all_batches_mb']:>19.0f}  {m['mb_per_cached_client']:>21.2f}  "
            f"{m['mb_per_idle_connection']:>19.3f}"
        )
    https = by_scheme["https"]
    if "ablation_fewer_cached_clients" in https:
        fewer = https["ablation_fewer_cached_clients"]
        print(
            f"  ablation, HTTPS, {fewer['cached_clients_limit']} cached IAM clients: peak "
            f"{fewer['peak_rss_mb']:.0f} MB, {fewer['rss_after_all_batches_mb']:.0f} MB after "
            f"{fewer['follow_up_accounts']} more accounts (one run)"
        )
    if "producer" in https:
        producer, dlq = https["producer"], https["dlq_handler"]
        print(
            f"  producer over {producer['accounts']:,} accounts, HTTPS: peak "
            f"{producer['peak_rss_mb']:.0f} MB (after imports "
            f"{producer['rss_after_imports_mb']:.0f} MB, {producer['wall_seconds']:.0f} s); "
            "dlq_handler, 10 dead letters: peak "
            f"{dlq['peak_rss_mb']:.0f} MB (after imports {dlq['rss_after_imports_mb']:.0f} MB)"
        )


def print_batching_window(window: dict[str, Any]) -> None:
    print(
        f"\nbatching window ({window['accounts']} accounts arriving over "
        f"{window['spread_seconds']:.0f} s, RETRY_DELAY_SECONDS {window['retry_delay_seconds']}, "
        f"{window['deliveries_per_account']} deliveries per account):"
    )
    print("  window s  worker invocations/account  records/invocation  run wall s")
    for w in window["windows"].values():
        print(
            f"  {w['window_seconds']:>8g}  {w['worker_invocations_per_account']:>26.3f}  "
            f"{w['records_per_invocation']:>18.2f}  {w['wall_seconds']:>10.1f}"
        )


def step(name: str) -> None:
    print(f"... {name}", flush=True)


def run(
    emulator: emulator_module.Emulator,
    counter: RequestCounter,
    args: argparse.Namespace,
    environment: dict[str, str],
) -> dict[str, Any]:
    step("emulator floor: the minimal request sequence, one call after another")
    floor_latency = scenarios.request_floor_latency(emulator, samples=20)

    step(f"end-to-end run of {args.accounts} accounts (no added latency)")
    e2e = scenarios.happy_path(emulator, counter, args.accounts, environment)

    step(f"end-to-end run of {args.billed_accounts} accounts, {LATENCY * 1000:.0f} ms per call")
    billed = scenarios.happy_path(
        emulator, counter, args.billed_accounts, environment, latency=LATENCY
    )

    # The emulator in a process of its own: in this one, moto's request
    # handling would compete with the worker's threads for the GIL, and the
    # ratio would time the emulator (2.23 in-process vs 1.31 separate, same code).
    step(
        f"worker batch of 1 vs 10, {LATENCY * 1000:.0f} ms per call, {args.repeats} repeats, "
        "emulator in a separate process"
    )
    with separate_emulator() as remote:
        batch1 = scenarios.worker_batch(remote, 1, LATENCY, args.repeats, environment)
        batch10 = scenarios.worker_batch(remote, 10, LATENCY, args.repeats, environment)
        step("ablation: batch of 10 one record at a time")
        batch10_sequential = scenarios.worker_batch(
            remote, 10, LATENCY, args.repeats, environment, concurrency=1
        )
    step("ablation: batch of 1 vs 10 with the emulator in this process")
    batch1_in_process = scenarios.worker_batch(emulator, 1, LATENCY, args.repeats, environment)
    batch10_in_process = scenarios.worker_batch(emulator, 10, LATENCY, args.repeats, environment)

    step("ablation: a run without the credential cache")
    with scenarios.without_credential_cache():
        no_cache = scenarios.happy_path(emulator, counter, args.billed_accounts, environment)

    step(
        f"inline wait: IAM builds each report in {REPORT_SECONDS:.0f} s; INLINE_WAIT_SECONDS "
        f"{', '.join(INLINE_WAITS)}; {INLINE_ACCOUNTS} accounts; "
        f"RETRY_DELAY_SECONDS {INLINE_RETRY_DELAY}"
    )
    inline: dict[str, Any] = {}
    stack = cost.read_stack()
    for wait in INLINE_WAITS:
        run_ = scenarios.happy_path(
            emulator,
            counter,
            INLINE_ACCOUNTS,
            {
                **environment,
                "INLINE_WAIT_SECONDS": wait,
                "RETRY_DELAY_SECONDS": str(INLINE_RETRY_DELAY),
            },
            latency=LATENCY,
            report_seconds=REPORT_SECONDS,
        )
        priced = cost.model(cost.Measured.from_run(run_, stack.batch_size), stack=stack)["runs"][
            "10000"
        ]
        inline[wait] = {
            **{k: v for k, v in run_.items() if k != "worker_durations_seconds"},
            "worker_invocations_per_account": run_["worker_invocations"] / INLINE_ACCOUNTS,
            "cost_per_run_10000": priced["ours"]["per_run"],
            "cost_ratio_10000": priced["ratio"],
            "median_worker_invocation_seconds": statistics.median(run_["worker_durations_seconds"]),
        }

    memory = run_memory(environment)
    step("ablation: worker peak RSS with glibc's dynamic mmap threshold, 3 runs")
    dynamic_threshold = [
        scenarios.worker_memory(emulator, 10, 5_000, environment, dynamic_mmap_threshold=True)[
            "peak_rss_mb"
        ]
        for _ in range(3)
    ]

    batching = run_batching_window(emulator)

    step(f"producer over {args.producer_accounts} accounts")
    producer = scenarios.producer_10000(emulator, counter, args.producer_accounts)

    step(
        f"findings over {findings_bench.ACCOUNTS:,} reports of {findings_bench.USERS} users "
        "vs only parsing them with csv"
    )
    findings = findings_bench.measure()
    step(
        f"findings --run over {findings_bench.ACCOUNTS:,} reports stored in the emulator, "
        "the command in a process of its own"
    )
    findings["run"] = findings_bench.measure_run(emulator)

    floor = scenarios.floor_requests(e2e["accounts"])
    floor_total = sum(floor.values())
    billed_seconds_per_account = billed["worker_billed_ms_total"] / 1000 / billed["accounts"]
    costs = cost.model(cost.Measured.from_run(billed, stack.batch_size), stack=stack)
    return {
        "environment": environment,
        "requests_per_account": e2e["requests_per_account"],
        "requests_per_account_by_api": e2e["requests_per_account_by_api"],
        "floor_requests_per_account": floor_total,
        "floor_requests_per_account_by_api": floor,
        "requests_vs_floor": e2e["requests_per_account"] / floor_total,
        "invocations_per_account": e2e["invocations_per_account"],
        "billed_seconds_per_account": billed_seconds_per_account,
        "billed_gb_seconds_per_account": billed_seconds_per_account
        * stack.memory_mb["worker"]
        / 1024,
        "cost": costs,
        "cost_ratio_1000": costs["runs"]["1000"]["ratio"],
        "cost_ratio_10000": costs["runs"]["10000"]["ratio"],
        "batch10_vs_batch1_ratio": batch10["median_seconds"] / batch1["median_seconds"],
        "batch_emulator": "moto server in a separate process (bench/emulator_process.py)",
        "batch1": batch1,
        "batch10": batch10,
        "ablations": {
            "batch_emulator_in_process": {
                "batch1": batch1_in_process,
                "batch10": batch10_in_process,
                "ratio": batch10_in_process["median_seconds"] / batch1_in_process["median_seconds"],
            },
            "worker_peak_rss_mb_dynamic_mmap_threshold": dynamic_threshold,
            "batch10_sequential": batch10_sequential,
            "batch10_sequential_vs_batch1_ratio": batch10_sequential["median_seconds"]
            / batch1["median_seconds"],
            "without_credential_cache": {
                k: v for k, v in no_cache.items() if k != "worker_durations_seconds"
            },
        },
        "inline_wait": inline,
        "batching_window": batching,
        "inline_wait_setup": {
            "report_seconds": REPORT_SECONDS,
            "retry_delay_seconds": INLINE_RETRY_DELAY,
            "accounts": INLINE_ACCOUNTS,
            "latency_per_call_seconds": LATENCY,
        },
        **memory_results(memory),
        "producer_10000_seconds": producer["seconds"],
        "producer": producer,
        "findings": findings,
        "accounts_per_second": e2e["accounts_per_second"],
        "floor_accounts_per_second": floor_latency["accounts_per_second"],
        "accounts_per_second_vs_floor": e2e["accounts_per_second"]
        / floor_latency["accounts_per_second"],
        "floor_latency": floor_latency,
        "end_to_end": {k: v for k, v in e2e.items() if k != "worker_durations_seconds"},
        "billed_run": {
            **{k: v for k, v in billed.items() if k != "worker_durations_seconds"},
            "median_worker_invocation_seconds": statistics.median(
                billed["worker_durations_seconds"]
            ),
        },
    }


def verdict(ok: bool) -> str:
    return "pass" if ok else "FAIL"


def print_table(r: dict[str, Any]) -> None:
    c = r["cost"]["runs"]
    rows = [
        (
            "requests / account (happy path)",
            f"{r['requests_per_account']:.2f}  (floor {r['floor_requests_per_account']:.2f}, "
            f"x{r['requests_vs_floor']:.3f})",
            verdict(r["requests_vs_floor"] <= 1.1),
        ),
        (
            "Lambda invocations / account",
            f"{r['invocations_per_account']:.3f}",
            verdict(r["invocations_per_account"] <= 0.25),
        ),
        (
            f"billed duration / account ({r['cost']['stack']['memory_mb']['worker']} MB)",
            f"{r['billed_seconds_per_account'] * 1000:.0f} ms  "
            f"({LATENCY * 1000:.0f} ms per AWS call)",
            "",
        ),
    ]
    for n in ("1000", "10000"):
        rows.append(
            (
                f"cost / run, {int(n):,} accounts",
                f"${c[n]['ours']['per_run']:.4f} vs Step Functions "
                f"${c[n]['step_functions']['per_run']:.4f}: {c[n]['ratio']:.1f}x "
                f"({c[n]['ratio_with_a_day_of_idle_polling']:.1f}x with a day of idle polling, "
                f"{c[n]['ratio_with_a_day_of_fixed_costs']:.1f}x with the KMS keys' day too); "
                f"Distributed Map ${c[n]['distributed_map']['per_run']:.4f}: "
                f"{c[n]['ratio_distributed_map']:.1f}x",
                verdict(c[n]["ratio"] >= 10),
            )
        )
    rows += [
        (
            "batch 10 / batch 1 handler time",
            f"{r['batch10_vs_batch1_ratio']:.2f}  ({r['batch10']['median_seconds']:.2f} s vs "
            f"{r['batch1']['median_seconds']:.2f} s, two deliveries; emulator in its own process)",
            verdict(r["batch10_vs_batch1_ratio"] <= 1.5),
        ),
        *(
            (
                f"worker peak RSS, 10 x 5,000 users, {scheme.upper()}",
                f"{m['peak_rss_mb']:.0f} MB  (after imports {m['rss_after_imports_mb']:.0f} MB; "
                f"{m['rss_after_all_batches_mb']:.0f} MB after "
                f"{m['follow_up_accounts']} more accounts)",
                verdict(m["peak_rss_mb"] <= 128),
            )
            for scheme, m in memory_by_scheme(r).items()
        ),
        (
            f"producer, {r['producer']['accounts']:,} accounts",
            f"{r['producer_10000_seconds']:.1f} s, {sum(r['producer']['requests'].values())} "
            "requests",
            verdict(r["producer_10000_seconds"] < 900),
        ),
        (
            "findings vs only parsing (csv)",
            findings_bench.describe(r["findings"]),
            verdict(r["findings"]["engine_vs_floor"] >= findings_bench.GOAL),
        ),
        (
            f"findings --run, {r['findings']['run']['accounts']:,} accounts (emulator)",
            findings_bench.describe_run(r["findings"]["run"]),
            "",
        ),
        (
            "accounts / s end to end",
            f"{r['accounts_per_second']:.1f}  (emulator floor "
            f"{r['floor_accounts_per_second']:.1f}: x{r['accounts_per_second_vs_floor']:.2f})",
            "",
        ),
    ]
    a = r["ablations"]
    rows += [
        (
            "  ablation: batch 10 one at a time",
            f"{a['batch10_sequential_vs_batch1_ratio']:.2f} x batch 1",
            "",
        ),
        (
            "  ablation: emulator in the worker's process",
            f"{a['batch_emulator_in_process']['ratio']:.2f} x batch 1",
            "",
        ),
        (
            "  ablation: glibc dynamic mmap threshold",
            "peak RSS "
            + ", ".join(f"{v:.0f}" for v in a["worker_peak_rss_mb_dynamic_mmap_threshold"])
            + " MB",
            "",
        ),
        (
            "  ablation: no credential cache",
            f"{a['without_credential_cache']['requests_per_account']:.2f} requests / account "
            f"(AssumeRole "
            f"{a['without_credential_cache']['requests_per_account_by_api']['sts.AssumeRole']:.2f})",
            "",
        ),
    ]
    width = max(len(name) for name, _, _ in rows)
    print()
    for name, value, ok in rows:
        print(f"{name:<{width}}  {value:<80} {ok}")
    setup = r["inline_wait_setup"]
    print(
        f"\ninline wait (IAM builds a report in {setup['report_seconds']:.0f} s, "
        f"RETRY_DELAY_SECONDS {setup['retry_delay_seconds']}, {setup['accounts']} accounts, "
        f"{setup['latency_per_call_seconds'] * 1000:.0f} ms per call):"
    )
    print(
        "  INLINE_WAIT_SECONDS  worker inv/account  requests/account  billed ms/account  "
        "latency median (max) s  batch s  cost ratio 10k"
    )
    for wait, w in r["inline_wait"].items():
        print(
            f"  {wait:>19}  {w['worker_invocations_per_account']:>18.3f}  "
            f"{w['requests_per_account']:>16.2f}  {w['billed_seconds_per_account'] * 1000:>17.0f}  "
            f"{w['latency_seconds']['median']:>13.1f} ({w['latency_seconds']['max']:.1f})  "
            f"{w['median_worker_invocation_seconds']:>7.2f}  {w['cost_ratio_10000']:>14.1f}"
        )
    print()
    print(cost.describe(r["cost"]))
    print("\nrequests per account by API (end-to-end run):")
    for name, value in r["requests_per_account_by_api"].items():
        floor = r["floor_requests_per_account_by_api"].get(name, 0.0)
        print(f"  {name:<34} {value:7.3f}   floor {floor:7.3f}")


if __name__ == "__main__":
    main()
