"""Import of the function's entrypoint, the way Open Runtimes does it.

The runtime extracts the code to `<server>/function/` and imports `src/main.py` as `function.src.main`, so the
function's own modules can only be reached relatively (`from .rows import ...`). Here a sandbox directory
holds a symlink `function` -> the function directory; the sandbox goes on `sys.path` and the entrypoint is
imported by the same dotted name. Failures carry the runtime's messages (it answers them with 503).
"""

from __future__ import annotations

import importlib
import inspect
import os
import sys
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Any, cast

PACKAGE = "function"

MainFunction = Callable[[Any], Any]


class EntrypointError(Exception):
    """The entrypoint could not be loaded; `str(error)` is the message the runtime logs."""


def prepare_sandbox(sandbox: Path, function_dir: Path) -> None:
    """Create `sandbox/function` as a symlink to the function directory."""
    sandbox.mkdir(parents=True, exist_ok=True)
    link = sandbox / PACKAGE
    if link.is_symlink() or link.exists():
        link.unlink()
    link.symlink_to(function_dir.resolve(), target_is_directory=True)


def activate_sandbox(sandbox: Path) -> None:
    """Make the sandbox the place `function` is imported from (first on `sys.path`)."""
    entry = str(sandbox)
    if entry in sys.path:
        sys.path.remove(entry)
    sys.path.insert(0, entry)


def module_name(entrypoint: str) -> str:
    """`src/main.py` -> `function.src.main`."""
    path = entrypoint.removesuffix(".py")
    return PACKAGE + "." + path.replace("/", ".")


def load_main(sandbox: Path, entrypoint: str) -> MainFunction:
    """Import the entrypoint (cached after the first success) and return its `main`.

    Like the runtime, a failed import is retried on the next execution.
    """
    if not os.path.isfile(sandbox / PACKAGE / entrypoint):
        raise EntrypointError(f"Failed to load entrypoint, file {entrypoint} does not exist.")
    try:
        module = importlib.import_module(module_name(entrypoint))
        main = getattr(module, "main", None)
        if not callable(main):
            raise AttributeError("Function signature invalid. Did you forget to export a 'main' function?")
    except ModuleNotFoundError as exc:
        raise EntrypointError(f"Module not found: {exc.name}") from exc
    except SyntaxError as exc:
        raise EntrypointError(f"Syntax error in {exc.filename}:{exc.lineno}: {exc.msg}") from exc
    except AttributeError as exc:
        raise EntrypointError(str(exc)) from exc
    except Exception as exc:
        details = "".join(traceback.TracebackException.from_exception(exc).format())
        raise EntrypointError("Failed to load module: " + details) from exc
    return cast(MainFunction, main)


def is_async(main: MainFunction) -> bool:
    """Whether `main` is an `async def` (the runtime awaits those and calls the others directly)."""
    return inspect.iscoroutinefunction(main)
