r"""Index-notation specs: einsum subscripts with names, rendered as Σ notation, and evaluated literally.

:class:`IndexSpec` holds einsum subscripts (explicit output), the operand names and the output name. It renders
as LaTeX (``C_{jk} = \sum_{i} A_{ijk} b_{i}``) and as plain Unicode text (``C[j,k] = Σ_i A[i,j,k]·b[i]``);
``chainrule.einsum.latex.parse_index_notation`` reads both back. :func:`spec_from_subscripts` builds a spec
from any einsum subscripts (implicit output and ellipsis included). :func:`loop_einsum` evaluates subscripts
as the literal sum, one Python loop iteration per term: the reference that checks the engine.
"""

from __future__ import annotations

import itertools
import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

__all__ = [
    "ELLIPSIS",
    "GREEK",
    "GREEK_FROM_CHAR",
    "LABEL_RE",
    "LETTERS",
    "IndexSpec",
    "canonical_subscripts",
    "is_name",
    "loop_einsum",
    "loop_iterations",
    "spec_from_subscripts",
]

# ----------------------------------------------------------------------------------------------------------
# Letters, Greek names and einsum subscripts
# ----------------------------------------------------------------------------------------------------------

#: The einsum letters, in the order fresh indices are drawn.
LETTERS = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"

GREEK: dict[str, str] = {
    "alpha": "α", "beta": "β", "gamma": "γ", "delta": "δ", "epsilon": "ϵ", "varepsilon": "ε",
    "zeta": "ζ", "eta": "η", "theta": "θ", "vartheta": "ϑ", "iota": "ι", "kappa": "κ",
    "lambda": "λ", "mu": "μ", "nu": "ν", "xi": "ξ", "pi": "π", "varpi": "ϖ", "rho": "ρ",
    "varrho": "ϱ", "sigma": "σ", "varsigma": "ς", "tau": "τ", "upsilon": "υ", "phi": "ϕ",
    "varphi": "φ", "chi": "χ", "psi": "ψ", "omega": "ω",
    "Gamma": "Γ", "Delta": "Δ", "Theta": "Θ", "Lambda": "Λ", "Xi": "Ξ", "Pi": "Π", "Sigma": "Σ",
    "Upsilon": "Υ", "Phi": "Φ", "Psi": "Ψ", "Omega": "Ω",
}  # fmt: skip
GREEK_FROM_CHAR: dict[str, str] = {ch: name for name, ch in GREEK.items()}
# Unicode variants that read as the plain letter.
GREEK_FROM_CHAR.update({"ε": "epsilon", "φ": "phi", "ϵ": "epsilon", "ϕ": "phi"})


def is_name(text: object) -> bool:
    """A letter (any alphabet) followed by letters and ASCII digits: ``A``, ``W1``, ``alpha``, ``α``."""
    return (
        isinstance(text, str)
        and text[:1].isalpha()
        and all(c.isalpha() or c in "0123456789" for c in text)
    )


LABEL_RE = re.compile(r"[A-Za-z][A-Za-z0-9]*")
ELLIPSIS = "..."


def is_scalar_greek(name: str) -> bool:
    return name in GREEK and name[0].islower()


def _split_subscripts(subscripts: str) -> tuple[list[str], str | None]:
    """Input terms and the output term (``None`` when implicit), whitespace removed; checks characters."""
    s = "".join(subscripts.split())
    if s.count("->") > 1:
        raise ValueError(f"subscripts {subscripts!r} contain more than one '->'")
    lhs, arrow, rhs = s.partition("->")
    terms = lhs.split(",")
    for k, term in enumerate([*terms, rhs] if arrow else terms):
        where = "the output" if k == len(terms) else f"term {k} {term!r}"
        rest = term.replace(ELLIPSIS, "", 1)
        if ELLIPSIS in rest or "." in rest:
            raise ValueError(f"bad ellipsis in {where} of subscripts {subscripts!r}")
        for ch in rest:
            if ch not in LETTERS:
                raise ValueError(
                    f"invalid character {ch!r} in {where} of subscripts {subscripts!r}"
                )
    return terms, (rhs if arrow else None)


def _letters(term: str) -> str:
    return term.replace(ELLIPSIS, "")


