"""Let an operator script run from a fresh shell: re-exec it with the project's virtualenv when needed.

The scripts in scripts/ need the pinned requirements (the appwrite SDK). `python scripts/x.py` from a shell
without the venv activated would fail with ModuleNotFoundError; instead the script calls `use_project_venv()`
before its first third-party import and is re-run with `.venv/bin/python` (the venv `./dev` creates; the
VENV variable names another, as for `./dev`). Only the standard library is imported here.
"""

from __future__ import annotations

import importlib.util
import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
REQUIRED_MODULE = "appwrite"
_REEXEC_MARK = "ALERT_PROCESSOR_VENV_REEXEC"
NO_VENV_HINT = (
    "create it with `./dev bootstrap --help` (any ./dev command installs the pinned requirements into .venv), "
    "or install requirements.txt into this Python"
)


def project_venv_python() -> Path:
    """The interpreter of the project's virtualenv (VENV, as `./dev` reads it, or ./.venv)."""
    venv = Path(os.environ.get("VENV") or ".venv")
    if not venv.is_absolute():
        venv = ROOT / venv
    return venv / "bin" / "python"


def use_project_venv() -> None:
    """Return if the dependencies import here; else re-exec this script with the venv, or exit 2 with a hint."""
    if importlib.util.find_spec(REQUIRED_MODULE) is not None:
        return
    python = project_venv_python()
    script = os.path.abspath(sys.argv[0])
    if os.environ.get(_REEXEC_MARK) or not os.access(python, os.X_OK):
        sys.stderr.write(
            f"error: {sys.executable} lacks the project's requirements (no module {REQUIRED_MODULE!r}) "
            f"and there is no virtualenv at {python.parent.parent}: {NO_VENV_HINT}\n"
        )
        raise SystemExit(2)
    os.environ[_REEXEC_MARK] = "1"  # a venv that still lacks them must fail, not loop
    os.execv(str(python), [str(python), script, *sys.argv[1:]])
