"""Turn latency through the gateway beside Rasa's REST channel alone, and webhook-to-page
latency, measured in one run on this machine.

Starts its own Rasa, action server and API (with its worker) on free ports, a fresh SQLite
database under var/bench/, and a loopback Twilio stand-in that the real twilio client talks to.
"""

from __future__ import annotations

import argparse
import statistics
import threading
import time
import uuid
import zlib
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

from bench.harness import DUTY, Running, running_assistant

ONE_REPLY_MESSAGES = ["thanks", "what can you do", "ok", "who will you tell"]
DISCLOSURES = [
    "my stepdad hits me when my mum is at work",
    "these older boys make me carry stuff for them and say i owe them",
    "my uncle comes in my room at night and touches me",
    "i cut myself again last night",
]


def percentile(values: list[float], pct: float) -> float:
    """The pct-th percentile (nearest rank) of values, in the same unit."""
    ordered = sorted(values)
    index = max(0, min(len(ordered) - 1, round(pct / 100 * len(ordered) + 0.5) - 1))
    return ordered[index]


def summarise(name: str, latencies: list[float], elapsed: float) -> dict[str, float | str]:
    """p50, p95 (ms) and messages per second."""
    return {
        "name": name,
        "n": len(latencies),
        "p50_ms": statistics.median(latencies) * 1000,
        "p95_ms": percentile(latencies, 95) * 1000,
        "per_s": len(latencies) / elapsed,
    }


def run_concurrent(
    turn: Callable[[int, int], float], *, workers: int, per_worker: int
) -> tuple[list[float], float]:
    """Run `per_worker` sequential turns in each of `workers` threads."""
    latencies: list[float] = []
    lock = threading.Lock()

    def conversation(worker: int) -> None:
        for n in range(per_worker):
            value = turn(worker, n)
            with lock:
                latencies.append(value)

    start = time.perf_counter()
    with ThreadPoolExecutor(max_workers=workers) as pool:
        list(pool.map(conversation, range(workers)))
    return latencies, time.perf_counter() - start


class Bench:
    """One benchmark run against a running assistant."""

    def __init__(self, running: Running) -> None:
        self.running = running
        self.standin = running.standin
        self.stack = running.stack
        self.run_id = uuid.uuid4().hex[:6]
        self.client = running.client

    def rasa_turn(self, sender: str, text: str) -> float:
        start = time.perf_counter()
        response = self.client.post(
            f"{self.stack.config.rasa_url}/webhooks/rest/webhook",
            json={"sender": sender, "message": text},
        )
        response.raise_for_status()
        return time.perf_counter() - start

    def gateway_turn(self, phone: str, text: str, *, to: str | None = None) -> float:
        target = to or phone
        before = len(self.standin.sent_to(target))
        start = time.perf_counter()
        self.running.text(phone, text)
        self.standin.wait_for_count(target, before + 1, timeout=30)
        return time.perf_counter() - start

    def phone(self, worker: int, kind: str) -> str:
        digits = zlib.crc32(f"{self.run_id}-{kind}-{worker}".encode()) % 10**6
        return f"+447700{digits:06d}"


def main() -> None:
    """Run the benchmark and print the figures."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--turns", type=int, default=120, help="turns per measurement")
    parser.add_argument("--pages", type=int, default=30, help="disclosures for page latency")
    args = parser.parse_args()
    with running_assistant("bench") as running:
        results = measure(Bench(running), args.turns, args.pages)
    report(results)


def measure(bench: Bench, turns: int, pages: int) -> list[dict[str, float | str]]:
    """Warm up, then measure each path at concurrency 1 and 8."""
    print("Warming up...", flush=True)
    for worker in range(8):
        bench.rasa_turn(f"rasa-{bench.run_id}-{worker}", "hi")
        bench.gateway_turn(bench.phone(worker, "gw"), "hi")
        for text in ONE_REPLY_MESSAGES:
            bench.rasa_turn(f"rasa-{bench.run_id}-{worker}", text)
            bench.gateway_turn(bench.phone(worker, "gw"), text)
    time.sleep(1.0)  # let stray replies from the warm-up settle
    results = []
    for concurrency in (1, 8):
        per = max(turns // concurrency, 1)

        def rasa(worker: int, n: int) -> float:
            text = ONE_REPLY_MESSAGES[n % len(ONE_REPLY_MESSAGES)]
            return bench.rasa_turn(f"rasa-{bench.run_id}-{worker}", text)

        def gateway(worker: int, n: int) -> float:
            text = ONE_REPLY_MESSAGES[n % len(ONE_REPLY_MESSAGES)]
            return bench.gateway_turn(bench.phone(worker, "gw"), text)

        print(f"Measuring at concurrency {concurrency}...", flush=True)
        results.append(
            summarise(
                f"rasa REST alone, c={concurrency}",
                *run_concurrent(rasa, workers=concurrency, per_worker=per),
            )
        )
        time.sleep(0.5)
        results.append(
            summarise(
                f"gateway turn, c={concurrency}",
                *run_concurrent(gateway, workers=concurrency, per_worker=per),
            )
        )
        time.sleep(0.5)

    print("Measuring webhook-to-page latency...", flush=True)
    latencies = []
    start = time.perf_counter()
    for n in range(pages):
        phone = bench.phone(n, "page")
        latencies.append(bench.gateway_turn(phone, DISCLOSURES[n % len(DISCLOSURES)], to=DUTY))
    results.append(
        summarise("webhook to page accepted, c=1", latencies, time.perf_counter() - start)
    )
    return results


def report(results: list[dict[str, float | str]]) -> None:
    """Print the table and the gateway's overhead."""
    print()
    print(f"{'measurement':36} {'n':>5} {'p50 ms':>8} {'p95 ms':>8} {'msg/s':>7}")
    for row in results:
        print(
            f"{row['name']:36} {row['n']:>5} {row['p50_ms']:>8.1f} {row['p95_ms']:>8.1f} "
            f"{row['per_s']:>7.1f}"
        )
    by_name = {str(r["name"]): r for r in results}
    print()
    for c in (1, 8):
        rasa, gateway = by_name[f"rasa REST alone, c={c}"], by_name[f"gateway turn, c={c}"]
        overhead = float(gateway["p50_ms"]) / float(rasa["p50_ms"]) - 1
        throughput = 1 - float(gateway["per_s"]) / float(rasa["per_s"])
        print(
            f"c={c}: the gateway adds {overhead:+.0%} to p50 latency; throughput "
            f"{-throughput:+.0%} (target: at most 25% added)"
        )
    page = by_name["webhook to page accepted, c=1"]
    print(f"page latency p95 {float(page['p95_ms']) / 1000:.2f} s (target under 2 s)")


if __name__ == "__main__":
    main()
