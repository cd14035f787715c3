"""Column types: their stored definition, response model, row-width cost and value validation.

Value validation reproduces utopia-php/database's Structure validator: type validators first, then the
format validator (enum whitelist, URL, integer range); the message label is "format" whenever the
column has a format, else "type".
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, field
from typing import Any

from . import datetimes
from .params import Integer, Range, Text, Validator, WhiteList

TEXT_BYTES = {"text": 65_535, "mediumtext": 16_777_215, "longtext": 4_294_967_295}
# The size the server records for fixed-width text types (longtext's is the signed 32-bit maximum).
TEXT_SIZES = {"text": 65_535, "mediumtext": 16_777_215, "longtext": 2_147_483_647}
ENUM_SIZE = 255
URL_SIZE = 2000
INT32_MAX = 2_147_483_647
INT64_MAX = 2**63 - 1
VARCHAR_MAX = 16_381
MAX_ROW_BYTES = 65_535
BASE_ROW_BYTES = 1_067
MAX_USER_COLUMNS = 1_010

_URL = re.compile(r"^[A-Za-z][A-Za-z0-9+.\-]*://[^\s/?#@]+(@[^\s/?#]+)?(:\d+)?([/?#]\S*)?$")


def is_url(value: Any) -> bool:
    return isinstance(value, str) and _URL.match(value) is not None


@dataclass
class Column:
    """A column definition as stored; `type` is the server's stored type (enum/url are `string`)."""

    key: str
    type: str
    size: int = 0
    required: bool = False
    array: bool = False
    default: Any = None
    format: str = ""
    elements: list[str] = field(default_factory=list)
    min: int | None = None
    max: int | None = None
    encrypt: bool = False
    status: str = "processing"
    error: str = ""
    created: str = ""
    updated: str = ""

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Column:
        return cls(**data)

    # -- response model -------------------------------------------------------------------------

    def response(self) -> dict[str, Any]:
        body: dict[str, Any] = {
            "key": self.key,
            "type": self.type,
            "status": self.status,
            "error": self.error,
            "required": self.required,
            "array": self.array,
            "$createdAt": self.created,
            "$updatedAt": self.updated,
        }
        if self.type == "varchar":
            body.update(size=self.size, default=self.default, encrypt=self.encrypt)
        elif self.type in TEXT_SIZES:
            body.update(default=self.default, encrypt=self.encrypt)
        elif self.type == "integer":
            if self.min is not None:
                body["min"] = self.min
            if self.max is not None:
                body["max"] = self.max
            body["default"] = self.default
        elif self.type == "datetime":
            body.update(format="datetime", default=self.default)
        elif self.type == "string" and self.format == "enum":
            body.update(elements=list(self.elements), format="enum", default=self.default)
        elif self.type == "string" and self.format == "url":
            body.update(format="url", default=self.default)
        elif self.type == "string":
            body.update(size=self.size, default=self.default, encrypt=self.encrypt)
        else:
            body["default"] = self.default
        return body

    # -- storage cost ---------------------------------------------------------------------------

    def width(self) -> int:
        """Bytes this column adds to the row (utopia-php/database SQL::getAttributeWidth)."""
        if self.array:
            return 20
        if self.type in ("varchar", "string"):
            if self.type == "string" and self.size > VARCHAR_MAX:
                return 20
            return self.size * 4 + (2 if self.size > 255 else 1)
        if self.type in TEXT_SIZES:
            return 20
        if self.type == "integer":
            return 8 if self.size >= 8 else 4
        if self.type == "boolean":
            return 1
        if self.type == "datetime":
            return 7
        return 8

    def is_stringy(self) -> bool:
        return self.type in ("varchar", "string", *TEXT_SIZES)

    # -- row values -----------------------------------------------------------------------------

    def validators(self) -> list[Validator]:
        """The value validators, built once per definition (the fields they read never change)."""
        cached: list[Validator] | None = self.__dict__.get("_validators")
        if cached is None:
            cached = self.__dict__["_validators"] = self._build_validators()
        return cached

    def _build_validators(self) -> list[Validator]:
        validators: list[Validator] = []
        if self.type in TEXT_SIZES:
            validators.append(ByteLength(min(self.size, TEXT_BYTES[self.type])))
            validators.append(ByteLength(TEXT_BYTES[self.type]))
        elif self.type in ("varchar", "string"):
            validators.append(Text(self.size, 0))
        elif self.type == "integer":
            bits = 64 if self.size >= 8 else 32
            validators.append(Integer(bits))
            limit = INT64_MAX if bits == 64 else INT32_MAX
            validators.append(Range(-limit, limit))
        elif self.type == "boolean":
            validators.append(StrictBoolean())
        elif self.type == "datetime":
            validators.append(DatetimeValue())
        if self.format == "enum":
            validators.append(WhiteList(self.elements))
        elif self.format == "url":
            validators.append(UrlValue())
        elif self.format == "intRange":
            validators.append(Range(self.min if self.min is not None else -INT64_MAX - 1,
                                    self.max if self.max is not None else INT64_MAX))
        return validators

    def check(self, value: Any) -> str | None:
        """Why `value` cannot be stored in this column (Structure's wording), or None if it can."""
        if value is None and not self.required:
            return None
        if not self.array:
            for validator in self.validators():
                if not validator.valid(value):
                    label = "format" if self.format else "type"
                    return f'Attribute "{self.key}" has invalid {label}. {validator.description}'
            return None
        label = "format" if self.format else "type"
        if not self.required and value == []:
            return None
        if not isinstance(value, list):
            return f'Attribute "{self.key}" must be an array'
        for position, item in enumerate(value):
            if not self.required and item is None:
                continue
            for validator in self.validators():
                if not validator.valid(item):
                    return f"Attribute \"{self.key}['{position}']\" has invalid {label}. {validator.description}"
        return None

    def store(self, value: Any) -> Any:
        """The stored form of an already validated value (datetimes normalised to UTC ms)."""
        if value is None or self.type != "datetime":
            return value
        if isinstance(value, list):
            return [datetimes.normalize(item) if item is not None else None for item in value]
        return datetimes.normalize(value)

    def empty_value(self) -> Any:
        return [] if self.array else None


class ByteLength(Validator):
    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.description = f"Value must be a valid string no longer than {limit} bytes"

    def valid(self, value: Any) -> bool:
        return isinstance(value, str) and len(value.encode("utf-8", "surrogatepass")) <= self.limit


class StrictBoolean(Validator):
    description = "Value must be a valid boolean"

    def valid(self, value: Any) -> bool:
        return isinstance(value, bool)


class DatetimeValue(Validator):
    description = datetimes.DESCRIPTION

    def valid(self, value: Any) -> bool:
        return datetimes.parse(value) is not None


class UrlValue(Validator):
    description = "Value must be a valid URL"

    def valid(self, value: Any) -> bool:
        return is_url(value)


def row_width(columns: list[Column]) -> int:
    return BASE_ROW_BYTES + sum(column.width() for column in columns)

