"""Hostile and odd input: never a 500 or a traceback to the caller, only 4xx or 2xx; a 4xx writes nothing and
calls Appwrite not at all; valid alerts are stored with every value cut to fit its column (varchar sizes in
characters, text in UTF-8 bytes, as `schema/appwrite.schema.json` declares them).

The properties call `handle` in-process with the deployment's store against the emulator, for speed; the
explicit cases go through the runtime host.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from devkit import payloads as p
from devkit.runtime import FunctionHost
from src.core.payload import configured_receiver
from tests.conftest import REPO_ROOT
from tests.harness import Appwrite, deliver
from tests.reliability.support import InProcess, alert_rows, new_tag, tagged_messages

SCHEMA = json.loads((REPO_ROOT / "schema" / "appwrite.schema.json").read_text())
TEXT_MAX_BYTES = 65_535
CUT_MARK = "…"


def _columns(table: str) -> dict[str, tuple[str, int]]:
    spec = next(t for t in SCHEMA["tables"] if t["id"] == table)
    return {c["key"]: (c["type"], c.get("size", TEXT_MAX_BYTES)) for c in spec["columns"]
            if c["type"] in ("varchar", "text")}


COLUMNS = _columns("alerts")
PROPERTY = settings(max_examples=60, deadline=None, derandomize=True,
                    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow,
                                           HealthCheck.data_too_large])


def fits(column: str, value: str) -> bool:
    kind, size = COLUMNS[column]
    return len(value) <= size if kind == "varchar" else len(value.encode("utf-8")) <= size


def stored_as(column: str, sent: str, stored: str) -> bool:
    """`stored` is `sent` whole when it fits the column, else a prefix of it ending in the cut mark, and fits."""
    if not fits(column, stored):
        return False
    if fits(column, sent):
        return stored == sent
    return stored.endswith(CUT_MARK) and sent.startswith(stored[: -len(CUT_MARK)]) and len(stored) > len(CUT_MARK)


def expected_values(alert: Mapping[str, Any], body: Mapping[str, Any]) -> dict[str, str]:
    """What each text column of an alert's row holds before cutting."""
    labels, annotations = alert["labels"], alert.get("annotations", {})
    return {
        "alertname": labels.get("alertname", ""),
        "instance": labels.get("instance", ""),
        "job": labels.get("job", ""),
        "summary": annotations.get("summary", ""),
        "description": annotations.get("description", ""),
        "labels": json.dumps(labels, sort_keys=True, ensure_ascii=False),
        "annotations": json.dumps(annotations, sort_keys=True, ensure_ascii=False),
        "generatorURL": alert.get("generatorURL", ""),
        "receiver": configured_receiver(body["receiver"]),
        "groupKey": body.get("groupKey", ""),
    }


def check_stored(appwrite: Appwrite, body: Mapping[str, Any]) -> None:
    """Every alert has its row, holding the last copy of its fingerprint, each value cut to fit."""
    last = {alert["fingerprint"]: alert for alert in body["alerts"]}
    rows = alert_rows(appwrite, list(last))
    assert set(rows) == set(last)
    for fp, alert in last.items():
        row = rows[fp]
        assert row["status"] == alert["status"]
        for column, sent in expected_values(alert, body).items():
            assert stored_as(column, sent, row[column]), (column, sent[:80], row[column][:80])


def in_utc_range(stamp: str) -> bool:
    """Whether an RFC 3339 time from `timestamps` falls within years 1-9999 once converted to UTC."""
    moment = datetime.fromisoformat(re.sub(r"\.\d+", "", stamp).replace("Z", "+00:00"))
    try:
        moment.astimezone(UTC)
    except OverflowError:
        return False
    return True


def refusable(body: Mapping[str, Any]) -> bool:
    """Whether a 400 is a right answer to a payload from `payloads`: a lone surrogate, or a time that is not
    representable in UTC (Go's zero time as endsAt aside)."""
    stamps = [a["startsAt"] for a in body["alerts"]]
    stamps += [a["endsAt"] for a in body["alerts"] if not a["endsAt"].startswith("0001-")]
    return has_surrogate(body) or not all(in_utc_range(stamp) for stamp in stamps)


