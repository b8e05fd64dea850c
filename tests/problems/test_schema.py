"""The problem-set file: strict loading, errors that name the file, line, problem and field."""

from __future__ import annotations

from pathlib import Path

import pytest

from chainrule.problems.errors import FormatError
from chainrule.problems.schema import load_set
from chainrule.problems.tomlw import dumps


def load_text(tmp_path: Path, text: str):  # type: ignore[no-untyped-def]
    p = tmp_path / "s.toml"
    p.write_text(text, encoding="utf-8")
    return load_set(p)


GOOD = """
[set]
format = 1
title = "t"

[[problem]]
id = "p1"
kind = "derivation"
vars = { a = "real" }
prove = "diff(sigma(a), a) == sigma(a)*(1 - sigma(a))"
"""


def test_a_good_set_loads(tmp_path: Path) -> None:
    s = load_text(tmp_path, GOOD)
    assert s.title == "t" and [p.id for p in s.problems] == ["p1"]
    assert s.problems[0].parts[0].id == "" and s.problems[0].points == 1.0


@pytest.mark.parametrize(
    ("text", "message", "line"),
    [
        (GOOD.replace('title = "t"', 'title = "t"\ncolour = 3'), "unknown key 'colour'", 5),
        (GOOD.replace("format = 1", "format = 2"), "format 2 is not supported", 3),
        (GOOD.replace('kind = "derivation"', 'kind = "essay"'), "unknown kind 'essay'", 8),
        (GOOD.replace('id = "p1"', 'id = "p 1"'), "the id 'p 1'", 7),
        (GOOD.replace('id = "p1"', 'id = "p1\\n"'), "the id 'p1\\n'", 7),
        (
            GOOD + "\n[[problem]]\nid = 'p1'\nkind = 'derivation'\nvars = {a='real'}\nfind = 'a'\n",
            "a second problem",
            12,
        ),
        (
            GOOD.replace('vars = { a = "real" }', 'vars = { a = "real" }\nsize = [1, 2]'),
            "unknown key 'size'",
            10,
        ),
        (GOOD.replace("[set]", "[set]\nformat = 1"), "not valid TOML", None),
        (GOOD.replace('id = "p1"', "id = 3"), "the id 3", 7),
    ],
)
def test_errors_name_where(tmp_path: Path, text: str, message: str, line: int | None) -> None:
    with pytest.raises(FormatError) as exc:
        load_text(tmp_path, text)
    assert message in str(exc.value)
    assert exc.value.file is not None and exc.value.file.endswith("s.toml")
    if line is not None:
        assert exc.value.line == line, str(exc.value)


def test_files_that_are_not_sets(tmp_path: Path) -> None:
    with pytest.raises(FormatError, match="directory"):
        load_set(tmp_path)
    (tmp_path / "bin.toml").write_bytes(b"\xff\xfe\x00")
    with pytest.raises(FormatError, match="UTF-8"):
        load_set(tmp_path / "bin.toml")
    with pytest.raises(FormatError, match="no \\[\\[problem\\]\\]"):
        load_text(tmp_path, "[set]\nformat = 1\n")
    with pytest.raises(FormatError, match="cannot read"):
        load_set(tmp_path / "missing.toml")


def test_the_seed_set_round_trips_through_the_writer(seed_set) -> None:  # type: ignore[no-untyped-def]
    import tomllib

    text = dumps(seed_set.raw)
    assert tomllib.loads(text) == seed_set.raw
