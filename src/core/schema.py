"""The declarative schema in `schema/appwrite.schema.json`, as validated models.

The file is the single description of the database, the tables (their columns and indexes) and the
Messaging topics. The function reads it to know each column's size limit; the bootstrap reads it to
create and check what Appwrite has. Pure data: no Appwrite calls here.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from ..ids import AppwriteId
from .columns import SCHEMA_FILE as SCHEMA_FILE
from .columns import TEXT_MAX_BYTES as TEXT_MAX_BYTES

# Appwrite's Key validator: at most 36 characters of [A-Za-z0-9._-], not starting with _ . or -.
Key = AppwriteId


class _Spec(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", populate_by_name=True)


class _ColumnBase(_Spec):
    key: Key
    required: bool = False
    array: bool = False


class VarcharColumn(_ColumnBase):
    type: Literal["varchar"]
    size: int = Field(ge=1, le=16_381)


class TextColumn(_ColumnBase):
    type: Literal["text"]


class DatetimeColumn(_ColumnBase):
    type: Literal["datetime"]


class EnumColumn(_ColumnBase):
    type: Literal["enum"]
    elements: tuple[Annotated[str, Field(min_length=1, max_length=255)], ...] = Field(min_length=1)


class IntegerColumn(_ColumnBase):
    type: Literal["integer"]
    min: int | None = None
    max: int | None = None


class BooleanColumn(_ColumnBase):
    type: Literal["boolean"]


Column = Annotated[
    VarcharColumn | TextColumn | DatetimeColumn | EnumColumn | IntegerColumn | BooleanColumn,
    Field(discriminator="type"),
]


class Index(_Spec):
    key: Key
    type: Literal["key", "unique", "fulltext"]
    columns: tuple[str, ...] = Field(min_length=1)
    orders: tuple[Literal["ASC", "DESC"], ...] = ()


class Table(_Spec):
    id: Key
    name: str = Field(min_length=1, max_length=128)
    row_security: bool = Field(default=False, alias="rowSecurity")
    permissions: tuple[str, ...] = ()
    columns: tuple[Column, ...] = Field(min_length=1)
    indexes: tuple[Index, ...] = ()

    @model_validator(mode="after")
    def _indexes_name_known_columns(self) -> Table:
        keys = {column.key for column in self.columns}
        if len(keys) != len(self.columns):
            raise ValueError(f"table {self.id!r} declares a column twice")
        for index in self.indexes:
            unknown = [c for c in index.columns if c not in keys and c not in ("$id", "$createdAt", "$updatedAt")]
            if unknown:
                raise ValueError(f"index {index.key!r} names unknown columns {unknown}")
        return self

    def column(self, key: str) -> Column:
        for column in self.columns:
            if column.key == key:
                return column
        raise KeyError(key)


class Database(_Spec):
    id: Key
    name: str = Field(min_length=1, max_length=128)


class Topic(_Spec):
    id: Key
    name: str = Field(min_length=1, max_length=128)
    subscribe: tuple[Annotated[str, Field(max_length=64)], ...] = ()


class Schema(_Spec):
    database: Database
    tables: tuple[Table, ...] = Field(min_length=1)
    topics: tuple[Topic, ...] = ()

    def table(self, table_id: str) -> Table:
        for table in self.tables:
            if table.id == table_id:
                return table
        raise KeyError(table_id)


def parse_schema(text: str | bytes) -> Schema:
    return Schema.model_validate_json(text)


@cache
def load_schema(path: Path = SCHEMA_FILE) -> Schema:
    return parse_schema(path.read_bytes())
