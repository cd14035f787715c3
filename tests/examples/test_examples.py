"""The example Alertmanager configuration and Prometheus rules pass their own tools' checks.

amtool and promtool are the judges: the configuration must load, route each kind of alert to the expected
receiver and route, and the rules must load and pass their promtool unit tests.
"""

from __future__ import annotations

import re
import subprocess
from datetime import UTC, datetime
from pathlib import Path

import pytest

from src.core.metrics import plan_metrics, render
from src.settings import DEFAULT_METRICS_SEVERITIES
from tests.examples.conftest import EXAMPLES

ALERTMANAGER_YML = EXAMPLES / "alertmanager.yml"
RULES = EXAMPLES / "prometheus" / "infrastructure-alerts.yml"
RULE_TESTS = EXAMPLES / "prometheus" / "infrastructure-alerts.test.yml"
OWN_RULES = EXAMPLES / "prometheus" / "alert-processor-alerts.yml"
OWN_RULE_TESTS = EXAMPLES / "prometheus" / "alert-processor-alerts.test.yml"
TOKEN_FILE = "/etc/alertmanager/alert-processor.token"


def run(*command: str | Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(part) for part in command], capture_output=True, text=True, timeout=60, check=False)


# --- amtool check-config ------------------------------------------------------------------------------


def test_alertmanager_config_passes_amtool_check_config(amtool: str) -> None:
    """`amtool check-config` accepts the example with its 7 receivers and 3 inhibition rules."""
    result = run(amtool, "check-config", ALERTMANAGER_YML)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "SUCCESS" in result.stdout
    assert " - 3 inhibit rules" in result.stdout
    assert " - 7 receivers" in result.stdout


def test_check_config_does_not_read_the_token_file(amtool: str, tmp_path: Path) -> None:
    """check-config never opens credentials_file, so the unmodified example is what gets checked.

    Alertmanager only reads the token file when it sends a notification. This pins that behaviour: if a
    later amtool starts checking the file, the check above would fail on machines without the token,
    and this test says why.
    """
    text = ALERTMANAGER_YML.read_text()
    assert text.count(f"credentials_file: {TOKEN_FILE}") == 1
    missing = tmp_path / "no-such-dir" / "alert-processor.token"
    copy = tmp_path / "alertmanager.yml"
    copy.write_text(text.replace(TOKEN_FILE, str(missing)))
    result = run(amtool, "check-config", copy)
    assert result.returncode == 0, result.stdout + result.stderr
    assert not missing.exists()


@pytest.mark.parametrize(
    ("original", "broken", "error"),
    [
        ("receiver: alert-processor-warning\n", "receiver: alert-processor-warnings\n", "undefined receiver"),
        (
            "            type: Bearer\n",
            "            type: Bearer\n            credentials: inline-secret\n",
            "at most one of",
        ),
        ("matchers: ['severity=\"info\"']\n", "matchers: ['severity=info\"']\n", "unescaped double quote"),
    ],
    ids=["undefined-receiver", "two-credentials", "bad-matcher"],
)
def test_check_config_rejects_a_broken_copy(
    amtool: str, tmp_path: Path, original: str, broken: str, error: str
) -> None:
    """check-config is not a rubber stamp: a copy with one mistake fails with the matching error."""
    text = ALERTMANAGER_YML.read_text()
    assert original in text
    copy = tmp_path / "alertmanager.yml"
    copy.write_text(text.replace(original, broken, 1))
    result = run(amtool, "check-config", copy)
    assert result.returncode != 0
    assert error in result.stdout + result.stderr


# --- amtool config routes test ------------------------------------------------------------------------

SECURITY_JOB = '{job=~"falco|crowdsec|auditd|wazuh"}'
SECURITY_NAME = '{alertname=~"SshBruteForce|UnauthorizedAccess.*|SslCertificateExpir.*"}'
DATABASE_JOB = '{job=~"postgres.*|mysql.*|redis.*|mongodb.*"}'
MLOPS_JOB = '{job=~"triton|mlflow|kubeflow|.*-inference|dcgm-exporter"}'
MLOPS_NAME = '{alertname=~"Model.*|Gpu.*|TrainingJob.*"}'


