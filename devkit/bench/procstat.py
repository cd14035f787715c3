"""CPU time and resident memory of a process, read from /proc (Linux only; None elsewhere).

CPU: the sum of `/proc/<pid>/task/*/schedstat` (nanoseconds on CPU, per live thread), so a delivery of one
alert still gets a figure; `/proc/<pid>/stat` (utime + stime, in 10 ms ticks) is the fallback. Threads that
exit during a measurement are not counted by the first: the function's threads (its Appwrite pool, the
runtime's executor) live as long as the worker, so in practice none is missed.

Memory: `VmRSS` is the resident size now and `VmHWM` the peak since the process started or since
`reset_peak()`, which writes 5 to `/proc/<pid>/clear_refs` (Linux 4.0+; needs the same user).
"""

from __future__ import annotations

import os
from pathlib import Path


def _proc(pid: int) -> Path:
    return Path("/proc") / str(pid)


def cpu_seconds(pid: int) -> float | None:
    """Time spent on a CPU by every live thread of `pid`, in seconds."""
    total_ns = 0
    found = False
    try:
        tasks = list((_proc(pid) / "task").iterdir())
    except OSError:
        tasks = []
    for task in tasks:
        try:
            fields = (task / "schedstat").read_text().split()
        except OSError:
            continue
        if fields:
            total_ns += int(fields[0])
            found = True
    if found and total_ns > 0:
        return total_ns / 1e9
    try:
        stat = (_proc(pid) / "stat").read_text()
    except OSError:
        return None
    # Fields after the command name (which may hold spaces), which ends with the last ')'.
    rest = stat[stat.rindex(")") + 2:].split()
    ticks = int(rest[11]) + int(rest[12])
    return ticks / os.sysconf("SC_CLK_TCK")


def _status_kib(pid: int, field: str) -> int | None:
    try:
        text = (_proc(pid) / "status").read_text()
    except OSError:
        return None
    for line in text.splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    return None


def rss_bytes(pid: int) -> int | None:
    kib = _status_kib(pid, "VmRSS")
    return None if kib is None else kib * 1024


def peak_rss_bytes(pid: int) -> int | None:
    kib = _status_kib(pid, "VmHWM")
    return None if kib is None else kib * 1024


def reset_peak(pid: int) -> bool:
    """Make `VmHWM` start again from the current resident size; False when the kernel does not allow it."""
    try:
        (_proc(pid) / "clear_refs").write_text("5")
    except OSError:
        return False
    return True