def _normalize_subscripts(subscripts: str) -> str:
    """Explicit-output subscripts without whitespace; implicit output as NumPy: letters seen once, sorted."""
    terms, out = _split_subscripts(subscripts)
    seen: dict[str, int] = {}
    for term in terms:
        for ch in _letters(term):
            seen[ch] = seen.get(ch, 0) + 1
    has_ellipsis = any(ELLIPSIS in t for t in terms)
    if out is None:
        out = (ELLIPSIS if has_ellipsis else "") + "".join(
            sorted(ch for ch, n in seen.items() if n == 1)
        )
    else:
        for ch in _letters(out):
            if _letters(out).count(ch) > 1:
                raise ValueError(f"output index {ch!r} is repeated in subscripts {subscripts!r}")
            if ch not in seen:
                raise ValueError(
                    f"output index {ch!r} does not appear in the inputs of subscripts {subscripts!r}"
                )
        if ELLIPSIS in out and not has_ellipsis:
            raise ValueError(
                f"output ellipsis without an input ellipsis in subscripts {subscripts!r}"
            )
    return ",".join(terms) + "->" + out


# ----------------------------------------------------------------------------------------------------------
# The spec
# ----------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class IndexSpec:
    r"""An einsum statement with names: ``subscripts`` over ``operands``, giving ``output``.

    Attributes:
        subscripts: einsum subscripts with an explicit output and no whitespace, e.g. ``"ijk,i->jk"``
            (``...`` for broadcast dimensions).
        operands: the name of each input operand, one per input term; a name may repeat (``("A", "A")``).
        output: the name of the result.
        labels: ``(letter, label)`` pairs for indices written as something other than their letter
            (``("a", "mu")`` for ``\mu``), sorted by letter; empty for plain letters.
        shapes: ``(name, shape)`` pairs for operands whose shape the statement declares
            (``A \in \mathbb{R}^{4 \times 5}``), sorted by name; empty when none is declared.

    Raises:
        ValueError: malformed subscripts, a term count that differs from the operand count, or a name that is
            not a letter followed by letters and digits.
    """

    subscripts: str
    operands: tuple[str, ...]
    output: str = "C"
    labels: tuple[tuple[str, str], ...] = field(default=())
    shapes: tuple[tuple[str, tuple[int, ...]], ...] = field(default=())

    def __post_init__(self) -> None:
        object.__setattr__(self, "subscripts", _normalize_subscripts(self.subscripts))
        object.__setattr__(self, "operands", tuple(self.operands))
        object.__setattr__(self, "labels", tuple(sorted(tuple(p) for p in self.labels)))
        if len(self.inputs) != len(self.operands):
            raise ValueError(
                f"subscripts {self.subscripts!r} have {len(self.inputs)} input terms "
                f"but {len(self.operands)} operand names were given"
            )
        for name in (*self.operands, self.output):
            if not is_name(name):
                raise ValueError(
                    f"bad operand name {name!r}: use a letter followed by letters or digits"
                )
        used = set(self.indices)
        for letter, label in self.labels:
            if letter not in used or not LABEL_RE.fullmatch(label):
                raise ValueError(f"bad index label {label!r} for letter {letter!r}")
        shapes = tuple(sorted((name, tuple(int(n) for n in shape)) for name, shape in self.shapes))
        object.__setattr__(self, "shapes", shapes)
        self._check_shapes()

    def _check_shapes(self) -> None:
        """Declared shapes fit their terms, and give every index one size (size 1 broadcasts)."""
        declared = dict(self.shapes)
        if len(declared) != len(self.shapes):
            raise ValueError(f"an operand has two declared shapes in {self.shapes}")
        sizes: dict[str, tuple[int, str]] = {}
        for name, term in zip(self.operands, self.inputs, strict=True):
            shape = declared.get(name)
            if shape is None:
                continue
            head, dots, tail = term.partition(ELLIPSIS)
            if (dots and len(shape) < len(head) + len(tail)) or (
                not dots and len(shape) != len(term)
            ):
                raise ValueError(
                    f"operand {name!r} is declared with shape {shape} but its term is {term!r}"
                )
            pairs = list(zip(head, shape, strict=False))
            if tail:
                pairs += list(zip(tail, shape[len(shape) - len(tail) :], strict=True))
            for ch, n in pairs:
                old = sizes.get(ch)
                if old is not None and n != old[0] and 1 not in (n, old[0]):
                    raise ValueError(
                        f"index {ch!r} has size {old[0]} in {old[1]!r} but {n} in {name!r}"
                    )
                if old is None or old[0] == 1:
                    sizes[ch] = (n, name)
        unknown = [name for name in declared if name not in self.operands]
        if unknown:
            raise ValueError(f"a shape is declared for {unknown[0]!r}, which is not an operand")

    # -- views -------------------------------------------------------------------------------------------

    @property
    def inputs(self) -> tuple[str, ...]:
        """The input terms, e.g. ``("ijk", "i")``."""
        return tuple(self.subscripts.split("->")[0].split(","))

    @property
    def output_indices(self) -> str:
        """The output term, e.g. ``"jk"`` (empty for a scalar result)."""
        return self.subscripts.split("->")[1]

    @property
    def indices(self) -> tuple[str, ...]:
        """Every index letter, in order of first appearance in the inputs (ellipsis excluded)."""
        return tuple(dict.fromkeys(ch for t in self.inputs for ch in _letters(t)))

    @property
    def summed(self) -> tuple[str, ...]:
        """The summed index letters (in the inputs, not in the output), in order of first appearance."""
        out = self.output_indices
        return tuple(ch for ch in self.indices if ch not in out)

    @property
    def sums_ellipsis(self) -> bool:
        """True when inputs have an ellipsis that the output drops (its dimensions are summed)."""
        return any(ELLIPSIS in t for t in self.inputs) and ELLIPSIS not in self.output_indices

    def label(self, letter: str) -> str:
        """How index ``letter`` is written (its label, else the letter itself)."""
        return dict(self.labels).get(letter, letter)

    def __str__(self) -> str:
        return self.to_text()

    def equivalent(self, other: IndexSpec | str) -> bool:
        """True when ``other`` is the same contraction up to a consistent renaming of index letters.

        ``other`` may be a spec (its operand names must match too) or einsum subscripts such as the seed's
        ``"de, fe, fl -> dl"`` (whitespace and implicit output allowed).
        """
        if isinstance(other, IndexSpec):
            return self.operands == other.operands and self.equivalent(other.subscripts)
        return canonical_subscripts(self.subscripts) == canonical_subscripts(other)

    # -- construction ------------------------------------------------------------------------------------

    @classmethod
    def from_subscripts(
        cls,
        subscripts: str,
        operands: Sequence[str] | None = None,
        output: str | None = None,
    ) -> IndexSpec:
        """The spec of einsum ``subscripts`` (implicit output and ellipsis allowed) with default names.

        Operands default to ``A, B, C, …`` (``T27``, ``T28``, … past 26) and the output to ``C`` or the first
        capital letter no operand uses.
        """
        terms, _ = _split_subscripts(subscripts)
        if operands is None:
            operands = [LETTERS[26 + k] if k < 26 else f"T{k + 1}" for k in range(len(terms))]
        if output is None:
            taken = set(operands)
            output = next((c for c in "CDEFGHIJKLMNOPQRSUVWXYZAB" if c not in taken), "Out")
        return cls(subscripts, tuple(operands), output)

    # -- rendering ---------------------------------------------------------------------------------------

    def to_latex(self, *, einstein: bool = False) -> str:
        r"""Σ notation, e.g. ``C_{jk} = \sum_{i} A_{ijk} b_{i}``; ``parse_index_notation`` reads it back.

        With ``einstein=True`` an index summed and written at least twice gets no ``\sum``
        (``c = a_{i} b_{i}``; read it back with ``parse_index_notation(..., einstein=True)``). Declared
        shapes follow the statement: ``, A \in \mathbb{R}^{4 \times 5}``.
        """
        return self._render(latex=True, einstein=einstein)

    def to_text(self, *, einstein: bool = False) -> str:
        """Plain Unicode Σ notation, e.g. ``C[j,k] = Σ_i A[i,j,k]·b[i]``; ``parse_index_notation`` reads it."""
        return self._render(latex=False, einstein=einstein)

    def _repr_latex_(self) -> str:
        return f"${self.to_latex()}$"

    def _render(self, *, latex: bool, einstein: bool) -> str:
        # A statement whose factors all lack subscripts would read as matrix notation: mark the scalars.
        all_scalar = not any(self.inputs)
        lhs = _render_factor(self.output, self.output_indices, self, latex, mark_scalar=False)
        counts = {ch: sum(_letters(t).count(ch) for t in self.inputs) for ch in self.summed}
        summed = [self.label(ch) for ch in self.summed if not (einstein and counts[ch] >= 2)]
        if self.sums_ellipsis:
            summed.insert(0, ELLIPSIS)
        parts = []
        if summed:
            parts.append(_render_sum(summed, latex))
        factors = [
            _render_factor(name, term, self, latex, mark_scalar=all_scalar)
            for name, term in zip(self.operands, self.inputs, strict=True)
        ]
        rhs = " ".join(factors) if latex else "·".join(factors)
        parts.append(rhs)
        decls = "".join(f", {_render_declaration(n, shape, latex)}" for n, shape in self.shapes)
        return f"{lhs} = {' '.join(parts)}{decls}"

    # -- evaluation --------------------------------------------------------------------------------------

    def _arrays(self, arrays: tuple[Any, ...]) -> tuple[Any, ...]:
        if len(arrays) == 1 and isinstance(arrays[0], Mapping):
            by_name = arrays[0]
            missing = [n for n in dict.fromkeys(self.operands) if n not in by_name]
            if missing:
                raise ValueError(f"no array for operand {missing[0]!r}")
            return tuple(by_name[n] for n in self.operands)
        if len(arrays) != len(self.operands):
            raise ValueError(
                f"{self.subscripts!r} takes {len(self.operands)} operands "
                f"({', '.join(self.operands)}), got {len(arrays)}"
            )
        return arrays

    def evaluate(self, *arrays: Any, optimize: Any = "auto") -> Any:
        """The result with chainrule's einsum engine.

        Args:
            arrays: one array per operand position, or a single mapping from operand name to array.
            optimize: passed to ``chainrule.einsum.einsum``.
        """
        from chainrule.einsum import einsum  # the engine; imported late, it may import this module

        return einsum(self.subscripts, *self._arrays(arrays), optimize=optimize)

    def evaluate_loops(self, *arrays: Any, max_iterations: int | None = None) -> Any:
        """The result by the literal sum: nested Python loops over every index (see ``loop_einsum``)."""
        return loop_einsum(self.subscripts, *self._arrays(arrays), max_iterations=max_iterations)


