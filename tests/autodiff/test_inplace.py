"""In-place changes of values a graph saved are never used silently (docs/autodiff.md, "In-place
changes"): backward raises, naming the tensor and its versions; reads, writes after backward and
writes once no graph holds the value stay free of errors."""

import gc

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import chainrule as cr
from chainrule.autodiff.backward import gradients
from chainrule.nn.optim import SGD, Adam

MODIFIED = "modified by an inplace operation"


def _raises_modified(fn, *fragments):
    with pytest.raises(RuntimeError, match=MODIFIED) as info:
        fn()
    text = str(info.value)
    for fragment in fragments:
        assert fragment in text, (fragment, text)
    return text


# --- the case --------------------------------------------------------------------------------


def test_write_through_data_between_forward_and_backward_raises_naming_the_tensor():
    x = cr.tensor([1.0, 2.0], requires_grad=True)
    y = (x * x).sum()
    x.data[:] = 0
    text = _raises_modified(
        y.backward,
        "an unnamed leaf of shape (2,)",
        "is at version 1",
        "saved it at version 0",
        "the mul node",
        "a write into the array of .data",
        "Clone it before modifying it",
        "recompute the forward pass",
    )
    assert text.startswith("one of the variables needed for gradient computation")
    assert x.grad is None  # nothing came back
    assert x._version == 1


def test_named_and_intermediate_tensors_are_named():
    x = cr.tensor([1.0, 2.0], requires_grad=True, name="x")
    y = (x * x).sum()
    x.data[0] = 5.0
    _raises_modified(y.backward, "tensor 'x' (leaf, shape (2,))")
    x = cr.tensor([0.5, -1.0, 2.0], requires_grad=True)
    h = cr.tanh(x)  # tanh's rule reads its own output
    loss = (h * 2.0).sum()
    h.data[1] = 0.0
    again = lambda: loss.backward(retain_graph=True)  # noqa: E731
    _raises_modified(again, "an unnamed output of tanh of shape (3,)")
    h.name = "h"
    _raises_modified(again, "tensor 'h' (output of tanh, shape (3,))", "the mul node")
    # Backward from h itself: its own node saved its output (tanh's rule reads it).
    _raises_modified(lambda: h.backward(np.ones(3)), "tensor 'h'", "its own tanh node")


def test_reads_between_forward_and_backward_change_nothing():
    rng = np.random.default_rng(0)
    a0, b0 = rng.standard_normal((3, 4)), rng.standard_normal(4)

    def run(read):
        a, b = cr.tensor(a0, requires_grad=True), cr.tensor(b0, requires_grad=True)
        h = cr.tanh(a * b)
        loss = (h @ b).sum()
        if read:
            for t in (a, b, h, loss):
                _ = t.data.sum(), t.numpy().shape, np.asarray(t).dtype, repr(t)
            np.add(a.data, 1.0)  # a new array: a read
        loss.backward()
        return a.grad.data, b.grad.data

    for plain, read in zip(run(False), run(True), strict=True):
        assert plain.tobytes() == read.tobytes()


def test_writing_back_the_same_values_is_no_change():
    x = cr.tensor([1.0, 2.0], requires_grad=True)
    y = (x * x).sum()
    x.data[:] = [1.0, 2.0]
    y.backward()
    np.testing.assert_array_equal(x.grad.data, [2.0, 4.0])


# --- when writes are fine ----------------------------------------------------------------------------


def test_writes_after_backward_are_fine():
    x = cr.tensor([1.0, 2.0], requires_grad=True)
    (x * x).sum().backward()
    x.data[:] = [3.0, 4.0]
    x.data -= 1.0
    x.zero_grad()
    (x * x).sum().backward()
    np.testing.assert_array_equal(x.grad.data, [4.0, 6.0])


def test_writes_before_the_forward_pass_are_fine():
    x = cr.tensor([1.0, 2.0], requires_grad=True)
    x.data[:] = 5.0
    x.data = np.array([1.0, 3.0])
    y = (x * x).sum()
    y.backward()
    np.testing.assert_array_equal(x.grad.data, [2.0, 6.0])


