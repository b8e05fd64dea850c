"""scaled_dot_product_attention and MultiheadAttention: the textbook formula with explicit
softmax, masks (boolean, floating, causal, key padding), layouts, gradients, errors."""

import math

import numpy as np
import pytest

import chainrule as cr
from chainrule import nn


def softmax_rows(s: np.ndarray) -> np.ndarray:
    e = np.exp(s - s.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


def textbook_attention(
    q: np.ndarray, k: np.ndarray, v: np.ndarray, add: np.ndarray | float, scale: float
) -> tuple[np.ndarray, np.ndarray]:
    """softmax(q kᵀ · scale + add) v, one batch item at a time."""
    lead = np.broadcast_shapes(q.shape[:-2], k.shape[:-2])
    qb = np.broadcast_to(q, (*lead, *q.shape[-2:]))
    kb = np.broadcast_to(k, (*lead, *k.shape[-2:]))
    vb = np.broadcast_to(v, (*lead, *v.shape[-2:]))
    addb = np.broadcast_to(add, (*lead, q.shape[-2], k.shape[-2]))
    out = np.zeros((*lead, q.shape[-2], v.shape[-1]))
    weights = np.zeros((*lead, q.shape[-2], k.shape[-2]))
    for idx in np.ndindex(*lead):
        p = softmax_rows(qb[idx] @ kb[idx].T * scale + addb[idx])
        weights[idx] = p
        out[idx] = p @ vb[idx]
    return out, weights


def test_sdpa_matches_the_formula() -> None:
    rng = np.random.default_rng(0)
    q, k, v = (
        rng.normal(size=(2, 3, 4, 5)),
        rng.normal(size=(2, 3, 6, 5)),
        rng.normal(size=(2, 3, 6, 2)),
    )
    want, _ = textbook_attention(q, k, v, 0.0, 1 / math.sqrt(5))
    # On plain arrays the result is a plain array.
    plain = nn.scaled_dot_product_attention(q, k, v)
    assert isinstance(plain, np.ndarray)
    np.testing.assert_allclose(plain, want, rtol=1e-12)
    got = nn.scaled_dot_product_attention(cr.tensor(q), k, v, scale=0.25)
    np.testing.assert_allclose(got.data, textbook_attention(q, k, v, 0.0, 0.25)[0], rtol=1e-12)
    # Leading axes broadcast: one key set for every batch item.
    got = nn.scaled_dot_product_attention(cr.tensor(q), k[:1], v[:1])
    want, _ = textbook_attention(q, k[:1], v[:1], 0.0, 1 / math.sqrt(5))
    np.testing.assert_allclose(got.data, want, rtol=1e-12)


def test_sdpa_masks() -> None:
    rng = np.random.default_rng(1)
    q, k, v = rng.normal(size=(2, 4, 3)), rng.normal(size=(2, 5, 3)), rng.normal(size=(2, 5, 3))
    scale = 1 / math.sqrt(3)
    keep = rng.random((4, 5)) > 0.4
    keep[:, 2] = True
    additive = np.where(keep, 0.0, -np.inf)
    got = nn.scaled_dot_product_attention(cr.tensor(q), k, v, attn_mask=keep)
    want, weights = textbook_attention(q, k, v, additive, scale)
    np.testing.assert_allclose(got.data, want, rtol=1e-12)
    assert np.all(weights[:, ~keep] == 0.0)  # masked pairs get no weight
    bias = rng.normal(size=(2, 1, 5))
    got = nn.scaled_dot_product_attention(cr.tensor(q), k, v, attn_mask=bias)
    np.testing.assert_allclose(got.data, textbook_attention(q, k, v, bias, scale)[0], rtol=1e-12)
    causal = np.where(np.tril(np.ones((4, 5), dtype=bool)), 0.0, -np.inf)
    got = nn.scaled_dot_product_attention(cr.tensor(q), k, v, is_causal=True)
    np.testing.assert_allclose(got.data, textbook_attention(q, k, v, causal, scale)[0], rtol=1e-12)
    # The first query sees only the first key: its output is that key's value.
    np.testing.assert_allclose(got.data[:, 0], v[:, 0], rtol=1e-12)


def test_sdpa_gradients_to_second_order() -> None:
    rng = np.random.default_rng(2)
    q, k, v = rng.normal(size=(2, 3, 2)), rng.normal(size=(2, 4, 2)), rng.normal(size=(2, 4, 3))
    keep = np.array([[1, 1, 0, 1], [0, 1, 1, 1], [1, 0, 0, 1]], dtype=bool)
    cr.check_grad(
        lambda q, k, v: nn.scaled_dot_product_attention(q, k, v, attn_mask=keep) ** 2,
        q,
        k,
        v,
        order=2,
    )
    cr.check_grad(lambda q, k, v: nn.scaled_dot_product_attention(q, k, v, is_causal=True), q, k, v)


def _reference_mha(
    mha: nn.MultiheadAttention,
    query: np.ndarray,
    key: np.ndarray,
    value: np.ndarray,
    add: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:
    """Batch-first multi-head attention, head by head (``add``: (N, L, S) additive mask)."""
    e, h = mha.embed_dim, mha.num_heads
    d = e // h
    w, b = mha.in_proj_weight.data, mha.in_proj_bias.data
    q = query @ w[:, :e] + b[:e]
    k = key @ w[:, e : 2 * e] + b[e : 2 * e]
    v = value @ w[:, 2 * e :] + b[2 * e :]
    n, length = query.shape[:2]
    heads = np.zeros((n, length, e))
    weights = np.zeros((n, h, length, key.shape[1]))
    for i in range(n):
        for j in range(h):
            cols = slice(j * d, (j + 1) * d)
            p = softmax_rows(q[i][:, cols] @ k[i][:, cols].T / math.sqrt(d) + add[i])
            weights[i, j] = p
            heads[i][:, cols] = p @ v[i][:, cols]
    out = heads @ mha.out_proj.weight.data + mha.out_proj.bias.data
    return out, weights


def test_multihead_attention_matches_head_by_head() -> None:
    rng = np.random.default_rng(3)
    mha = nn.MultiheadAttention(6, 3, seed=0)
    mha.in_proj_bias.data[...] = rng.normal(size=18)
    mha.out_proj.bias.data[...] = rng.normal(size=6)
    query, key, value = (
        rng.normal(size=(2, 4, 6)),
        rng.normal(size=(2, 5, 6)),
        rng.normal(size=(2, 5, 6)),
    )
    out, weights = mha(query, key, value)
    want, want_w = _reference_mha(mha, query, key, value, np.zeros((2, 4, 5)))
    np.testing.assert_allclose(out.data, want, rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(weights.data, want_w.mean(axis=1), rtol=1e-12)
    _, per_head = mha(query, key, value, average_attn_weights=False)
    np.testing.assert_allclose(per_head.data, want_w, rtol=1e-12)
    assert mha(query, key, value, need_weights=False)[1] is None
    # Masks: True in key_padding_mask and attn_mask means "masked out" for this layer.
    kpm = np.zeros((2, 5), dtype=bool)
    kpm[1, 3:] = True
    am = rng.normal(size=(4, 5))
    add = np.broadcast_to(am, (2, 4, 5)) + np.where(kpm, -np.inf, 0.0)[:, None, :]
    out, weights = mha(query, key, value, kpm, attn_mask=am)
    want, want_w = _reference_mha(mha, query, key, value, add)
    np.testing.assert_allclose(out.data, want, rtol=1e-12, atol=1e-14)
    assert np.all(weights.data[1, :, 3:] == 0.0)
    bool_am = np.triu(np.ones((4, 5), dtype=bool), 1)
    out, _ = mha(query, key, value, attn_mask=bool_am)
    upper = np.broadcast_to(np.where(bool_am, -np.inf, 0.0), (2, 4, 5))
    want, _ = _reference_mha(mha, query, key, value, upper)
    np.testing.assert_allclose(out.data, want, rtol=1e-12, atol=1e-14)
    causal, _ = mha(query, key, value, is_causal=True)
    np.testing.assert_allclose(causal.data, want, rtol=1e-12, atol=1e-14)
    per_item = rng.normal(size=(2 * 3, 4, 5))
    # (N·num_heads, L, S): head j of item i gets per_item[i·H + j].
    out, _ = mha(query, key, value, attn_mask=per_item)
    e, h, d = 6, 3, 2
    w, b = mha.in_proj_weight.data, mha.in_proj_bias.data
    q = query @ w[:, :e] + b[:e]
    k = key @ w[:, e : 2 * e] + b[e : 2 * e]
    v = value @ w[:, 2 * e :] + b[2 * e :]
    heads = np.zeros((2, 4, e))
    for i in range(2):
        for j in range(h):
            cols = slice(j * d, (j + 1) * d)
            p = softmax_rows(q[i][:, cols] @ k[i][:, cols].T / math.sqrt(d) + per_item[i * h + j])
            heads[i][:, cols] = p @ v[i][:, cols]
    want = heads @ mha.out_proj.weight.data + mha.out_proj.bias.data
    np.testing.assert_allclose(out.data, want, rtol=1e-12, atol=1e-14)


def test_multihead_attention_layouts_and_one_sequence() -> None:
    rng = np.random.default_rng(4)
    first = nn.MultiheadAttention(4, 2, seed=0)
    second = nn.MultiheadAttention(4, 2, batch_first=False, seed=0)
    x = rng.normal(size=(3, 5, 4))  # (N, L, E)
    out, w = first(x, x, x)
    out_t, w_t = second(x.transpose(1, 0, 2), x.transpose(1, 0, 2), x.transpose(1, 0, 2))
    assert out_t.shape == (5, 3, 4) and w_t.shape == (3, 5, 5)
    np.testing.assert_allclose(out_t.data.transpose(1, 0, 2), out.data, rtol=1e-12)
    np.testing.assert_allclose(w_t.data, w.data, rtol=1e-12)
    one, w_one = first(x[1], x[1], x[1])
    assert one.shape == (5, 4) and w_one.shape == (5, 5)
    np.testing.assert_allclose(one.data, out.data[1], rtol=1e-12)
    names = [n for n, _ in first.named_parameters()]
    assert names == ["in_proj_weight", "in_proj_bias", "out_proj.weight", "out_proj.bias"]
    assert first.in_proj_weight.shape == (4, 12)


def test_multihead_attention_gradients(fd_check: object) -> None:
    rng = np.random.default_rng(5)
    mha = nn.MultiheadAttention(4, 2, seed=1)
    mha.in_proj_bias.data[...] = rng.normal(size=12) * 0.1
    q = cr.tensor(rng.normal(size=(2, 3, 4)), requires_grad=True)
    kv = cr.tensor(rng.normal(size=(2, 2, 4)), requires_grad=True)
    kpm = np.array([[False, True], [False, False]])

    def loss() -> cr.Tensor:
        out, w = mha(q, kv, kv, kpm)
        return (out * out).sum() + (w * w).sum()

    fd_check(loss, [q, kv, *mha.parameters()])  # type: ignore[operator]


def test_dropout_on_attention_weights_only_in_training() -> None:
    rng = np.random.default_rng(6)
    mha = nn.MultiheadAttention(4, 1, dropout=0.5, seed=0)
    x = rng.normal(size=(1, 6, 4))
    _, w = mha(x, x, x)
    assert np.any(w.data == 0.0)  # some weights dropped, the rest scaled by 2
    mha.eval()
    _, w = mha(x, x, x)
    np.testing.assert_allclose(w.data.sum(axis=-1), 1.0, rtol=1e-12)


def test_attention_errors_name_the_problem() -> None:
    q = np.ones((2, 3, 4))
    with pytest.raises(ValueError, match=r"q shape \(2, 3, 4\) and k shape \(2, 5, 3\) differ"):
        nn.scaled_dot_product_attention(q, np.ones((2, 5, 3)), np.ones((2, 5, 4)))
    with pytest.raises(ValueError, match=r"k shape \(2, 5, 4\) and v shape \(2, 6, 4\) differ"):
        nn.scaled_dot_product_attention(q, np.ones((2, 5, 4)), np.ones((2, 6, 4)))
    with pytest.raises(ValueError, match=r"attn_mask of shape \(4, 5\) does not broadcast to"):
        nn.scaled_dot_product_attention(q, q, q, attn_mask=np.ones((4, 5), dtype=bool))
    with pytest.raises(ValueError, match="give attn_mask or is_causal, not both"):
        nn.scaled_dot_product_attention(q, q, q, attn_mask=np.ones((3, 3)), is_causal=True)
    with pytest.raises(TypeError, match="attn_mask must be boolean or floating"):
        nn.scaled_dot_product_attention(q, q, q, attn_mask=np.ones((3, 3), dtype=int))
    with pytest.raises(ValueError, match="at least two axes"):
        nn.scaled_dot_product_attention(np.ones(4), q, q)
    with pytest.raises(ValueError, match=r"embed_dim \(6\) must be divisible by num_heads \(4\)"):
        nn.MultiheadAttention(6, 4)
    mha = nn.MultiheadAttention(4, 2)
    with pytest.raises(ValueError, match=r"query shape \(2, 3, 5\) is not \(N, L, 4\)"):
        mha(np.ones((2, 3, 5)), q, q)
    with pytest.raises(ValueError, match=r"key_padding_mask shape \(2, 4\) is not \(N, S\)"):
        mha(q, q, q, np.zeros((2, 4), dtype=bool))
    with pytest.raises(ValueError, match=r"attn_mask shape \(3, 4\) is not \(L, S\)"):
        mha(q, q, q, attn_mask=np.zeros((3, 4)))
    with pytest.raises(ValueError, match=r"key shape \(2, 3, 4\) and value shape \(2, 2, 4\)"):
        mha(q, q, np.ones((2, 2, 4)))
