"""fit stops on a loss that is nan or inf, at once, with a warning naming the epoch and the step."""

import warnings

import numpy as np
import pytest

import chainrule as cr
from chainrule.nn import SGD, Linear, mse_loss
from chainrule.nn.train import NonFiniteLossWarning, fit

X = np.arange(16.0).reshape(8, 2) / 10
Y = X.sum(axis=1, keepdims=True)


def loss_turning(bad: float, at_call: int):
    """mse_loss, except that call number ``at_call`` (from 1) returns ``bad``."""
    calls = [0]

    def loss(pred, target):
        calls[0] += 1
        value = mse_loss(pred, target)
        if calls[0] == at_call:
            return value * cr.tensor(bad)
        return value

    return loss, calls


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_stops_at_the_step_with_a_warning(bad) -> None:
    lin = Linear(2, 1, rng=0)
    loss, calls = loss_turning(bad, at_call=7)  # epoch 2, step 3 of 4 (batch_size 2, 8 samples)
    with pytest.warns(NonFiniteLossWarning) as record, np.errstate(invalid="ignore"):
        h = fit(lin, loss, X, Y, SGD(lin, lr=0.01), epochs=5, batch_size=2)
    assert issubclass(NonFiniteLossWarning, RuntimeWarning)
    msg = str(record[0].message)
    assert "epoch 2" in msg and "step 3 of 4" in msg and "step 7 overall" in msg
    assert h.stopped_early and h.epochs == 2 and "epoch 2, step 3" in h.reason
    assert calls[0] == 7  # nothing after the bad step
    assert len(h.loss) == 2 and not np.isfinite(h.loss[-1])
    for p in lin.parameters():
        assert np.all(np.isfinite(p.data))  # the bad loss updated nothing


def test_divergence_warns_and_keeps_parameters_finite() -> None:
    lin = Linear(2, 1, rng=0)
    with warnings.catch_warnings(record=True) as caught, np.errstate(all="ignore"):
        warnings.simplefilter("always")
        h = fit(lin, mse_loss, X * 1e3, Y, SGD(lin, lr=1e3), epochs=50)
    found = [w for w in caught if issubclass(w.category, NonFiniteLossWarning)]
    assert len(found) == 1 and h.stopped_early and h.epochs < 50
    assert f"epoch {h.epochs}" in str(found[0].message)


def test_finite_training_does_not_warn() -> None:
    lin = Linear(2, 1, rng=0)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        h = fit(lin, mse_loss, X, Y, SGD(lin, lr=0.1), epochs=3, batch_size=3)
    assert not h.stopped_early and h.reason == "" and len(h.loss) == 3