def has_surrogate(value: Any) -> bool:
    return any(0xD800 <= ord(ch) <= 0xDFFF for ch in json.dumps(value, ensure_ascii=False))


# -- strategies -------------------------------------------------------------------------------------

# Any character but lone surrogates (which `payloads` adds to one value now and then): NUL and other controls,
# unassigned code points, astral characters.
any_char = st.characters(exclude_categories=["Cs"])
any_text = st.text(any_char, max_size=40)
long_text = st.builds(lambda ch, n: ch * n, any_char, st.integers(0, 70_000))
odd_text = st.one_of(any_text, any_text, long_text)
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=40),
    lambda children: st.lists(children, max_size=5) | st.dictionaries(any_text, children, max_size=5),
    max_leaves=30,
)


@st.composite
def timestamps(draw: st.DrawFn) -> str:
    """RFC 3339 with 0-9 fractional digits and any offset within +-14:00, any year 1-9999 (a time outside years
    1-9999 once in UTC may be refused with a 400)."""
    year = draw(st.integers(1, 9999))
    month, day = draw(st.integers(1, 12)), draw(st.integers(1, 28))
    hour, minute, second = draw(st.integers(0, 23)), draw(st.integers(0, 59)), draw(st.integers(0, 59))
    digits = draw(st.integers(0, 9))
    fraction = ("." + "".join(draw(st.lists(st.sampled_from("0123456789"), min_size=digits, max_size=digits)))
                if digits else "")
    offset_minutes = draw(st.integers(-14 * 60, 14 * 60))
    sign = "+" if offset_minutes >= 0 else "-"
    zone = draw(st.sampled_from(["Z", f"{sign}{abs(offset_minutes) // 60:02d}:{abs(offset_minutes) % 60:02d}"]))
    return f"{year:04d}-{month:02d}-{day:02d}T{hour:02d}:{minute:02d}:{second:02d}{fraction}{zone}"


@st.composite
def payloads(draw: st.DrawFn, tag: str) -> dict[str, Any]:
    """A valid version 4 payload with odd strings everywhere, duplicate fingerprints and odd timestamps; one
    startsAt for all alerts, so no copy of a fingerprint is stale against another; one time in five, a lone
    surrogate in one label value."""
    starts_at = draw(timestamps())
    alerts = []
    for _ in range(draw(st.integers(1, 6))):
        labels = draw(st.dictionaries(any_text, odd_text, max_size=6))
        for name in ("alertname", "instance", "job"):
            if draw(st.booleans()):
                labels[name] = draw(odd_text)
        labels["severity"] = draw(st.sampled_from(["critical", "warning", "info", " Critical ", "x" * 40])
                                  | any_text)
        annotations = draw(st.dictionaries(st.sampled_from(["summary", "description", "runbook_url"]) | any_text,
                                           odd_text, max_size=4))
        status = draw(st.sampled_from(["firing", "resolved"]))
        alerts.append({
            "status": status,
            "labels": labels,
            "annotations": annotations,
            "startsAt": starts_at,
            "endsAt": draw(timestamps()) if status == "resolved" else p.ZERO_TIME,
            "generatorURL": draw(odd_text),
            "fingerprint": f"{tag}-{draw(st.integers(0, 3))}",
        })
    if draw(st.sampled_from([False, False, False, False, True])):
        alerts[-1]["labels"] = {**labels, "odd": "x" + draw(st.characters(categories=["Cs"])) + "y"}
    return {"version": "4", "status": "firing", "receiver": draw(odd_text), "groupKey": draw(odd_text),
            "groupLabels": {}, "commonLabels": {}, "commonAnnotations": {}, "externalURL": draw(any_text),
            "truncatedAlerts": draw(st.integers(0, 2**63)), "alerts": alerts}


