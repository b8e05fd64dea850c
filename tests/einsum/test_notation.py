"""Notation: parsing both call forms, implicit output, ellipsis, broadcasting, and every error case."""

from __future__ import annotations

import numpy as np
import pytest

from chainrule.einsum import EllipsisLabel, einsum, parse


def test_string_form_spec() -> None:
    spec = parse("ijk,i->jk", (4, 5, 6), (4,))
    assert spec.inputs == (("i", "j", "k"), ("i",))
    assert spec.output == ("j", "k")
    assert spec.sizes == {"i": 4, "j": 5, "k": 6}
    assert spec.shapes == ((4, 5, 6), (4,))
    assert spec.subscripts == "ijk,i->jk"


def test_arrays_or_shapes_give_the_same_spec() -> None:
    a = np.ones((2, 3))
    assert parse("ij->ji", a) == parse("ij->ji", (2, 3))


def test_sublist_form_with_any_hashable_labels() -> None:
    spec = parse((3, 4), ["row", (1, "x")], (4,), [(1, "x")], ["row"])
    assert spec.inputs == (("row", (1, "x")), ((1, "x"),))
    assert spec.output == ("row",)
    assert spec.sizes == {"row": 3, (1, "x"): 4}
    assert spec.subscripts == "ab,b->a"


def test_sublist_form_implicit_output_sorted() -> None:
    spec = parse((2, 3), [5, 1], (3, 4), [1, 0])
    assert spec.output == (0, 5)


def test_implicit_output_is_sorted_by_code_point_like_numpy() -> None:
    assert parse("Ba", (2, 3)).output == ("B", "a")
    assert parse("ba,cb", (2, 3), (4, 2)).output == ("a", "c")
    assert parse("ii", (3, 3)).output == ()


def test_whitespace_is_ignored() -> None:
    assert parse(" i j , j k -> i k ", (2, 3), (3, 4)).output == ("i", "k")


def test_ellipsis_expands_right_aligned() -> None:
    spec = parse("...i,i...->...", (2, 3, 4), (4, 3))
    e0, e1 = EllipsisLabel(0), EllipsisLabel(1)
    assert spec.inputs == ((e0, e1, "i"), ("i", e1))
    assert spec.output == (e0, e1)
    assert spec.sizes[e1] == 3


def test_implicit_output_puts_ellipsis_first() -> None:
    spec = parse("i...,j", (2, 5), (3,))
    assert spec.output == (EllipsisLabel(0), "i", "j")


def test_size_one_broadcasts() -> None:
    spec = parse("ij,jk->ik", (2, 1), (3, 4))
    assert spec.sizes["j"] == 3
    np.testing.assert_allclose(
        einsum("ij,jk->ik", np.ones((2, 1)), np.ones((3, 4))),
        np.einsum("ij,jk->ik", np.ones((2, 1)), np.ones((3, 4))),
    )


def test_more_than_52_labels_in_both_forms() -> None:
    rng = np.random.default_rng(0)
    labels = list(range(60))
    ops = [rng.random((2, 2)) for _ in range(59)]
    args: list[object] = []
    for k, a in enumerate(ops):
        args += [a, [labels[k], labels[k + 1]]]
    got = einsum(*args, [0, 59])
    ref = ops[0]
    for a in ops[1:]:
        ref = ref @ a
    np.testing.assert_allclose(got, ref)
    # The string form takes any Unicode letter.
    greek = "αβγ"
    x, y = rng.random((2, 3)), rng.random((3, 4))
    np.testing.assert_allclose(einsum(f"{greek[0]}{greek[1]},{greek[1]}{greek[2]}", x, y), x @ y)


def test_ellipsis_missing_from_output_is_summed() -> None:
    x = np.arange(6.0).reshape(2, 3)
    np.testing.assert_allclose(einsum("...i->i", x), x.sum(0))
    np.testing.assert_allclose(np.einsum("...i->i", x, optimize=True), x.sum(0))


