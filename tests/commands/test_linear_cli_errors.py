"""Bad input to the linear-model commands: exit 2, exactly one line on stderr, no traceback."""

from __future__ import annotations

import pathlib

import pytest

from chainrule.cli import main


def _files(tmp_path: pathlib.Path) -> dict[str, str]:
    texts: dict[str, bytes] = {
        "xor": b"x1,x2,y\n0,0,a\n1,1,a\n0,1,b\n1,0,b\n",
        "word": b"x1,x2,y\n0,zz,a\n1,1,b\n",
        "nan": b"x1,x2,y\n0,nan,a\n1,1,b\n",
        "ragged": b"x1,x2,y\n0,0,a\n1,1\n",
        "empty": b"",
        "header": b"x1,x2,y\n",
        "one_class": b"x1,x2,y\n0,0,a\n1,1,a\n2,2,a\n3,3,a\n",
        "three": b"x1,x2,y\n0,0,a\n1,1,b\n2,2,c\n",
        "latin1": b"x1,y\n1,a\n2,\xff\n",
        "huge_field": b'x,y\n"' + b"1" * 200_000 + b'",1\n',
        "huge_values": b"a,b,y\n" + b"1e300,1,0\n-1e300,2,1\n" * 4,
        "too_huge": b"a,b,y\n" + b"1e308,1,0\n-1e308,2,1\n" * 4,
        "subnormal": b"a,b,y\n" + b"1e-310,1,0\n-1e-310,2,1\n" * 4,
        "overflow": b"a,b,y\n1e999,1,0\n2,2,1\n",
    }
    out = {}
    for name, data in texts.items():
        path = tmp_path / f"{name}.csv"
        path.write_bytes(data)
        out[name] = str(path)
    (tmp_path / "folder").mkdir()
    out["folder"] = str(tmp_path / "folder")
    out["missing"] = str(tmp_path / "missing.csv")
    return out


BAD = [
    # argparse-level errors: a missing or unknown flag, a bad choice, a bad int.
    ["separate"],
    ["separate", "{xor}", "--margin", "foo"],
    ["separate", "{xor}", "--nope"],
    ["hyperplane", "--pos", "1,2", "--neg", "2,1", "extra"],
    ["unit", "--points", "0,0:1 1,1:0", "--nope", "1"],
    ["logreg", "--nope"],
    ["logreg", "--max-iter", "abc"],
    ["logreg", "--penalty", "l3"],
    ["unit", "--points", "0,0:1 1,1:0", "--bias-sign", "2"],
    ["unit"],
    ["hyperplane", "--neg", "2"],
    # bad values
    ["hyperplane", "--pos", "1,x", "--neg", "1,2"],
    ["hyperplane", "--pos", "nan,1", "--neg", "1,2"],
    ["hyperplane", "--pos", "1,2", "--neg", "1,2,3"],
    ["hyperplane", "--pos", "1,2", "--neg", "1,2"],
    ["unit", "--points", "0,0:2"],
    ["unit", "--points", "0,0:1 1:0"],
    ["unit", "--points", "0,0:1 1,1:1"],
    ["unit", "--points", "0,0:1 1,1:0", "--weights", "w0=inf,w1=1,w2=1"],
    ["unit", "--points", "0,0:1 1,1:0", "--weights", "w0=0,w1=1"],
    ["logreg", "--test-size", "2"],
    ["logreg", "--C", "nan"],
    ["logreg", "--tol", "nan"],
    ["logreg", "--label", "y"],
    ["logreg", "--out", "{missing}/model"],
    ["logreg", "{huge_values}"],  # products overflow float64 unless standardized
    # bad files
    *(
        [command, "{" + name + "}"]
        for command in ("separate", "logreg")
        for name in (
            "word",
            "nan",
            "ragged",
            "empty",
            "header",
            "one_class",
            "latin1",
            "huge_field",
            "folder",
            "missing",
        )
    ),
    ["separate", "{three}"],
    ["separate", "{xor}", "--label", "nope"],
    ["logreg", "{xor}", "--label", "nope"],
    *(
        [command, "{" + name + "}"]
        for command in ("separate", "logreg")
        for name in ("too_huge", "subnormal", "overflow")
    ),
]


@pytest.mark.parametrize("argv", BAD, ids=[" ".join(a) for a in BAD])
def test_bad_input_exits_2_with_one_line(
    argv: list[str], tmp_path: pathlib.Path, capsys: pytest.CaptureFixture[str]
) -> None:
    files = _files(tmp_path)
    args = [a.format(**files) for a in argv] + (["--quiet"] if argv[0] == "logreg" else [])
    try:
        code = main(args)
    except SystemExit as exc:  # argparse exits itself
        code = exc.code
    err = capsys.readouterr().err
    assert code == 2
    assert len(err.strip().splitlines()) == 1, err
    assert err.startswith(f"chainrule {argv[0]}: error: ")
    assert "Traceback" not in err


def test_undecodable_csv_names_the_file_and_line(
    tmp_path: pathlib.Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = _files(tmp_path)["latin1"]
    assert main(["separate", path]) == 2
    err = capsys.readouterr().err
    assert path in err and "line 3" in err and "0xff" in err


def test_values_past_the_solvers_range_are_refused_with_the_range(
    tmp_path: pathlib.Path, capsys: pytest.CaptureFixture[str]
) -> None:
    files = _files(tmp_path)
    assert main(["separate", files["too_huge"]]) == 2
    assert "1e+308 is outside the range the float64 solver takes: 0 or 1e-300 ≤ |x| ≤ 1e+300" in (
        capsys.readouterr().err
    )
    assert main(["separate", files["subnormal"]]) == 2
    assert "data row 1, column 'a': 1e-310 is outside the range" in capsys.readouterr().err
    assert main(["separate", files["overflow"]]) == 2
    assert "'1e999' is outside the float64 range" in capsys.readouterr().err


def test_values_near_the_float64_limit_fit_when_standardized(
    tmp_path: pathlib.Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = _files(tmp_path)["huge_values"]
    assert main(["logreg", path, "--standardize", "--test-size", "0"]) == 0
    captured = capsys.readouterr()
    assert "training accuracy = 1.0000" in captured.out
    assert captured.err == ""
