"""How an execution ends: answers, failures, timeouts and what ends up in the logs, as on Open Runtimes."""

from __future__ import annotations

import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from devkit.runtime import FunctionHost
from devkit.runtime.logs import NATIVE_LOGS_HINT, TRUNCATED_SUFFIX
from tests.runtime.conftest import FIXTURE_DIR, send

TIMEOUT = 0.5


@pytest.fixture(scope="module")
def sync_host(tmp_path_factory: pytest.TempPathFactory) -> Iterator[FunctionHost]:
    log_file = tmp_path_factory.mktemp("sync") / "executions.jsonl"
    with FunctionHost(FIXTURE_DIR, timeout_seconds=TIMEOUT, log_file=log_file, echo=False) as served:
        yield served


@pytest.fixture(scope="module")
def async_host() -> Iterator[FunctionHost]:
    with FunctionHost(FIXTURE_DIR, env={"FIXTURE_MAIN": "async"}, timeout_seconds=TIMEOUT, echo=False) as served:
        yield served


def last_record(host: FunctionHost, path: str) -> dict[str, object]:
    record: dict[str, object] = [entry for entry in host.logs() if entry["path"] == path][-1]
    return record


class TestEntrypointKinds:
    def test_fixture_src_is_a_namespace_package(self) -> None:
        """The fixture's src/ has no __init__.py, so the next tests cover a namespace package."""
        assert (FIXTURE_DIR / "src" / "helpers.py").is_file()
        assert not (FIXTURE_DIR / "src" / "__init__.py").exists()

    def test_sync_main_is_called(self, sync_host: FunctionHost) -> None:
        """A plain `def main` runs, and its relative import of a sibling module works."""
        assert send(sync_host.url, "/mode").json() == {"mode": "sync"}

    def test_async_main_is_awaited(self, async_host: FunctionHost) -> None:
        """An `async def main` is awaited."""
        assert send(async_host.url, "/mode").json() == {"mode": "async"}

    def test_regular_package_with_relative_import(self, tmp_path: Path) -> None:
        """A src/ with __init__.py (like this repository's) is imported as function.src too."""
        (tmp_path / "src").mkdir()
        (tmp_path / "src" / "__init__.py").write_text("")
        (tmp_path / "src" / "answer.py").write_text("VALUE = __name__\n")
        (tmp_path / "src" / "main.py").write_text(
            "from .answer import VALUE\n\ndef main(context):\n    return context.res.text(VALUE + ' ' + __name__)\n"
        )
        with FunctionHost(tmp_path, echo=False) as host:
            assert send(host.url, "/").body == b"function.src.answer function.src.main"


class TestFailures:
    def test_uncaught_exception_is_an_empty_500_with_the_traceback_logged(self, sync_host: FunctionHost) -> None:
        """An exception in main gives 500, no body, and the traceback in the errors."""
        reply = send(sync_host.url, "/raise")
        assert (reply.status, reply.body) == (500, b"")
        errors = last_record(sync_host, "/raise")["errors"]
        assert isinstance(errors, list)
        assert errors[0].startswith("Traceback (most recent call last):")
        assert errors[0].rstrip().endswith("ValueError: fixture exploded")

    def test_missing_return_is_a_500_with_the_runtime_message(self, sync_host: FunctionHost) -> None:
        """Returning nothing gives 500 and the runtime's "Return statement missing" error."""
        assert send(sync_host.url, "/no-return").status == 500
        record = last_record(sync_host, "/no-return")
        assert record["logs"] == ["about to forget the return"]
        assert record["errors"] == [
            "Return statement missing. return context.res.empty() if no response is expected."
        ]

    def test_async_main_past_the_timeout_is_cut_off(self, async_host: FunctionHost) -> None:
        """An async main still running at the timeout ends with 500 and "Execution timed out."."""
        started = time.monotonic()
        reply = send(async_host.url, "/async-sleep?seconds=5")
        assert time.monotonic() - started < 3
        assert (reply.status, reply.body) == (500, b"")
        assert async_host.logs()[-1]["errors"] == ["Execution timed out."]

    def test_async_main_within_the_timeout_answers(self, async_host: FunctionHost) -> None:
        """An async main that awaits for less than the timeout answers normally."""
        assert send(async_host.url, "/async-sleep?seconds=0.05").body == b"awake"

    def test_blocking_sync_main_is_not_interrupted(self, sync_host: FunctionHost) -> None:
        """A sync main blocking past the timeout is not cut off: the runtime only stops at an await."""
        reply = send(sync_host.url, f"/sleep?seconds={TIMEOUT + 0.2}")
        assert (reply.status, reply.body) == (200, b"slept")


