"""Exact arithmetic helpers: floats as exact integers, the exact solver, number printing."""

from fractions import Fraction

import numpy as np
from hypothesis import given
from hypothesis import strategies as st

from chainrule.linear._exact import (
    format_coordinate,
    format_number,
    format_weight,
    integer_matrix,
    rationalize,
    solve_exact,
)

finite = st.floats(allow_nan=False, allow_infinity=False, width=64)


@given(st.lists(finite, min_size=1, max_size=12))
def test_integer_matrix_is_exact(values: list[float]) -> None:
    X = np.array(values, dtype=np.float64).reshape(-1, 1)
    Xi, S = integer_matrix(X)
    assert S > 0 and S & (S - 1) == 0  # a power of two
    for v, i in zip(values, Xi.ravel(), strict=True):
        assert isinstance(i, int)
        assert Fraction(i, S) == Fraction(v)


fractions = st.fractions(min_value=-20, max_value=20, max_denominator=7)


@given(st.integers(1, 5), st.integers(0, 3), st.data())
def test_solve_exact_recovers_the_solution(k: int, extra: int, data: st.DataObject) -> None:
    m = k + extra
    A = [[data.draw(fractions) for _ in range(k)] for _ in range(m)]
    x = [data.draw(fractions) for _ in range(k)]
    b = [sum((a * xi for a, xi in zip(row, x, strict=True)), Fraction(0)) for row in A]
    sol = solve_exact(A, b)
    rank = np.linalg.matrix_rank(np.array(A, dtype=float))
    if rank == k:
        assert sol == x
    else:
        assert sol is None


def test_solve_exact_rejects_inconsistent_systems() -> None:
    A = [[Fraction(1), Fraction(1)], [Fraction(1), Fraction(-1)], [Fraction(2), Fraction(0)]]
    assert solve_exact(A, [Fraction(2), Fraction(0), Fraction(2)]) == [1, 1]
    assert solve_exact(A, [Fraction(2), Fraction(0), Fraction(3)]) is None


def test_number_printing() -> None:
    assert format_number(Fraction(-9)) == "-9"
    assert format_number(Fraction(-3, 2)) == "-3/2"
    assert format_number(6.0) == "6"
    assert format_number(0.25) == "0.25"
    assert format_number(Fraction(10) ** 400 / 3) == "3.33333e+399"
    assert format_weight(Fraction(1, 2)) == "½"
    assert format_weight(Fraction(2, 3)) == "⅔"
    assert format_weight(Fraction(5, 9)) == "5/9"
    assert format_coordinate(Fraction(1, 2)) == "0.5"
    assert format_coordinate(Fraction(1, 3)) == "1/3"
    assert (
        format_coordinate(Fraction(0.1)) == "0.1"
    )  # the double nearest 0.1 prints as Python writes it


def test_rationalize_prefers_small_denominators() -> None:
    cand = rationalize([-0.6666666667, 0.3333333333], lambda c: c[1] != 0)
    # scaled by the largest magnitude first; denominators 1 give (-1, 0), rejected; then 2
    assert cand == [Fraction(-1), Fraction(1, 2)]
    assert rationalize([0.0, 0.0], lambda c: True) is None
    assert rationalize([1.0, 0.123456], lambda c: False) is None
    # within 1e-9 only the decimal itself qualifies: 0.123456 = 1929/15625
    assert rationalize([1.0, 0.123456], lambda c: True, rel_tol=1e-9) == [1, Fraction(1929, 15625)]
