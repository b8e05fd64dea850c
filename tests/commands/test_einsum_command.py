r"""``chainrule einsum``: spec, Σ form, path report, loop check, .npy input/output, and bad input (exit 2)."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

from chainrule.cli import main
from chainrule.einsum import einsum_path

SEED_1 = r"C_{jk} = \sum_i A_{ijk} b_i"


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    try:
        code = main(["einsum", *argv])
    except SystemExit as exc:  # argparse's usage errors exit themselves
        code = int(exc.code or 0)
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_statement_prints_spec_sigma_form_report_and_check(
    capsys: pytest.CaptureFixture[str],
) -> None:
    code, out, err = run(capsys, SEED_1, "--shapes", "A=4x5x6,b=4")
    assert code == 0, err
    assert "subscripts: ijk,i->jk" in out
    assert "operands:   A, b" in out
    assert "output:     C" in out
    assert r"C_{jk} = \sum_{i} A_{ijk} b_{i}" in out
    assert "C[j,k] = Σ_i A[i,j,k]·b[i]" in out
    _, info = einsum_path("ijk,i->jk", (4, 5, 6), (4,))
    assert str(info).strip() in out
    assert "result C: 5×6 float64" in out
    assert "loop check: 120 iterations" in out
    assert out.rstrip().endswith("ok")


def test_raw_subscripts_with_default_and_given_names(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "ijk,i->jk", "--shapes", "A=4x5x6,B=4")
    assert code == 0
    assert "operands:   A, B" in out and r"\sum_{i} A_{ijk} B_{i}" in out
    code, out, _ = run(capsys, "ij,jk", "--names", "W,x", "--shapes", "W=2x3,x=3x4")
    assert code == 0
    assert "subscripts: ij,jk->ik" in out and "operands:   W, x" in out
    # Shapes without names go to the operands in order.
    code, out, _ = run(capsys, "ij,jk->ik", "--shapes", "2x3,3x4")
    assert code == 0 and "A: 2×3" in out and "B: 3×4" in out


def test_matrix_expression_and_repeated_operand(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "C = A G^T B", "--shapes", "A=3x4,G=5x4,B=5x2")
    assert code == 0
    assert "subscripts: ab,cb,cd->ad" in out and "operands:   A, G, B" in out
    code, out, _ = run(capsys, r"C_i = \sum_{j,k} A_{ijk} A_{ijk}", "--shapes", "A=2x3x4")
    assert code == 0 and "ijk,ijk->i" in out and "A, A" in out
    code, out, _ = run(capsys, "c = a_i b_i", "--einstein", "--shapes", "a=3,b=3")
    assert code == 0 and "subscripts: i,i->" in out


def test_declared_shapes_need_no_shapes_option(capsys: pytest.CaptureFixture[str]) -> None:
    statement = r"C = A G^T B, A \in \mathbb{R}^{3\times 4}, G \in ℝ^{5×4}, B \in ℝ^{5×2}"
    code, out, _ = run(capsys, statement)
    assert code == 0
    assert "G: 5×4 float64 (random)" in out and "result C: 3×2 float64" in out
    code, _, err = run(capsys, statement, "--shapes", "A=3x5")
    assert code == 2 and "--shapes gives (3, 5) but the statement declares (3, 4)" in err


def test_expect_grades_the_translation(capsys: pytest.CaptureFixture[str]) -> None:
    shapes = ("--shapes", "A=3x4,G=5x4,B=5x2")
    code, out, _ = run(capsys, "C = AG^TB", *shapes, "--expect", "de, fe, fl -> dl")
    assert code == 0 and "expected:   de, fe, fl -> dl → equivalent ok" in out
    code, out, _ = run(capsys, "C = AG^TB", *shapes, "--expect", "de, ef, fl -> dl")
    assert code == 1 and "NOT equivalent FAILED" in out
    code, _, err = run(capsys, "C = AG^TB", *shapes, "--expect", "de,fe->q")
    assert code == 2 and "output index 'q' does not appear" in err


def test_scalars_need_no_shape(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, r"C_{ij} = \alpha A_{ij}", "--shapes", "A=2x2")
    assert code == 0
    assert "alpha: scalar float64 (random)" in out


def test_npy_input_and_out(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    rng = np.random.default_rng(3)
    a, g, b = rng.standard_normal((3, 4)), rng.standard_normal((5, 4)), rng.standard_normal((5, 2))
    for name, arr in {"a": a, "g": g, "b": b}.items():
        np.save(tmp_path / f"{name}.npy", arr)
    out_file = tmp_path / "c.npy"
    npy = f"A={tmp_path / 'a.npy'},G={tmp_path / 'g.npy'},B={tmp_path / 'b.npy'}"
    code, out, err = run(capsys, "C = A G^T B", "--npy", npy, "--out", str(out_file))
    assert code == 0, err
    assert f"({tmp_path / 'a.npy'})" in out
    np.testing.assert_allclose(np.load(out_file), a @ g.T @ b, atol=1e-12)
    assert f"saved C to {out_file}" in out


def test_npy_mixed_with_random_shapes(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    np.save(tmp_path / "a.npy", np.ones((2, 3), dtype=np.float32))
    code, out, _ = run(capsys, "y = A x", "--npy", f"A={tmp_path / 'a.npy'}", "--shapes", "x=3")
    assert code == 0
    assert "A: 2×3 float32" in out and "x: 3 float64 (random)" in out


def test_loop_check_is_capped(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, SEED_1, "--shapes", "A=4x5x6,b=4", "--max-loop", "100")
    assert code == 0
    assert "loop check: skipped, it needs 120 iterations (limit 100" in out
    assert "Complete contraction" in out


def test_a_wrong_engine_result_fails_the_check(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    package = sys.modules["chainrule.einsum"]  # `run` imports the engine from there when it runs
    real = package.einsum
    monkeypatch.setattr(package, "einsum", lambda *a, **k: real(*a, **k) + 1e-6)
    code, out, _ = run(capsys, SEED_1, "--shapes", "A=4x5x6,b=4")
    assert code == 1
    assert "FAILED" in out


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        ((SEED_1, "--shapes", "A=4x5x6"), "no shape for operand 'b'"),
        ((SEED_1,), "no shape for operand 'A'"),
        ((SEED_1, "--shapes", "A=4xx5,b=4"), "bad shape '4xx5' for operand 'A'"),
        ((SEED_1, "--shapes", "A=4x5x6,b=four"), "bad shape 'four' for operand 'b'"),
        (
            (SEED_1, "--shapes", "A=4x5x6,b=4,Z=3"),
            "unknown operand 'Z' in --shapes; the operands are A, b",
        ),
        ((SEED_1, "--shapes", "A=4x5x6,b"), "bad --shapes item 'b'"),
        ((SEED_1, "--shapes", "4x5x6"), "--shapes gives 1 values without names but there are 2"),
        (
            (SEED_1, "--shapes", "A=4x5,b=4"),
            "operand 'A' has shape (4, 5) (2 dimensions) but its term 'ijk' needs 3",
        ),
        (
            (SEED_1, "--shapes", "A=4x5x6,b=5"),
            "index 'i' has size 4 in operand 'A' but 5 in operand 'b'",
        ),
        ((r"C_{jk} = \sum_i A_{ijk b_i", "--shapes", "b=4"), "unbalanced '{' at position"),
        (("ijk,i->jk", "--names", "A", "--shapes", "A=2x2x2"), "2 input terms but 1 operand names"),
        ((SEED_1, "--names", "A,b"), "--names is only for raw einsum subscripts"),
        (
            ("ij,jk->ik", "--shapes", "A=2x3,B=3x4", "--optimize", "fastest"),
            "argument --optimize: invalid choice: 'fastest'",
        ),
    ],
)
def test_bad_input_exits_2_with_one_line(
    capsys: pytest.CaptureFixture[str], argv: tuple[str, ...], message: str
) -> None:
    code, _, err = run(capsys, *argv)
    assert code == 2
    assert err.startswith("chainrule einsum: error: ")
    assert message in err
    assert len(err.strip().splitlines()) == 1


def test_bad_npy_files_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    missing = tmp_path / "missing.npy"
    code, _, err = run(capsys, "y = A x", "--npy", f"A={missing}", "--shapes", "x=3")
    assert code == 2 and f"operand 'A': no such file '{missing}'" in err
    np.save(tmp_path / "obj.npy", np.array([{"a": 1}], dtype=object), allow_pickle=True)
    code, _, err = run(capsys, "y = A x", "--npy", f"A={tmp_path / 'obj.npy'}", "--shapes", "x=3")
    assert code == 2 and "holds object data; einsum takes numbers" in err
    (tmp_path / "junk.npy").write_bytes(b"not an array")
    code, _, err = run(capsys, "y = A x", "--npy", f"A={tmp_path / 'junk.npy'}", "--shapes", "x=3")
    assert code == 2 and f"operand 'A': '{tmp_path / 'junk.npy'}' is not a .npy file" in err
    assert "pickle" not in err
    np.savez(tmp_path / "two.npz", a=np.ones(2), b=np.ones(2))
    code, _, err = run(capsys, "y = A x", "--npy", f"A={tmp_path / 'two.npz'}", "--shapes", "x=3")
    assert code == 2 and "holds an archive, not one array" in err
    np.save(tmp_path / "v.npy", np.ones(3))
    code, _, err = run(capsys, "y = A x", "--npy", f"A={tmp_path / 'v.npy'}", "--shapes", "x=3")
    assert code == 2 and "operand 'A' has shape (3,) (1 dimensions) but its term" in err
    np.save(tmp_path / "m.npy", np.ones((2, 4)))
    code, _, err = run(capsys, "y = A x", "--npy", f"A={tmp_path / 'm.npy'}", "--shapes", "x=3")
    assert code == 2 and "has size 4 in operand 'A'" in err and "but 3 in operand 'x'" in err
    code, _, err = run(
        capsys, "y = A x", "--npy", f"A={tmp_path / 'm.npy'}", "--shapes", "A=2x5,x=4"
    )
    assert code == 2 and "has shape (2, 4) but --shapes says (2, 5)" in err


def test_out_to_an_unwritable_path_exits_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    target = tmp_path / "no" / "such" / "dir" / "c.npy"
    code, _, err = run(capsys, SEED_1, "--shapes", "A=2x3x4,b=2", "--out", str(target))
    assert code == 2
    assert err.startswith(f"chainrule einsum: error: --out: cannot write {target}: the folder")
    assert len(err.strip().splitlines()) == 1


def test_optimize_choices_are_the_engine_names() -> None:
    """The CLI's copy of the optimizer names equals the engine's own names (opt_einsum's aliases
    aside), and each one plans a contraction."""
    import numpy as np

    from chainrule.commands.einsum import OPTIMIZERS
    from chainrule.einsum import einsum_path
    from chainrule.einsum.paths import BRANCH_WIDTHS

    assert set(OPTIMIZERS) == {"auto", "optimal", "greedy", "left", *BRANCH_WIDTHS}
    shapes = [np.ones((2, 3)), np.ones((3, 4)), np.ones((4, 5))]
    for name in OPTIMIZERS:
        path, _ = einsum_path("ab,bc,cd->ad", *shapes, optimize=name)
        assert len(path) == 2  # two pairwise steps for three operands
