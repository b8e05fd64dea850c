r"""Index notation: statements → specs, the seed's five statements, matrix expressions, and every error."""

from __future__ import annotations

import re

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import chainrule as cr
from chainrule.einsum.latex import IndexSpec, parse_index_notation

LETTERS = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"


def canonical(subscripts: str) -> str:
    """The subscripts with letters renamed a, b, c, … in order of first appearance."""
    mapping: dict[str, str] = {}
    out = []
    for ch in subscripts.replace(" ", ""):
        if ch.isalpha():
            out.append(mapping.setdefault(ch, LETTERS[len(mapping)]))
        else:
            out.append(ch)
    return "".join(out)


# -- the seed's question 5 --------------------------------------------------------------------------------

SEED = [
    (r"C_{jk} = \sum_i A_{ijk} b_i", "ijk, i -> jk", ("A", "b"), "C"),
    (r"A_{ik} = \sum_{j,l} A_{ijkl}", "ijkl -> ik", ("A",), "A"),
    (r"A_{ki} = \sum_{j,l} A_{ijkl}", "ijkl -> ki", ("A",), "A"),
    (r"C_i = \sum_{j,k} A_{ijk} A_{ijk}", "ijk, ijk -> i", ("A", "A"), "C"),
    (r"C = AG^TB", "de, fe, fl -> dl", ("A", "G", "B"), "C"),
]


@pytest.mark.parametrize(("statement", "answer", "operands", "output"), SEED)
def test_seed_statements_match_the_seed_answers(
    statement: str, answer: str, operands: tuple[str, ...], output: str
) -> None:
    spec = parse_index_notation(statement)
    assert canonical(spec.subscripts) == canonical(answer)
    assert spec.operands == operands
    assert spec.output == output


def test_seed_index_statements_keep_their_letters() -> None:
    assert cr.parse_index_notation(r"C_{jk} = \sum_i A_{ijk} b_i").subscripts == "ijk,i->jk"
    assert parse_index_notation(r"A_{ki} = \sum_{j,l} A_{ijkl}").subscripts == "ijkl->ki"
    assert parse_index_notation(r"C_i = \sum_{j,k} A_{ijk} A_{ijk}").subscripts == "ijk,ijk->i"


def test_seed_matrix_statement_with_its_declarations_gives_the_seed_letters() -> None:
    spec = parse_index_notation(
        r"C = AG^TB, A \in \mathbb{R}^{d \times e}, G \in \mathbb{R}^{f \times e}, "
        r"B \in \mathbb{R}^{f \times l}"
    )
    assert spec.subscripts == "de,fe,fl->dl"


def _loops_q1(A: np.ndarray, b: np.ndarray) -> np.ndarray:
    n_i, n_j, n_k = A.shape
    C = np.zeros((n_j, n_k))
    for j in range(n_j):
        for k in range(n_k):
            for i in range(n_i):
                C[j, k] += A[i, j, k] * b[i]
    return C


def _loops_q2(A: np.ndarray, transpose: bool) -> np.ndarray:
    n_i, n_j, n_k, n_l = A.shape
    out = np.zeros((n_k, n_i) if transpose else (n_i, n_k))
    for i in range(n_i):
        for k in range(n_k):
            s = 0.0
            for j in range(n_j):
                for l in range(n_l):
                    s += A[i, j, k, l]
            out[(k, i) if transpose else (i, k)] = s
    return out


def _loops_q4(A: np.ndarray) -> np.ndarray:
    n_i, n_j, n_k = A.shape
    C = np.zeros(n_i)
    for i in range(n_i):
        for j in range(n_j):
            for k in range(n_k):
                C[i] += A[i, j, k] * A[i, j, k]
    return C


def _loops_q5(A: np.ndarray, G: np.ndarray, B: np.ndarray) -> np.ndarray:
    n_d, n_e = A.shape
    n_f, n_l = B.shape
    C = np.zeros((n_d, n_l))
    for d in range(n_d):
        for l in range(n_l):
            for e in range(n_e):
                for f in range(n_f):
                    C[d, l] += A[d, e] * G[f, e] * B[f, l]
    return C


