"""Emulator micro-benchmark: a 100-row bulk upsert and a 100-value list, each against a 10 ms target.

    python -m devkit.bench.emulator_speed [--repeat 50] [--rows 1000]

Times are wall-clock round trips over HTTP on loopback (keep-alive session, JSON encoded once beforehand),
so they are the emulator's own cost plus a thin client. The table holds `--rows` alert-like rows with a
unique index on `fingerprint`. Prints, per case, the wall-clock median, minimum and 95th percentile, and
the CPU time per call of this process (client and emulator together, which other load on the machine
does not inflate), then PASS/MISS on the wall-clock median. The load average is printed first, because a
busy machine stretches wall-clock times.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
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

    def line(self) -> str:
        verdict = ("PASS" if self.median_ms < TARGET_MS else "MISS") if self.gated else "info"
        return (f"{self.name:<44} median {self.median_ms:6.2f} ms  min {self.min_ms:6.2f} ms  "
                f"p95 {self.p95_ms:6.2f} ms  cpu {self.cpu_ms:6.2f} ms  {verdict}")


def _row(number: int, generation: int) -> dict[str, Any]:
    return {
        "$id": f"a{number}", "fingerprint": f"fp-{number:06d}", "status": "firing" if generation % 2 else "resolved",
        "severity": "page", "count": generation, "startsAt": "2026-01-02T03:04:05.000+00:00",
        "labels": json.dumps({"alertname": "HighLatency", "instance": f"host-{number}", "job": "api"}),
    }


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
    p95 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.95))]
    return Figure(name, statistics.median(ordered), ordered[0], p95, cpu_ms, gated)


def run(repeat: int, rows: int) -> list[Figure]:
    with Emulator(processing_seconds=0.0, project_id="bench") as emulator:
        client = Client().set_endpoint(emulator.endpoint).set_project("bench").set_key(emulator.api_key)
        tables = TablesDB(client)
        tables.create("bench", "Bench")
        tables.create_table("bench", "alerts", "Alerts", columns=COLUMNS,
                            indexes=[{"key": "fingerprint_unique", "type": "unique", "attributes": ["fingerprint"]}])
        for start in range(0, rows, BATCH):
            tables.upsert_rows("bench", "alerts", [_row(number, 0) for number in range(start, start + BATCH)])
        session = requests.Session()
        session.headers.update({"X-Appwrite-Project": "bench", "X-Appwrite-Key": emulator.api_key,
                                "Content-Type": "application/json"})
        rows_url = f"{emulator.endpoint}/tablesdb/bench/tables/alerts/rows"
        changed = [json.dumps({"rows": [_row(number, generation) for number in range(BATCH)]})
                   for generation in range(repeat + 1)]
        same = json.dumps({"rows": [_row(number, 0) for number in range(BATCH, 2 * BATCH)]})
        fingerprints = [f"fp-{number:06d}" for number in range(0, rows, max(1, rows // BATCH))][:BATCH]
        listing = {"queries[0]": Query.equal("fingerprint", fingerprints), "queries[1]": Query.limit(BATCH)}
        figures = [
            _measure("bulk upsert, 100 changed rows", repeat,
                     lambda i: session.put(rows_url, data=changed[i])),
            _measure("bulk upsert, 100 unchanged rows", repeat, lambda i: session.put(rows_url, data=same)),
            _measure("list rows, equal on 100 values (limit 100)", repeat,
                     lambda i: session.get(rows_url, params=listing)),
        ]
        started, cpu_started = time.perf_counter(), time.process_time()
        listed = tables.list_rows("bench", "alerts", [listing["queries[0]"], listing["queries[1]"]])
        sdk_ms, sdk_cpu_ms = (time.perf_counter() - started) * 1000, (time.process_time() - cpu_started) * 1000
        if listed.total != len(fingerprints):
            raise RuntimeError(f"the list found {listed.total} rows, expected {len(fingerprints)}")
        figures.append(Figure("same list through the Python SDK (one call)", sdk_ms, sdk_ms, sdk_ms, sdk_cpu_ms,
                              gated=False))
        return figures


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--repeat", type=int, default=50, help="timed calls per case (default 50)")
    parser.add_argument("--rows", type=int, default=1000, help="rows in the table (default 1000)")
    args = parser.parse_args(argv)
    if args.rows < 2 * BATCH or args.rows % BATCH:
        parser.error(f"--rows must be a multiple of {BATCH}, at least {2 * BATCH}")
    load = ", ".join(f"{value:.2f}" for value in os.getloadavg())
    print(f"Emulator speed, {args.rows} rows in the table, {args.repeat} calls per case, target < {TARGET_MS:g} ms "
          f"(load average {load} on {os.cpu_count()} CPUs)")
    for figure in run(args.repeat, args.rows):
        print(figure.line())
    return 0


if __name__ == "__main__":
    sys.exit(main())
