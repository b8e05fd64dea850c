"""Einsum notation: subscripts (or sublists) plus operand shapes → an :class:`EinsumSpec`.

This module only reads notation; it never touches array data.

Public API (stable; the autodiff layer relies on it)::

    spec = parse("ijk,i->jk", (4, 5, 6), (4,))          # string form; shapes or arrays
    spec = parse(A, [0, 1], B, [1, 2], [0, 2])          # sublist form; arrays or shapes
    spec.inputs   # ((0, 1), (1, 2))   one tuple of labels per operand
    spec.output   # (0, 2)
    spec.sizes    # {0: ..., 1: ..., 2: ...}  label → size (after size-1 broadcasting)
    spec.shapes   # the operand shapes as given
    spec.subscripts  # "ab,bc->ac": the same contraction written with one letter per label

Labels:
- In the string form every label is one Unicode letter (``str.isalpha``) or one other printable
  non-ASCII symbol, so more than 52 labels are available (``"αβ,βγ->αγ"``), and the strings that
  ``opt_einsum.get_symbol`` builds for large networks (which include ``'×'`` and ``'÷'``) are read as
  they are. ASCII digits and punctuation are invalid, as in NumPy. Whitespace is ignored.
- In the sublist form a label is any hashable object other than ``...`` (ints, strings, tuples, ...).
- An ellipsis is expanded into fresh labels :class:`EllipsisLabel` ``(k)``, ``k = 0 .. n-1`` for the
  ``n`` broadcast dimensions, aligned to the right across operands (NumPy broadcasting). They never
  collide with user labels.

Semantics (NumPy's, with these decisions):
- Implicit output (no ``->``): the ellipsis dimensions first, then the labels seen exactly once, sorted
  (by code point in the string form; in the sublist form sorted when the labels are mutually comparable,
  otherwise in order of first appearance).
- A label whose size is 1 in some operand broadcasts against its size elsewhere; ``sizes`` holds the
  broadcast size. A label repeated inside one operand (a diagonal) must have equal sizes there.
- ``'...i->i'``: ellipsis dimensions that the output omits are **summed**, like any label missing from
  the output (NumPy's ``optimize=True`` mode does this; its ``optimize=False`` mode raises).

For gradients: ``spec.inputs[k]`` keeps every dimension of operand k, including size-1 dimensions that
broadcast (``spec.shapes[k]`` has 1 where ``spec.sizes`` has more), so an einsum that produces operand k's
labels yields the broadcast size there and must be summed back to 1 by the caller.

Every malformed call raises ``ValueError`` naming the label, term or operand (and both sizes for a size
mismatch).
"""

from __future__ import annotations

from collections.abc import Hashable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

__all__ = [
    "EinsumSpec",
    "EllipsisLabel",
    "NotationTypeError",
    "label_letters",
    "parse",
    "shape_of",
]


class NotationTypeError(TypeError, ValueError):
    """A sublist that is not a list, or a label that is not hashable: a ValueError like every notation
    error here, and a TypeError, as NumPy and opt_einsum raise for these."""


@dataclass(frozen=True, order=True)
class EllipsisLabel:
    """The label of the ``index``-th broadcast dimension of ``...`` (counted from the left, right-aligned)."""

    index: int

    def __repr__(self) -> str:
        return f"...{self.index}"


@dataclass(frozen=True)
class EinsumSpec:
    """A parsed einsum: labels per operand, output labels and the size of every label.

    Attributes:
        inputs: one tuple of labels per operand, one label per dimension (ellipsis expanded).
        output: the output labels, in output order; never repeated.
        sizes: label → size, the broadcast size when an operand has size 1 for that label.
        shapes: the operand shapes as given.
    """

    inputs: tuple[tuple[Hashable, ...], ...]
    output: tuple[Hashable, ...]
    sizes: dict[Hashable, int] = field(hash=False, compare=False)
    shapes: tuple[tuple[int, ...], ...] = ()

    @property
    def output_shape(self) -> tuple[int, ...]:
        """The shape of the result."""
        return tuple(self.sizes[label] for label in self.output)

    @property
    def subscripts(self) -> str:
        """The same contraction as a subscripts string, one letter per label (see :func:`label_letters`)."""
        letters = label_letters(self.labels())
        terms = ",".join("".join(letters[x] for x in term) for term in self.inputs)
        return terms + "->" + "".join(letters[x] for x in self.output)

    def labels(self) -> tuple[Hashable, ...]:
        """Every label once, in order of first appearance (inputs, then output)."""
        seen: dict[Hashable, None] = {}
        for term in (*self.inputs, self.output):
            for label in term:
                seen.setdefault(label, None)
        return tuple(seen)


# --------------------------------------------------------------------------------------------- helpers