def replace_at(document: Any, path: list[int], value: Any) -> Any:
    """`document` with the node reached by following `path` (indexes into each container) replaced."""
    if not path or not isinstance(document, dict | list) or not document:
        return value
    if isinstance(document, dict):
        key = sorted(document)[path[0] % len(document)]
        return {**document, key: replace_at(document[key], path[1:], value)}
    index = path[0] % len(document)
    return [*document[:index], replace_at(document[index], path[1:], value), *document[index + 1:]]


# -- properties (in-process) ------------------------------------------------------------------------

class TestProperties:
    @PROPERTY
    @given(body=st.binary(max_size=3000))
    def test_any_bytes_get_4xx_or_2xx_and_a_4xx_calls_nothing(
        self, inprocess: InProcess, project: Appwrite, body: bytes
    ) -> None:
        """Arbitrary bytes: 400 (or 200), never an exception; a 400 makes no Appwrite call."""
        project.control.reset_calls()
        reply = inprocess.post(body)
        assert reply.status in (200, 400)
        if reply.status == 400:
            assert project.control.calls() == {}

    @PROPERTY
    @given(document=json_values)
    def test_any_json_gets_4xx_or_2xx_and_a_4xx_calls_nothing(
        self, inprocess: InProcess, project: Appwrite, document: Any
    ) -> None:
        """Any JSON document: 400 naming fields (or 200), never an exception; a 400 makes no Appwrite call."""
        project.control.reset_calls()
        reply = inprocess.post(json.dumps(document).encode())
        assert reply.status in (200, 400)
        if reply.status == 400:
            assert isinstance(reply.body, dict) and reply.body["problems"]
            assert project.control.calls() == {}

    @PROPERTY
    @given(data=st.data(), path=st.lists(st.integers(0, 50), max_size=5), value=json_values)
    def test_wrong_types_anywhere_get_4xx_or_are_stored_fitted(
        self, inprocess: InProcess, project: Appwrite, data: st.DataObject, path: list[int], value: Any
    ) -> None:
        """A valid payload with any one node replaced by any JSON value: 400 without a call, or stored fitted."""
        tag = new_tag()
        body = replace_at(data.draw(payloads(tag)), path, value)
        project.control.reset_calls()
        reply = inprocess.post(json.dumps(body).encode())
        event(f"{reply.status}")
        assert reply.status in (200, 400), reply.body
        if reply.status == 400:
            assert project.control.calls() == {}
        else:
            check_stored(project, body)

    @PROPERTY
    @given(data=st.data())
    def test_odd_strings_and_timestamps_are_stored_cut_to_fit(
        self, inprocess: InProcess, project: Appwrite, data: st.DataObject
    ) -> None:
        """Controls, NUL, unassigned and astral characters, 70k-character values, duplicate fingerprints, odd
        offsets and precisions, years 1-9999: 200 and every value stored cut to its column; with a lone surrogate
        or a time outside years 1-9999 in UTC, 200 or a 400 that makes no call."""
        tag = new_tag()
        body = data.draw(payloads(tag))
        project.control.reset_calls()
        reply = inprocess.post(json.dumps(body).encode())
        event(f"{reply.status}, refusable: {refusable(body)}")
        if refusable(body) and reply.status == 400:
            assert project.control.calls() == {}
            return
        assert reply.status == 200, reply.body
        check_stored(project, body)


# -- explicit cases (through the runtime host) ------------------------------------------------------

def ok(host: FunctionHost, body: Any) -> dict[str, Any]:
    reply = deliver(host.url, body)
    assert reply.status_code == 200, reply.text
    answer: dict[str, Any] = reply.json()
    return answer


