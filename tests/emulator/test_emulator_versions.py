"""Which Appwrite answers: the reported version, the SDK-newer-than-server warning, older response formats."""

from __future__ import annotations

from appwrite.services.tables_db import TablesDB

from tests.emulator.support import Target


def test_health_version_names_a_2x_server(target: Target) -> None:
    """GET /health/version answers, without scopes, the server version the SDK's format can be compared with."""
    # SDK 27 has no Health service (removed in 22.0.0), so the call goes through its client; the project header is
    # one the services add per call.
    headers = {"content-type": "application/json", "X-Appwrite-Project": target.project}
    answer = target.client().call("get", "/health/version", headers, {})
    major = int(str(answer["version"]).split(".")[0])
    assert major >= 2, answer


def test_error_bodies_name_the_reported_version(target: Target) -> None:
    """An error body's `version` is the version /health/version reports."""
    reported = target.raw("GET", "/health/version").json()["version"]
    missing = target.raw("GET", "/tablesdb/nodatabasehere")
    assert (missing.status_code, missing.json()["version"]) == (404, reported)


def test_the_pinned_sdks_format_earns_no_warning(target: Target) -> None:
    """The format SDK 27 sends (2.5.0) is not newer than the server, so no X-Appwrite-Warning comes back."""
    sdk_headers = target.client().get_headers()
    answer = target.raw("GET", "/tablesdb", headers={
        "X-Appwrite-Response-Format": sdk_headers["X-Appwrite-Response-Format"]})
    assert answer.status_code == 200
    assert "X-Appwrite-Warning" not in answer.headers


def test_a_format_newer_than_the_server_is_warned_about(target: Target) -> None:
    """An SDK built for a newer Appwrite is told so in X-Appwrite-Warning, and still answered."""
    reported = target.raw("GET", "/health/version").json()["version"]
    answer = target.raw("GET", "/tablesdb", headers={"X-Appwrite-Response-Format": "99.0.0"})
    assert answer.status_code == 200
    assert f"built for Appwrite 99.0.0. However, the current Appwrite server version is {reported}" in (
        answer.headers["X-Appwrite-Warning"])


def test_rows_before_format_1_9_carry_an_integer_sequence(target: Target, tables: TablesDB, database: str,
                                                          alerts: str) -> None:
    """A client asking for format 1.8.0 gets `$sequence` as a number (1.9 made it a string), in rows and lists."""
    tables.create_row(database, alerts, "r1", {"fingerprint": "f1", "status": "firing"})
    path = f"/tablesdb/{database}/tables/{alerts}/rows"
    old = {"X-Appwrite-Response-Format": "1.8.0"}
    assert target.raw("GET", path + "/r1", headers=old).json()["$sequence"] == 1
    assert target.raw("GET", path, headers=old).json()["rows"][0]["$sequence"] == 1
    assert target.raw("GET", path + "/r1", headers={"X-Appwrite-Response-Format": "1.9.5"}).json()[
        "$sequence"] == "1"
