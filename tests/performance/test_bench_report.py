"""The benchmark's quick mode runs end to end and judges every target of issue 20 (timings are not asserted)."""

from __future__ import annotations

import subprocess
import sys

from tests.conftest import REPO_ROOT

ISSUE_20_TARGETS = (
    "re-delivery of 1,000 unchanged alerts <= 0.2 s with 10 reads and 0 writes",
    "first delivery and resolve of 1,000 alerts >= 50x the per-alert floor",
    "single alert, first delivery: <= 3 sequential stages",
    "own CPU (parse, decide, render; no waiting on Appwrite) < 50 us per alert",
    "cold import of the entrypoint <= SDK's own import + 30 ms",
    "emulator: 100-row bulk upsert and 100-value list < 10 ms each",
)


def test_quick_bench_prints_a_verdict_for_every_issue_20_target() -> None:
    """`bench.py --quick` exits 0 and prints a PASS or MISS line, with its figure, for each of issue 20's targets."""
    done = subprocess.run([sys.executable, "scripts/bench.py", "--quick"], cwd=REPO_ROOT, capture_output=True,
                          text=True, timeout=900)
    assert done.returncode == 0, done.stderr[-2000:]
    lines = done.stdout.splitlines()
    for target in ISSUE_20_TARGETS:
        verdicts = [line for line in lines if target in line]
        assert verdicts, f"no line for {target!r}"
        assert verdicts[0].lstrip().startswith(("PASS", "MISS")), verdicts[0]
        figure = lines[lines.index(verdicts[0]) + 1]
        assert any(char.isdigit() for char in figure), figure
    assert "CPU profile of the POST handler" in done.stdout
    assert "cost per day" in done.stdout
