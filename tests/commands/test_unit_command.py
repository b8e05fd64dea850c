"""``chainrule unit``: solve or check a threshold unit's weights (the seed's Q2)."""

import pytest

from chainrule.cli import main

SEED = "0,0:1 0,-1:1 1,0:0 1,-1:0"


def test_check_seed_weights(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["unit", "--points", SEED, "--weights", "w0=0,w1=-1,w2=0"]) == 0
    out = capsys.readouterr().out
    assert "(2)  w1(0) + w2(-1) - w0 >= 0" in out
    assert "(1)  -(0) = 0 >= 0" in out
    assert "all 4 constraints hold" in out


def test_failing_weights_exit_1(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["unit", "--points", SEED, "--weights", "w0=0,w1=1,w2=0"]) == 1
    assert "(3), (4) fail" in capsys.readouterr().out
    assert main(["unit", "--points", SEED, "--weights", "w0=0,w1=-1,w2=0", "--strict"]) == 1


def test_solve_seed(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["unit", "--points", SEED]) == 0
    out = capsys.readouterr().out
    assert "solved" in out and "all 4 constraints hold" in out
    assert "(4)  w1(1) + w2(-1) - w0 < 0" in out


def test_solve_xor_prints_certificate_and_exits_0(capsys: pytest.CaptureFixture[str]) -> None:
    # A certificate that no weights exist is an answer, as in `separate`: exit 0.
    assert main(["unit", "--points", "0,0:0;0,1:1;1,0:1;1,1:0"]) == 0
    assert "½·(0,1) + ½·(1,0) = ½·(0,0) + ½·(1,1)" in capsys.readouterr().out


def test_bias_sign_plus(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["unit", "--points", SEED, "--weights", "w0=1,w1=-2,w2=0", "--bias-sign", "1"]) == 0
    assert "+ w0" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("argv", "needle"),
    [
        (["--points", "0,0 1,0:1"], "point 1 '0,0' needs the form"),
        (["--points", "0,0:3"], "outputs are 0 or 1"),
        (["--points", "0,0:1 1:0"], "different numbers of coordinates"),
        (["--points", SEED, "--weights", "w0=0,w1=-1"], "missing w2"),
        (["--points", SEED, "--weights", "w0=0,w1=-1,w2=0,w3=1"], "w3 is not a weight"),
        (["--points", SEED, "--weights", "w0=0,w1=x,w2=0"], "w1='x' is not a number"),
        (["--points", "0,0:1 1,1:1"], "solving needs points of both outputs"),
    ],
)
def test_bad_input_exits_2(
    argv: list[str], needle: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["unit", *argv]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("chainrule unit: error:") and needle in err[0]


def test_decimal_points_get_small_integer_weights(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["unit", "--points", "0.1,0:1 0.9,0:0"]) == 0
    out = capsys.readouterr().out
    assert "w0 = -1, w1 = -2, w2 = 0" in out and "all 2 constraints hold" in out
