"""The random draws of ``[problem.random]`` tables: bounds, determinism, constraints, errors."""

import itertools
from fractions import Fraction

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from chainrule.problems.draws import (
    DRAWS,
    MAX_DRAW_ITEMS,
    draw_table,
    draw_value,
    rule_length,
    validate_rule,
)
from chainrule.problems.errors import FormatError


def rng(seed: int = 0) -> np.random.Generator:
    return np.random.default_rng(seed)


def _det3(a: list[int], b: list[int], c: list[int]) -> int:
    """Twice the signed area of the triangle abc: zero exactly when the points are collinear."""
    return (b[0] - a[0]) * (c[1] - a[1]) - (b[1] - a[1]) * (c[0] - a[0])


def _coplanar(p: list[list[int]]) -> bool:
    """Four 3-D integer points on one plane (exact determinant)."""
    m = [[p[i][j] - p[0][j] for j in range(3)] for i in range(1, 4)]
    det = (
        m[0][0] * (m[1][1] * m[2][2] - m[1][2] * m[2][1])
        - m[0][1] * (m[1][0] * m[2][2] - m[1][2] * m[2][0])
        + m[0][2] * (m[1][0] * m[2][1] - m[1][1] * m[2][0])
    )
    return det == 0


def test_every_draw_is_documented() -> None:
    assert set(DRAWS) == {"int", "real", "choice", "int_vector", "points", "labels"}
    for name, spec in DRAWS.items():
        assert spec.doc and "\n" not in spec.doc
        assert spec.signature.startswith(name + " {")
    assert DRAWS["int_vector"].signature == "int_vector {size, low, high, nonzero = false}"


@given(st.integers(0, 2**32), st.integers(-50, 50), st.integers(0, 50))
def test_int_within_bounds_and_plain(seed: int, low: int, width: int) -> None:
    v = draw_value({"draw": "int", "low": low, "high": low + width}, rng(seed), field="k")
    assert type(v) is int
    assert low <= v <= low + width


@given(st.integers(0, 2**32), st.integers(0, 4))
def test_real_has_its_digits_and_stays_in_range(seed: int, digits: int) -> None:
    rule = {"draw": "real", "low": -0.25, "high": 1.75, "digits": digits}
    v = draw_value(rule, rng(seed), field="r")
    assert type(v) is float
    assert -0.25 <= v <= 1.75
    # The value is a decimal with at most `digits` places (its shortest repr says so).
    assert Fraction(repr(v)) * 10**digits == int(Fraction(repr(v)) * 10**digits)


def test_real_digits_default_to_one() -> None:
    values = {
        draw_value({"draw": "real", "low": 0, "high": 1}, rng(s), field="r") for s in range(50)
    }
    assert values <= {k / 10 for k in range(11)}
    assert len(values) > 3


def test_real_with_no_decimal_in_range_is_an_error() -> None:
    with pytest.raises(FormatError, match="no number with 1 decimal places"):
        validate_rule({"draw": "real", "low": 0.01, "high": 0.04}, "r")


def test_choice_picks_one_of_the_values_and_copies_it() -> None:
    values = [[1, 2], [3, 4]]
    seen = [draw_value({"draw": "choice", "values": values}, rng(s), field="c") for s in range(20)]
    assert all(v in values for v in seen)
    assert {tuple(v) for v in seen} == {(1, 2), (3, 4)}
    seen[0].append(99)
    assert values == [[1, 2], [3, 4]]  # the rule is not changed through a drawn value


@given(st.integers(0, 2**32), st.integers(1, 8), st.booleans())
def test_int_vector_bounds_size_and_nonzero(seed: int, size: int, nonzero: bool) -> None:
    rule = {"draw": "int_vector", "size": size, "low": -2, "high": 2, "nonzero": nonzero}
    v = draw_value(rule, rng(seed), field="x_plus")
    assert len(v) == size
    assert all(type(x) is int and -2 <= x <= 2 for x in v)
    if nonzero:
        assert 0 not in v


def test_int_vector_nonzero_reaches_both_ends() -> None:
    rule = {"draw": "int_vector", "size": 200, "low": -1, "high": 1, "nonzero": True}
    assert set(draw_value(rule, rng(1), field="v")) == {-1, 1}


def test_same_seed_same_value() -> None:
    rule = {"draw": "points", "n": 6, "dim": 2, "low": -4, "high": 4}
    assert draw_value(rule, rng(7), field="p") == draw_value(rule, rng(7), field="p")


@given(st.integers(0, 2**32), st.integers(3, 9))
def test_points_in_general_position_2d(seed: int, n: int) -> None:
    rule = {"draw": "points", "n": n, "dim": 2, "low": -3, "high": 3}
    pts = draw_value(rule, rng(seed), field="points")
    assert len(pts) == n and all(len(p) == 2 for p in pts)
    assert all(type(c) is int and -3 <= c <= 3 for p in pts for c in p)
    assert len({tuple(p) for p in pts}) == n
    for a, b, c in itertools.combinations(pts, 3):
        assert _det3(a, b, c) != 0, (a, b, c)