def canonical_subscripts(subscripts: str) -> str:
    """Subscripts with an explicit output and letters renamed ``a, b, c, …`` in order of first appearance.

    Two contractions that differ only in their letters get the same canonical form:
    ``canonical_subscripts("de, fe, fl -> dl") == canonical_subscripts("ab,cb,cd->ad")``.

    Raises:
        ValueError: malformed subscripts.
    """
    norm = _normalize_subscripts(subscripts)
    rename: dict[str, str] = {}
    return "".join(
        rename.setdefault(ch, LETTERS[len(rename)]) if ch in LETTERS else ch for ch in norm
    )


def spec_from_subscripts(
    subscripts: str, operands: Sequence[str] | None = None, output: str | None = None
) -> IndexSpec:
    """``IndexSpec.from_subscripts``: the spec of any einsum subscripts, with default names."""
    return IndexSpec.from_subscripts(subscripts, operands, output)


def _render_name(name: str, latex: bool) -> str:
    if name in GREEK:
        if latex:
            return "\\" + name
        # 'Σ' reads back as a sum, so the name Sigma stays a word in plain text.
        return name if name == "Sigma" else GREEK[name]
    if len(name) == 1 or not latex:
        return name
    return f"\\mathrm{{{name}}}"


def _render_declaration(name: str, shape: tuple[int, ...], latex: bool) -> str:
    space = "\\in \\mathbb{R}" if latex else "∈ ℝ"
    dims = (" \\times " if latex else "×").join(str(n) for n in shape)
    return f"{_render_name(name, latex)} {space}" + (f"^{{{dims}}}" if shape else "")


