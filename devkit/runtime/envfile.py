"""Reading a function's variables from a local env file (`KEY=VALUE` lines), like `appwrite push --with-variables`.

Blank lines and lines starting with `#` are skipped, an `export ` prefix is allowed, and a value wrapped in
matching single or double quotes is unwrapped. A `#` later in a line is part of the value.
"""

from __future__ import annotations

from pathlib import Path


class EnvFileError(ValueError):
    """A line of the env file is not `KEY=VALUE`."""


def parse_env(text: str, *, source: str = "<env>") -> dict[str, str]:
    """The variables defined in `text`; a later definition of a key wins."""
    variables: dict[str, str] = {}
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        line = line.removeprefix("export ").lstrip()
        key, separator, value = line.partition("=")
        key, value = key.strip(), value.strip()
        if not separator or not key or any(char.isspace() for char in key):
            raise EnvFileError(f"{source}:{number}: expected KEY=VALUE")
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
            value = value[1:-1]
        variables[key] = value
    return variables


def read_env_file(path: Path) -> dict[str, str]:
    """The variables defined in the file at `path`."""
    return parse_env(path.read_text(encoding="utf-8"), source=str(path))
