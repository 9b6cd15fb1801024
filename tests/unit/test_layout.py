"""The layout a new engineer reads the architecture from: wings, small modules, small C files."""

from __future__ import annotations

from pathlib import Path

from tests.conftest import REPO

PACKAGE = REPO / "src" / "dlmatrix"
MODULE_LIMIT = 400
C_LIMIT = 700
TOP_LEVEL_LIMIT = 8


def lengths(paths: list[Path]) -> dict[str, int]:
    return {str(p.relative_to(REPO)): len(p.read_text().splitlines()) for p in paths}


def test_the_package_is_in_wings_with_few_modules_left_at_the_top():
    wings = [p for p in PACKAGE.iterdir() if (p / "__init__.py").is_file()]
    assert len(wings) >= 5, wings
    top = sorted(p.name for p in PACKAGE.glob("*.py"))
    assert len(top) <= TOP_LEVEL_LIMIT, top


def test_every_wing_says_what_it_is_for():
    for init in PACKAGE.rglob("__init__.py"):
        assert init.read_text().startswith('"""'), init


def test_no_python_module_is_over_the_limit():
    found = lengths(sorted(PACKAGE.rglob("*.py")))
    assert max(found.values()) <= MODULE_LIMIT, {k: v for k, v in found.items() if v > MODULE_LIMIT}


def test_no_c_file_is_over_the_limit():
    c_dir = REPO / "src" / "c"
    found = lengths(sorted([*c_dir.rglob("*.c"), *c_dir.rglob("*.h")]))
    assert found and max(found.values()) <= C_LIMIT, {k: v for k, v in found.items() if v > C_LIMIT}
