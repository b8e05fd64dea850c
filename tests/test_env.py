"""The one rule for environment switches, and the three switches that follow it."""

import pytest

from chainrule import _env
from chainrule.einsum import tuning
from chainrule.linear import logistic
from chainrule.nn import native


@pytest.mark.parametrize("value", ["0", "off", "OFF", " false ", "No"])
def test_off_values_turn_every_switch_off(monkeypatch: pytest.MonkeyPatch, value: str) -> None:
    for name, probe in (
        (tuning.ENV_VAR, tuning.tuning_enabled),
        (logistic.MEASURE_ENV_VAR, logistic.measuring_enabled),
        (native.ENV, native.available),
    ):
        monkeypatch.setenv(name, value)
        assert not _env.switched_on(name)
        assert not probe()


@pytest.mark.parametrize("value", [None, "", "1", "on", "yes", "2", "offline"])
def test_anything_else_leaves_them_on(monkeypatch: pytest.MonkeyPatch, value: str | None) -> None:
    for name in (tuning.ENV_VAR, logistic.MEASURE_ENV_VAR, native.ENV):
        if value is None:
            monkeypatch.delenv(name, raising=False)
        else:
            monkeypatch.setenv(name, value)
        assert _env.switched_on(name)
    assert tuning.tuning_enabled() and logistic.measuring_enabled()
    assert native.available() == (native._EXT is not None)
