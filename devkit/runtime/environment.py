"""The environment a function runs with: the host's, the env file's variables, then what Appwrite sets.

Appwrite merges project variables, then function variables, then its own `APPWRITE_*` values, so a user
variable cannot replace those. Here the process environment comes first, then the env file, then the
function's identity and runtime values, and last the `env` the host was given, which stands for Appwrite's
own configuration (`APPWRITE_FUNCTION_API_ENDPOINT`, `APPWRITE_FUNCTION_PROJECT_ID`, ...).
"""

from __future__ import annotations

import sys
from collections.abc import Mapping

from devkit.appwrite_version import SERVER_VERSION

RUNTIME_NAME = "python"
# The local host stands beside the emulator, so the function sees the version the emulator reports.
APPWRITE_VERSION = SERVER_VERSION
DEFAULT_MEMORY_MB = "512"


def appwrite_variables(*, function_id: str, function_name: str, workers: int) -> dict[str, str]:
    """The `APPWRITE_*` values describing this function and its runtime."""
    return {
        "APPWRITE_FUNCTION_ID": function_id,
        "APPWRITE_FUNCTION_NAME": function_name,
        "APPWRITE_FUNCTION_DEPLOYMENT": "local",
        "APPWRITE_FUNCTION_RUNTIME_NAME": RUNTIME_NAME,
        "APPWRITE_FUNCTION_RUNTIME_VERSION": f"{sys.version_info.major}.{sys.version_info.minor}",
        # The runtime starts ceil(cpus) workers, so the worker count is the CPU count it would have had.
        "APPWRITE_FUNCTION_CPUS": str(workers),
        "APPWRITE_FUNCTION_MEMORY": DEFAULT_MEMORY_MB,
        "APPWRITE_VERSION": APPWRITE_VERSION,
    }


def function_environment(
    *,
    base: Mapping[str, str],
    file_variables: Mapping[str, str],
    overrides: Mapping[str, str],
    function_id: str,
    function_name: str,
    workers: int,
) -> dict[str, str]:
    """Merge, each over the last: `base`, `file_variables`, the Appwrite values, `overrides`."""
    environment = dict(base)
    environment.update(file_variables)
    environment.update(appwrite_variables(function_id=function_id, function_name=function_name, workers=workers))
    environment.update(overrides)
    return environment
