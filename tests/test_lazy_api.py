"""The lazy public API: the three hand-kept lists of names in chainrule/__init__.py agree.

``__init__`` names each public name three times: the ``TYPE_CHECKING`` imports (for mypy), ``_SOURCES``
(where ``__getattr__`` loads it from) and ``__all__``. This test ties the copies together.
"""

from __future__ import annotations

import ast
import importlib
from pathlib import Path

import chainrule

INIT = Path(chainrule.__file__)


def _type_checking_names() -> set[str]:
    tree = ast.parse(INIT.read_text(encoding="utf-8"))
    names: set[str] = set()
    for node in tree.body:
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            for stmt in node.body:
                if isinstance(stmt, ast.ImportFrom):
                    names |= {a.asname or a.name for a in stmt.names}
    return names


def test_the_three_lists_agree() -> None:
    public = set(chainrule.__all__) - {"__version__"}
    assert public == set(chainrule._SOURCES)  # type: ignore[attr-defined]
    assert public == _type_checking_names()


def test_every_name_loads_from_its_source() -> None:
    for name, source in chainrule._SOURCES.items():  # type: ignore[attr-defined]
        assert getattr(chainrule, name) is getattr(importlib.import_module(source), name)
    assert callable(chainrule.einsum)
