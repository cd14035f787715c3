"""Columns created through their endpoints: 202 `processing`, then `available`; models, limits, errors."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Literal

import pytest
import requests
from appwrite.query import Query
from appwrite.services.tables_db import TablesDB

from tests.emulator.support import Target, new_id, poll, raises, value_of

# (path type, SDK method, extra arguments, expected fields of the parsed model once available)
COLUMN_KINDS: list[tuple[str, str, dict[str, Any], dict[str, Any]]] = [
    ("varchar", "create_varchar_column", {"size": 40, "default": "x"},
     {"type": "varchar", "size": 40, "default": "x", "encrypt": False}),
    ("text", "create_text_column", {}, {"type": "text", "default": None}),
    ("mediumtext", "create_mediumtext_column", {}, {"type": "mediumtext"}),
    ("longtext", "create_longtext_column", {}, {"type": "longtext"}),
    ("integer", "create_integer_column", {"min": 0, "max": 10, "default": 3},
     {"type": "integer", "min": 0, "max": 10, "default": 3}),
    ("boolean", "create_boolean_column", {"default": True}, {"type": "boolean", "default": True}),
    ("datetime", "create_datetime_column", {"default": "2025-01-02T03:04:05Z"},
     {"type": "datetime", "format": "datetime", "default": "2025-01-02T03:04:05Z"}),
    ("enum", "create_enum_column", {"elements": ["firing", "resolved"], "default": "firing"},
     {"type": "string", "format": "enum", "elements": ["firing", "resolved"], "default": "firing"}),
    ("url", "create_url_column", {"default": "https://example.com/x"},
     {"type": "string", "format": "url", "default": "https://example.com/x"}),
]


@pytest.fixture
def empty_table(make_table: Callable[..., str]) -> str:
    return make_table(columns=[])


@pytest.mark.parametrize(("kind", "method", "extra", "expected"), COLUMN_KINDS, ids=[k[0] for k in COLUMN_KINDS])
def test_column_is_processing_then_available_with_its_model(
    tables: TablesDB, database: str, empty_table: str, wait_column: Callable[[str, str], Any],
    kind: str, method: str, extra: dict[str, Any], expected: dict[str, Any],
) -> None:
    created = getattr(tables, method)(database, empty_table, "value", required=False, **extra)
    assert (created.key, value_of(created.status), created.error, created.required, created.array) == (
        "value", "processing", "", False, False,
    )
    available = wait_column(empty_table, "value")
    assert value_of(available.status) == "available"
    fields = available.to_dict()
    assert {name: fields.get(name) for name in expected} == expected
    assert available.createdat <= available.updatedat
    listed = tables.list_columns(database, empty_table)
    assert (listed.total, [column.key for column in listed.columns]) == (1, ["value"])


@pytest.mark.parametrize(
    ("kind", "extra"), [("varchar", {"size": 10}), ("integer", {}), ("enum", {"elements": ["a"]})]
)
def test_column_create_answers_202(
    target: Target, database: str, empty_table: str, kind: str, extra: dict[str, Any]
) -> None:
    body: dict[str, Any] = {"key": "value", "required": False, **extra}
    response = target.raw("POST", f"/tablesdb/{database}/tables/{empty_table}/columns/{kind}", body)
    assert response.status_code == 202
    assert response.json()["status"] == "processing"


def test_integer_column_defaults_to_64_bit_bounds(target: Target, database: str, empty_table: str) -> None:
    # Read raw: the SDK model holds min/max as floats, which cannot show the exact bounds.
    response = target.raw("POST", f"/tablesdb/{database}/tables/{empty_table}/columns/integer",
                          {"key": "n", "required": False})
    assert (response.json()["min"], response.json()["max"]) == (-(2**63), 2**63 - 1)


@pytest.mark.parametrize("size", [0, 16382])
def test_varchar_size_outside_1_to_16381_is_general_argument_invalid(
    tables: TablesDB, database: str, empty_table: str, size: int
) -> None:
    error = raises(lambda: tables.create_varchar_column(database, empty_table, "v", size, False),
                   400, "general_argument_invalid")
    assert error.message == "Invalid `size` param: Value must be a valid range between 1 and 16,381"


@pytest.mark.parametrize(("size", "fits"), [(16116, True), (16117, False)])
def test_a_lone_varchar_fits_the_row_up_to_16116_characters(
    tables: TablesDB, database: str, empty_table: str, size: int, fits: bool
) -> None:
    def create() -> Any:
        return tables.create_varchar_column(database, empty_table, "v", size, False)

    if fits:
        assert create().size == size
    else:
        error = raises(create, 400, "column_limit_exceeded")
        assert f"table '{empty_table}'" in error.message


@pytest.mark.slow
def test_more_than_1010_columns_is_column_limit_exceeded(target: Target, tables: TablesDB, database: str) -> None:
    table_id = new_id("tb")
    tables.create_table(database, table_id, "Many", columns=[{"key": f"c{i}", "type": "boolean"} for i in range(100)])
    headers = {"X-Appwrite-Project": target.project, "X-Appwrite-Key": target.api_key}
    with requests.Session() as session:  # one kept-alive connection for the 910 calls
        for number in range(100, 1010):
            response = session.post(f"{target.endpoint}/tablesdb/{database}/tables/{table_id}/columns/boolean",
                                    json={"key": f"c{number}", "required": False}, headers=headers, timeout=30)
            assert response.status_code == 202, response.text
    raises(lambda: tables.create_boolean_column(database, table_id, "one_more", False), 400, "column_limit_exceeded")


@pytest.mark.parametrize(
    ("call", "code", "error_type", "message"),
    [
        (lambda t, d, tb: t.create_text_column(d, tb, "labels", True, default="x"), 400,
         "column_default_unsupported", "Cannot set default value for required column"),
        (lambda t, d, tb: t.create_text_column(d, tb, "tags", False, default="x", array=True), 400,
         "column_default_unsupported", "Cannot set default value for array columns"),
        (lambda t, d, tb: t.create_enum_column(d, tb, "status", ["a", "b"], False, default="c"), 400,
         "column_value_invalid", "Default value not found in elements"),
        (lambda t, d, tb: t.create_integer_column(d, tb, "n", False, min=5, max=1), 400,
         "column_value_invalid", "Minimum value must be lesser than maximum value"),
        (lambda t, d, tb: t.create_integer_column(d, tb, "n", False, min=0, max=9, default=10), 400,
         "column_value_invalid", "Value must be a valid range between 0 and 9"),
        (lambda t, d, tb: t.create_varchar_column(d, tb, "v", 3, False, default="long"), 400,
         "column_value_invalid", "Value must be a valid string and no longer than 3 chars"),
        (lambda t, d, tb: t.create_boolean_column(d, tb, "_hidden", False), 400, "general_argument_invalid",
         "Invalid `key` param: Parameter must contain at most 36 chars. Valid chars are a-z, A-Z, 0-9, "
         "period, hyphen, and underscore. Can't start with a special char"),
        (lambda t, d, tb: t.create_boolean_column(d, tb, "b", "yes"), 400, "general_argument_invalid",
         "Invalid `required` param: Value must be a valid boolean"),
    ],
    ids=["required-default", "array-default", "enum-default", "min-max", "integer-default", "varchar-default",
         "key", "required-type"],
)
def test_invalid_column_definitions_are_rejected(
    tables: TablesDB, database: str, empty_table: str, call: Callable[..., Any], code: int, error_type: str,
    message: str,
) -> None:
    error = raises(lambda: call(tables, database, empty_table), code, error_type)
    assert error.message == message


def test_duplicate_column_key_is_409_column_already_exists(tables: TablesDB, database: str, empty_table: str) -> None:
    tables.create_boolean_column(database, empty_table, "flag", False)
    error = raises(lambda: tables.create_boolean_column(database, empty_table, "flag", False),
                   409, "column_already_exists")
    assert "'flag'" in error.message


def test_column_of_a_missing_table_is_404(tables: TablesDB, database: str) -> None:
    raises(lambda: tables.create_boolean_column(database, new_id("tb"), "flag", False), 404, "table_not_found")
    raises(lambda: tables.get_column(database, new_id("tb"), "flag"), 404, "table_not_found")


def test_missing_column_is_404_column_not_found(tables: TablesDB, database: str, empty_table: str) -> None:
    raises(lambda: tables.get_column(database, empty_table, "nothing"), 404, "column_not_found")


def test_index_on_a_processing_column_is_column_not_available(
    tables: TablesDB, database: str, empty_table: str
) -> None:
    tables.create_varchar_column(database, empty_table, "name", 20, False)
    error = raises(lambda: tables.create_index(database, empty_table, "by_name", "key", ["name"]),
                   400, "column_not_available")
    assert error.message == "The requested column 'name' is not yet available. Please try again later."


def test_writing_a_processing_column_is_an_unknown_attribute(
    target: Target, tables: TablesDB, database: str, make_table: Callable[..., str]
) -> None:
    control = target.require_control()
    table_id = make_table(columns=[{"key": "name", "type": "varchar", "size": 20}])
    control.fail_schema("column", "late", "stuck")
    tables.create_varchar_column(database, table_id, "late", 20, False)
    error = raises(lambda: tables.create_row(database, table_id, new_id("r"), {"name": "a", "late": "b"}),
                   400, "row_invalid_structure")
    assert error.message == 'Invalid document structure: Unknown attribute: "late"'


@pytest.mark.parametrize("outcome", ["stuck", "failed"])
def test_control_hook_makes_the_next_column_stuck_or_failed(
    target: Target, tables: TablesDB, database: str, empty_table: str, outcome: Literal["stuck", "failed"]
) -> None:
    control = target.require_control()
    control.fail_schema("column", "flag", outcome, error="disk full")
    tables.create_boolean_column(database, empty_table, "flag", False)
    tables.create_boolean_column(database, empty_table, "other", False)
    poll(lambda: tables.get_column(database, empty_table, "other"), lambda c: value_of(c.status) == "available")
    column = tables.get_column(database, empty_table, "flag")
    expected = ("processing", "") if outcome == "stuck" else ("failed", "disk full")
    assert (value_of(column.status), column.error) == expected


def test_list_columns_filters_by_status(tables: TablesDB, database: str, make_table: Callable[..., str]) -> None:
    table_id = make_table(columns=[{"key": "ready", "type": "boolean"}])
    tables.create_boolean_column(database, table_id, "pending", False)
    processing = tables.list_columns(database, table_id, queries=[Query.equal("status", "processing")])
    assert [column.key for column in processing.columns] in (["pending"], [])
    everything = tables.list_columns(database, table_id)
    assert [column.key for column in everything.columns] == ["ready", "pending"]