class TestTimestampEdges:
    @pytest.mark.parametrize(("starts_at", "stored"), [
        pytest.param("2026-11-27T03:00:00.123456789Z", "2026-11-27T03:00:00.123+00:00", id="nanoseconds"),
        pytest.param("2026-11-27T03:00:00.9999999Z", "2026-11-27T03:00:00.999+00:00", id="seven-digits"),
        pytest.param("2026-01-01T00:00:00+14:00", "2025-12-31T10:00:00.000+00:00", id="offset-plus-14"),
        pytest.param("2026-01-01T00:00:00-12:00", "2026-01-01T12:00:00.000+00:00", id="offset-minus-12"),
        pytest.param("2026-03-01T05:45:00+05:45", "2026-03-01T00:00:00.000+00:00", id="offset-plus-0545"),
        pytest.param("1969-12-31T23:59:59.999Z", "1969-12-31T23:59:59.999+00:00", id="before-1970"),
        pytest.param("1900-02-28T00:00:00Z", "1900-02-28T00:00:00.000+00:00", id="year-1900"),
        pytest.param("9999-12-31T23:59:59.999999999Z", "9999-12-31T23:59:59.999+00:00", id="far-future-9999"),
        pytest.param("0001-01-01T00:00:00Z", "0001-01-01T00:00:00.000+00:00", id="go-zero-time"),
        pytest.param("0999-12-31T23:59:59Z", "0999-12-31T23:59:59.000+00:00", id="year-999"),
        pytest.param("0001-01-01T00:00:00+14:00", None, id="before-year-1-in-utc"),
        pytest.param("9999-12-31T23:59:59-14:00", None, id="after-year-9999-in-utc"),
    ])
    def test_starts_at_edges_are_stored_in_utc_or_refused(
        self, host: FunctionHost, project: Appwrite, starts_at: str, stored: str | None
    ) -> None:
        """Each startsAt is stored as UTC at millisecond precision, or refused with a 400 that writes nothing
        (a value not representable in UTC), never a 500."""
        tag = new_tag()
        alert = {**p.alert(f"Edge{tag}", severity="info"), "startsAt": starts_at}
        reply = deliver(host.url, p.payload([alert]))
        if stored is None:
            assert reply.status_code == 400, reply.text
            assert alert_rows(project, [alert["fingerprint"]]) == {}
        else:
            assert reply.status_code == 200, reply.text
            assert alert_rows(project, [alert["fingerprint"]])[alert["fingerprint"]]["startsAt"] == stored

    @pytest.mark.parametrize(("ends_at", "stored"), [
        pytest.param("2026-11-27T03:05:00.5-01:00", "2026-11-27T04:05:00.500+00:00", id="offset"),
        pytest.param("0001-01-01T00:00:00+14:00", None, id="zero-time-with-offset-means-no-end"),
        pytest.param("9999-12-31T23:59:59.999999999Z", "9999-12-31T23:59:59.999+00:00", id="far-future-9999"),
        pytest.param("0005-06-01T00:00:00Z", "0005-06-01T00:00:00.000+00:00", id="year-5"),
        pytest.param("9999-12-31T23:59:59-14:00", "refused", id="after-year-9999-in-utc"),
    ])
    def test_ends_at_edges_are_stored_in_utc_or_refused(
        self, host: FunctionHost, project: Appwrite, ends_at: str, stored: str | None
    ) -> None:
        """A resolved alert's endsAt is stored as UTC at millisecond precision (Go's zero time, whatever its
        offset, means no end), or refused with a 400, never a 500."""
        tag = new_tag()
        alert = {**p.resolved(p.alert(f"End{tag}", severity="info")), "endsAt": ends_at}
        reply = deliver(host.url, p.payload([alert]))
        if stored == "refused":
            assert reply.status_code == 400, reply.text
        else:
            assert reply.status_code == 200, reply.text
            assert alert_rows(project, [alert["fingerprint"]])[alert["fingerprint"]]["endsAt"] == stored