def sev(severity: str) -> str:
    return f'{{severity="{severity}"}}'


ROUTE_CASES = [
    # labels, receiver, matched routes below the root (the last one's timings apply)
    ("alertname=JobTargetsMostlyDown job=node severity=emergency", "alert-processor-emergency", [sev("emergency")]),
    (
        "alertname=InstanceDown job=node instance=web-1:9100 severity=critical",
        "alert-processor-critical",
        [sev("critical")],
    ),
    (
        "alertname=HostDiskAlmostFull job=node instance=web-1:9100 severity=warning",
        "alert-processor-warning",
        [sev("warning")],
    ),
    ("alertname=HostRecentlyRebooted job=node severity=info", "alert-processor", [sev("info")]),
    ("alertname=BackupNotRun job=node", "alert-processor", []),
    ("alertname=Unusual job=node severity=page", "alert-processor", []),
    ("alertname=Capitalised job=node severity=Critical", "alert-processor", []),
    (
        "alertname=SshBruteForce team=security severity=emergency",
        "alert-processor-security",
        ['{team="security"}', sev("emergency")],
    ),
    (
        "alertname=FalcoRuleTriggered job=falco severity=critical",
        "alert-processor-security",
        [SECURITY_JOB, sev("critical")],
    ),
    (
        "alertname=SslCertificateExpiringSoon job=blackbox-http severity=warning",
        "alert-processor-security",
        [SECURITY_NAME, sev("warning")],
    ),
    (
        "alertname=PostgresReplicationLag team=database severity=critical",
        "alert-processor-database",
        ['{team="database"}', sev("critical")],
    ),
    (
        "alertname=PostgresTooManyConnections job=postgres-exporter severity=warning",
        "alert-processor-database",
        [DATABASE_JOB, sev("warning")],
    ),
    ("alertname=RedisDown job=redis severity=emergency", "alert-processor-database", [DATABASE_JOB, sev("emergency")]),
    (
        "alertname=FeatureStoreStale team=mlops severity=warning",
        "alert-processor-mlops",
        ['{team="mlops"}', sev("warning")],
    ),
    (
        "alertname=InferenceLatencyHigh job=triton severity=critical",
        "alert-processor-mlops",
        [MLOPS_JOB, sev("critical")],
    ),
    ("alertname=GpuMemoryHigh job=node severity=warning", "alert-processor-mlops", [MLOPS_NAME, sev("warning")]),
    ("alertname=ModelDriftDetected job=batch severity=info", "alert-processor-mlops", [MLOPS_NAME, sev("info")]),
    # A team alert without severity still reaches its team, with the root's timings.
    ("alertname=SchemaMigrationPending team=database", "alert-processor-database", ['{team="database"}']),
]


def matched_routes(tree: str) -> list[str]:
    """The route names of `amtool config routes test --tree` output, root excluded."""
    names = [name.split("  receiver: ")[0].strip() for name in re.findall(r"── (.+)$", tree, flags=re.MULTILINE)]
    assert names and names[0] == "default-route", tree
    return names[1:]


