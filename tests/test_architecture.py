"""Imports point down (docs/architecture.md); the public SDK surface matches ``__all__``."""

from __future__ import annotations

import ast
import types
from pathlib import Path

import pytest

import heron

SRC = Path(__file__).resolve().parent.parent / "src" / "heron"

# package -> the heron packages it may import (besides itself)
ALLOWED: dict[str, set[str]] = {
    "errors": set(),
    "schema": {"errors"},
    "pricing": {"schema", "errors"},
    "stats": set(),
    "enrich": {"schema", "errors", "stats"},
    "analytics": {"schema", "errors", "stats", "store"},
    "sdk": {"schema", "errors"},
    "agent": {"schema", "errors", "sdk"},
    "store": {"schema", "stats", "errors", "pricing", "enrich"},
    "demo": {"schema", "errors", "sdk", "server", "stats"},
    "server": {"schema", "stats", "errors", "store", "pricing", "enrich", "analytics"},
    "cli": {"server", "demo", "errors", "cli_metrics", "cli_ux", "cli_drift", "cli_mapping", "agent"},
    "cli_drift": {"cli_metrics"},
    "cli_mapping": {"cli_drift", "cli_metrics"},
    "cli_metrics": set(),
    "cli_ux": {"cli_metrics"},
}


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
    return found


def _package(path: Path) -> str:
    rel = path.relative_to(SRC)
    return rel.parts[0].removesuffix(".py") if len(rel.parts) > 1 else rel.stem


@pytest.mark.parametrize("path", sorted(p for p in SRC.rglob("*.py") if p.name != "__init__.py" or p.parent != SRC), ids=str)
def test_imports_point_down(path: Path) -> None:
    package = _package(path)
    allowed = ALLOWED.get(package)
    assert allowed is not None, f"{package} is not in the layering table"
    for name in _imports(path):
        if name == "heron":
            assert package in ("demo", "cli"), f"{path}: only the demo and CLI may use the SDK surface"
            continue
        if not name.startswith("heron."):
            if name.split(".")[0] == "duckdb":
                assert path.parent.name == "store", f"{path}: only the store may import duckdb"
            continue
        target = name.split(".")[1]
        assert target == package or target in allowed, f"{path}: {package} must not import heron.{target}"


def test_only_the_demo_runner_imports_the_server() -> None:
    for path in (SRC / "demo").rglob("*.py"):
        if path.name != "run.py":
            assert not any(n.startswith("heron.server") for n in _imports(path)), path


def test_sdk_surface_matches_all() -> None:
    public = {
        name for name, value in vars(heron).items()
        if not name.startswith("_") and not isinstance(value, types.ModuleType) and name != "annotations"
    }
    assert public == set(heron.__all__) - {"__version__"}
    for name in heron.__all__:
        assert hasattr(heron, name)


def test_every_setting_is_documented() -> None:
    from heron.sdk.settings import SETTINGS
    from heron.server.settings import ENVIRONMENT

    doc = (SRC.parent.parent / "docs" / "configuration.md").read_text(encoding="utf-8")
    for variable in [*ENVIRONMENT, *(s.env for s in SETTINGS.values())]:
        assert f"`{variable}`" in doc, f"{variable} is missing from docs/configuration.md"