def test_a_graph_dropped_without_backward_does_not_block_writes():
    w = cr.tensor(np.ones(3), requires_grad=True)
    out = cr.tanh(w * 2.0).sum()  # evaluated, never differentiated
    del out
    gc.collect()
    w.data[:] = 2.0  # no error: nothing is read-only
    loss = (w * w).sum()
    loss.backward()
    np.testing.assert_array_equal(w.grad.data, [4.0, 4.0, 4.0])


def test_retain_graph_keeps_protection_until_the_graph_is_freed():
    x = cr.tensor([1.0, 2.0], requires_grad=True, name="x")
    y = (x * x).sum()
    y.backward(retain_graph=True)
    _ = x.data  # a read: nothing changes
    y.backward(retain_graph=True)
    y.backward()  # frees the graph
    np.testing.assert_array_equal(x.grad.data, [6.0, 12.0])
    x.data[:] = 7.0  # the graph is freed: nothing to protect
    with pytest.raises(RuntimeError, match="retain_graph=True"):
        y.backward()
    y = (x * x).sum()
    y.backward(retain_graph=True)
    x.data[:] = 0.0  # the retained graph still holds x
    _raises_modified(lambda: y.backward(retain_graph=True), "tensor 'x'", "at version 1")
    x.data[:] = 7.0  # writing the old values back is a second change (versions only go up)
    _raises_modified(y.backward, "tensor 'x'", "at version 2", "saved it at version 0")


def test_a_graph_backward_frees_does_not_unprotect_another_one():
    w = cr.tensor([1.0, 2.0], requires_grad=True, name="w")
    first = (w * 3.0).sum() + (w * w).sum()
    second = (w * w * w).sum()
    second.backward()  # frees the second graph only
    w.data[:] = 0.0
    _raises_modified(first.backward, "tensor 'w'")


# --- what counts as a change -------------------------------------------------------------------------


def test_assigning_data_is_a_change():
    x = cr.tensor([1.0, 2.0], requires_grad=True, name="x")
    y = (x * x).sum()
    x.data = np.array([1.0, 2.0])
    _raises_modified(y.backward, "an assignment to .data", "is at version 1")


def test_augmented_assignment_counts_once():
    x = cr.tensor([1.0, 2.0], requires_grad=True)
    y = (x * x).sum()
    x.data -= 1.0  # a write into the array, then the assignment of the same array
    _raises_modified(y.backward, "is at version 1", "saved it at version 0")


def test_writes_through_numpy_and_asarray_are_changes():
    for hand_out in (lambda t: t.numpy(), np.asarray):
        x = cr.tensor([1.0, 2.0], requires_grad=True)
        y = (x * x).sum()
        hand_out(x)[0] = 9.0
        _raises_modified(y.backward)


def test_writes_through_views_and_detach_are_changes():
    x = cr.tensor(np.arange(6.0), requires_grad=True, name="x")
    y = (x * x).sum()
    v = x.reshape(2, 3)  # a recorded view: it shares x's memory
    v.data[1, 1] = 0.0
    _raises_modified(y.backward, "tensor 'x'")
    x = cr.tensor(np.arange(6.0), requires_grad=True, name="x")
    y = (x * x).sum()
    x.detach().data[0] = 1.0
    _raises_modified(y.backward, "tensor 'x'")
    x = cr.tensor(np.arange(6.0), requires_grad=True, name="x")
    y = (x * x).sum()
    cr.as_tensor(x, requires_grad=True).data[2] = 0.0  # a new leaf sharing x's array
    _raises_modified(y.backward, "tensor 'x'")


def test_a_long_chain_of_views_is_followed_without_recursion():
    x = cr.tensor(np.arange(6.0), requires_grad=True, name="x")
    y = (x * x).sum()
    v = x
    for i in range(3000):
        v = v.reshape(6) if i % 2 else v.reshape(2, 3)
    v.data[0] = 100.0
    _raises_modified(y.backward, "tensor 'x'")


