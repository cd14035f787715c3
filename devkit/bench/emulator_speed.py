"""Emulator micro-benchmark: a 100-row bulk upsert and a 100-value list, each against a 10 ms target.

    python -m devkit.bench.emulator_speed [--repeat 50] [--rows 1000] [--no-in-flight]

Times are wall-clock round trips over HTTP on loopback (keep-alive session, JSON encoded once beforehand),
so they are the emulator's own cost plus a thin client. The table holds `--rows` alert-like rows with a
unique index on `fingerprint`. Prints, per case, the wall-clock median, minimum and 95th percentile, and
the CPU time per call of this process (client and emulator together, which other load on the machine
does not inflate), then PASS/MISS on the wall-clock median. The load average is printed first, because a
busy machine stretches wall-clock times.

Then, unless `--no-in-flight`, calls in flight at once as the function makes them: clients in another
process (as the function's worker is), each on its own kept-alive connection, first one list alone,
then four lists, then two lists beside two changed-row upserts. Those lines give the mean too, and as
`cpu` the emulator thread's own CPU time per call, which other load does not inflate. The emulator
answers one call at a time (one event loop, one SQLite connection), so a call in flight waits for
those ahead of it: its time grows with the others' CPU time, which is what these lines show.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import requests
from appwrite.client import Client
from appwrite.query import Query
from appwrite.services.tables_db import TablesDB

from devkit.emulator import Emulator

TARGET_MS = 10.0
BATCH = 100
COLUMNS: list[dict[str, Any]] = [
    {"key": "fingerprint", "type": "varchar", "size": 64, "required": True},
    {"key": "status", "type": "enum", "elements": ["firing", "resolved"], "required": True},
    {"key": "severity", "type": "varchar", "size": 32, "required": False},
    {"key": "count", "type": "integer", "required": False},
    {"key": "startsAt", "type": "datetime", "required": False},
    {"key": "labels", "type": "text", "required": False},
]


@dataclass(frozen=True)
class Figure:
    name: str
    median_ms: float
    min_ms: float
    p95_ms: float
    cpu_ms: float
    gated: bool  # whether PASS/MISS applies
    mean_ms: float | None = None

    def line(self) -> str:
        verdict = ("PASS" if self.median_ms < TARGET_MS else "MISS") if self.gated else "info"
        mean = f"  mean {self.mean_ms:6.2f} ms" if self.mean_ms is not None else ""
        return (f"{self.name:<44} median {self.median_ms:6.2f} ms  min {self.min_ms:6.2f} ms  "
                f"p95 {self.p95_ms:6.2f} ms  cpu {self.cpu_ms:6.2f} ms  {verdict}{mean}")


def _row(number: int, generation: int) -> dict[str, Any]:
    return {
        "$id": f"a{number}", "fingerprint": f"fp-{number:06d}", "status": "firing" if generation % 2 else "resolved",
        "severity": "page", "count": generation, "startsAt": "2026-01-02T03:04:05.000+00:00",
        "labels": json.dumps({"alertname": "HighLatency", "instance": f"host-{number}", "job": "api"}),
    }


def _p95(ordered: list[float]) -> float:
    return ordered[min(len(ordered) - 1, int(len(ordered) * 0.95))]


def _measure(name: str, repeat: int, call: Callable[[int], requests.Response], gated: bool = True) -> Figure:
    call(0)  # warm-up: connection and caches
    samples = []
    cpu_started = time.process_time()
    for iteration in range(1, repeat + 1):
        started = time.perf_counter()
        response = call(iteration)
        samples.append((time.perf_counter() - started) * 1000)
        if response.status_code >= 300:
            raise RuntimeError(f"{name}: HTTP {response.status_code} {response.text[:200]}")
    cpu_ms = (time.process_time() - cpu_started) * 1000 / repeat
    ordered = sorted(samples)
    return Figure(name, statistics.median(ordered), ordered[0], _p95(ordered), cpu_ms, gated)


def _seed(emulator: Emulator, rows: int) -> TablesDB:
    client = Client().set_endpoint(emulator.endpoint).set_project("bench").set_key(emulator.api_key)
    tables = TablesDB(client)
    tables.create("bench", "Bench")
    tables.create_table("bench", "alerts", "Alerts", columns=COLUMNS,
                        indexes=[{"key": "fingerprint_unique", "type": "unique", "attributes": ["fingerprint"]}])
    for start in range(0, rows, BATCH):
        tables.upsert_rows("bench", "alerts", [_row(number, 0) for number in range(start, start + BATCH)])
    return tables


def _spread(rows: int) -> list[int]:
    """100 row numbers spread over the table."""
    return list(range(0, rows, max(1, rows // BATCH)))[:BATCH]


def run(repeat: int, rows: int) -> list[Figure]:
    with Emulator(processing_seconds=0.0, project_id="bench") as emulator:
        tables = _seed(emulator, rows)
        session = requests.Session()
        session.headers.update({"X-Appwrite-Project": "bench", "X-Appwrite-Key": emulator.api_key,
                                "Content-Type": "application/json"})
        rows_url = f"{emulator.endpoint}/tablesdb/bench/tables/alerts/rows"
        changed = [json.dumps({"rows": [_row(number, generation) for number in range(BATCH)]})
                   for generation in range(repeat + 1)]
        same = json.dumps({"rows": [_row(number, 0) for number in range(BATCH, 2 * BATCH)]})
        fingerprints = [f"fp-{number:06d}" for number in _spread(rows)]
        listing = {"queries[0]": Query.equal("fingerprint", fingerprints), "queries[1]": Query.limit(BATCH)}
        by_id = {"queries[0]": Query.equal("$id", [f"a{number}" for number in _spread(rows)]),
                 "queries[1]": Query.limit(BATCH)}
        figures = [
            _measure("bulk upsert, 100 changed rows", repeat,
                     lambda i: session.put(rows_url, data=changed[i])),
            _measure("bulk upsert, 100 unchanged rows", repeat, lambda i: session.put(rows_url, data=same)),
            _measure("list rows, equal on 100 values (limit 100)", repeat,
                     lambda i: session.get(rows_url, params=listing)),
            _measure('list rows, equal("$id") on 100 values', repeat,
                     lambda i: session.get(rows_url, params=by_id)),
        ]
        started, cpu_started = time.perf_counter(), time.process_time()
        listed = tables.list_rows("bench", "alerts", [listing["queries[0]"], listing["queries[1]"]])
        sdk_ms, sdk_cpu_ms = (time.perf_counter() - started) * 1000, (time.process_time() - cpu_started) * 1000
        if listed.total != len(fingerprints):
            raise RuntimeError(f"the list found {listed.total} rows, expected {len(fingerprints)}")
        figures.append(Figure("same list through the Python SDK (one call)", sdk_ms, sdk_ms, sdk_ms, sdk_cpu_ms,
                              gated=False))
        return figures


# -- calls in flight at once ----------------------------------------------------------------------

_SCENARIOS: list[tuple[str, list[str]]] = [
    ("1 in flight", ["list"]),
    ("4 in flight", ["list"] * 4),
    ("4 in flight", ["list", "upsert", "list", "upsert"]),
]
_KIND_NAMES = {"list": 'list equal("$id") 100', "upsert": "upsert 100 changed"}


def _client(config: dict[str, Any]) -> dict[str, list[float]]:
    """The client process: one thread and kept-alive connection per entry of `kinds`, started together."""
    kinds: list[str] = config["kinds"]
    calls: int = config["calls"]
    url = config["url"]
    query = config["query"]
    headers = {"X-Appwrite-Project": "bench", "X-Appwrite-Key": config["key"], "Content-Type": "application/json"}
    samples: dict[str, list[float]] = {kind: [] for kind in kinds}
    lock = threading.Lock()
    start = threading.Barrier(len(kinds))

    def worker(position: int, kind: str) -> None:
        session = requests.Session()
        session.headers.update(headers)
        bodies = [json.dumps({"rows": [_row(number, position * 100_000 + call) for number in range(BATCH)]})
                  for call in range(calls + 1)] if kind == "upsert" else []

        def call(number: int) -> requests.Response:
            if kind == "list":
                return session.get(url, params=query)
            return session.put(url, data=bodies[number])

        call(calls)  # warm-up: connection and caches
        start.wait()
        mine = []
        for number in range(calls):
            started = time.perf_counter()
            response = call(number)
            mine.append((time.perf_counter() - started) * 1000)
            if response.status_code >= 300:
                raise RuntimeError(f"{kind}: HTTP {response.status_code} {response.text[:200]}")
        with lock:
            samples[kind].extend(mine)

    threads = [threading.Thread(target=worker, args=(position, kind)) for position, kind in enumerate(kinds)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return samples


def _thread_cpu(thread: threading.Thread | None) -> Callable[[], float]:
    """Seconds of CPU the thread has used so far (0 where the platform cannot tell)."""
    if thread is None or thread.ident is None or not hasattr(time, "pthread_getcpuclockid"):
        return lambda: 0.0
    clock = time.pthread_getcpuclockid(thread.ident)
    return lambda: time.clock_gettime(clock)


def run_in_flight(repeat: int, rows: int) -> list[Figure]:
    """Per-call times with several calls in flight, from clients in another process."""
    figures = []
    root = str(Path(__file__).resolve().parents[2])
    environment = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [root, os.environ.get("PYTHONPATH")]))}
    with Emulator(processing_seconds=0.0, project_id="bench") as emulator:
        _seed(emulator, rows)
        emulator_cpu = _thread_cpu(emulator._thread)
        query = {"queries[0]": Query.equal("$id", [f"a{number}" for number in _spread(rows)]),
                 "queries[1]": Query.limit(BATCH)}
        for label, kinds in _SCENARIOS:
            config = {"url": f"{emulator.endpoint}/tablesdb/bench/tables/alerts/rows", "key": emulator.api_key,
                      "query": query, "kinds": kinds, "calls": repeat}
            cpu_started = emulator_cpu()
            command = [sys.executable, "-m", "devkit.bench.emulator_speed", "--client", json.dumps(config)]
            answer = subprocess.run(command, capture_output=True, text=True, env=environment, check=False)
            if answer.returncode != 0:
                raise RuntimeError(f"in-flight client failed: {answer.stderr[-2000:]}")
            cpu_ms = (emulator_cpu() - cpu_started) * 1000 / (len(kinds) * (repeat + 1))
            samples: dict[str, list[float]] = json.loads(answer.stdout)
            beside = " + ".join(f"{kinds.count(kind)} {kind}" for kind in dict.fromkeys(kinds))
            for kind, values in samples.items():
                ordered = sorted(values)
                figures.append(Figure(f"{_KIND_NAMES[kind]}, {label} ({beside})", statistics.median(ordered),
                                      ordered[0], _p95(ordered), cpu_ms, gated=False,
                                      mean_ms=statistics.fmean(ordered)))
    return figures


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--repeat", type=int, default=50, help="timed calls per case (default 50)")
    parser.add_argument("--rows", type=int, default=1000, help="rows in the table (default 1000)")
    parser.add_argument("--no-in-flight", action="store_true", help="skip the calls-in-flight figures")
    parser.add_argument("--client", help=argparse.SUPPRESS)  # the in-flight client process (JSON config)
    args = parser.parse_args(argv)
    if args.client:
        print(json.dumps(_client(json.loads(args.client))))
        return 0
    if args.rows < 2 * BATCH or args.rows % BATCH:
        parser.error(f"--rows must be a multiple of {BATCH}, at least {2 * BATCH}")
    load = ", ".join(f"{value:.2f}" for value in os.getloadavg())
    print(f"Emulator speed, {args.rows} rows in the table, {args.repeat} calls per case, target < {TARGET_MS:g} ms "
          f"(load average {load} on {os.cpu_count()} CPUs)")
    for figure in run(args.repeat, args.rows):
        print(figure.line())
    if not args.no_in_flight:
        print("Calls in flight at once, clients in another process (cpu: the emulator thread's per call):")
        for figure in run_in_flight(args.repeat, args.rows):
            print(figure.line())
    return 0


if __name__ == "__main__":
    sys.exit(main())
