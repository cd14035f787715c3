"""`scripts/serve.py`: the function, served locally, with an Appwrite to talk to. One command.

With an Appwrite endpoint configured (`--endpoint` or `APPWRITE_ENDPOINT`, with `APPWRITE_PROJECT_ID` and
`APPWRITE_API_KEY`) the function uses that server; one that is not on this machine is refused unless `--remote`
is given, since a test alert through it would page real people. The first line printed always names the Appwrite
in use. Without one, the local emulator starts in this process
(data kept in `.local/emulator.sqlite3` unless `--memory`), the schema is bootstrapped into it, and the
function gets a local `WEBHOOK_TOKEN` (the env file's, else a generated one). Then it prints where
everything is and a `curl` that delivers a sample Alertmanager payload, and serves until Ctrl-C.
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import ipaddress
import os
import secrets
import shlex
import signal
import sys
import threading
import urllib.parse
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from types import FrameType

from devkit.runtime.appwrite_config import FunctionConfig, read_function_config
from devkit.runtime.envfile import EnvFileError, read_env_file
from devkit.runtime.host import FunctionHost, HostError

DEFAULT_PORT = 3000
LOCAL_PROJECT_ID = "alert-processor"
EMULATOR_DATA = Path(".local") / "emulator.sqlite3"
SAMPLE_PAYLOAD = Path("tests") / "data" / "alertmanager-firing.json"
# Sent when the repository has no captured payload; the fingerprint is Alertmanager's for these labels.
INLINE_SAMPLE = (
    '{"version":"4","groupKey":"{}:{alertname=\\"HighCPU\\"}","truncatedAlerts":0,"status":"firing",'
    '"receiver":"alert-processor","groupLabels":{"alertname":"HighCPU"},"commonLabels":{"alertname":"HighCPU",'
    '"instance":"web-1:9100","job":"node","severity":"critical"},"commonAnnotations":{"summary":"CPU above 90%"},'
    '"externalURL":"http://alertmanager.local:9093","alerts":[{"status":"firing","labels":{"alertname":"HighCPU",'
    '"instance":"web-1:9100","job":"node","severity":"critical"},"annotations":{"summary":"CPU above 90%"},'
    '"startsAt":"2026-01-01T00:00:00Z","endsAt":"0001-01-01T00:00:00Z",'
    '"generatorURL":"http://prometheus.local:9090/graph","fingerprint":"ab906f89a7cb9bdc"}]}'
)

EXIT_OK, EXIT_FAILED, EXIT_INTERRUPTED = 0, 1, 130


class ServeError(Exception):
    """Something the person running the command must fix; the message says what."""


@dataclasses.dataclass(frozen=True)
class Appwrite:
    """Where the function's Appwrite is, and whether it is the emulator started here."""

    endpoint: str
    project_id: str
    api_key: str
    local: bool
    data: str = ""
    schema: str = ""