def test_spec_subscripts_round_trip_with_ellipsis() -> None:
    spec = parse("...ij,...jk->...ik", (5, 2, 3), (3, 4))
    again = parse(spec.subscripts, (5, 2, 3), (3, 4))
    assert len(again.inputs[0]) == 3 and len(again.inputs[1]) == 2
    assert again.output_shape == (5, 2, 4)


@pytest.mark.parametrize(
    ("args", "fragment"),
    [
        (("ij,jk->ii", (2, 3), (3, 2)), "output label 'i' is repeated"),
        (("ij,jk->iz", (2, 3), (3, 2)), "output label 'z' does not appear"),
        (("i.j", (2, 3)), "bad ellipsis in term 0"),
        (("i....", (2, 3)), "bad ellipsis"),
        (("......", (2, 3)), "more than one ellipsis"),
        (("i1", (2, 3)), "invalid character '1' in term 0"),
        (("i$->i", (2, 3)), "invalid character '$'"),
        (("ij->i->j", (2, 3)), "'->' more than once"),
        (("ij-i", (2, 3)), "invalid character '-'"),
        (("ijk", (2, 3)), "too many labels for operand 0"),
        (("i", (2, 3)), "too few labels for operand 0"),
        (("i...jk", (2, 3)), "too many labels for operand 0"),
        (("ij,jk", (2, 3)), "2 input term(s) but 1 operand(s)"),
        (("ij", (2, 3), (3, 4)), "1 input term(s) but 2 operand(s)"),
        (("ij,jk", (2, 3), (4, 5)), "label 'j' has size 3 in operand 0 but size 4 in operand 1"),
        (("ii", (2, 3)), "label 'i' is repeated in operand 0 with different sizes 2 and 3"),
        (("...i,...i", (2, 3), (4, 3)), "ellipsis dimension 0 has size 2 in operand 0 but size 4"),
        (((2, 3), [0, [1]]), "label [1] in sublist of operand 0 is not hashable"),
        (((2, 3), "ij"), "sublist of operand 0 must be a list"),
        (((2, 3), [0, 1], [0, 0]), "output label 0 is repeated"),
        (((2, 3), [..., ..., 0]), "more than one ellipsis"),
        (("ij",), "at least one operand"),
    ],
)
def test_errors_name_what_is_wrong(args: tuple[object, ...], fragment: str) -> None:
    with pytest.raises(ValueError, match=None) as info:
        parse(*args)
    assert fragment in str(info.value)


def test_einsum_errors_are_value_errors() -> None:
    with pytest.raises(ValueError, match="size 3 in operand 0 but size 4 in operand 1"):
        einsum("ij,jk", np.ones((2, 3)), np.ones((4, 5)))
    with pytest.raises(ValueError, match="at least one operand"):
        einsum("ij")


def test_sublist_form_missing_a_sublist_names_the_operand() -> None:
    # einsum(A, [0, 1], B): B sits where the output sublist would be; say so instead of "not hashable".
    with pytest.raises(ValueError, match=r"operand 1 \(shape \(4, 5\)\) has no sublist"):
        einsum(np.ones((3, 4)), [0, 1], np.ones((4, 5)))


def test_non_ascii_symbols_are_labels_like_opt_einsums_large_alphabets() -> None:
    # opt_einsum.get_symbol(75) == "×" and get_symbol(107) == "÷": equations it writes for big networks.
    a, b = np.arange(6.0).reshape(2, 3), np.arange(12.0).reshape(3, 4)
    np.testing.assert_allclose(einsum("a×,×÷->a÷", a, b), a @ b)
    assert parse("×÷", (2, 3)).output == ("×", "÷")
    for bad in ("i1", "i$", "i_", "i\u200b"):  # ASCII digits/punctuation and invisible characters
        with pytest.raises(ValueError, match="invalid character"):
            parse(bad, (2, 3))
