"""Every response carries the fields the SDK's models require (the models silently default missing ones)."""

from __future__ import annotations

from typing import Any

import pytest
from appwrite.models.base_model import AppwriteModel
from appwrite.models.column_boolean import ColumnBoolean
from appwrite.models.column_datetime import ColumnDatetime
from appwrite.models.column_enum import ColumnEnum
from appwrite.models.column_index import ColumnIndex
from appwrite.models.column_index_list import ColumnIndexList
from appwrite.models.column_integer import ColumnInteger
from appwrite.models.column_list import ColumnList
from appwrite.models.column_longtext import ColumnLongtext
from appwrite.models.column_mediumtext import ColumnMediumtext
from appwrite.models.column_text import ColumnText
from appwrite.models.column_url import ColumnUrl
from appwrite.models.column_varchar import ColumnVarchar
from appwrite.models.database import Database
from appwrite.models.database_list import DatabaseList
from appwrite.models.message import Message
from appwrite.models.message_list import MessageList
from appwrite.models.row import Row
from appwrite.models.row_list import RowList
from appwrite.models.table import Table
from appwrite.models.table_list import TableList
from appwrite.models.topic import Topic
from appwrite.models.topic_list import TopicList
from appwrite.services.tables_db import TablesDB

from tests.emulator.support import Target

# SDK 27 models declare `description`, which a 1.9.6 server does not send (the SDK then defaults it to '').
NOT_SENT_BY_1_9_6 = {"description"}
COLUMN_MODELS: dict[str, type[AppwriteModel]] = {
    "varchar": ColumnVarchar, "text": ColumnText, "mediumtext": ColumnMediumtext, "longtext": ColumnLongtext,
    "integer": ColumnInteger, "boolean": ColumnBoolean, "datetime": ColumnDatetime, "enum": ColumnEnum,
    "url": ColumnUrl,
}


def required_fields(model: type[AppwriteModel]) -> set[str]:
    return {str(field.alias) for field in model.model_fields.values() if field.is_required()} - NOT_SENT_BY_1_9_6


@pytest.fixture
def world(target: Target, tables: TablesDB, database: str) -> dict[str, str]:
    """One of everything: a table with a column of each type, an index, a row, a topic and a message."""
    columns: list[dict[str, Any]] = [
        {"key": "varchar", "type": "varchar", "size": 10}, {"key": "text", "type": "text"},
        {"key": "mediumtext", "type": "mediumtext"}, {"key": "longtext", "type": "longtext"},
        {"key": "integer", "type": "integer"}, {"key": "boolean", "type": "boolean"},
        {"key": "datetime", "type": "datetime"}, {"key": "enum", "type": "enum", "elements": ["a"]},
        {"key": "url", "type": "url"},
    ]
    table = "everything"
    tables.create_table(database, table, "Everything", columns=columns,
                        indexes=[{"key": "by_varchar", "type": "key", "attributes": ["varchar"]}])
    tables.create_row(database, table, "r1", {"varchar": "v"})
    topic = target.messaging().create_topic(f"{database}-topic", "Topic").id
    target.created_topics.append(topic)
    message = target.messaging().create_sms("m" + database, "hello", topics=[topic]).id
    return {"database": database, "table": table, "topic": topic, "message": message}


def _path(template: str, world: dict[str, str]) -> str:
    return template.format(**world)


RESPONSES: list[tuple[str, type[AppwriteModel]]] = [
    ("/tablesdb/{database}", Database),
    ("/tablesdb", DatabaseList),
    ("/tablesdb/{database}/tables/{table}", Table),
    ("/tablesdb/{database}/tables", TableList),
    ("/tablesdb/{database}/tables/{table}/columns", ColumnList),
    ("/tablesdb/{database}/tables/{table}/indexes/by_varchar", ColumnIndex),
    ("/tablesdb/{database}/tables/{table}/indexes", ColumnIndexList),
    ("/tablesdb/{database}/tables/{table}/rows/r1", Row),
    ("/tablesdb/{database}/tables/{table}/rows", RowList),
    ("/messaging/topics/{topic}", Topic),
    ("/messaging/topics", TopicList),
    ("/messaging/messages/{message}", Message),
    ("/messaging/messages", MessageList),
]


@pytest.mark.parametrize(("template", "model"), RESPONSES, ids=[entry[1].__name__ for entry in RESPONSES])
def test_response_has_every_field_the_model_requires(
    target: Target, world: dict[str, str], template: str, model: type[AppwriteModel]
) -> None:
    response = target.raw("GET", _path(template, world), headers={"Content-Type": ""})
    assert response.status_code == 200
    body = response.json()
    assert required_fields(model) <= set(body), required_fields(model) - set(body)
    model.model_validate(body)
    for key, item_model in (("databases", Database), ("tables", Table), ("indexes", ColumnIndex), ("rows", Row),
                            ("topics", Topic), ("messages", Message)):
        for item in body.get(key, []) if model.__name__.endswith("List") else []:
            assert required_fields(item_model) <= set(item), (key, required_fields(item_model) - set(item))


@pytest.mark.parametrize("kind", COLUMN_MODELS)
def test_each_column_type_has_every_field_its_model_requires(
    target: Target, world: dict[str, str], kind: str
) -> None:
    body = target.raw("GET", _path("/tablesdb/{database}/tables/{table}/columns/" + kind, world)).json()
    model = COLUMN_MODELS[kind]
    assert required_fields(model) <= set(body), required_fields(model) - set(body)
    table = target.raw("GET", _path("/tablesdb/{database}/tables/{table}", world)).json()
    inline = next(column for column in table["columns"] if column["key"] == kind)
    assert required_fields(model) <= set(inline)
