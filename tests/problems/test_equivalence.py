"""The numeric judge: equal expressions are correct, and each kind of difference gets its diagnosis."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from chainrule.problems.equivalence import judge
from chainrule.problems.expr.scope import Scope
from chainrule.problems.tomlw import dumps

SCOPE = Scope.from_tables({"a": "real", "b": "real in [-2, 2]"})

leaves = st.sampled_from(["a", "b", "2", "0.5", "sigma(a)", "tanh(b)", "exp(b)"])
exprs = st.recursive(
    leaves,
    lambda inner: st.one_of(
        st.tuples(inner, st.sampled_from(["+", "-", "*"]), inner).map(
            lambda t: f"({t[0]} {t[1]} {t[2]})"
        ),
        inner.map(lambda t: f"softplus({t})"),
        inner.map(lambda t: f"sigma({t})"),
    ),
    max_leaves=6,
)


def run(ref: str, ans: str):  # type: ignore[no-untyped-def]
    return judge(SCOPE.parse(ref), SCOPE.parse(ans), SCOPE, problem="p", part="", answer_key=ans)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(exprs)
def test_an_expression_equals_itself_rewritten(e: str) -> None:
    v = run(e, f"0 + ({e}) * 1").verdict
    assert v.status == "correct", (e, v.summary)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(exprs, st.sampled_from([-1.0, 2.0, 3.0]))
def test_a_constant_multiple_is_named(e: str, c: float) -> None:
    j = run(e, f"{c:g} * ({e})")
    v = j.verdict
    # An expression that is zero at every point drawn is equal to its multiples.
    if v.status == "correct":
        return
    assert v.status == "wrong" and v.counterexample is not None
    expected = (
        "sign flipped: −1 × the expected answer" if c == -1 else f"{c:g} × the expected answer"
    )
    assert v.summary == expected


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(exprs, st.sampled_from(["a", "tanh(b)", "2"]))
def test_an_extra_term_is_named(e: str, t: str) -> None:
    v = run(f"{e} + sigma(a*b)", f"{e} + sigma(a*b) + {t}").verdict
    assert v.status == "wrong"
    assert f"extra term(s): + {t}" in v.diagnosis


def test_a_wrong_verdict_is_reproducible_and_names_its_point() -> None:
    a = run("1 - sigma(a)", "sigma(a)").verdict
    b = run("1 - sigma(a)", "sigma(a)").verdict
    assert a.to_dict() == b.to_dict()
    assert a.counterexample is not None and set(a.counterexample.point) == {"a"}
    assert a.seed is not None and str(a.seed) in a.method


def test_whitespace_does_not_change_the_points() -> None:
    a = run("1 - sigma(a)", "sigma(a)").verdict
    b = run("1 - sigma(a)", "  sigma( a )").verdict
    assert a.seed == b.seed and a.counterexample == b.counterexample


def test_a_reference_undefined_everywhere_is_undecided_never_wrong() -> None:
    v = run("log(-exp(a))", "a").verdict
    assert v.status == "undecided" and v.points == 0 and v.counterexample is None


def test_large_magnitudes_catch_a_narrow_domain_answer() -> None:
    # WeBWorK's trap: 1000 accepted for .1(10000 + x) on a narrow domain. Here ±800 and ±30 are drawn.
    v = run("0.1*(10000 + a)", "1000").verdict
    assert v.status == "wrong"


@settings(max_examples=60, deadline=None)
@given(
    st.dictionaries(
        st.text(min_size=1, max_size=8),
        st.one_of(
            st.text(max_size=20),
            st.integers(-(10**12), 10**12),
            st.floats(allow_nan=False, allow_infinity=False),
            st.lists(st.integers(-5, 5), max_size=4),
        ),
        max_size=5,
    )
)
def test_the_toml_writer_round_trips(data: dict[str, object]) -> None:
    import tomllib

    assert tomllib.loads(dumps({"t": data})) == {"t": data}


def test_towers_of_exponents_are_judged_not_computed() -> None:
    # At a = 800 these overflow float64; at 50 digits they are infinities for judging, never computed.
    for ans in ("exp(exp(exp(a)))", "a^(a^(a^a))", "(-a)^(a^a)"):
        v = run("1 - sigma(a)", ans).verdict
        assert v.status == "wrong" and v.counterexample is not None


def test_a_key_ending_in_a_newline_is_quoted() -> None:
    """A trailing newline is not a bare key (``$`` matches before a final newline; ``\\Z`` does not)."""
    import tomllib

    for key in ("0\n", "a-b\n", "ok"):
        assert tomllib.loads(dumps({"t": {key: ""}})) == {"t": {key: ""}}
