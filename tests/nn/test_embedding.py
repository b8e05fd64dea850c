"""Embedding: lookup, repeated ids, padding_idx, gradients, errors."""

import numpy as np
import pytest

import chainrule as cr
from chainrule import nn


def test_embedding_looks_up_rows() -> None:
    emb = nn.Embedding(6, 3, seed=0)
    ids = np.array([[0, 5, 2], [2, 2, 1]])
    out = emb(ids)
    assert out.shape == (2, 3, 3)
    for i in range(2):
        for j in range(3):
            np.testing.assert_array_equal(out.data[i, j], emb.weight.data[ids[i, j]])
    assert emb(3).shape == (3,)
    assert emb([1, 2]).shape == (2, 3)


def test_embedding_gradient_adds_repeated_rows() -> None:
    emb = nn.Embedding(5, 2, seed=1)
    ids = np.array([1, 3, 1, 1])
    g = np.arange(8.0).reshape(4, 2)
    (emb(ids) * g).sum().backward()
    want = np.zeros((5, 2))
    for pos, i in enumerate(ids):
        want[i] += g[pos]
    np.testing.assert_array_equal(emb.weight.grad.data, want)
    w0 = emb.weight.data.copy()
    cr.check_grad(lambda w: nn.embedding(ids, w) ** 2, w0, order=2)


def test_padding_row_starts_at_zero_and_gets_no_gradient() -> None:
    emb = nn.Embedding(4, 3, padding_idx=-1, seed=2)
    assert emb.padding_idx == 3
    np.testing.assert_array_equal(emb.weight.data[3], 0.0)
    emb.weight.data[3] = 7.0  # a changed padding row is read as it is
    ids = np.array([[3, 0], [3, 3]])
    out = emb(ids)
    np.testing.assert_array_equal(out.data[0, 0], [7.0, 7.0, 7.0])
    (out * out).sum().backward()
    np.testing.assert_array_equal(emb.weight.grad.data[3], 0.0)
    np.testing.assert_allclose(emb.weight.grad.data[0], 2 * emb.weight.data[0])
    np.testing.assert_array_equal(emb.weight.grad.data[1:3], 0.0)


def test_embedding_errors_name_the_bad_index() -> None:
    emb = nn.Embedding(10, 3)
    with pytest.raises(ValueError, match=r"index 12 at position \(1, 0\) is outside \[0, 10\)"):
        emb(np.array([[1, 2], [12, 0]]))
    with pytest.raises(ValueError, match=r"index -1 at position \(0,\) is outside"):
        emb(np.array([-1, 2]))
    with pytest.raises(TypeError, match="indices must be integers, not float64"):
        emb(np.array([1.0]))
    with pytest.raises(TypeError, match="indices must be integers, not bool"):
        emb(np.array([True]))
    with pytest.raises(ValueError, match="padding_idx 10 is outside the table of 10"):
        nn.Embedding(10, 3, padding_idx=10)
    with pytest.raises(ValueError, match="embedding_dim must be a positive integer"):
        nn.Embedding(10, 0)
    with pytest.raises(ValueError, match=r"weight must be 2-d .* got shape \(3,\)"):
        nn.embedding(np.array([0]), np.ones(3))