def test_seed_statements_evaluate_to_the_loops() -> None:
    rng = np.random.default_rng(5)
    A3, b = rng.standard_normal((3, 4, 5)), rng.standard_normal(3)
    A4 = rng.standard_normal((2, 3, 4, 5))
    A, G, B = rng.standard_normal((3, 4)), rng.standard_normal((5, 4)), rng.standard_normal((5, 2))
    cases = [
        (SEED[0][0], {"A": A3, "b": b}, _loops_q1(A3, b)),
        (SEED[1][0], {"A": A4}, _loops_q2(A4, transpose=False)),
        (SEED[2][0], {"A": A4}, _loops_q2(A4, transpose=True)),
        (SEED[3][0], {"A": A3}, _loops_q4(A3)),
        (SEED[4][0], {"A": A, "G": G, "B": B}, _loops_q5(A, G, B)),
    ]
    for statement, arrays, expected in cases:
        spec = parse_index_notation(statement)
        ordered = [arrays[n] for n in spec.operands]
        np.testing.assert_allclose(np.einsum(spec.subscripts, *ordered), expected, atol=1e-12)
        np.testing.assert_allclose(spec.evaluate(arrays), expected, atol=1e-12)
        np.testing.assert_allclose(spec.evaluate_loops(*ordered), expected, atol=1e-12)


# -- forms of index notation ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("statement", "subscripts", "operands"),
    [
        (r"C_{jk} = \sum_{i} A_{i,j,k} \cdot b_{i}", "ijk,i->jk", ("A", "b")),
        (r"C_{jk} = \sum_i A_{ijk} * b_i", "ijk,i->jk", ("A", "b")),
        (r"C_{jk} = \sum_{i=1}^{n} A_{ijk} b_i", "ijk,i->jk", ("A", "b")),
        (r"C_{jk} = \sum\limits_{i} A_{ijk} b_i", "ijk,i->jk", ("A", "b")),
        (r"$C_{jk} = \sum_i A_{ijk}\, b_i$", "ijk,i->jk", ("A", "b")),
        (r"C_{ik} = \sum_{j}\sum_{l} A_{ijkl}", "ijkl->ik", ("A",)),
        (r"C_{ik} = \sum_{j} A_{ij} \sum_{l} B_{jkl}", "ij,jkl->ik", ("A", "B")),
        (r"c = \sum_{i,j} A_{ij} B_{ij}", "ij,ij->", ("A", "B")),
        (r"C_{ij} = \sum_k (A_{ik} B_{kj})", "ik,kj->ij", ("A", "B")),
        (r"\mathbf{y}_i = \sum_j \mathbf{W}_{ij} \mathbf{x}_j", "ij,j->i", ("W", "x")),
        (r"Out_{ij} = \sum_k Wq_{ik} X2_{kj}", "ik,kj->ij", ("Wq", "X2")),
        (r"C_{ij} = \alpha A_{ij}", ",ij->ij", ("alpha", "A")),
        (r"C_{ij} = s A_{ij} t", ",ij,->ij", ("s", "A", "t")),
        (r"C_{ij} = AB_{ij}", "ij->ij", ("AB",)),
        (r"s = \sum_i x_i^2", "i,i->", ("x", "x")),
        (r"d_i = A_{ii}", "ii->i", ("A",)),
        (r"t = \sum_i A_{ii}", "ii->", ("A",)),
        (r"C_{...ik} = \sum_j A_{...ij} B_{...jk}", "...ij,...jk->...ik", ("A", "B")),
        (r"C_{ik} = \sum_{\dots, j} A_{\ldots ij} B_{jk}", "...ij,jk->ik", ("A", "B")),
        ("C[j,k] = Σ_i A[i,j,k]·b[i]", "ijk,i->jk", ("A", "b")),
        ("C_jk = sum_i A_ijk b_i", "ijk,i->jk", ("A", "b")),
        (r"C_{ij} = A_iB_j", "i,j->ij", ("A", "B")),
        ("y_i = Σ_j α·W[i,j]·x[j]", ",ij,j->i", ("alpha", "W", "x")),
    ],
)
def test_index_forms(statement: str, subscripts: str, operands: tuple[str, ...]) -> None:
    spec = parse_index_notation(statement)
    assert spec.subscripts == subscripts
    assert spec.operands == operands


