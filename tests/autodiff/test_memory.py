"""Memory: a 10,000-step training loop keeps memory flat; graphs are freed by reference counting."""

import gc
import tracemalloc
import weakref

import numpy as np

import chainrule as cr


def test_training_loop_memory_is_flat():
    rng = np.random.default_rng(0)
    X = rng.standard_normal((16, 4))
    y = (X[:, 0] > 0).astype(float)
    w = cr.tensor(np.zeros(4), requires_grad=True)
    b = cr.tensor(0.0, requires_grad=True)

    def step():
        a = X @ w + b
        loss = -(y * cr.log_sigmoid(a) + (1 - y) * cr.log_sigmoid(-a)).mean()
        loss.backward()
        w.data = w.data - 0.1 * w.grad.data
        b.data = b.data - 0.1 * b.grad.data
        w.zero_grad()
        b.zero_grad()
        return loss

    for _ in range(200):
        step()
    gc.collect()
    tracemalloc.start()
    try:
        base, _ = tracemalloc.get_traced_memory()
        for i in range(10_000):
            loss = step()
            if i == 999:
                gc.collect()
                after_1k, _ = tracemalloc.get_traced_memory()
        gc.collect()
        end, _ = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert float(loss) < 0.3
    # Flat: the last 9,000 steps add (almost) nothing to what is held after 1,000.
    assert end - after_1k < 20_000, (base, after_1k, end)


def test_graph_is_freed_when_the_loss_is_dropped_without_gc():
    x = cr.tensor(np.ones(100), requires_grad=True)
    h = cr.tanh(x * 2.0)
    loss = h.sum()
    ref = weakref.ref(h)
    del h
    loss.backward()
    assert ref() is not None  # the structure stays for explanations
    gc.disable()
    try:
        del loss
        assert ref() is None  # no reference cycles: freed by reference counting alone
    finally:
        gc.enable()