def _render_label(label: str, latex: bool) -> str:
    if label == ELLIPSIS:
        return "\\dots" if latex else "…"
    if label in GREEK:
        return "\\" + label if latex else GREEK[label]
    return label


def _render_indices(labels: Sequence[str], latex: bool) -> str:
    pieces = [_render_label(lab, latex) for lab in labels]
    if not latex:
        return ",".join(pieces)
    if any(len(lab) > 1 and lab != ELLIPSIS and lab not in GREEK for lab in labels):
        return ",".join(pieces)
    out = ""
    for piece in pieces:
        # A command swallows the letters after it (``\dotsij``), so separate them with a space.
        if out and re.search(r"\\[A-Za-z]+$", out) and piece[0].isalpha():
            out += " "
        out += piece
    return out


def _term_labels(term: str, spec: IndexSpec) -> list[str]:
    head, ell, tail = term.partition(ELLIPSIS)
    labels = [spec.label(ch) for ch in head]
    if ell:
        labels.append(ELLIPSIS)
        labels.extend(spec.label(ch) for ch in tail)
    return labels


def _render_factor(name: str, term: str, spec: IndexSpec, latex: bool, *, mark_scalar: bool) -> str:
    shown = _render_name(name, latex)
    labels = _term_labels(term, spec)
    if not labels:
        if mark_scalar:
            return shown + ("_{}" if latex else "[]")
        return shown
    inner = _render_indices(labels, latex)
    return f"{shown}_{{{inner}}}" if latex else f"{shown}[{inner}]"


