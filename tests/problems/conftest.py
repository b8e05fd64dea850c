"""Shared helpers for the problem-set tests: sets written as TOML text and loaded strictly."""

from __future__ import annotations

from pathlib import Path

import pytest

from chainrule.problems.schema import ProblemSet, load_set


@pytest.fixture(scope="session")
def seed_set() -> ProblemSet:
    from chainrule.problems.solve import load_seed_set

    return load_seed_set()


@pytest.fixture
def write_set(tmp_path: Path):  # type: ignore[no-untyped-def]
    """Write TOML text to a file and load it as a set."""

    def write(text: str, name: str = "set.toml") -> ProblemSet:
        path = tmp_path / name
        path.write_text(text, encoding="utf-8")
        return load_set(path)

    return write