def test_retain_grad_on_a_leaf_keeps_its_count():
    x = cr.tensor([1.0, 2.0], requires_grad=True).retain_grad()
    y = (x * x).sum()
    x.data[0] = 5.0
    _raises_modified(y.backward)
    x.zero_grad()
    (x * 3.0).sum().backward()
    np.testing.assert_array_equal(x.grad.data, [3.0, 3.0])


def test_constant_leaves_are_protected_too():
    # The saved value of an operand that needs no gradient still feeds another operand's gradient.
    w = cr.tensor([1.0, 2.0], requires_grad=True)
    c = cr.tensor([3.0, 4.0], name="c")
    y = (w * c).sum()
    c.data[:] = 0.0
    _raises_modified(y.backward, "tensor 'c'")


def test_optimizer_step_between_forward_and_backward_is_detected():
    for make in (lambda ps: SGD(ps, lr=0.1, momentum=0.9), lambda ps: Adam(ps, lr=0.1)):
        w = cr.tensor([1.0, -2.0], requires_grad=True, name="w")
        opt = make([w])
        for _ in range(3):  # the usual loop: no error, versions go up
            opt.zero_grad()
            (w * w).sum().backward()
            opt.step()
        assert w._version == 3
        opt.zero_grad()
        (w * w).sum().backward()
        y = (w * w).sum()
        opt.step()
        _raises_modified(y.backward, "tensor 'w'", "an optimizer step", "is at version 4")


def test_load_state_dict_between_forward_and_backward_is_detected():
    from chainrule.nn import Linear

    layer = Linear(3, 2, rng=0)
    loss = (layer(cr.tensor(np.ones((4, 3)))) ** 2).sum()
    layer.load_state_dict({k: v * 0.5 for k, v in layer.state_dict().items()})
    _raises_modified(loss.backward)


def test_gradients_and_create_graph_verify_too():
    x = cr.tensor([1.0, 2.0], requires_grad=True, name="x")
    y = (x * x * x).sum()
    x.data[0] = 0.0
    _raises_modified(lambda: gradients(y, [x]), "tensor 'x'")
    x = cr.tensor([1.0, 2.0], requires_grad=True, name="x")
    y = (x * x * x).sum()
    x.data[0] = 0.0
    _raises_modified(lambda: y.backward(create_graph=True), "tensor 'x'")


# --- higher order ------------------------------------------------------------------------------------


def test_higher_order_gradients_still_work_and_are_protected():
    x = cr.tensor(2.0, requires_grad=True, name="x")
    y = x**3
    y.backward(create_graph=True)
    g = x.grad  # 3x², recorded
    x.grad = None
    _ = g.data, x.data  # reads: no change
    g.backward()
    assert g.item() == 12.0 and x.grad.item() == 12.0
    assert cr.grad(cr.grad(lambda t: t**3))(2.0) == 12.0
    np.testing.assert_allclose(
        cr.hvp(lambda v: (v**3).sum(), np.array([1.0, 2.0]), np.array([1.0, 1.0])), [6.0, 12.0]
    )
    x = cr.tensor(np.array([1.0, 2.0]), requires_grad=True, name="x")
    (x**3).sum().backward(create_graph=True)
    g = x.grad
    x.grad = None
    x.data[1] = 5.0  # the graph of g saved x
    _raises_modified(lambda: g.sum().backward(), "tensor 'x'")


# --- documented limits -------------------------------------------------------------------------------


def test_documented_limit_an_array_obtained_before_the_forward_pass():
    # Not detected (docs/autodiff.md): the array was handed out before the graph saved it.
    x = cr.tensor([1.0, 2.0], requires_grad=True)
    kept = x.data
    y = (x * x).sum()
    kept[:] = 0.0
    y.backward()
    np.testing.assert_array_equal(x.grad.data, [0.0, 0.0])