def _render_sum(labels: Sequence[str], latex: bool) -> str:
    inner = ",".join(_render_label(lab, latex) for lab in labels)
    if latex:
        return f"\\sum_{{{inner}}}"
    if len(labels) == 1 and len(inner) == 1:
        return f"Σ_{inner}"
    return f"Σ_{{{inner}}}"


# ----------------------------------------------------------------------------------------------------------
# The literal sum: nested loops (the reference that checks the engine)
# ----------------------------------------------------------------------------------------------------------


def _resolve(
    subscripts: str, shapes: Sequence[tuple[int, ...]], names: Sequence[str] | None = None
) -> tuple[list[list[str]], list[str], dict[str, int]]:
    """Per-operand axis labels (ellipsis dimensions as ``"...0"``, ``"...1"``…), output labels, and sizes.

    Raises:
        ValueError: a rank that does not fit its term, or one index with two sizes (size 1 broadcasts).
    """
    norm = _normalize_subscripts(subscripts)
    terms = norm.split("->")[0].split(",")
    out_term = norm.split("->")[1]
    if len(terms) != len(shapes):
        raise ValueError(
            f"{norm!r} has {len(terms)} input terms but {len(shapes)} operands were given"
        )
    names = list(names) if names is not None else [f"operand {k}" for k in range(len(terms))]
    ell_rank = 0
    for term, shape, name in zip(terms, shapes, names, strict=True):
        n = len(_letters(term))
        if (ELLIPSIS in term and len(shape) < n) or (ELLIPSIS not in term and len(shape) != n):
            raise ValueError(
                f"{name} has shape {tuple(shape)} ({len(shape)} dimensions) but its term {term!r} "
                f"needs {'at least ' if ELLIPSIS in term else ''}{n}"
            )
        if ELLIPSIS in term:
            ell_rank = max(ell_rank, len(shape) - n)
    ell = [f"...{k}" for k in range(ell_rank)]

    def expand(term: str, rank: int) -> list[str]:
        head, dots, tail = term.partition(ELLIPSIS)
        if not dots:
            return list(term)
        k = rank - len(head) - len(tail)
        return [*head, *ell[ell_rank - k :], *tail]

    axes = [expand(t, len(s)) for t, s in zip(terms, shapes, strict=True)]
    sizes: dict[str, int] = {}
    where: dict[str, str] = {}
    for labels, shape, name in zip(axes, shapes, names, strict=True):
        for lab, size in zip(labels, shape, strict=True):
            old = sizes.get(lab)
            if old is None or (old == 1 and size != 1):
                sizes[lab], where[lab] = size, name
            elif size not in (1, old):
                shown = "the ellipsis" if lab.startswith(ELLIPSIS) else f"index {lab!r}"
                raise ValueError(f"{shown} has size {old} in {where[lab]} but {size} in {name}")
    return axes, expand(out_term, len(ell) + len(_letters(out_term))), sizes


