"""Specs from einsum subscripts, Σ rendering, the parse ∘ render round trip, and the loop evaluation."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from chainrule.einsum.index_notation import canonical_subscripts
from chainrule.einsum.latex import (
    IndexSpec,
    loop_einsum,
    parse_index_notation,
    spec_from_subscripts,
)

NAMES = ["A", "B", "b", "x", "W1", "Wq", "AB", "alpha", "mu", "Sigma", "Lambda", "sum", "T3", "out"]


@st.composite
def subscripts_strategy(draw: st.DrawFn) -> str:
    """Valid einsum subscripts: 1–4 terms, repeated labels, optional ellipses, implicit or explicit output."""
    alphabet = draw(st.sampled_from(["abc", "ijkl", "abXY", "pqrsZ"]))
    n_terms = draw(st.integers(1, 4))
    terms = []
    for _ in range(n_terms):
        letters = draw(st.lists(st.sampled_from(alphabet), max_size=4))
        term = "".join(letters)
        if draw(st.integers(0, 4)) == 0:
            at = draw(st.integers(0, len(term)))
            term = term[:at] + "..." + term[at:]
        terms.append(term)
    lhs = ",".join(terms)
    if draw(st.booleans()):
        return lhs  # implicit output
    labels = sorted({ch for t in terms for ch in t if ch.isalpha()})
    out = draw(st.permutations(labels))[: draw(st.integers(0, len(labels)))]
    out_term = "".join(out)
    if any("..." in t for t in terms) and draw(st.booleans()):
        at = draw(st.integers(0, len(out_term)))
        out_term = out_term[:at] + "..." + out_term[at:]
    return lhs + "->" + out_term


@st.composite
def spec_strategy(draw: st.DrawFn) -> IndexSpec:
    subs = draw(subscripts_strategy())
    n = subs.split("->")[0].count(",") + 1
    if draw(st.booleans()):
        spec = spec_from_subscripts(subs)
    else:
        operands = draw(st.lists(st.sampled_from(NAMES), min_size=n, max_size=n))
        spec = spec_from_subscripts(subs, operands, draw(st.sampled_from(NAMES)))
    if draw(st.booleans()):
        # Declared shapes for operands written once without an ellipsis, with one size per index.
        sizes = {ch: draw(st.integers(0, 4)) for ch in spec.indices}
        shapes = [
            (name, tuple(sizes[ch] for ch in term))
            for name, term in zip(spec.operands, spec.inputs, strict=True)
            if spec.operands.count(name) == 1 and "..." not in term and draw(st.booleans())
        ]
        spec = IndexSpec(spec.subscripts, spec.operands, spec.output, spec.labels, tuple(shapes))
    return spec


@given(spec_strategy())
def test_parse_of_to_latex_is_the_identity(spec: IndexSpec) -> None:
    assert parse_index_notation(spec.to_latex()) == spec


@given(spec_strategy())
def test_parse_of_to_text_is_the_identity(spec: IndexSpec) -> None:
    assert parse_index_notation(spec.to_text()) == spec


@given(spec_strategy())
def test_einstein_rendering_round_trips_under_the_convention(spec: IndexSpec) -> None:
    assert parse_index_notation(spec.to_latex(einstein=True), einstein=True) == spec
    assert parse_index_notation(spec.to_text(einstein=True), einstein=True) == spec


def test_einstein_rendering_keeps_sums_of_indices_written_once() -> None:
    spec = spec_from_subscripts("ij,jk,l->ik", ["A", "B", "x"])
    assert spec.to_latex(einstein=True) == r"C_{ik} = \sum_{l} A_{ij} B_{jk} x_{l}"
    assert spec.to_latex() == r"C_{ik} = \sum_{j,l} A_{ij} B_{jk} x_{l}"
    assert spec._repr_latex_() == f"${spec.to_latex()}$"


def test_declared_shapes_are_read_rendered_and_checked() -> None:
    spec = parse_index_notation(
        r"C_{jk} = \sum_i A_{ijk} b_i, A \in \mathbb{R}^{4\times5\times6}, b \in \mathbb{R}^{4}"
    )
    assert spec.shapes == (("A", (4, 5, 6)), ("b", (4,)))
    assert spec.to_latex().endswith(
        r", A \in \mathbb{R}^{4 \times 5 \times 6}, b \in \mathbb{R}^{4}"
    )
    assert spec.to_text().endswith(", A ∈ ℝ^{4×5×6}, b ∈ ℝ^{4}")
    # Symbolic sizes fix letters in matrix form but give no shape; a scalar declares shape ().
    spec = parse_index_notation(
        r"y = \lambda A x, A \in \mathbb{R}^{m \times 3}, x \in ℝ^{3}, \lambda \in \mathbb{R}"
    )
    assert spec.subscripts == ",ma,a->m"
    assert spec.shapes == (("lambda", ()), ("x", (3,)))
    with pytest.raises(ValueError, match=r"index 'i' has size 4 in 'A' but 5 in 'b'"):
        parse_index_notation(r"C_{jk} = \sum_i A_{ijk} b_i, A \in ℝ^{4×5×6}, b \in ℝ^{5}")
    with pytest.raises(ValueError, match=r"left side 'C' has 2 indices but is declared with 1"):
        parse_index_notation(r"C_{jk} = \sum_i A_{ijk} b_i, C \in ℝ^{5}")
    with pytest.raises(ValueError, match=r"'A' is declared twice"):
        parse_index_notation(r"C = A, A \in ℝ^{2}, A \in ℝ^{3}")
    with pytest.raises(ValueError, match=r"declared with shape \(2,\) but its term is 'ij'"):
        IndexSpec("ij->i", ("A",), "C", (), (("A", (2,)),))
    with pytest.raises(ValueError, match=r"a shape is declared for 'Z'"):
        IndexSpec("ij->i", ("A",), "C", (), (("Z", (2, 2)),))


def test_rendering_of_the_seed_spec() -> None:
    spec = spec_from_subscripts("ijk,i->jk", ["A", "b"])
    assert spec.output == "C"
    assert spec.to_latex() == r"C_{jk} = \sum_{i} A_{ijk} b_{i}"
    assert spec.to_text() == "C[j,k] = Σ_i A[i,j,k]·b[i]"
    two = spec_from_subscripts("ijkl->ik", ["A"], "A")
    assert two.to_latex() == r"A_{ik} = \sum_{j,l} A_{ijkl}"
    assert two.to_text() == "A[i,k] = Σ_{j,l} A[i,j,k,l]"


def test_rendering_of_special_specs() -> None:
    # Default names, the next free capital for the output.
    assert spec_from_subscripts("ij,jk,kl").operands == ("A", "B", "C")
    assert spec_from_subscripts("ij,jk,kl").output == "D"
    # All scalars: empty subscripts keep the statement in index form.
    scalars = spec_from_subscripts(",->")
    assert scalars.to_latex() == "C = A_{} B_{}"
    assert scalars.to_text() == "C = A[]·B[]"
    # Ellipsis, kept and summed.
    assert spec_from_subscripts("...ij,...jk->...ik").to_latex() == (
        r"C_{\dots ik} = \sum_{j} A_{\dots ij} B_{\dots jk}"
    )
    assert spec_from_subscripts("...i->i").to_latex() == r"C_{i} = \sum_{\dots} A_{\dots i}"
    assert spec_from_subscripts("...i->i").to_text() == "C[i] = Σ_… A[…,i]"
    # Multi-letter and Greek names.
    spec = spec_from_subscripts("ij,j->i", ["Wq", "alpha"], "Sigma")
    assert spec.to_latex() == r"\Sigma_{i} = \sum_{j} \mathrm{Wq}_{ij} \alpha_{j}"
    assert spec.to_text() == "Sigma[i] = Σ_j Wq[i,j]·α[j]"


def test_equivalence_up_to_renaming_letters() -> None:
    assert canonical_subscripts("de, fe, fl -> dl") == "ab,cb,cd->ad"
    assert canonical_subscripts("ij,jk") == "ab,bc->ac"
    assert canonical_subscripts("...ij->...ji") == "...ab->...ba"
    spec = parse_index_notation("C = A G^T B")
    assert spec.equivalent("de, fe, fl -> dl")
    assert not spec.equivalent("de, ef, fl -> dl")
    assert not parse_index_notation(r"A_{ik} = \sum_{j,l} A_{ijkl}").equivalent("ijkl->ki")
    other = spec_from_subscripts("xy,zy,zw->xw", ["A", "G", "B"])
    assert spec.equivalent(other)
    assert not spec.equivalent(spec_from_subscripts("xy,zy,zw->xw"))  # operand names differ


def test_from_subscripts_normalizes_implicit_output_like_numpy() -> None:
    assert spec_from_subscripts("ij,jk").subscripts == "ij,jk->ik"
    assert spec_from_subscripts(" i j , j k ").subscripts == "ij,jk->ik"
    assert spec_from_subscripts("ii").subscripts == "ii->"
    assert spec_from_subscripts("aB").subscripts == "aB->Ba"  # code-point order, as NumPy
    assert spec_from_subscripts("...ij,...jk").subscripts == "...ij,...jk->...ik"
    assert spec_from_subscripts("i,").subscripts == "i,->i"


@pytest.mark.parametrize(
    ("subscripts", "operands", "pattern"),
    [
        ("ij,jk->ik", ["A"], "2 input terms but 1 operand names"),
        ("i$j->i", None, r"invalid character '\$' in term 0"),
        ("ij->ii", None, "output index 'i' is repeated"),
        ("ij->k", None, "output index 'k' does not appear"),
        ("i...j...->i", None, "bad ellipsis in term 0"),
        ("ij->...i", None, "output ellipsis without an input ellipsis"),
        ("i->i->i", None, "more than one '->'"),
        ("ij->i", ["1A"], "bad operand name '1A'"),
        ("ij->i", ["W_1"], "bad operand name 'W_1'"),
    ],
)
def test_from_subscripts_errors(subscripts: str, operands: list[str] | None, pattern: str) -> None:
    with pytest.raises(ValueError, match=pattern):
        spec_from_subscripts(subscripts, operands)


# -- the loop evaluation ----------------------------------------------------------------------------------


@st.composite
def einsum_case(draw: st.DrawFn) -> tuple[str, list[np.ndarray]]:
    """Subscripts with small sizes (1 and 0 included) and arrays that fit them, broadcasting included."""
    subs = draw(subscripts_strategy())
    terms = subs.split("->")[0].split(",")
    sizes = {ch: draw(st.sampled_from([1, 2, 3])) for ch in "abcijklpqrsXYZ"}
    if draw(st.integers(0, 6)) == 0:
        sizes[draw(st.sampled_from("abcijklpqrsXYZ"))] = 0
    # NumPy's explicit mode refuses to drop ellipsis dimensions, so then there are none.
    drops_ellipsis = "->" in subs and "..." not in subs.split("->")[1]
    ell = [] if drops_ellipsis else draw(st.lists(st.integers(1, 2), max_size=2))
    rng = np.random.default_rng(draw(st.integers(0, 2**16)))
    arrays = []
    for term in terms:
        head, dots, tail = term.partition("...")
        shape = [sizes[c] for c in head]
        if dots:
            k = draw(st.integers(0, len(ell)))
            # A broadcast dimension may be 1 in one operand and n in another.
            shape += [draw(st.sampled_from([1, n])) for n in ell[len(ell) - k :]]
        shape += [sizes[c] for c in tail]
        arrays.append(rng.standard_normal(shape))
    return subs, arrays


@given(einsum_case())
def test_loop_einsum_matches_numpy(case: tuple[str, list[np.ndarray]]) -> None:
    subs, arrays = case
    expected = np.einsum(subs, *arrays)
    got = loop_einsum(subs, *arrays)
    assert got.shape == expected.shape
    np.testing.assert_allclose(got, expected, atol=1e-12)


def test_loop_einsum_sums_dropped_ellipsis_dimensions() -> None:
    a = np.arange(24.0).reshape(2, 3, 4)
    np.testing.assert_allclose(loop_einsum("...i->i", a), a.sum(axis=(0, 1)))


def test_loop_einsum_broadcasts_size_one_and_keeps_dtypes() -> None:
    a = np.arange(6.0).reshape(2, 3)
    b = np.arange(3.0).reshape(1, 3)
    np.testing.assert_array_equal(loop_einsum("ij,ij->ij", a, b), a * b)
    ints = np.arange(6).reshape(2, 3)
    out = loop_einsum("ij->j", ints)
    assert out.dtype == ints.dtype
    np.testing.assert_array_equal(out, ints.sum(0))
    big = np.full(4, 2**62, dtype=np.int64)
    assert loop_einsum("i->", big) == np.einsum("i->", big)  # both wrap
    flags = np.array([[True, False], [False, False]])
    np.testing.assert_array_equal(loop_einsum("ij->i", flags), np.einsum("ij->i", flags))
    c = np.array([1 + 2j, 3 - 1j])
    np.testing.assert_allclose(loop_einsum("i,i->", c, c), np.einsum("i,i->", c, c))
    value, bound = loop_einsum(
        "i,i->", np.array([1.0, -1.0]), np.array([2.0, 2.0]), with_bound=True
    )
    assert value == 0.0 and bound == 4.0


def test_loop_einsum_errors() -> None:
    with pytest.raises(ValueError, match=r"index 'i' has size 3 in A but 4 in B"):
        loop_einsum("i,i->", np.ones(3), np.ones(4), names=["A", "B"])
    with pytest.raises(
        ValueError, match=r"operand 0 has shape \(3,\) \(1 dimensions\) but its term 'ij'"
    ):
        loop_einsum("ij->", np.ones(3))
    with pytest.raises(ValueError, match="needs 1,000 iterations"):
        loop_einsum("ij->", np.ones((10, 100)), max_iterations=999)


def test_spec_evaluates_with_the_engine_and_by_loops() -> None:
    spec = parse_index_notation(r"C_{ik} = \sum_j A_{ij} B_{jk}")
    rng = np.random.default_rng(1)
    a, b = rng.standard_normal((3, 4)), rng.standard_normal((4, 2))
    np.testing.assert_allclose(spec.evaluate(a, b), a @ b)
    np.testing.assert_allclose(spec.evaluate({"A": a, "B": b}), a @ b)
    np.testing.assert_allclose(spec.evaluate_loops(a, b), a @ b)
    with pytest.raises(ValueError, match="takes 2 operands"):
        spec.evaluate(a)
    with pytest.raises(ValueError, match="no array for operand 'B'"):
        spec.evaluate({"A": a})


def test_spec_evaluates_array_api_strict_arrays() -> None:
    xp = pytest.importorskip("array_api_strict")
    spec = parse_index_notation("C = A G^T B")
    rng = np.random.default_rng(2)
    a, g, b = rng.standard_normal((3, 4)), rng.standard_normal((5, 4)), rng.standard_normal((5, 2))
    got = spec.evaluate(xp.asarray(a), xp.asarray(g), xp.asarray(b))
    assert type(got).__module__.startswith("array_api_strict")
    np.testing.assert_allclose(np.asarray(got), a @ g.T @ b, atol=1e-12)
    loops = spec.evaluate_loops(xp.asarray(a), xp.asarray(g), xp.asarray(b))
    np.testing.assert_allclose(loops, a @ g.T @ b, atol=1e-12)
