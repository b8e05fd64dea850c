"""The threshold unit of the seed's Q2: constraint tables and solving for weights."""

from fractions import Fraction

import numpy as np
import pytest

from chainrule.linear import NotSeparable, ThresholdUnit

Q2_X = [[0, 0], [0, -1], [1, 0], [1, -1]]
Q2_Y = [1, 1, 0, 0]


def test_seed_q2_weights_check_out_constraint_by_constraint() -> None:
    unit = ThresholdUnit([-1, 0], 0)  # w1 = -1, w2 = 0, w0 = 0
    table = unit.check(Q2_X, Q2_Y)
    assert table.ok and len(table) == 4
    texts = [c.text for c in table]
    assert texts == [
        "w1(0) + w2(0) - w0 >= 0",
        "w1(0) + w2(-1) - w0 >= 0",
        "w1(1) + w2(0) - w0 < 0",
        "w1(1) + w2(-1) - w0 < 0",
    ]
    assert [c.simplified for c in table] == [
        "-w0 >= 0",
        "-w2 - w0 >= 0",
        "w1 - w0 < 0",
        "w1 - w2 - w0 < 0",
    ]
    assert [c.value for c in table] == [0, 0, -1, -1]
    assert all(isinstance(c.value, Fraction) for c in table)
    # (1) and (2) hold with equality: only the non-strict z >= 0 makes them hold.
    assert [c.tight for c in table] == [True, True, False, False]
    text = str(table)
    assert "(1)  -(0) = 0 >= 0" in text and "(4)  (-1) - (0) - (0) = -1 < 0" in text
    assert "all 4 constraints hold" in text


def test_strict_convention_breaks_the_seed_weights() -> None:
    table = ThresholdUnit([-1, 0], 0, strict=True).check(Q2_X, Q2_Y)
    assert not table.ok
    assert [c.index for c in table.failed] == [1, 2]
    assert table.constraints[0].text.endswith("- w0 > 0")


def test_bias_sign_plus() -> None:
    unit = ThresholdUnit([-2, 0], 1, bias_sign=1)
    assert unit.convention == "z = w1·x1 + w2·x2 + w0; output 1 iff z ≥ 0"
    assert unit.check(Q2_X, Q2_Y).ok
    assert unit.check(Q2_X, Q2_Y).constraints[0].text == "w1(0) + w2(0) + w0 >= 0"


def test_failing_weights_are_reported() -> None:
    table = ThresholdUnit([1, 0], 0).check(Q2_X, Q2_Y)
    assert not table.ok and [c.index for c in table.failed] == [3, 4]
    assert "FAILS" in str(table) and "(3), (4) fail" in str(table)


def test_fit_finds_small_integer_weights_for_the_seed() -> None:
    unit = ThresholdUnit.fit(Q2_X, Q2_Y)
    assert unit.exact
    assert all(Fraction(w).denominator == 1 for w in (*unit.weights, unit.w0))
    assert unit.check(Q2_X, Q2_Y).ok
    np.testing.assert_array_equal(unit.predict(np.array(Q2_X, float)), Q2_Y)
    strict = ThresholdUnit.fit(Q2_X, Q2_Y, strict=True, bias_sign=1)
    assert strict.check(Q2_X, Q2_Y).ok


@pytest.mark.parametrize("seed", range(3))
def test_fit_random_separable_points(seed: int) -> None:
    rng = np.random.default_rng(seed)
    X = rng.integers(-5, 6, size=(30, 3)).astype(float)
    w = rng.normal(size=3)
    f = X @ w + 0.5
    y = (f > 0).astype(int)
    if len(set(y.tolist())) < 2:
        return
    unit = ThresholdUnit.fit(X, y)
    assert unit.check(X, y).ok


def test_fit_xor_raises_with_certificate() -> None:
    with pytest.raises(NotSeparable) as info:
        ThresholdUnit.fit([[0, 0], [0, 1], [1, 0], [1, 1]], [0, 1, 1, 0])
    assert str(info.value.certificate) == "½·(0,1) + ½·(1,0) = ½·(0,0) + ½·(1,1)"


def test_bad_input() -> None:
    with pytest.raises(ValueError, match="3 columns but the unit has 2"):
        ThresholdUnit([1, 2], 0).check([[1, 2, 3]], [1])
    with pytest.raises(ValueError, match="row 0, column 1"):
        ThresholdUnit([1, 2], 0).check([[1, float("inf")]], [1])
    with pytest.raises(ValueError, match="bias_sign"):
        ThresholdUnit([1], 0, bias_sign=2)
    with pytest.raises(ValueError, match="single class"):
        ThresholdUnit.fit([[0], [1]], [1, 1])


def test_fit_decimal_data_prefers_small_integers() -> None:
    X = [[0.1, 0.3], [0.9, 0.2], [0.35, 0.7], [0.8, 0.9]]
    y = [1, 0, 1, 0]
    unit = ThresholdUnit.fit(X, y)
    assert unit.check(X, y).ok
    assert all(abs(int(w)) <= 1000 for w in (*unit.weights, unit.w0))  # not 2^55-sized


def test_constraint_table_latex() -> None:
    tex = ThresholdUnit([-1, 0], 0).check(Q2_X, Q2_Y).to_latex()
    assert r"w_{1}(0) + w_{2}(-1) - w_{0} \ge 0 &\quad (2)" in tex
    assert r"(3):\ (-1) - (0) = -1 < 0 &\quad \checkmark" in tex
    failing = ThresholdUnit([1, 0], 0).check(Q2_X, Q2_Y).to_latex()
    assert r"(3):\ (1) - (0) = 1 < 0 &\quad \times" in failing


def test_decimal_coordinates_are_written_as_decimals_in_every_column() -> None:
    # "1/2w1" would read as 1/(2·w1): a data coefficient is written as the data are.
    table = ThresholdUnit([-35, 20], -4).check([[0.5, 0.9], [0.3, 0.1]], [1, 0])
    first = table.constraints[0]
    assert first.simplified == "0.5w1 + 0.9w2 - w0 >= 0"
    assert first.substituted.startswith("0.5(-35) + 0.9(20) - (-4) = ")
    assert table.ok
