"""What the benchmark ran on: CPU model, core count, Python, OS."""

from __future__ import annotations

import os
import platform
import sys
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any


@dataclass(frozen=True)
class Machine:
    cpu: str
    cores: int
    python: str
    system: str
    # The 1-minute load average when the benchmark started: above the core count, other work shared the CPUs.
    load: float | None

    def describe(self) -> str:
        load = "" if self.load is None else f"; load average {self.load:.2f} at start"
        return f"{self.cpu}, {self.cores} core(s), {self.python}, {self.system}{load}"

    def as_json(self) -> dict[str, Any]:
        return asdict(self)


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text(encoding="utf-8", errors="replace").splitlines():
            name, _, value = line.partition(":")
            if name.strip() in ("model name", "Hardware", "Processor") and value.strip():
                return value.strip()
    except OSError:
        pass
    return platform.processor() or platform.machine() or "unknown CPU"


def _cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        return os.cpu_count() or 1


def _load() -> float | None:
    try:
        return os.getloadavg()[0]
    except (AttributeError, OSError):
        return None


def this_machine() -> Machine:
    return Machine(
        cpu=_cpu_model(),
        cores=_cores(),
        python=f"{platform.python_implementation()} {sys.version.split()[0]}",
        system=f"{platform.system()} {platform.release()}",
        load=_load(),
    )