def test_greek_and_multi_character_indices_get_letters_and_keep_their_labels() -> None:
    spec = parse_index_notation(r"T = \sum_{\mu,\nu} g_{\mu\nu} x_\mu x_\nu")
    assert spec.operands == ("g", "x", "x")
    assert canonical(spec.subscripts) == "ab,a,b->"
    assert sorted(dict(spec.labels).values()) == ["mu", "nu"]
    assert spec.to_latex() == r"T = \sum_{\mu,\nu} g_{\mu\nu} x_{\mu} x_{\nu}"
    assert spec.to_text() == "T = Σ_{μ,ν} g[μ,ν]·x[μ]·x[ν]"
    multi = parse_index_notation(r"y_{i1} = \sum_{j2} W_{i1,j2} x_{j2}")
    assert canonical(multi.subscripts) == "ab,b->a"
    assert multi.to_latex() == r"y_{i1} = \sum_{j2} W_{i1,j2} x_{j2}"
    # Fresh letters avoid the Latin letters the statement already uses.
    mixed = parse_index_notation(r"C_{a} = \sum_{\mu} A_{a\mu} b_{\mu}")
    assert mixed.subscripts[0] == "a" and "a" not in mixed.subscripts[1]


def test_einstein_convention_sums_repeated_indices() -> None:
    spec = parse_index_notation("c = a_i b_i", einstein=True)
    assert spec.subscripts == "i,i->"
    assert parse_index_notation("C_{ik} = A_{ij} B_{jk}", einstein=True).subscripts == "ij,jk->ik"
    # On the left, a repeated index is a free (elementwise) index, as without the convention.
    assert parse_index_notation("C_i = A_i B_i", einstein=True).subscripts == "i,i->i"
    with pytest.raises(ValueError, match=r"einstein=True"):
        parse_index_notation("c = a_i b_i")
    with pytest.raises(ValueError, match=r"index 'k' at position 17 is neither summed"):
        parse_index_notation("C_i = A_{ij} B_{jk}", einstein=True)


# -- matrix expressions -----------------------------------------------------------------------------------