def shape_of(x: Any) -> tuple[int, ...]:
    """The shape of an operand given as an array (anything with ``.shape``), a shape, or a scalar.

    A tuple or list of ints is read as a shape; a Python number as a scalar (shape ``()``).

    Raises:
        ValueError: ``x`` is none of these.
    """
    shape = getattr(x, "shape", None)
    if shape is not None:
        return tuple(int(d) for d in shape)
    if isinstance(x, (bool, int, float, complex)):
        return ()
    if isinstance(x, (tuple, list)) and all(isinstance(d, int) and d >= 0 for d in x):
        return tuple(int(d) for d in x)
    raise ValueError(f"operand {x!r} is neither an array, a shape (tuple of ints) nor a scalar")


def _letter_pool() -> Iterable[str]:
    yield from "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
    code = 0x3B1  # Greek, then every further letter of Unicode
    while code < 0x110000:
        ch = chr(code)
        if ch.isalpha() and len(ch) == 1:
            yield ch
        code += 1


def label_letters(labels: Iterable[Hashable]) -> dict[Hashable, str]:
    """One distinct letter per label: single-letter string labels keep their letter, others get free ones.

    The letters form a valid string-form subscripts again (every letter satisfies ``str.isalpha``).
    """
    labels = list(dict.fromkeys(labels))
    taken = {x for x in labels if isinstance(x, str) and len(x) == 1 and x.isalpha()}
    pool = (ch for ch in _letter_pool() if ch not in taken)
    out: dict[Hashable, str] = {}
    for x in labels:
        if isinstance(x, str) and x in taken:
            out[x] = x
        else:
            out[x] = next(pool)
    return out


def _sorted_labels(labels: list[Hashable]) -> list[Hashable]:
    try:
        return sorted(labels)  # type: ignore[type-var]
    except TypeError:  # labels of mixed, incomparable types: keep first appearance
        return labels


# ------------------------------------------------------------------------------------------ the parser


_ELLIPSIS = object()  # marks the position of "..." inside a raw term


def _parse_term(term: str, where: str) -> list[Any]:
    """One string term → labels with ``_ELLIPSIS`` where ``...`` stood."""
    out: list[Any] = []
    i = 0
    while i < len(term):
        ch = term[i]
        if ch == ".":
            if term[i : i + 3] != "...":
                raise ValueError(f"bad ellipsis in {where} {term!r}: '.' must come as '...'")
            if _ELLIPSIS in out:
                raise ValueError(f"more than one ellipsis in {where} {term!r}")
            out.append(_ELLIPSIS)
            i += 3
            continue
        if not (ch.isalpha() or (not ch.isascii() and ch.isprintable())):
            raise ValueError(f"invalid character {ch!r} in {where} {term!r}: labels are letters")
        out.append(ch)
        i += 1
    return out


def _split_string(subscripts: str, n_operands: int) -> tuple[list[list[Any]], list[Any] | None]:
    text = "".join(subscripts.split())
    if text.count("->") > 1:
        raise ValueError(f"subscripts {subscripts!r} contain '->' more than once")
    if "->" in text:
        lhs, rhs = text.split("->")
    else:
        lhs, rhs = text, None
    for bad in "->":
        if bad in lhs or (rhs is not None and bad in rhs):
            raise ValueError(f"invalid character {bad!r} in subscripts {subscripts!r}")
    raw_terms = lhs.split(",")
    if len(raw_terms) != n_operands:
        raise ValueError(
            f"subscripts {subscripts!r} have {len(raw_terms)} input term(s) "
            f"but {n_operands} operand(s) were given"
        )
    terms = [_parse_term(t, f"term {k}") for k, t in enumerate(raw_terms)]
    if rhs is not None and "," in rhs:
        raise ValueError(f"invalid character ',' in output {rhs!r}")
    output = None if rhs is None else _parse_term(rhs, "output")
    return terms, output


def _check_sublist(sub: Any, where: str) -> list[Any]:
    if isinstance(sub, (str, bytes)) or not isinstance(sub, Sequence | Iterable):
        raise NotationTypeError(f"{where} must be a list of labels, got {sub!r}")
    out: list[Any] = []
    for label in sub:
        if label is Ellipsis:
            if _ELLIPSIS in out:
                raise ValueError(f"more than one ellipsis in {where} {list(sub)!r}")
            out.append(_ELLIPSIS)
            continue
        try:
            hash(label)
        except TypeError:
            raise NotationTypeError(f"label {label!r} in {where} is not hashable") from None
        out.append(label)
    return out


def _split_sublists(args: Sequence[Any]) -> tuple[list[Any], list[list[Any]], list[Any] | None]:
    operands = list(args[0::2])
    subs = list(args[1::2])
    output = None
    if len(args) % 2 == 1:
        last = operands.pop()
        if hasattr(
            last, "shape"
        ):  # an array where the output sublist would be: its sublist is missing
            raise ValueError(
                f"operand {len(operands)} (shape {tuple(last.shape)}) has no sublist: the sublist form "
                "is einsum(op0, sublist0, op1, sublist1, ..., [output sublist])"
            )
        output = _check_sublist(last, "output")
    terms = [_check_sublist(s, f"sublist of operand {k}") for k, s in enumerate(subs)]
    return operands, terms, output


