"""The host's pure pieces, without processes: env files, environment merge, CLI configuration, log formats."""

from __future__ import annotations

import json
import shlex
from pathlib import Path

import pytest

from devkit.runtime.appwrite_config import read_function_config
from devkit.runtime.envfile import EnvFileError, parse_env
from devkit.runtime.environment import function_environment
from devkit.runtime.gateway import new_execution_id
from devkit.runtime.logs import TRUNCATED_SUFFIX, ExecutionLog, format_entry
from devkit.runtime.records import DISPLAY_CHARS_PER_ENTRY, ExecutionRecord, format_record
from devkit.runtime.runtime import to_outcome
from devkit.runtime.serve import INLINE_SAMPLE, sample_curl, webhook_token


class TestEnvFile:
    def test_lines_comments_quotes_and_export(self) -> None:
        """Comments and blanks are skipped, `export` allowed, matching quotes removed, = kept in values."""
        text = "# comment\n\nA=1\nexport B = two words \nC='quoted # not a comment'\nD=\"x\"\nE=a=b\nF=\n"
        assert parse_env(text) == {
            "A": "1",
            "B": "two words",
            "C": "quoted # not a comment",
            "D": "x",
            "E": "a=b",
            "F": "",
        }

    def test_later_definition_wins(self) -> None:
        """A key defined twice keeps its last value."""
        assert parse_env("A=1\nA=2\n") == {"A": "2"}

    @pytest.mark.parametrize("line", ["JUST_A_NAME", "=value", "TWO WORDS=x"])
    def test_malformed_line_names_its_place(self, line: str) -> None:
        """A line that is not KEY=VALUE is refused with the file and line number."""
        with pytest.raises(EnvFileError, match=r"^\.env:2: expected KEY=VALUE$"):
            parse_env(f"OK=1\n{line}\n", source=".env")


class TestEnvironment:
    def test_each_layer_wins_over_the_previous(self) -> None:
        """Process environment < env file < Appwrite's values < the host's `env`."""
        environment = function_environment(
            base={"A": "base", "B": "base", "APPWRITE_FUNCTION_ID": "base", "C": "base"},
            file_variables={"B": "file", "APPWRITE_FUNCTION_ID": "file", "C": "file"},
            overrides={"C": "host"},
            function_id="fn",
            function_name="Fn",
            workers=3,
        )
        assert (environment["A"], environment["B"], environment["C"]) == ("base", "file", "host")
        assert (environment["APPWRITE_FUNCTION_ID"], environment["APPWRITE_FUNCTION_NAME"]) == ("fn", "Fn")
        assert environment["APPWRITE_FUNCTION_CPUS"] == "3"


class TestFunctionConfig:
    def test_reads_the_entry_for_the_directory(self, tmp_path: Path) -> None:
        """ID, name, entrypoint and timeout come from the entry whose path is the function directory."""
        functions = [
            {"$id": "other", "path": "elsewhere", "timeout": 5},
            {"$id": "alerts", "name": "Alerts", "path": ".", "entrypoint": "src/app.py", "timeout": 30},
        ]
        (tmp_path / "appwrite.json").write_text(json.dumps({"functions": functions}))
        config = read_function_config(tmp_path)
        assert (config.function_id, config.name, config.entrypoint, config.timeout_seconds) == (
            "alerts",
            "Alerts",
            "src/app.py",
            30,
        )

    def test_appwrite_config_json_comes_first(self, tmp_path: Path) -> None:
        """Like CLI 12, appwrite.config.json is preferred over the legacy appwrite.json."""
        (tmp_path / "appwrite.json").write_text('{"functions": [{"$id": "legacy", "path": "."}]}')
        (tmp_path / "appwrite.config.json").write_text('{"functions": [{"$id": "current", "path": "."}]}')
        assert read_function_config(tmp_path).function_id == "current"

    def test_defaults_without_a_configuration(self, tmp_path: Path) -> None:
        """Without a file the function is named after its directory, with Appwrite's default timeout."""
        config = read_function_config(tmp_path)
        assert (config.function_id, config.entrypoint, config.timeout_seconds) == (tmp_path.name, "src/main.py", 15)

    def test_invalid_json_is_reported(self, tmp_path: Path) -> None:
        """A configuration file that is not JSON is an error, not silently ignored."""
        (tmp_path / "appwrite.json").write_text("{")
        with pytest.raises(ValueError, match="not valid JSON"):
            read_function_config(tmp_path)