MATRIX = [
    # statement, shapes by name, the same product with @
    ("C = A G^T B", {"A": (3, 4), "G": (5, 4), "B": (5, 2)}, lambda a: a["A"] @ a["G"].T @ a["B"]),
    (r"C = A^\top B", {"A": (4, 3), "B": (4, 2)}, lambda a: a["A"].T @ a["B"]),
    ("C = A^{T} B", {"A": (4, 3), "B": (4, 2)}, lambda a: a["A"].T @ a["B"]),
    ("C = A B^T", {"A": (3, 4), "B": (2, 4)}, lambda a: a["A"] @ a["B"].T),
    (r"C = A^\intercal B^{\top}", {"A": (4, 3), "B": (2, 4)}, lambda a: a["A"].T @ a["B"].T),
    (r"C = A^{\mathsf{T}} B", {"A": (4, 3), "B": (4, 2)}, lambda a: a["A"].T @ a["B"]),
    ("C = A^TB", {"A": (4, 3), "B": (4, 2)}, lambda a: a["A"].T @ a["B"]),
    ("C = ABC", {"A": (2, 3), "B": (3, 4), "C": (4, 5)}, lambda a: a["A"] @ a["B"] @ a["C"]),
    ("C = (A B)^T", {"A": (2, 3), "B": (3, 4)}, lambda a: (a["A"] @ a["B"]).T),
    (
        "C = A (B C)^T D",
        {"A": (2, 5), "B": (3, 4), "C": (4, 5), "D": (3, 2)},
        lambda a: a["A"] @ (a["B"] @ a["C"]).T @ a["D"],
    ),
    ("C = A^2", {"A": (3, 3)}, lambda a: a["A"] @ a["A"]),
    ("C = A^3 B", {"A": (3, 3), "B": (3, 2)}, lambda a: a["A"] @ a["A"] @ a["A"] @ a["B"]),
    ("y = A x", {"A": (3, 4), "x": (4,)}, lambda a: a["A"] @ a["x"]),
    ("y = x^T A", {"A": (4, 3), "x": (4,)}, lambda a: a["x"] @ a["A"]),
    ("s = x^T A x", {"A": (4, 4), "x": (4,)}, lambda a: a["x"] @ a["A"] @ a["x"]),
    ("s = x^T y", {"x": (4,), "y": (4,)}, lambda a: a["x"] @ a["y"]),
    ("C = x y^T", {"x": (3,), "y": (4,)}, lambda a: np.outer(a["x"], a["y"])),
    ("C = (x^T y) A", {"x": (3,), "y": (3,), "A": (2, 2)}, lambda a: (a["x"] @ a["y"]) * a["A"]),
    (
        r"C = \alpha A B",
        {"alpha": (), "A": (2, 3), "B": (3, 4)},
        lambda a: a["alpha"] * a["A"] @ a["B"],
    ),
    (
        r"\mathbf{C} = \mathbf{A}^T \mathbf{x}",
        {"A": (3, 2), "x": (3,)},
        lambda a: a["A"].T @ a["x"],
    ),
    (r"C = \mathrm{AG} B", {"AG": (2, 3), "B": (3, 4)}, lambda a: a["AG"] @ a["B"]),
    (r"C = \mathrm{Wq} K^T", {"Wq": (2, 3), "K": (4, 3)}, lambda a: a["Wq"] @ a["K"].T),
    ("y = Ax", {"A": (3, 4), "x": (4,)}, lambda a: a["A"] @ a["x"]),
    ("s = x^TAx", {"A": (4, 4), "x": (4,)}, lambda a: a["x"] @ a["A"] @ a["x"]),
    ("y = W1 W2x", {"W1": (2, 3), "W2": (3, 4), "x": (4,)}, lambda a: a["W1"] @ a["W2"] @ a["x"]),
    (r"C = \Sigma x", {"Sigma": (3, 3), "x": (3,)}, lambda a: a["Sigma"] @ a["x"]),
    (r"C = A \cdot B", {"A": (2, 3), "B": (3, 4)}, lambda a: a["A"] @ a["B"]),
    (r"C = \left(A B\right)^T", {"A": (2, 3), "B": (3, 4)}, lambda a: (a["A"] @ a["B"]).T),
]


@pytest.mark.parametrize(("statement", "shapes", "reference"), MATRIX)
def test_matrix_expressions_equal_the_matmul_product(statement: str, shapes, reference) -> None:  # type: ignore[no-untyped-def]
    spec = parse_index_notation(statement)
    assert sorted(set(spec.operands)) == sorted(shapes)
    rng = np.random.default_rng(0)
    arrays = {name: rng.standard_normal(shape) for name, shape in shapes.items()}
    got = np.einsum(spec.subscripts, *[arrays[n] for n in spec.operands])
    np.testing.assert_allclose(got, reference(arrays), atol=1e-12)


def test_matrix_letters_are_chosen_in_order_of_appearance() -> None:
    assert parse_index_notation("C = A G^T B").subscripts == "ab,cb,cd->ad"
    assert parse_index_notation("y = A x").subscripts == "ab,b->a"
    assert parse_index_notation("s = x^T A x").subscripts == "a,ab,b->"
    # The left side's indices name the result; fresh letters skip them.
    assert parse_index_notation("C_{ab} = B A").subscripts == "ac,cb->ab"
    assert parse_index_notation("C_{ik} = A B").subscripts == "ia,ak->ik"


