"""The layout the README's Development section describes: the deployed tree holds only the function, its
packages import one way (core at the bottom, the SDK only at the delivery edge), and configuration is read once."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
SRC = REPO / "src"
MODULES = sorted(path for path in SRC.rglob("*.py") if "__pycache__" not in path.parts)

# Bottom to top: a module may import its own layer and the ones below, never one above.
LAYERS: tuple[tuple[str, ...], ...] = (
    ("errors", "clock", "ids", "formats"),
    ("messages",),
    ("core",),
    ("delivery.port",),
    ("oncall",),
    ("jobs",),
    ("settings",),
    ("endpoints",),
    ("delivery.sdk_errors", "delivery.appwrite_store"),
    ("main",),
)


def _name(path: Path) -> str:
    parts = path.relative_to(SRC).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _layer(module: str) -> int:
    best = -1, 0
    for rank, prefixes in enumerate(LAYERS):
        for prefix in prefixes:
            if (module == prefix or module.startswith(prefix + ".")) and len(prefix) > best[1]:
                best = rank, len(prefix)
    assert best[0] >= 0, f"src/{module.replace('.', '/')}.py belongs to no layer: add it to LAYERS and the README"
    return best[0]


def _imports(path: Path) -> list[ast.Import | ast.ImportFrom]:
    return [node for node in ast.walk(ast.parse(path.read_text())) if isinstance(node, ast.Import | ast.ImportFrom)]


def _targets(path: Path) -> list[str]:
    """The src modules `path` imports, as dotted names relative to src/."""
    package = _name(path).split(".")[:-1] if path.name != "__init__.py" else _name(path).split(".")
    found: list[str] = []
    for node in _imports(path):
        if not isinstance(node, ast.ImportFrom) or node.level == 0:
            continue
        base = package[: len(package) - (node.level - 1)] if node.level > 1 else package
        stem = [*base, *(node.module.split(".") if node.module else [])]
        for alias in node.names:
            candidate = ".".join([*stem, alias.name])
            is_module = (SRC / Path(*candidate.split("."))).with_suffix(".py").is_file()
            found.append(candidate if is_module else ".".join(stem))
    return found


@pytest.mark.parametrize("path", MODULES, ids=lambda p: str(p.relative_to(SRC)))
def test_imports_run_one_way(path: Path) -> None:
    """No module imports a layer above its own (core at the bottom, main at the top)."""
    here = _name(path)
    for target in _targets(path):
        assert _layer(target) <= _layer(here), f"{here} imports {target}, which sits above it"


@pytest.mark.parametrize("path", MODULES, ids=lambda p: str(p.relative_to(SRC)))
def test_the_function_imports_only_itself_relatively(path: Path) -> None:
    """src/ imports its own modules relatively (Appwrite loads it as function.src.main), never the operator
    tools, the development kit or the tests."""
    for node in _imports(path):
        names = [alias.name for alias in node.names] if isinstance(node, ast.Import) else [node.module or ""]
        if isinstance(node, ast.ImportFrom) and node.level:
            continue
        for name in names:
            assert name.split(".")[0] not in {"src", "ops", "devkit", "tests", "scripts", "function"}, \
                f"{path.relative_to(SRC)} imports {name}"


def test_only_the_delivery_edge_imports_the_sdk() -> None:
    """One package speaks to Appwrite; the rest of the function is SDK-free."""
    users = {
        _name(path) for path in MODULES for node in _imports(path)
        if any(n.split(".")[0] == "appwrite" for n in
               ([a.name for a in node.names] if isinstance(node, ast.Import) else [node.module or ""]))
    }
    assert users == {"delivery.appwrite_store", "delivery.sdk_errors"}


def test_only_main_reads_the_environment() -> None:
    """Configuration is read once, at the edge: no module but main imports os."""
    readers = {_name(path) for path in MODULES for node in _imports(path)
               if isinstance(node, ast.Import) and any(alias.name == "os" for alias in node.names)}
    assert readers == {"main"}


def test_the_operator_tools_live_outside_the_deployed_tree() -> None:
    """Bootstrap, history and test alerts are in ops/, which the function never imports and Appwrite never
    receives."""
    assert (REPO / "ops").is_dir() and not (SRC / "provision.py").exists() and not (SRC / "history.py").exists()