@pytest.fixture(scope="module")
def broken(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A function directory with one broken entrypoint per way of breaking it."""
    function = tmp_path_factory.mktemp("broken")
    src = function / "src"
    src.mkdir()
    (src / "helpers.py").write_text("X = 1\n")
    (src / "absolute.py").write_text("import helpers\n\ndef main(context):\n    return context.res.empty()\n")
    (src / "no_main.py").write_text("VALUE = 1\n")
    (src / "bad_syntax.py").write_text("def main(context:\n")
    (src / "exploding.py").write_text("raise RuntimeError('import failed')\n")
    return function


class TestEntrypointProblems:
    @pytest.mark.parametrize(
        ("entrypoint", "error"),
        [
            ("src/absent.py", "Failed to load entrypoint, file src/absent.py does not exist."),
            ("src/absolute.py", "Module not found: helpers"),
            ("src/no_main.py", "Function signature invalid. Did you forget to export a 'main' function?"),
            ("src/bad_syntax.py", "Syntax error in "),
            ("src/exploding.py", "Failed to load module: Traceback"),
        ],
    )
    def test_answered_with_503_and_the_runtime_message(self, broken: Path, entrypoint: str, error: str) -> None:
        """Each kind of entrypoint problem gives an empty 503 and the runtime's error text."""
        with FunctionHost(broken, entrypoint=entrypoint, echo=False) as host:
            reply = send(host.url, "/")
            assert (reply.status, reply.body) == (503, b"")
            assert host.logs()[-1]["errors"][0].startswith(error)


class TestLogs:
    def test_log_and_error_entries(self, sync_host: FunctionHost) -> None:
        """Arguments are joined with spaces, containers JSON-encoded; errors are kept apart."""
        assert send(sync_host.url, "/log").body == b"logged"
        record = last_record(sync_host, "/log")
        logs, errors = record["logs"], record["errors"]
        assert isinstance(logs, list)
        assert logs[0] == 'plain 42 {"key":"value"} [1,"two"] ["t"]'
        assert errors == ["something went wrong"]

    def test_long_entry_is_truncated_at_8000_characters(self, sync_host: FunctionHost) -> None:
        """An entry over 8000 characters keeps the first 8000 and says it was truncated."""
        send(sync_host.url, "/log")
        logs = last_record(sync_host, "/log")["logs"]
        assert isinstance(logs, list)
        assert logs[1] == "x" * 8000 + TRUNCATED_SUFFIX

    def test_printed_output_is_captured_as_native_logs(self, sync_host: FunctionHost) -> None:
        """stdout and stderr output lands in the logs after the runtime's hint."""
        send(sync_host.url, "/log")
        logs = last_record(sync_host, "/log")["logs"]
        assert isinstance(logs, list)
        assert logs[2:] == [NATIVE_LOGS_HINT, "printed to stdout\nprinted to stderr"]

    def test_concurrent_executions_keep_their_own_native_logs(self, async_host: FunctionHost) -> None:
        """Two async executions interleaving in one worker each capture only what they printed."""
        with ThreadPoolExecutor(2) as pool:
            replies = list(pool.map(lambda tag: send(async_host.url, f"/interleaved-print?tag={tag}"), "AB"))
        assert [reply.body for reply in replies] == [b"A", b"B"]
        records = [record for record in async_host.logs() if record["path"] == "/interleaved-print"]
        assert sorted(record["logs"][-1] for record in records) == ["A before\nA after", "B before\nB after"]
        assert len({record["pid"] for record in records}) == 1

    def test_record_fields(self, sync_host: FunctionHost) -> None:
        """Each execution appends a JSON line with its ID, method, path, trigger, status and duration."""
        reply = send(sync_host.url, "/respond?kind=send", method="PUT")
        record = sync_host.logs()[-1]
        assert set(record) == {
            "executionId", "method", "path", "trigger", "statusCode", "durationMs", "logs", "errors", "pid",
        }
        assert (record["method"], record["path"], record["trigger"], record["statusCode"]) == (
            "PUT", "/respond", "http", reply.status,
        )
        assert isinstance(record["durationMs"], float) and record["durationMs"] >= 0
        assert sync_host.log_file.read_text().count("\n") == len(sync_host.logs())

    def test_request_body_and_authorization_are_never_recorded(self, sync_host: FunctionHost) -> None:
        """The host writes neither the body nor the Authorization header into a record."""
        send(sync_host.url, "/echo", body=b"secret-body-4711", headers={"Authorization": "Bearer secret-token-42"})
        text = sync_host.log_file.read_text()
        assert "secret-body-4711" not in text and "secret-token-42" not in text

    def test_records_are_printed_readably(self, capfd: pytest.CaptureFixture[str]) -> None:
        """With echo on, each execution prints a summary line, its logs (|) and errors (!)."""
        with FunctionHost(FIXTURE_DIR) as host:
            send(host.url, "/log", headers={"Authorization": "Bearer secret-token-42"})
        out = capfd.readouterr().out
        assert "POST /log -> 200" in out
        assert '    | plain 42 {"key":"value"} [1,"two"] ["t"]' in out
        assert "    ! something went wrong" in out
        assert "secret-token-42" not in out

    def test_records_survive_stop_of_a_host_with_a_temporary_log(self) -> None:
        """`logs()` still answers after `stop()` removed the temporary log file."""
        with FunctionHost(FIXTURE_DIR, echo=False) as host:
            send(host.url, "/mode")
        assert [record["path"] for record in host.logs()] == ["/mode"]
        assert not host.log_file.exists()