def test_matrix_declarations_fix_ranks_and_letters() -> None:
    spec = parse_index_notation(r"y = A x, A \in \mathbb{R}^{m \times n}, x \in \mathbb{R}^{n}")
    assert spec.subscripts == "mn,n->m"
    # A lower-case name declared as a matrix, an upper-case one as a vector, a scalar.
    spec = parse_index_notation(
        r"z = w^T v \lambda; w \in \mathbb{R}^{n\times k}, v \in ℝ^{n}, \lambda \in \mathbb{R}"
    )
    assert spec.subscripts == "nk,n,->k"
    # Repeated size names on different axes still get different letters.
    spec = parse_index_notation(r"C = A A^T, A \in \mathbb{R}^{n \times d}")
    assert canonical(spec.subscripts) == "ab,cb->ac"


# -- errors -----------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("statement", "pattern"),
    [
        (r"C_{j} = A_{ij} b_i", r"index 'i' at position 11 is neither summed nor on the left side"),
        (r"C_{jk} = \sum_{j} A_{ijk}", r"summed index 'j' \(position 15\) also appears on the left side at position 3"),
        (r"C_{jkx} = \sum_i A_{ijk} b_i", r"index 'x' on the left side at position 5 is not on the right"),
        (r"C_{jj} = \sum_i A_{ij}", r"index 'j' is repeated on the left side at position 4"),
        (r"C = \sum_i\sum_{i} A_{i}", r"index 'i' is summed twice \(position 16\)"),
        (r"C_j = \sum_{i,k} A_{ij}", r"summed index 'k' at position 14 appears in no factor"),
        (r"C_j = A_{ij} \sum_i b_i", r"index 'i' at position 9 is used before its sum at position 18"),
        (r"C_{jk} = \sum_i A_{ijk b_i", r"unbalanced '\{' at position 18"),
        (r"C_{jk}} = A_{jk}", r"unmatched '\}' at position 6"),
        (r"C_{j] = A_j", r"unmatched '\]' at position 4"),
        (r"= \sum_i A_i", r"empty left side before '=' at position 0"),
        (r"C_{jk} = ", r"empty right side after '=' at position 7"),
        (r"C_{jk} =  \, ", r"empty right side after '=' at position 7"),
        (r"C_{jk} = \sum_i \foo_{ijk} b_i", r"unknown command '\\foo' at position 16"),
        (r"C_{jk} = \sum_i A_{ijk} \frac b_i", r"unknown command '\\frac' at position 24"),
        (r"\sum_i A_{ijk} b_i", r"expected a name, found '\\sum' at position 0"),
        (r"C_{jk} \sum_i A_{ijk} b_i", r"expected '=' after the left side, found '\\sum' at position 7"),
        (r"C_{jk} = \sum_i A_{ijk} + B_{jk}", r"'\+' at position 24: a sum of several terms is not one einsum"),
        (r"C_{jk} = \sum_i A_{ijk} b_i = D", r"unexpected '=' at position 28"),
        (r"C_{j} = \sum_i A_{i,,j}", r"empty index before ',' at position 20"),
        (r"C_{j} = \sum_i A_{1j}", r"numeric index '1' at position 18"),
        (r"C_{j} = \sum_i A_{i,1}", r"numeric index '1' at position 20"),
        (r"C = A_1", r"numeric index '1' at position 6"),
        (r"C_j = \sum_i A^T_{ij}", r"transpose of 'A' at position 13 in index notation"),
        (r"C_j = \sum_i A_{ij}^T", r"transpose of 'A' at position 13 in index notation"),
        (r"C = \sum_i (A_i B_i)^T", r"superscript on parentheses at position 11"),
        (r"C^T = A B", r"unexpected superscript '\^' at position 1"),
        (r"C = A^{-1} B", r"inverse or negative power at position 7"),
        (r"C = A^H B", r"unsupported superscript 'H' at position 6"),
        (r"C = A^0", r"power 0 at position 6"),
        (r"C = x A", r"'A' at position 6: cannot multiply"),
        (r"C = x y", r"'y' at position 6: cannot multiply"),
        (r"C = A B, A \in \mathbb{R}^{n \times m}, B \in \mathbb{R}^{k \times p}", r"inner dimensions m and k differ"),
        (r"C = A B, A \in \mathbb{R}^{2 \times 3}, B \in \mathbb{R}^{4 \times 5}", r"inner dimensions 3 and 4 differ"),
        (r"C = A, Z \in \mathbb{R}^{2}", r"declared name 'Z' at position 7 is not used"),
        (r"C = A, A \in \mathbb{R}^{2 \times 2 \times 2}", r"'A' at position 4 is declared with 3 dimensions"),
        (r"C_i = \sum_j A_{ij}, A \in \mathbb{R}^{3}", r"'A' at position 13 has 2 indices but is declared with 1"),
        (r"C_{jk} = \sum A_{ijk}", r"\\sum needs its summation indices"),
        (r"C_{jk} = \sum_{} A_{jk}", r"\\sum without indices at position 9"),
        (r"C_{ij} = A_{ij} \cdot", r"dangling product sign '\\cdot' at position 16"),
        (r"C_{ij} = \cdot A_{ij}", r"dangling product sign '\\cdot' at position 9"),
        (r"C_{ij} = A_{ij} * * B", r"dangling product sign '\*' at position 18"),
        (r"C_{ij} = A_{ij}_{k}", r"second subscript '_' at position 15"),
        (r"C_{ij} = A_{ij} # B", r"unexpected character '#' at position 16"),
        (r"C_{i...} = A_{i...j...}", r"second ellipsis in 'A' at position 19"),
        (r"C_{i} = \sum_{j} A_{\dots ij}", r"index '...' at position 20 is neither summed nor on the left side"),
        (r"C_{\dots i} = A_{i}", r"index '...' on the left side at position 3 is not on the right"),
        (r"C = A', B", r"primes are not supported"),
        ("", r"expected a name, found the end at position 0"),
    ],
)  # fmt: skip
def test_errors_name_the_token_and_its_position(statement: str, pattern: str) -> None:
    with pytest.raises(ValueError, match=pattern):
        parse_index_notation(statement)


