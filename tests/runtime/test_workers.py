"""Worker processes: how many, what state they keep, and that none is left behind."""

from __future__ import annotations

import http.client
import os
import signal
import subprocess
import sys
import textwrap
import time
from collections import defaultdict
from collections.abc import Iterator
from pathlib import Path

import pytest

from devkit.runtime import FunctionHost, HostError
from devkit.runtime import host as host_module
from tests.runtime.conftest import FIXTURE_DIR, alive, send, wait_until

REPO_ROOT = FIXTURE_DIR.parents[2]


@pytest.fixture(scope="module")
def pair() -> Iterator[FunctionHost]:
    with FunctionHost(FIXTURE_DIR, workers=2, echo=False) as served:
        yield served


class TestSeveralWorkers:
    def test_requests_are_served_by_separate_processes(self, pair: FunctionHost) -> None:
        """With two workers, requests on fresh connections are served by both worker PIDs, not the host's."""
        seen: set[int] = set()
        for _ in range(200):
            seen.add(send(pair.url, "/state").json()["pid"])
            if len(seen) == 2:
                break
        assert seen == set(pair.pids)
        assert os.getpid() not in seen

    def test_module_state_lives_on_within_each_worker(self, pair: FunctionHost) -> None:
        """A module-level counter counts up by one per request in each worker separately."""
        counts: dict[int, list[int]] = defaultdict(list)
        for _ in range(40):
            state = send(pair.url, "/state").json()
            counts[state["pid"]].append(state["calls"])
        for calls in counts.values():
            assert calls == list(range(calls[0], calls[0] + len(calls)))

    def test_worker_count_is_reported_as_cpus(self, pair: FunctionHost) -> None:
        """APPWRITE_FUNCTION_CPUS is the worker count, as the runtime starts one worker per CPU."""
        assert send(pair.url, "/env").json()["env"]["APPWRITE_FUNCTION_CPUS"] == "2"


class TestLifecycle:
    def test_stop_ends_every_worker(self) -> None:
        """After stop() no worker process is left."""
        host = FunctionHost(FIXTURE_DIR, workers=3, echo=False)
        host.start()
        pids = host.pids
        assert len(pids) == 3 and all(alive(pid) for pid in pids)
        host.stop()
        assert not any(alive(pid) for pid in pids)

    def test_stop_kills_a_worker_stuck_in_main_after_the_grace_period(
        self, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
    ) -> None:
        """A worker blocked in a synchronous main ignores SIGTERM and is killed once the grace period ends."""
        monkeypatch.setattr(host_module, "_STOP_GRACE_SECONDS", 0.5)
        host = FunctionHost(FIXTURE_DIR, echo=False)
        host.start()
        (pid,) = host.pids
        marker = tmp_path / "main-started"
        connection = http.client.HTTPConnection("127.0.0.1", host.port, timeout=30)
        connection.request("POST", f"/sleep?seconds=60&started={marker}")
        assert wait_until(marker.exists)
        started = time.monotonic()
        host.stop()
        connection.close()
        assert 0.5 <= time.monotonic() - started < 3
        assert not alive(pid)

    def test_a_worker_that_dies_is_replaced(self) -> None:
        """A worker that exits (os._exit in main) is restarted, with fresh module state."""
        with FunctionHost(FIXTURE_DIR, echo=False) as host:
            (first,) = host.pids
            with pytest.raises((http.client.RemoteDisconnected, ConnectionError)):
                send(host.url, "/exit")
            assert wait_until(lambda: host.pids != [first])
            state = send(host.url, "/state").json()
            assert state["pid"] != first and state["calls"] == 1

    def test_workers_exit_when_the_host_process_is_killed(self) -> None:
        """Workers notice their host died (even by SIGKILL), exit and remove its temporary directory."""
        script = textwrap.dedent(
            f"""
            from pathlib import Path
            from devkit.runtime import FunctionHost
            host = FunctionHost(Path({str(FIXTURE_DIR)!r}), workers=2, echo=False)
            host.start()
            print(host.log_file.parent, *host.pids, flush=True)
            input()
            """
        )
        parent = subprocess.Popen(
            [sys.executable, "-c", script], cwd=REPO_ROOT, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
        )
        try:
            assert parent.stdout is not None
            scratch, *pids = parent.stdout.readline().split()
            workers = [int(pid) for pid in pids]
            assert len(workers) == 2 and all(alive(pid) for pid in workers)
            assert (Path(scratch) / "sandbox" / "function").resolve() == FIXTURE_DIR
            parent.send_signal(signal.SIGKILL)
            parent.wait()
            assert wait_until(lambda: not any(alive(pid) for pid in workers))
            assert not Path(scratch).exists()
            assert (FIXTURE_DIR / "src" / "main.py").is_file()
        finally:
            parent.kill()
            parent.wait()

    def test_port_in_use_is_refused(self, pair: FunctionHost) -> None:
        """A second host on a port already served (even by reuse-port workers) fails to start."""
        with pytest.raises(HostError, match="cannot listen"):
            FunctionHost(FIXTURE_DIR, port=pair.port, echo=False).start()

    def test_started_hosts_listen_on_the_requested_port(self) -> None:
        """An explicit port is the one served."""
        with FunctionHost(FIXTURE_DIR, echo=False) as probe:
            port = probe.port
        with FunctionHost(FIXTURE_DIR, port=port, echo=False) as host:
            assert host.url == f"http://127.0.0.1:{port}"
            assert send(host.url, "/mode").status == 200