def parse(*args: Any) -> EinsumSpec:
    """Parse either call form of einsum, with operands given as arrays or shapes.

    ``parse("ij,jk->ik", a, b)`` or ``parse(a, [0, 1], b, [1, 2], [0, 2])``; each operand may be an
    array (anything with ``.shape``), a shape tuple, or a Python scalar.

    Raises:
        ValueError: malformed subscripts or sublists, wrong term count, a label count that does not fit an
            operand's rank, an output label repeated or missing from the inputs, or two sizes for one label.
    """
    if not args:
        raise ValueError("einsum needs subscripts and at least one operand")
    if isinstance(args[0], str):
        operands = list(args[1:])
        if not operands:
            raise ValueError("einsum needs at least one operand")
        terms, output = _split_string(args[0], len(operands))
    else:
        operands, terms, output = _split_sublists(args)
        if not operands:
            raise ValueError("einsum needs at least one operand")
    shapes = tuple(shape_of(x) for x in operands)
    return _build(terms, output, shapes, string_form=isinstance(args[0], str))


def _term_text(term: list[Any]) -> str:
    return "".join("..." if x is _ELLIPSIS else str(x) for x in term)


def _build(
    terms: list[list[Any]],
    output: list[Any] | None,
    shapes: tuple[tuple[int, ...], ...],
    *,
    string_form: bool,
) -> EinsumSpec:
    # Rank check and the number of broadcast dimensions each operand's ellipsis stands for.
    n_ell = 0
    ell_dims: list[int] = []
    for k, (term, shape) in enumerate(zip(terms, shapes, strict=True)):
        n_labels = sum(1 for x in term if x is not _ELLIPSIS)
        has_ell = _ELLIPSIS in term
        if n_labels > len(shape) or (not has_ell and n_labels != len(shape)):
            what = "too many labels" if n_labels > len(shape) else "too few labels"
            raise ValueError(
                f"{what} for operand {k}: term {_term_text(term)!r} has {n_labels} label(s) but the "
                f"operand has {len(shape)} dimension(s) (shape {shape})"
            )
        dims = len(shape) - n_labels if has_ell else 0
        ell_dims.append(dims)
        n_ell = max(n_ell, dims)

    inputs: list[tuple[Hashable, ...]] = []
    for term, dims in zip(terms, ell_dims, strict=True):
        expanded: list[Hashable] = []
        for x in term:
            if x is _ELLIPSIS:
                expanded.extend(EllipsisLabel(j) for j in range(n_ell - dims, n_ell))
            else:
                expanded.append(x)
        inputs.append(tuple(expanded))

    # Sizes: equal within an operand (diagonal), equal or 1 across operands (broadcasting).
    sizes: dict[Hashable, int] = {}
    where: dict[Hashable, int] = {}
    for k, (labs, shape) in enumerate(zip(inputs, shapes, strict=True)):
        local: dict[Hashable, int] = {}
        for label, dim in zip(labs, shape, strict=True):
            if label in local and local[label] != dim:
                raise ValueError(
                    f"label {_show(label)} is repeated in operand {k} with different sizes "
                    f"{local[label]} and {dim} (shape {shape})"
                )
            local[label] = dim
        for label, dim in local.items():
            old = sizes.get(label)
            if old is None or old == 1:
                sizes[label] = dim
                where[label] = k
            elif dim != old and dim != 1:
                raise ValueError(
                    f"label {_show(label)} has size {old} in operand {where[label]} "
                    f"but size {dim} in operand {k}"
                )

    ell_labels = tuple(EllipsisLabel(j) for j in range(n_ell))
    if output is None:
        counts: dict[Hashable, int] = {}
        for labs in inputs:
            for label in labs:
                if not isinstance(label, EllipsisLabel):
                    counts[label] = counts.get(label, 0) + 1
        once = [x for x, c in counts.items() if c == 1]
        if string_form:
            once.sort(key=str)  # one-letter strings: code-point order, like NumPy
        else:
            once = _sorted_labels(once)
        out = ell_labels + tuple(once)
    else:
        expanded_out: list[Hashable] = []
        for x in output:
            if x is _ELLIPSIS:
                expanded_out.extend(ell_labels)
                continue
            if x in expanded_out:
                raise ValueError(
                    f"output label {_show(x)} is repeated in output {_term_text(output)!r}"
                )
            if x not in sizes:
                raise ValueError(f"output label {_show(x)} does not appear in any input term")
            expanded_out.append(x)
        out = tuple(expanded_out)
    return EinsumSpec(tuple(inputs), out, sizes, shapes)


def _show(label: Hashable) -> str:
    if isinstance(label, EllipsisLabel):
        return f"of ellipsis dimension {label.index}"
    return repr(label)