def test_positions_point_at_the_offending_token() -> None:
    statement = r"C_{jk} = \sum_i A_{ijk} \oops b_i"
    with pytest.raises(ValueError) as info:
        parse_index_notation(statement)
    pos = int(re.search(r"position (\d+)", str(info.value)).group(1))  # type: ignore[union-attr]
    assert statement[pos:].startswith(r"\oops")


def test_non_string_input_is_a_type_error() -> None:
    with pytest.raises(TypeError):
        parse_index_notation(["C = A"])  # type: ignore[arg-type]


def test_spec_is_frozen_and_has_views() -> None:
    spec = parse_index_notation(r"C_{jk} = \sum_i A_{ijk} b_i")
    assert isinstance(spec, IndexSpec)
    assert spec.inputs == ("ijk", "i")
    assert spec.output_indices == "jk"
    assert spec.indices == ("i", "j", "k")
    assert spec.summed == ("i",)
    assert str(spec) == "C[j,k] = Σ_i A[i,j,k]·b[i]"
    with pytest.raises(AttributeError):
        spec.output = "D"  # type: ignore[misc]


PIECES = ["C", "A", "b", "AG", "=", "_", "^", "{", "}", "[", "]", "(", ")", ",", " ", "i", "ij",
          "\\sum", "Σ", "sum", "\\cdot", "*", "T", "\\top", "2", "-1", "\\alpha", "\\mu", "\\dots",
          "...", "\\in", "\\mathbb{R}", "\\times", "\\mathbf{", "\\text{where}", "\\foo", "'", "+",
          "\\left(", "\\right)", "\\", "=1", "^{n}", "ℝ", "∈", "×", "3"]  # fmt: skip


@given(st.lists(st.sampled_from(PIECES), max_size=14), st.booleans())
def test_any_text_parses_or_raises_value_error(pieces: list[str], einstein: bool) -> None:
    text = ("C_{ij} = " if einstein else "C = ") + "".join(pieces)
    try:
        spec = parse_index_notation(text, einstein=einstein)
    except ValueError:
        return
    assert parse_index_notation(spec.to_latex()) == spec
