"""Variants: require conditions, rules that cannot be met, and statements that show the drawn givens."""

from __future__ import annotations

import pytest

from chainrule.problems.errors import FormatError
from chainrule.problems.generate import make_variant, make_variants, variant_seed

SET = """
[set]
format = 1

[[problem]]
id = "plane"
kind = "bisector"
statement = "Bisect {{x_plus}} and {{x_minus}}."
x_plus = [1, 2]
x_minus = [3, 4]
[problem.random]
x_plus = { draw = "int_vector", size = 2, low = -3, high = 3 }
x_minus = { draw = "int_vector", size = 2, low = -3, high = 3 }
require = ["x_plus != x_minus", "norm(x_plus - x_minus) > 2"]

[[problem]]
id = "net"
kind = "backprop"
edges = ["x->n1", "n1->n2"]
loss_from = ["n2"]
[problem.random]
edges = { draw = "dag", nodes = 4, skip = true }
require = ["1 > 0"]
"""


def test_require_conditions_hold_in_every_variant(write_set) -> None:  # type: ignore[no-untyped-def]
    pset = write_set(SET)
    for v in make_variants(pset, [f"s{k}" for k in range(12)], 1, SET):
        plane = v.pset.problem("plane")
        p, m = plane.givens["x_plus"], plane.givens["x_minus"]
        assert sum((a - b) ** 2 for a, b in zip(p, m, strict=True)) > 4
        assert plane.statement == f"Bisect ({p[0]}, {p[1]}) and ({m[0]}, {m[1]})."
        assert v.data["problem"][0]["statement"] == plane.statement
        assert v.pset.problem("net").givens["edges"] != ["x->n1", "n1->n2"]


def test_a_rule_that_cannot_be_met_is_the_authors_error(write_set) -> None:  # type: ignore[no-untyped-def]
    text = SET.replace("norm(x_plus - x_minus) > 2", "norm(x_plus - x_minus) > 100")
    with pytest.raises(FormatError, match="no draw met the require conditions") as exc:
        make_variant(write_set(text), "s1", 1, text)
    assert exc.value.problem == "plane" and exc.value.field == "random.require"


def test_a_condition_that_cannot_be_read_names_its_field(write_set) -> None:  # type: ignore[no-untyped-def]
    text = SET.replace("norm(x_plus - x_minus) > 2", "x_plus ~ 3")
    with pytest.raises(FormatError) as exc:
        make_variant(write_set(text), "s1", 1, text)
    assert exc.value.field == "random.require"


def test_the_variant_seed_depends_on_set_student_and_seed() -> None:
    base = variant_seed("text", "alice", 1)
    assert base == variant_seed("text", "alice", 1)
    assert len({base, variant_seed("text", "bob", 1), variant_seed("text", "alice", 2)}) == 3
    assert base != variant_seed("text2", "alice", 1)


def test_a_condition_that_cannot_be_read_is_refused_at_load(write_set) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(FormatError) as exc:
        write_set(SET.replace('require = ["1 > 0"]', 'require = ["1 >"]'))
    assert exc.value.field == "random.require" and exc.value.problem == "net"
    with pytest.raises(FormatError, match="max_tries"):
        write_set(SET.replace('require = ["1 > 0"]', "max_tries = 0"))