def parse_args(argv: Sequence[str], environ: Mapping[str, str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="serve.py",
        description="Serve the function locally like Appwrite's Python runtime does. Without an Appwrite "
        "endpoint, a local emulator is started and the schema bootstrapped into it.",
    )
    parser.add_argument("--port", type=int, default=DEFAULT_PORT, help="port on 127.0.0.1 (default %(default)s)")
    parser.add_argument("--workers", type=int, default=1, help="worker processes, like CPUs (default 1)")
    parser.add_argument("--timeout", type=float, help="seconds per execution (default: appwrite.json, else 15)")
    parser.add_argument("--env-file", type=Path, help="the function's variables (default: .env if present)")
    parser.add_argument("--log-file", type=Path, help="append one JSON line per execution to this file")
    parser.add_argument("--endpoint", default=environ.get("APPWRITE_ENDPOINT", ""),
                        help="Appwrite API endpoint, e.g. https://cloud.appwrite.io/v1 (env APPWRITE_ENDPOINT)")
    parser.add_argument("--project", default=environ.get("APPWRITE_PROJECT_ID", ""),
                        help="Appwrite project ID (env APPWRITE_PROJECT_ID)")
    parser.add_argument("--api-key", default=environ.get("APPWRITE_API_KEY", ""),
                        help="API key passed to the function as x-appwrite-key (env APPWRITE_API_KEY)")
    parser.add_argument("--remote", action="store_true",
                        help="allow an endpoint that is not on this machine (its messages reach real people)")
    parser.add_argument("--memory", action="store_true", help="keep the local emulator's data in memory only")
    parser.add_argument("--emulator-access-log", action="store_true",
                        help="the local emulator prints one line per request (method, path, status, ms) to stderr")
    parser.add_argument("--emulator-port", type=int, default=0,
                        help="port of the local emulator (default: any free one)")
    args = parser.parse_args(argv)
    if args.workers < 1:
        parser.error("--workers must be at least 1")
    if args.timeout is not None and args.timeout <= 0:
        parser.error("--timeout must be greater than 0")
    return args


def _env_file(args: argparse.Namespace, function_dir: Path) -> Path | None:
    if args.env_file is not None:
        if not args.env_file.is_file():
            raise ServeError(f"env file not found: {args.env_file}")
        return Path(args.env_file)
    default = function_dir / ".env"
    return default if default.is_file() else None


@contextlib.contextmanager
def local_appwrite(
    function_dir: Path, project_id: str, *, memory: bool, port: int = 0, access_log: bool = False,
    variables: Mapping[str, str] | None = None,
) -> Iterator[Appwrite]:
    """Start the emulator, bootstrap the schema (and the topics the function's `variables` name) into
    `project_id`, stop the emulator afterwards."""
    from devkit.emulator import Emulator

    data_path = None if memory else function_dir / EMULATOR_DATA
    if data_path is not None:
        data_path.parent.mkdir(parents=True, exist_ok=True)
    emulator = Emulator(
        data_path=None if data_path is None else str(data_path), project_id=project_id, access_log=access_log
    )
    try:
        emulator.start(port=port)
    except OSError as exc:
        raise ServeError(f"the local emulator cannot listen on port {port}: {exc.strerror or exc}") from exc
    try:
        appwrite = Appwrite(
            endpoint=emulator.endpoint,
            project_id=project_id,
            api_key=emulator.api_key,
            local=True,
            data="in memory" if data_path is None else f"data in {data_path}",
        )
        bootstrapped = bootstrap_schema(appwrite, variables)
        yield dataclasses.replace(appwrite, schema="bootstrapped" if bootstrapped else "NOT bootstrapped")
    finally:
        emulator.stop()


def bootstrap_schema(appwrite: Appwrite, variables: Mapping[str, str] | None = None) -> bool:
    """Create whatever the schema and the function's `variables` (its routes' topics, ...) declare and the
    project lacks; False if there is no bootstrap code."""
    try:
        from ops.provision import apply_schema
    except ModuleNotFoundError as exc:
        if exc.name not in ("ops", "ops.provision"):
            raise
        print("warning: ops/provision is missing; the schema was not bootstrapped", file=sys.stderr)
        return False
    if not apply_schema(appwrite.endpoint, appwrite.project_id, appwrite.api_key, variables):
        raise ServeError("the schema could not be bootstrapped into the local emulator (see above)")
    return True


def webhook_token(file_variables: Mapping[str, str], environ: Mapping[str, str]) -> tuple[str, bool]:
    """The first configured `WEBHOOK_TOKEN` and False, or a fresh one and True."""
    configured = file_variables.get("WEBHOOK_TOKEN") or environ.get("WEBHOOK_TOKEN") or ""
    tokens = [token.strip() for token in configured.split(",") if token.strip()]
    if tokens:
        return tokens[0], False
    return secrets.token_urlsafe(24), True


def sample_curl(url: str, token: str, function_dir: Path) -> str:
    sample = function_dir / SAMPLE_PAYLOAD
    data = "@" + str(sample) if sample.is_file() else INLINE_SAMPLE
    return (
        f"curl -sS -i -X POST {url}/ \\\n"
        f"    -H {shlex.quote('Authorization: Bearer ' + token)} \\\n"
        f"    -H 'Content-Type: application/json' \\\n"
        f"    --data {shlex.quote(data)}"
    )


def list_command(appwrite: Appwrite, function_dir: Path) -> str:
    script = function_dir / "scripts" / "list_alerts.py"
    return (f"{shlex.quote(sys.executable)} {shlex.quote(str(script))} --endpoint {appwrite.endpoint} "
            f"--project {appwrite.project_id} --key {appwrite.api_key}")


def banner(
    host: FunctionHost,
    config: FunctionConfig,
    appwrite: Appwrite,
    *,
    workers: int,
    timeout: float,
    env_file: Path | None,
    log_file: Path | None,
    token: str,
    token_generated: bool,
    function_dir: Path,
) -> str:
    if appwrite.local:
        where = f"local emulator, {appwrite.data}"
        key = f"{appwrite.api_key}   (the emulator's; the function gets it as x-appwrite-key)"
    else:
        where = "configured server"
        key = "set (not shown)" if appwrite.api_key else "NONE: set APPWRITE_API_KEY or --api-key"
    origin = "generated for this run; put WEBHOOK_TOKEN in .env to keep it" if token_generated else "configured"
    lines = [
        f"{config.name} is served locally, the way Appwrite's Python runtime serves it.",
        "",
        f"  function   {host.url}   ({workers} worker{'s' if workers > 1 else ''}, "
        f"timeout {timeout:g} s, {config.entrypoint})",
        f"  appwrite   {appwrite.endpoint}   project {appwrite.project_id}   ({where})",
        f"  api key    {key}",
        *([f"  schema     {appwrite.schema}"] if appwrite.schema else []),
        f"  token      {token}   ({origin})",
        f"  env file   {env_file if env_file is not None else 'none'}",
    ]
    if log_file is not None:
        lines.append(f"  log file   {log_file}   (one JSON line per execution)")
    lines += [
        "",
        "Deliver a sample Alertmanager notification:",
        "  " + sample_curl(host.url, token, function_dir),
        "",
        *(["See what was stored and sent:", "  " + list_command(appwrite, function_dir), ""] if appwrite.local else []),
        f"Run the scheduled execution now:  curl -sS -X POST {host.url}/_host/schedule",
        "",
        "Executions are printed below. Ctrl-C stops everything.",
        "",
    ]
    return "\n".join(lines)


def _wait_for_stop_signal() -> None:
    stop = threading.Event()

    def on_signal(signum: int, frame: FrameType | None) -> None:
        stop.set()

    previous = {sig: signal.signal(sig, on_signal) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        stop.wait()
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def is_local_endpoint(endpoint: str) -> bool:
    """Whether `endpoint` is served by this machine (localhost or a loopback address)."""
    host = urllib.parse.urlsplit(endpoint).hostname or ""
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def connect_appwrite(args: argparse.Namespace, function_dir: Path, stack: contextlib.ExitStack,
                     variables: Mapping[str, str] | None = None) -> Appwrite:
    """The configured Appwrite, or a local emulator (stopped when `stack` closes) with the schema in it."""
    if args.endpoint:
        if not is_local_endpoint(args.endpoint) and not args.remote:
            raise ServeError(
                f"the Appwrite endpoint {args.endpoint} (--endpoint or APPWRITE_ENDPOINT) is not on this machine, "
                "so a test alert would page real people; pass --remote to use it anyway, or unset "
                "APPWRITE_ENDPOINT to use the local emulator"
            )
        if not args.project:
            raise ServeError("an Appwrite endpoint needs a project: set APPWRITE_PROJECT_ID or --project")
        return Appwrite(args.endpoint, args.project, args.api_key, local=False)
    project_id = args.project or LOCAL_PROJECT_ID
    return stack.enter_context(local_appwrite(
        function_dir, project_id, memory=args.memory, port=args.emulator_port, access_log=args.emulator_access_log,
        variables=variables,
    ))


def run(args: argparse.Namespace, function_dir: Path, environ: Mapping[str, str]) -> None:
    """Start everything, print the banner, serve until SIGINT or SIGTERM, then stop everything."""
    config = read_function_config(function_dir)
    env_file = _env_file(args, function_dir)
    file_variables = read_env_file(env_file) if env_file is not None else {}
    token, token_generated = webhook_token(file_variables, environ)
    timeout = args.timeout if args.timeout is not None else config.timeout_seconds

    with contextlib.ExitStack() as stack:
        appwrite = connect_appwrite(args, function_dir, stack, variables=file_variables)
        kind = "local emulator" if appwrite.local else ("REMOTE, --remote" if args.remote else "on this machine")
        print(f"Appwrite: {appwrite.endpoint}  project {appwrite.project_id}  ({kind})", flush=True)
        env = {
            "APPWRITE_FUNCTION_API_ENDPOINT": appwrite.endpoint,
            "APPWRITE_FUNCTION_PROJECT_ID": appwrite.project_id,
        }
        if token_generated:
            env["WEBHOOK_TOKEN"] = token
        host = FunctionHost(
            function_dir,
            port=args.port,
            env=env,
            api_key=appwrite.api_key,
            workers=args.workers,
            timeout_seconds=timeout,
            log_file=args.log_file,
            env_file=env_file,
            entrypoint=config.entrypoint,
            function_id=config.function_id,
        )
        stack.enter_context(host)
        print(
            banner(host, config, appwrite, workers=args.workers, timeout=timeout, env_file=env_file,
                   log_file=args.log_file, token=token, token_generated=token_generated,
                   function_dir=function_dir),
            flush=True,
        )
        _wait_for_stop_signal()
        print("\nstopping...", flush=True)


def main(argv: Sequence[str], function_dir: Path, environ: Mapping[str, str] | None = None) -> int:
    environ = os.environ if environ is None else environ
    args = parse_args(argv, environ)
    try:
        run(args, function_dir.resolve(), environ)
    except (ServeError, HostError, EnvFileError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_FAILED
    except KeyboardInterrupt:  # Ctrl-C while still starting; everything started is stopped by now
        return EXIT_INTERRUPTED
    return EXIT_OK