@pytest.mark.parametrize(("labels", "receiver", "routes"), ROUTE_CASES, ids=[case[0] for case in ROUTE_CASES])
def test_alert_is_routed_to_the_expected_receiver_and_route(
    amtool: str, labels: str, receiver: str, routes: list[str]
) -> None:
    """`amtool config routes test` sends each label set to its team's or severity's receiver and route."""
    result = run(
        amtool,
        "config",
        "routes",
        "test",
        f"--config.file={ALERTMANAGER_YML}",
        f"--verify.receivers={receiver}",
        "--tree",
        *labels.split(),
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.strip().splitlines()[-1] == receiver
    assert matched_routes(result.stdout) == routes


def test_routes_test_fails_for_a_wrong_receiver(amtool: str) -> None:
    """--verify.receivers has teeth: a wrong expectation makes amtool exit non-zero."""
    result = run(
        amtool,
        "config",
        "routes",
        "test",
        f"--config.file={ALERTMANAGER_YML}",
        "--verify.receivers=alert-processor-warning",
        "alertname=X",
        "severity=critical",
    )
    assert result.returncode != 0


# --- promtool -----------------------------------------------------------------------------------------


def test_rules_pass_promtool_check_rules(promtool: str) -> None:
    """`promtool check rules` (all lints fatal) loads every rule of the 8 groups."""
    result = run(promtool, "check", "rules", "--lint=all", "--lint-fatal", RULES)
    assert result.returncode == 0, result.stdout + result.stderr
    count = re.search(r"SUCCESS: (\d+) rules found", result.stdout)
    assert count is not None and int(count.group(1)) >= 30, result.stdout


def test_rules_pass_their_promtool_unit_tests(promtool: str) -> None:
    """`promtool test rules` passes: each tested alert is silent during its `for:` and then fires exactly."""
    result = run(promtool, "test", "rules", RULE_TESTS)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "SUCCESS" in result.stdout


def test_rules_cover_eight_groups_and_every_rule_has_severity_and_annotations() -> None:
    """Every rule has a severity among emergency/critical/warning/info and summary, description, runbook_url."""
    text = RULES.read_text()
    groups = re.findall(r"^  - name: (\S+)$", text, flags=re.MULTILINE)
    assert groups == [
        "availability",
        "cpu",
        "memory",
        "disk",
        "network",
        "system-health",
        "containers",
        "services",
    ]
    # Split into rules at each `- alert:` and check each one's fields.
    rules = re.split(r"^      - alert: ", text, flags=re.MULTILINE)[1:]
    assert len(rules) >= 30
    for rule in rules:
        name = rule.split("\n", 1)[0]
        severity = re.search(r"^          severity: (\S+)$", rule, flags=re.MULTILINE)
        assert severity is not None and severity.group(1) in {"emergency", "critical", "warning", "info"}, name
        for annotation in ("summary", "description", "runbook_url"):
            assert re.search(rf"^          {annotation}: \S", rule, flags=re.MULTILINE), (name, annotation)


# --- the rules about alert-processor itself ------------------------------------------------------------


def test_alert_processor_rules_pass_promtool_and_their_unit_tests(promtool: str) -> None:
    """The two rules about the function load with every lint fatal and pass their unit tests."""
    checked = run(promtool, "check", "rules", "--lint=all", "--lint-fatal", OWN_RULES)
    assert checked.returncode == 0 and "SUCCESS: 3 rules found" in checked.stdout, checked.stdout + checked.stderr
    tested = run(promtool, "test", "rules", OWN_RULE_TESTS)
    assert tested.returncode == 0 and "SUCCESS" in tested.stdout, tested.stdout + tested.stderr


def test_alert_processor_rules_watch_metrics_the_function_exposes() -> None:
    """Every alert_processor_* series a rule reads is one /metrics answers, and `up` is read for the scrape job
    the example scrape configuration names."""
    plan = plan_metrics(DEFAULT_METRICS_SEVERITIES, (), datetime(2026, 11, 27, tzinfo=UTC))
    text = render(plan, [0] * len(plan.counts), None)
    exposed = set(re.findall(r"^# TYPE (alert_processor_\w+) gauge$", text, flags=re.MULTILINE))
    read = set(re.findall(r"\b(alert_processor_\w+)", OWN_RULES.read_text()))
    assert read and read <= exposed
    job = re.search(r"job_name: (\S+)", (EXAMPLES / "prometheus" / "scrape-alert-processor.yml").read_text())
    assert job is not None and f'up{{job="{job.group(1)}"}}' in OWN_RULES.read_text()