class TestLogFormat:
    @pytest.mark.parametrize(
        ("messages", "expected"),
        [
            (("a", 1, None, True), "a 1 None True"),
            (({"k": [1, 2]}, ("t", 1)), '{"k":[1,2]} ["t",1]'),
            ((), ""),
        ],
    )
    def test_entry_rendering(self, messages: tuple[object, ...], expected: str) -> None:
        """Arguments are str()-ed or compact JSON for containers, joined with spaces."""
        assert format_entry(messages) == expected

    def test_truncation_starts_after_8000_characters(self) -> None:
        """Exactly 8000 characters stay whole; 8001 are cut to 8000 plus the notice."""
        assert format_entry(("y" * 8000,)) == "y" * 8000
        assert format_entry(("y" * 8001,)) == "y" * 8000 + TRUNCATED_SUFFIX

    def test_readable_record(self) -> None:
        """The terminal form marks logs with | and errors with !, line by line, shortening long entries."""
        record = ExecutionRecord(
            executionId="e1", method="POST", path="/", trigger="http", statusCode=500, durationMs=3.2,
            logs=["one\ntwo", "z" * (DISPLAY_CHARS_PER_ENTRY + 5)], errors=["bad"], pid=7,
        )
        lines = format_record(record).splitlines()
        assert lines[0].endswith("POST / -> 500 (3 ms, http, execution e1, pid 7)")
        assert lines[1:3] == ["    | one", "    | two"]
        assert lines[3].endswith("... (5 more characters)")
        assert lines[4] == "    ! bad"


class TestOutcome:
    def test_non_dict_return_is_a_500_with_the_error_logged(self) -> None:
        """A main returning something other than a response dict gives an empty 500 and a traceback."""
        log = ExecutionLog()
        outcome = to_outcome("just a string", log)
        assert (outcome.status, outcome.body) == (500, b"")
        assert "AttributeError" in log.errors[0]

    def test_body_that_is_neither_text_nor_bytes_is_a_500(self) -> None:
        """`res.send` with a dict body cannot be sent; the runtime fails it with a 500."""
        log = ExecutionLog()
        outcome = to_outcome({"body": {"a": 1}, "statusCode": 200, "headers": {}}, log)
        assert outcome.status == 500
        assert "Unsupported response body of type dict" in log.errors[0]


class TestServeHelpers:
    def test_token_from_the_env_file_first(self) -> None:
        """The env file's WEBHOOK_TOKEN (its first entry) wins over the process environment."""
        assert webhook_token({"WEBHOOK_TOKEN": " new, old "}, {"WEBHOOK_TOKEN": "shell"}) == ("new", False)
        assert webhook_token({}, {"WEBHOOK_TOKEN": "shell"}) == ("shell", False)

    def test_token_generated_when_none_is_configured(self) -> None:
        """Without a token one is generated, different each time."""
        first, generated = webhook_token({}, {})
        assert generated and len(first) >= 24 and first != webhook_token({}, {})[0]

    def test_curl_posts_the_sample_with_the_bearer_token(self, tmp_path: Path) -> None:
        """The printed curl is valid shell posting JSON with the token; inline when no sample file exists."""
        words = shlex.split(sample_curl("http://127.0.0.1:3000", "tok en", tmp_path).replace("\\\n", " "))
        assert words[words.index("-H") + 1] == "Authorization: Bearer tok en"
        payload = json.loads(words[words.index("--data") + 1])
        assert payload["version"] == "4" and payload["alerts"][0]["status"] == "firing"
        assert payload == json.loads(INLINE_SAMPLE)

    def test_curl_uses_the_sample_file_when_present(self, tmp_path: Path) -> None:
        """With tests/data/alertmanager-firing.json in the function directory, curl sends that file."""
        sample = tmp_path / "tests" / "data" / "alertmanager-firing.json"
        sample.parent.mkdir(parents=True)
        sample.write_text("{}")
        assert f"--data @{sample}" in sample_curl("http://127.0.0.1:3000", "t", tmp_path)


def test_execution_ids_look_like_appwrite_ids() -> None:
    """Execution IDs are 20 hexadecimal characters and do not repeat."""
    ids = {new_execution_id() for _ in range(2000)}
    assert len(ids) == 2000
    assert all(len(value) == 20 and int(value, 16) >= 0 for value in ids)