class TestShapes:
    @pytest.mark.parametrize("where", ["body", "label"])
    def test_deep_nesting_is_400_without_a_call(self, host: FunctionHost, project: Appwrite, where: str) -> None:
        """100,000 nested arrays, as the body or as a label value: 400 and no Appwrite call."""
        nested = b"[" * 100_000 + b"]" * 100_000
        if where == "body":
            body = nested
        else:
            body = json.dumps(p.payload([p.alert(labels={"deep": "PLACEHOLDER"})])).encode()
            body = body.replace(b'"PLACEHOLDER"', nested)
        reply = deliver(host.url, body)
        assert reply.status_code == 400, reply.text
        assert project.control.calls() == {}

    def test_document_near_the_size_cap_is_stored_cut(self, host: FunctionHost, project: Appwrite) -> None:
        """A 10 MiB body (the default cap) holding one 10 MB description: 200, description cut to 65,535 bytes."""
        tag = new_tag()
        alert = p.alert(f"Huge{tag}", severity="info")
        alert["annotations"]["description"] = ""
        room = 10 * 1024 * 1024 - len(json.dumps(p.payload([alert]), ensure_ascii=False).encode())
        alert["annotations"]["description"] = "é" * (room // 2)
        body = json.dumps(p.payload([alert]), ensure_ascii=False).encode()
        assert 10 * 1024 * 1024 - 2 <= len(body) <= 10 * 1024 * 1024
        ok(host, body)
        row = alert_rows(project, [alert["fingerprint"]])[alert["fingerprint"]]
        assert stored_as("description", alert["annotations"]["description"], row["description"])
        assert stored_as("annotations", json.dumps(alert["annotations"], sort_keys=True, ensure_ascii=False),
                         row["annotations"])

    def test_thousands_of_labels_are_stored_cut(self, host: FunctionHost, project: Appwrite) -> None:
        """5,000 labels with multi-byte values: 200; the labels column holds a prefix of their JSON within
        65,535 bytes, and the announcement goes out."""
        tag = new_tag()
        alert = p.alert(f"Labels{tag}", severity="critical",
                        labels={f"label_{i:04d}": "ü€" * 10 for i in range(5000)})
        ok(host, p.payload([alert]))
        row = alert_rows(project, [alert["fingerprint"]])[alert["fingerprint"]]
        assert stored_as("labels", json.dumps(alert["labels"], sort_keys=True, ensure_ascii=False), row["labels"])
        assert len(tagged_messages(project, tag)) == 3

    def test_one_fingerprint_many_times_in_one_payload(self, host: FunctionHost, project: Appwrite) -> None:
        """150 identical copies of one alert (more than a write batch) and then a changed copy: one row holding
        the last copy, and the firing announced once per target."""
        tag = new_tag()
        alert = p.alert(f"Dup{tag}", severity="critical")
        changed = {**alert, "annotations": {"summary": "the last copy"}}
        answer = ok(host, p.payload([alert] * 150 + [changed]))
        assert (answer["created"], answer["messagesQueued"]) == (1, 3)
        row = alert_rows(project, [alert["fingerprint"]])[alert["fingerprint"]]
        assert row["summary"] == "the last copy"

    def test_controls_nul_and_astral_characters_are_stored_verbatim(
        self, host: FunctionHost, project: Appwrite
    ) -> None:
        """NUL, C0/C1 controls, line separators, bidi controls and astral characters survive the round trip."""
        tag = new_tag()
        odd = "a\x00b\x01\x1f\x7f\x85\u2028\u202e\U0001f525\U000e0001\ufeff"
        alert = p.alert(f"Odd{tag}{odd}", severity="critical", instance=odd, annotations={"summary": odd})
        ok(host, p.payload([alert], receiver=odd))
        row = alert_rows(project, [alert["fingerprint"]])[alert["fingerprint"]]
        assert (row["alertname"], row["instance"], row["summary"], row["receiver"]) == (
            f"Odd{tag}{odd}", odd, odd, odd)
        assert len(tagged_messages(project, tag)) == 3

    @pytest.mark.parametrize("where", ["label", "annotation", "receiver"])
    def test_lone_surrogate_is_refused_whole_or_stored_replaced(
        self, host: FunctionHost, project: Appwrite, where: str
    ) -> None:
        """A lone surrogate (JSON escape \\ud800): a 400 that writes nothing, or 200 with U+FFFD in its place;
        never a 500."""
        tag = new_tag()
        alert = p.alert(f"Sur{tag}", severity="info")
        body = p.payload([alert])
        marker = "SURROGATE-HERE"
        if where == "label":
            body["alerts"][0]["labels"] = {**alert["labels"], "odd": marker}
        elif where == "annotation":
            body["alerts"][0]["annotations"] = {"summary": marker}
        else:
            body["receiver"] = marker
        raw = json.dumps(body).encode().replace(marker.encode(), b"x\\ud800y")
        reply = deliver(host.url, raw)
        assert reply.status_code in (200, 400), reply.text
        rows = alert_rows(project, [alert["fingerprint"]])
        if reply.status_code == 400:
            assert rows == {}
        else:
            assert "x\ufffdy" in json.dumps(rows[alert["fingerprint"]], ensure_ascii=False)


VARCHARS = ("alertname", "instance", "job", "summary", "generatorURL", "receiver")


class TestColumnLimits:
    @staticmethod
    def body_with(column: str, value: str, tag: str) -> tuple[dict[str, Any], dict[str, Any]]:
        alert = p.alert(f"Limit{tag}", severity="info")
        body = p.payload([alert])
        target = body["alerts"][0]
        if column in ("alertname", "instance", "job"):
            target["labels"] = {**target["labels"], column: value}
        elif column in ("summary", "description"):
            target["annotations"] = {**target["annotations"], column: value}
        elif column == "generatorURL":
            target["generatorURL"] = value
        else:
            body[column] = value
        return body, target

    @pytest.mark.parametrize("extra", [0, 1], ids=["exactly-the-size", "one-over"])
    @pytest.mark.parametrize("column", list(VARCHARS))
    def test_varchar_is_cut_by_characters(
        self, inprocess: InProcess, project: Appwrite, column: str, extra: int
    ) -> None:
        """A varchar value of astral characters (4 UTF-8 bytes each) exactly the column's size is stored whole;
        one character more is cut to exactly the size, ending in the cut mark."""
        tag = new_tag()
        size = COLUMNS[column][1]
        value = f"{tag}:" + "\U0001f525" * (size - len(tag) - 1 + extra)
        body, alert = self.body_with(column, value, tag)
        reply = inprocess.post(json.dumps(body).encode())
        assert reply.status == 200, reply.body
        stored = alert_rows(project, [alert["fingerprint"]])[alert["fingerprint"]][column]
        assert stored == value if not extra else (len(stored) == size and stored == value[: size - 1] + CUT_MARK)

    @pytest.mark.parametrize(("filler", "extra"), [("a", 0), ("a", 1), ("é", 0), ("é", 1), ("\U0001f525", 1)],
                             ids=["ascii-exact", "ascii-one-over", "2-byte-exact", "2-byte-one-over",
                                  "4-byte-straddling"])
    @pytest.mark.parametrize("column", ["description", "groupKey"])
    def test_text_is_cut_by_utf8_bytes(
        self, inprocess: InProcess, project: Appwrite, column: str, filler: str, extra: int
    ) -> None:
        """A text value of exactly 65,535 UTF-8 bytes is stored whole; a longer one is cut to at most 65,535
        bytes on a character boundary, ending in the cut mark."""
        tag = new_tag()
        head = f"{tag}:"
        width = len(filler.encode())
        value = head + filler * ((TEXT_MAX_BYTES - len(head)) // width + extra)
        body, alert = self.body_with(column, value, tag)
        reply = inprocess.post(json.dumps(body).encode())
        assert reply.status == 200, reply.body
        stored = alert_rows(project, [alert["fingerprint"]])[alert["fingerprint"]][column]
        assert stored_as(column, value, stored)
        if len(value.encode()) <= TEXT_MAX_BYTES:
            assert stored == value
        else:
            assert TEXT_MAX_BYTES - 4 - len(CUT_MARK.encode()) < len(stored.encode()) <= TEXT_MAX_BYTES

