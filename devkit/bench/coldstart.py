"""Cold start: what importing the entrypoint costs over the Appwrite SDK modules it uses, and whether the
import touches the network.

Each sample is a fresh interpreter (`python -I`, so neither the environment nor the working directory adds
to `sys.path`) that imports, from a sandbox holding `function` -> the function directory as the runtime
does, first the SDK modules the entrypoint uses, then the entrypoint. The second import does exactly the
work the entrypoint adds to the SDK's, so its time is the overhead, measured in the same process as the SDK
import it is compared with (two separate processes differ by more than the overhead from run to run). Both
wall and CPU time are taken. The target is judged on the CPU time, best of several processes: an import is
CPU work, equal to its wall time on an idle machine, while on a busy one other processes stretch the wall
time by whatever share of the CPU they take (shown next to it, best and median). A first, untimed import
writes any missing `.pyc` files, as a deployment's build would.

Network: the function's variables point at an address nobody listens on, and an audit hook records every
name lookup, connect and send made while importing the SDK modules and the entrypoint. (urllib3 binds a
throw-away socket to ::1 port 0 when imported, to learn whether IPv6 works; that sends nothing and is not
counted.)
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

from devkit.runtime.loader import module_name, prepare_sandbox

SDK_MODULES: tuple[str, ...] = (
    "appwrite.client",
    "appwrite.services.tables_db",
    "appwrite.services.messaging",
    "appwrite.query",
    "appwrite.exception",
)
ENTRYPOINT = module_name("src/main.py")
UNREACHABLE_ENDPOINT = "http://127.0.0.1:9/v1"
NETWORK_EVENTS: tuple[str, ...] = (
    "socket.connect", "socket.getaddrinfo", "socket.gethostbyname", "socket.gethostbyaddr",
    "socket.sendto", "socket.sendmsg", "http.client.connect", "http.client.send", "urllib.Request",
)

_PROBE = """
import importlib, json, sys, time
sandbox, guard, entrypoint, sdk = sys.argv[1], sys.argv[2] == "1", sys.argv[3], sys.argv[4:]
events = []
if guard:
    watched = frozenset(WATCHED)
    def hook(event, args):
        if event in watched:
            events.append(event + " " + repr(args)[:160])
    sys.addaudithook(hook)
sys.path.insert(0, sandbox)
started, started_cpu = time.perf_counter(), time.process_time()
for name in sdk:
    importlib.import_module(name)
middle, middle_cpu = time.perf_counter(), time.process_time()
importlib.import_module(entrypoint)
ended, ended_cpu = time.perf_counter(), time.process_time()
print(json.dumps({"sdk": middle - started, "entrypoint": ended - middle, "sdk_cpu": middle_cpu - started_cpu,
                  "entrypoint_cpu": ended_cpu - middle_cpu, "network": events}))
""".replace("WATCHED", repr(NETWORK_EVENTS))


@dataclass(frozen=True)
class ImportSample:
    sdk_seconds: float
    overhead_seconds: float
    network: tuple[str, ...]
    sdk_cpu_seconds: float = 0.0
    overhead_cpu_seconds: float = 0.0


@dataclass(frozen=True)
class ColdStart:
    samples: tuple[ImportSample, ...]
    network: tuple[str, ...]

    @property
    def sdk_seconds(self) -> float:
        """Median time to import the SDK modules alone."""
        return statistics.median(sample.sdk_seconds for sample in self.samples)

    @property
    def overhead_seconds(self) -> float:
        """Median time the entrypoint's import adds to the SDK modules'."""
        return statistics.median(sample.overhead_seconds for sample in self.samples)

    @property
    def overhead_best(self) -> float:
        return min(sample.overhead_seconds for sample in self.samples)

    @property
    def overhead_cpu_best(self) -> float:
        """CPU time the entrypoint's import adds, best of the samples: what the target is judged on."""
        return min(sample.overhead_cpu_seconds for sample in self.samples)

    @property
    def sdk_cpu_best(self) -> float:
        return min(sample.sdk_cpu_seconds for sample in self.samples)

    @property
    def entrypoint_seconds(self) -> float:
        """Median time to import the entrypoint from nothing (SDK included)."""
        return statistics.median(sample.sdk_seconds + sample.overhead_seconds for sample in self.samples)


def function_variables() -> dict[str, str]:
    """The variables the function would see on Appwrite, with an endpoint where nothing answers."""
    return {
        "APPWRITE_FUNCTION_API_ENDPOINT": UNREACHABLE_ENDPOINT,
        "APPWRITE_FUNCTION_PROJECT_ID": "cold-start",
        "WEBHOOK_TOKEN": "cold-start-token-0123456789",
    }


def import_in_fresh_process(sandbox: Path, *, guard: bool) -> ImportSample:
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), **function_variables()}
    done = subprocess.run(
        [sys.executable, "-I", "-c", _PROBE, str(sandbox), "1" if guard else "0", ENTRYPOINT, *SDK_MODULES],
        cwd=sandbox, env=env, capture_output=True, text=True, timeout=60, check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(f"importing {ENTRYPOINT} failed:\n{done.stderr.strip()}")
    result = json.loads(done.stdout.strip().splitlines()[-1])
    return ImportSample(float(result["sdk"]), float(result["entrypoint"]), tuple(result["network"]),
                        float(result["sdk_cpu"]), float(result["entrypoint_cpu"]))


def network_during_import(function_dir: Path) -> tuple[str, ...]:
    """Every name lookup, connect or send made while importing the entrypoint (none expected)."""
    with tempfile.TemporaryDirectory(prefix="bench-cold-") as scratch:
        sandbox = Path(scratch)
        prepare_sandbox(sandbox, function_dir)
        return import_in_fresh_process(sandbox, guard=True).network


def measure(function_dir: Path, *, runs: int = 7) -> ColdStart:
    with tempfile.TemporaryDirectory(prefix="bench-cold-") as scratch:
        sandbox = Path(scratch)
        prepare_sandbox(sandbox, function_dir)
        network = import_in_fresh_process(sandbox, guard=True).network  # also writes missing .pyc files
        samples = tuple(import_in_fresh_process(sandbox, guard=False) for _ in range(runs))
    return ColdStart(samples, network)