def loop_iterations(
    subscripts: str, shapes: Sequence[tuple[int, ...]], names: Sequence[str] | None = None
) -> int:
    """How many terms the literal sum of ``subscripts`` over ``shapes`` adds (the product of all sizes).

    Raises:
        ValueError: shapes that do not fit the subscripts (named by ``names``, default "operand k").
    """
    _, _, sizes = _resolve(subscripts, shapes, names)
    return math.prod(sizes.values())


def loop_einsum(
    subscripts: str,
    *arrays: Any,
    max_iterations: int | None = None,
    names: Sequence[str] | None = None,
    with_bound: bool = False,
) -> Any:
    r"""einsum by the literal sum: one Python loop iteration per combination of index values.

    The reference that checks the engine: ``C_{jk} = \sum_i A_{ijk} b_i`` is computed as
    ``for i, j, k: C[j, k] += A[i, j, k] * b[i]``. NumPy semantics: implicit output, ellipsis
    (right-aligned broadcast), size-1 broadcasting, repeated indices (diagonals), size-0 dimensions.

    Args:
        subscripts: einsum subscripts.
        arrays: one array per input term (any Array API array; copied to NumPy).
        max_iterations: refuse (``ValueError``) when the sum has more terms than this.
        names: operand names for error messages.
        with_bound: also return the sum of absolute values of the terms per output element (the scale of
            the rounding error of any summation order).

    Returns:
        A NumPy array with NumPy's result dtype (``(result, bound)`` with ``with_bound``).

    Raises:
        ValueError: bad subscripts, shapes that do not fit, or more than ``max_iterations`` terms.
    """
    import numpy as np

    from chainrule.backend import to_numpy

    arrs = [np.asarray(to_numpy(a)) for a in arrays]
    axes, out_labels, sizes = _resolve(subscripts, [a.shape for a in arrs], names)
    total = math.prod(sizes.values())
    if max_iterations is not None and total > max_iterations:
        raise ValueError(
            f"the loop evaluation needs {total:,} iterations (limit {max_iterations:,})"
        )
    dtype = np.result_type(*arrs) if arrs else np.dtype(float)
    summed = [lab for lab in sizes if lab not in out_labels]
    order = out_labels + summed
    pos = {lab: k for k, lab in enumerate(order)}
    ranges = [range(sizes[lab]) for lab in order]
    # Flat offsets: each operand reads sum(index[p] * stride) from its raveled values.
    readers = []
    for arr, labels in zip(arrs, axes, strict=True):
        strides = []
        stride = 1
        for lab, size in reversed(list(zip(labels, arr.shape, strict=True))):
            strides.append((pos[lab], stride if size != 1 else 0))
            stride *= size
        readers.append((arr.ravel().tolist(), strides))
    out_shape = tuple(sizes[lab] for lab in out_labels)
    acc: list[Any] = [0] * math.prod(out_shape)
    bound = [0.0] * len(acc)
    n_out = len(out_labels)
    out_strides = [math.prod(out_shape[k + 1 :]) for k in range(n_out)]
    for combo in itertools.product(*ranges):
        term: Any = 1
        for values, strides in readers:
            term = term * values[sum(combo[p] * s for p, s in strides)]
        o = sum(combo[k] * out_strides[k] for k in range(n_out))
        acc[o] += term
        if with_bound:
            bound[o] += abs(term)
    if dtype == np.bool_:
        result = np.asarray([bool(v) for v in acc], dtype=np.bool_).reshape(out_shape)
    elif dtype.kind in "iu":
        # NumPy accumulates integers in their dtype and wraps on overflow; exact sums wrapped once agree.
        bits = 8 * dtype.itemsize
        signed = dtype.kind == "i"
        wrapped = [
            (v % 2**bits) - (2**bits if signed and v % 2**bits >= 2 ** (bits - 1) else 0)
            for v in acc
        ]
        result = np.asarray(wrapped, dtype=dtype).reshape(out_shape)
    else:
        result = np.asarray(acc, dtype=dtype).reshape(out_shape)
    if with_bound:
        return result, np.asarray(bound, dtype=float).reshape(out_shape)
    return result