@given(st.integers(0, 2**32))
def test_points_in_general_position_3d(seed: int) -> None:
    rule = {"draw": "points", "n": 7, "dim": 3, "low": -3, "high": 3}
    pts = draw_value(rule, rng(seed), field="points")
    for quad in itertools.combinations(pts, 4):
        assert not _coplanar(list(quad))


def test_points_without_general_position_may_be_collinear_but_are_distinct() -> None:
    rule = {"draw": "points", "n": 9, "dim": 2, "low": 0, "high": 2, "general_position": False}
    pts = draw_value(rule, rng(0), field="points")
    assert sorted(map(tuple, pts)) == [(i, j) for i in range(3) for j in range(3)]


def test_too_many_points_for_the_grid() -> None:
    with pytest.raises(FormatError, match="only 9 distinct integer points") as exc:
        validate_rule({"draw": "points", "n": 10, "dim": 2, "low": 0, "high": 2}, "points")
    assert exc.value.field == "random.points"
    with pytest.raises(FormatError, match="at most 6 integer points"):
        validate_rule({"draw": "points", "n": 7, "dim": 2, "low": 0, "high": 2}, "points")


@given(st.integers(0, 2**32), st.integers(2, 12))
def test_labels_hold_every_value(seed: int, n: int) -> None:
    v = draw_value({"draw": "labels", "n": n}, rng(seed), field="labels")
    assert len(v) == n
    assert set(v) == {0, 1}
    w = draw_value({"draw": "labels", "n": n, "values": ["a", "b"]}, rng(seed), field="labels")
    assert set(w) == {"a", "b"}


def test_labels_cannot_hold_every_value() -> None:
    with pytest.raises(FormatError, match="cannot hold each of the 3 values"):
        validate_rule({"draw": "labels", "n": 2, "values": [0, 1, 2]}, "labels")
    with pytest.raises(FormatError, match="labels must differ"):
        validate_rule({"draw": "labels", "n": 4, "values": [1, 1.0]}, "labels")


@pytest.mark.parametrize(
    ("rule", "message"),
    [
        ({"draw": "dice", "low": 1}, "unknown draw 'dice'"),
        ({"low": 1, "high": 2}, "no draw"),
        ("int_vector(3, -5, 5)", "a rule is a table"),
        ({"draw": "int", "low": 1}, "needs 'high'"),
        ({"draw": "int", "low": 1, "high": 2, "size": 3}, "unknown key 'size'"),
        ({"draw": "int", "low": 3, "high": 2}, "low = 3 is greater than high = 2"),
        ({"draw": "int", "low": 1.5, "high": 2}, "low must be an integer"),
        ({"draw": "int", "low": True, "high": 2}, "low must be an integer"),
        ({"draw": "int_vector", "size": 1001, "low": 0, "high": 1}, "size = 1001"),
        ({"draw": "int_vector", "size": 3, "low": 0, "high": 0, "nonzero": True}, "nonzero"),
        ({"draw": "points", "n": 500, "dim": 3, "low": 0, "high": 99}, "1500 coordinates"),
        ({"draw": "points", "n": 200, "dim": 2, "low": -99, "high": 99}, "general position takes"),
        ({"draw": "choice", "values": []}, "non-empty array"),
        ({"draw": "choice", "values": list(range(MAX_DRAW_ITEMS + 1))}, "the limit is 1000"),
        ({"draw": "real", "low": 0, "high": 1, "digits": 13}, "digits = 13"),
    ],
)
def test_bad_rules_name_their_field(rule: object, message: str) -> None:
    with pytest.raises(FormatError, match=message) as exc:
        validate_rule(rule, "x_plus")
    assert exc.value.field == "random.x_plus"
    with pytest.raises(FormatError) as exc2:
        draw_value(rule, rng(), field="x_plus")
    assert exc2.value.field == "random.x_plus"


def test_validate_rule_fills_in_defaults() -> None:
    params = validate_rule({"draw": "points", "n": 3, "dim": 2, "low": 0, "high": 5}, "p")
    assert params["general_position"] is True
    assert validate_rule({"draw": "labels", "n": 3}, "l")["values"] == [0, 1]


def test_rule_length() -> None:
    assert rule_length({"draw": "int_vector", "size": 3, "low": 0, "high": 1}) == 3
    assert rule_length({"draw": "points", "n": 5, "dim": 2, "low": 0, "high": 9}) == 5
    assert rule_length({"draw": "labels", "n": 4}) == 4
    assert rule_length({"draw": "choice", "values": [[1], [2]]}) is None
    assert rule_length("x") is None


def test_draw_table_skips_require_and_max_tries() -> None:
    table = {
        "x_plus": {"draw": "int_vector", "size": 2, "low": 0, "high": 3},
        "require": "x_plus != x_minus",
        "max_tries": 50,
        "x_minus": {"draw": "int_vector", "size": 2, "low": 0, "high": 3},
    }
    out = draw_table(table, rng(3))
    assert list(out) == ["x_plus", "x_minus"]
    assert draw_table(table, rng(3)) == out
    assert list(draw_table(table, rng(3), fields=("x_minus",))) == ["x_minus"]
