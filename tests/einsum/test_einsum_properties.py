"""Property tests: random einsum expressions against ``numpy.einsum``.

Expressions have 1–6 operands, repeated labels (diagonals), ellipses with broadcasting, size-1 labels that
broadcast, size-0 dimensions and mixed float dtypes. The reference is ``numpy.einsum(optimize=False)`` on
the same string when NumPy accepts it; when the output omits the ellipsis (which we sum, see notation.py)
the reference gets the ellipsis written out as explicit labels.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from chainrule.backend import to_numpy
from chainrule.einsum import einsum, einsum_path, parse
from chainrule.einsum.notation import label_letters

LETTERS = "abcdefg"


@dataclass
class Case:
    subscripts: str
    operands: list[np.ndarray]
    optimize: object

    def __repr__(self) -> str:
        shapes = [(a.shape, str(a.dtype)) for a in self.operands]
        return f"Case({self.subscripts!r}, {shapes}, optimize={self.optimize!r})"


@st.composite
def cases(draw: st.DrawFn) -> Case:
    n_ops = draw(st.integers(1, 6))
    n_labels = draw(st.integers(1, 6))
    letters = LETTERS[:n_labels]
    size = {x: draw(st.sampled_from([0, 1, 2, 3, 3, 2])) for x in letters}
    # Keep the naive loop (NumPy's reference) small.
    n_ell = draw(st.integers(0, 2))
    ell_size = [draw(st.integers(1, 3)) for _ in range(n_ell)]
    terms: list[str] = []
    shapes: list[tuple[int, ...]] = []
    for _ in range(n_ops):
        labels = draw(st.lists(st.sampled_from(letters), min_size=0, max_size=4))
        shape = []
        broadcast = {x: draw(st.booleans()) and draw(st.booleans()) for x in set(labels)}
        for x in labels:
            shape.append(1 if broadcast[x] else size[x])
        use_ell = n_ell > 0 and draw(st.booleans())
        if use_ell:
            k = draw(st.integers(0, n_ell))
            ell_shape = [
                1 if draw(st.booleans()) and draw(st.booleans()) else d
                for d in ell_size[n_ell - k :]
            ]
            pos = draw(st.integers(0, len(labels)))
            labels = [*labels[:pos], "...", *labels[pos:]]
            shape = [*shape[:pos], *ell_shape, *shape[pos:]]
        terms.append("".join(labels))
        shapes.append(tuple(shape))
    used = sorted({ch for t in terms for ch in t if ch.isalpha()})
    has_ell = any("..." in t for t in terms)
    explicit = draw(st.booleans())
    subscripts = ",".join(terms)
    if explicit:
        out = draw(st.permutations(used))
        out = out[: draw(st.integers(0, len(out)))]
        text = "".join(out)
        if has_ell and draw(st.integers(0, 3)) > 0:
            pos = draw(st.integers(0, len(text)))
            text = text[:pos] + "..." + text[pos:]
        subscripts += "->" + text
    dtypes = [draw(st.sampled_from([np.float64, np.float64, np.float32])) for _ in shapes]
    seed = draw(st.integers(0, 2**16))
    rng = np.random.default_rng(seed)
    operands = [rng.standard_normal(s).astype(dt) for s, dt in zip(shapes, dtypes, strict=True)]
    optimize = draw(st.sampled_from(["auto", "auto", "greedy", "optimal", False]))
    return Case(subscripts, operands, optimize)


def reference(case: Case) -> np.ndarray:
    """numpy.einsum on the expression with every label (ellipsis dims included) spelled out."""
    spec = parse(case.subscripts, *case.operands)
    letters = label_letters(spec.labels())
    # NumPy's size-1 broadcasting of labels only works across operands; spell those dims out too.
    terms = ",".join("".join(letters[x] for x in t) for t in spec.inputs)
    out = "".join(letters[x] for x in spec.output)
    wide = [a.astype(np.float64) for a in case.operands]
    return np.einsum(f"{terms}->{out}", *wide)


@settings(max_examples=150)
@given(cases())
def test_matches_numpy(case: Case) -> None:
    got = einsum(case.subscripts, *case.operands, optimize=case.optimize)
    want = reference(case)
    expected_dtype = np.result_type(*case.operands)
    assert got.dtype == expected_dtype
    assert got.shape == want.shape
    tol = 1e-4 if expected_dtype == np.float32 else 1e-10
    np.testing.assert_allclose(got, want, rtol=tol, atol=tol * 10)
    # Where NumPy itself accepts the string, it agrees on the shape too.
    try:
        direct = np.einsum(case.subscripts, *case.operands)
    except ValueError:
        return
    assert direct.shape == got.shape


@settings(max_examples=100)
@given(cases())
def test_sublist_form_matches_string_form(case: Case) -> None:
    spec = parse(case.subscripts, *case.operands)
    # Relabel with tuples (hashable, not letters) and call the sublist form.
    names = {x: ("label", k) for k, x in enumerate(spec.labels())}
    args: list[object] = []
    for a, term in zip(case.operands, spec.inputs, strict=True):
        args += [a, [names[x] for x in term]]
    args.append([names[x] for x in spec.output])
    got = einsum(*args)
    want = reference(case)
    tol = 1e-4 if got.dtype == np.float32 else 1e-10
    np.testing.assert_allclose(got, want, rtol=tol, atol=tol * 10)


@settings(max_examples=25)
@given(cases())
def test_array_api_strict_matches_numpy(case: Case) -> None:
    xp = pytest.importorskip("array_api_strict")
    arrays = [xp.asarray(a) for a in case.operands]
    got = to_numpy(einsum(case.subscripts, *arrays, optimize=case.optimize))
    want = reference(case)
    tol = 1e-4 if got.dtype == np.float32 else 1e-10
    assert got.shape == want.shape
    np.testing.assert_allclose(got, want, rtol=tol, atol=tol * 10)


@settings(max_examples=100)
@given(cases())
def test_flops_never_above_opt_einsum_auto(case: Case) -> None:
    oe = pytest.importorskip("opt_einsum")
    try:
        _, theirs = oe.contract_path(case.subscripts, *case.operands, optimize="auto")
    except (ValueError, TypeError):
        return  # a broadcasting form opt_einsum does not accept
    _, ours = einsum_path(case.subscripts, *case.operands)
    assert ours.opt_cost <= int(theirs.opt_cost)
    assert ours.naive_cost == int(theirs.naive_cost)