def test_documented_limit_a_buffer_shared_with_as_tensor():
    buf = np.array([1.0, 2.0])
    x = cr.as_tensor(buf, requires_grad=True)
    y = (x * x).sum()
    np.copyto(buf, [0.0, 0.0])  # the caller's own array: not detected
    y.backward()
    np.testing.assert_array_equal(x.grad.data, [0.0, 0.0])


# --- properties --------------------------------------------------------------------------------------

OPS = [
    ("mul", lambda a, b: a * b),
    ("tanh", lambda a, b: cr.tanh(a) + b),
    ("exp", lambda a, b: cr.exp(a * 0.1) * b),
    ("matmul", lambda a, b: a @ b.reshape(3, 1) * b.reshape(1, 3)),
    ("sum", lambda a, b: a.sum(axis=0, keepdims=True) * b),
    ("getitem", lambda a, b: a[:, [2, 0, 1]] - b),
    ("div", lambda a, b: a / (b * b + 1.0)),
]
WRITES = {
    "data[]": lambda t, v: t.data.__setitem__((0,) * t.ndim, v),
    "numpy": lambda t, v: t.numpy().__setitem__((0,) * t.ndim, v),
    "assign": lambda t, v: setattr(t, "data", np.full(t.shape, v)),
}


@settings(max_examples=60, deadline=None)
@given(
    ops=st.lists(st.sampled_from(range(len(OPS))), min_size=1, max_size=4),
    target=st.integers(0, 10),
    how=st.sampled_from(sorted(WRITES)),
    same=st.booleans(),
    seed=st.integers(0, 2**16),
)
def test_property_backward_raises_exactly_when_a_saved_value_changed(ops, target, how, same, seed):
    rng = np.random.default_rng(seed)
    a0, b0 = rng.standard_normal((3, 3)), rng.standard_normal(3)

    def build():
        a = cr.tensor(a0, requires_grad=True, name="a")
        b = cr.tensor(b0, requires_grad=True, name="b")
        tensors = [a, b]
        h = a
        for k in ops:
            h = OPS[k][1](h, b)
            tensors.append(h)
        return a, b, tensors, (h * h).sum()

    a, b, tensors, loss = build()
    t = tensors[target % len(tensors)]
    value = float(t.data[(0,) * t.ndim]) if same else 123.0
    WRITES[how](t, value)
    # A change is a different value written into the array, or any assignment to .data.
    changed = how == "assign" or not same
    if changed:
        _raises_modified(loss.backward, f"tensor {t.name!r}" if t.name else "unnamed")
    else:
        loss.backward()
        a2, b2, _, loss2 = build()
        loss2.backward()
        assert a.grad.data.tobytes() == a2.grad.data.tobytes()
        assert b.grad.data.tobytes() == b2.grad.data.tobytes()
    # Once that graph is gone, writes are free and new graphs work.
    del loss, tensors
    a.data[...] = 0.5
    b.zero_grad()
    (a.sum() * b).sum().backward()
    np.testing.assert_array_equal(b.grad.data, np.full(3, 4.5))


@settings(max_examples=40, deadline=None)
@given(
    steps=st.lists(st.sampled_from(["forward", "backward", "retain", "write", "drop"]), max_size=10)
)
def test_property_writes_raise_only_while_a_graph_holds_the_value(steps):
    # A small model of the rule: backward raises iff some write happened while its graph held w.
    w = cr.tensor([0.5, -1.5], requires_grad=True, name="w")
    graph = None
    dirty = False  # a write since the live graph was recorded
    for step in steps:
        if step == "forward":
            graph, dirty = (cr.tanh(w * 2.0) * w).sum(), False
        elif step in ("backward", "retain") and graph is not None:
            if dirty:
                _raises_modified(lambda g=graph: g.backward(retain_graph=True), "tensor 'w'")
                graph = None
                continue
            graph.backward(retain_graph=step == "retain")
            if step == "backward":
                graph = None
        elif step == "write":
            w.data[0] += 1.0
            dirty = dirty or graph is not None
        elif step == "drop":
            graph = None
