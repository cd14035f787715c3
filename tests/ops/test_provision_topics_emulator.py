"""The bootstrap creates and checks every topic the function sends to (ALERT_ROUTES, heartbeat, fallback),
against the emulator, looked at through the official SDK."""

from __future__ import annotations

import json

from appwrite.exception import AppwriteException

from tests.ops.support import Project

MISSPELLED_ROUTES = json.dumps([
    {"name": "critical", "match": {"severity": ["critical"]}, "topic": "critcal-alerts", "channels": ["push", "sms"]},
    {"name": "monitoring", "topic": "monitoring-alerts", "channels": ["push"]},
])
CUSTOM_ROUTES = json.dumps([
    {"name": "database", "match": {"labels": {"team": "db"}}, "topic": "db-oncall", "channels": ["sms"]},
    {"name": "everything", "topic": "all-alerts", "channels": ["email"]},
])


def topic_exists(project: Project, topic_id: str) -> bool:
    try:
        project.messaging.get_topic(topic_id)
    except AppwriteException as exc:
        assert exc.code == 404
        return False
    return True


def test_check_names_a_misspelled_route_topic_and_the_route_that_names_it(project: Project) -> None:
    """--check exits 1 and names the missing topic and the route that sends to it."""
    assert project.bootstrap().code == 0
    run = project.bootstrap("--check", env=project.env(ALERT_ROUTES=MISSPELLED_ROUTES))
    assert run.code == 1, run.out + run.err
    [line] = [line for line in run.lines("missing") if "critcal-alerts" in line]
    assert line.startswith("missing topic critcal-alerts named by route critical")
    assert not topic_exists(project, "critcal-alerts")


def test_bootstrap_with_custom_routes_creates_their_topics(project: Project) -> None:
    """--routes creates each route's topic besides the schema's two, and --check then passes."""
    run = project.bootstrap("--routes", CUSTOM_ROUTES)
    assert run.code == 0, run.out + run.err
    assert "created topic db-oncall named by route database; subscribe: none (only the server can add subscribers)" \
        in run.lines("created")
    for topic in ("db-oncall", "all-alerts", "critical-alerts", "monitoring-alerts"):
        assert topic_exists(project, topic)
    assert project.bootstrap("--check", "--routes", CUSTOM_ROUTES).code == 0


def test_environment_routes_heartbeat_and_fallback_topics_are_created(project: Project) -> None:
    """The topics named by ALERT_ROUTES, HEARTBEAT_TOPIC_ID and ALERT_FALLBACK in the environment are created."""
    env = project.env(ALERT_ROUTES=CUSTOM_ROUTES, HEARTBEAT_ALERT="Watchdog", HEARTBEAT_TOPIC_ID="deadman",
                      ALERT_FALLBACK=json.dumps([{"topic": "fallback-mail", "channel": "email"}]))
    assert project.bootstrap(env=env).code == 0
    for topic in ("db-oncall", "all-alerts", "deadman", "fallback-mail"):
        assert topic_exists(project, topic)
    check = project.bootstrap("--check", "--fallback", json.dumps([{"topic": "other-mail", "channel": "email"}]),
                              env=env)
    assert check.code == 1
    assert "missing topic other-mail named by fallback;" in " ".join(check.lines("missing"))


def test_topic_without_sms_subscribers_for_an_sms_route_is_a_warning(project: Project) -> None:
    """A topic an sms route sends to with push subscribers only is a warning in --check; the exit stays 0."""
    routes = json.dumps([{"name": "pager", "topic": "pager", "channels": ["push", "sms"]}])
    assert project.bootstrap("--routes", routes).code == 0
    for topic, channel in (("pager", "push"), ("critical-alerts", "push"), ("critical-alerts", "sms"),
                           ("monitoring-alerts", "push")):
        project.control.add_subscribers(topic, channel, 1)
    run = project.bootstrap("--check", "--routes", routes)
    assert run.code == 0, run.out + run.err
    warnings = [line for line in run.out.splitlines() if line.startswith("warning: ")]
    assert warnings == ["warning: topic 'pager' has no sms subscribers: route pager sends sms to it, and nobody "
                        "receives it; add a subscriber with a target of that channel"]
    as_json = project.bootstrap("--check", "--json", "--routes", routes)
    summary = as_json.json()["summary"]
    assert (as_json.code, summary["ok"]) == (0, True)
    assert [w.split(":")[0] for w in summary["warnings"]] == ["topic 'pager' has no sms subscribers"]


def test_invalid_routes_are_a_clear_error(project: Project) -> None:
    """An ALERT_ROUTES that is not a list of routes stops the bootstrap (exit 2) before anything is written."""
    run = project.bootstrap(env=project.env(ALERT_ROUTES='[{"name": "x", "topic": "t"}]'))
    assert run.code == 2
    assert "error: ALERT_ROUTES is not a valid list of routes: 0.channels: Field required" in run.err
    assert project.writes() == {}
