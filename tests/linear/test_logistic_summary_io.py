"""LogisticRegression.summary() against a direct computation, and save/load without pickle."""

from __future__ import annotations

import json
import pathlib
import pickle

import numpy as np
import pytest
import scipy.special

from chainrule.linear.logistic import LogisticRegression
from chainrule.linear.model_io import FORMAT


def _binary(n: int = 400, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 3))
    p = scipy.special.expit(0.4 + X @ np.array([1.0, -0.5, 0.0]))
    return X, (rng.random(n) < p).astype(int)


def test_binary_summary_matches_direct_inverse_hessian() -> None:
    X, y = _binary()
    model = LogisticRegression(penalty=None, tol=1e-12).fit(X, y)
    s = model.summary()
    beta = np.concatenate([model.intercept_, model.coef_.ravel()])
    Xt = np.column_stack([np.ones(len(X)), X])
    p = scipy.special.expit(Xt @ beta)
    info = Xt.T @ (Xt * (p * (1 - p))[:, None])
    cov = np.linalg.inv(info)
    se = np.sqrt(np.diag(cov))
    assert s.names == ["const", "x1", "x2", "x3"]
    np.testing.assert_allclose(s.coef, beta, rtol=1e-12)
    np.testing.assert_allclose(s.std_err, se, rtol=1e-8)
    np.testing.assert_allclose(s.z, beta / se, rtol=1e-8)
    np.testing.assert_allclose(s.p_values, 2 * scipy.special.ndtr(-np.abs(beta / se)), rtol=1e-7)
    np.testing.assert_allclose(s.ci_high - s.ci_low, 2 * 1.959963984540054 * se, rtol=1e-9)
    loglik = float(np.sum(y * np.log(p) + (1 - y) * np.log1p(-p)))
    assert s.log_likelihood == pytest.approx(loglik, rel=1e-10)
    ybar = y.mean()
    assert s.null_log_likelihood == pytest.approx(
        len(y) * (ybar * np.log(ybar) + (1 - ybar) * np.log(1 - ybar)), rel=1e-12
    )
    text = str(s)
    assert "std err" in text and "P>|z|" in text and "x3" in text
    # The true coefficient of x3 is 0, the others are far from 0.
    assert s.p_values[3] > 0.01 and s.p_values[1] < 1e-6


def test_multinomial_summary_reference_class_against_direct() -> None:
    rng = np.random.default_rng(2)
    X = rng.normal(size=(300, 2))
    y = rng.integers(0, 3, size=300)
    model = LogisticRegression(penalty=None, tol=1e-12).fit(X, y)
    s = model.summary()
    assert s.names[0] == "1: const" and s.names[-1] == "2: x2"
    # Direct: the reference-class model's information, Σ_i (diag(q) − q qᵀ) ⊗ x̃ x̃ᵀ over classes 1, 2.
    Xt = np.column_stack([np.ones(300), X])
    B = np.column_stack([model.intercept_, model.coef_])
    P = scipy.special.softmax(Xt @ B.T, axis=1)[:, 1:]
    info = np.zeros((6, 6))
    for i in range(300):
        q = P[i]
        info += np.kron(np.diag(q) - np.outer(q, q), np.outer(Xt[i], Xt[i]))
    se = np.sqrt(np.diag(np.linalg.inv(info)))
    np.testing.assert_allclose(s.std_err, se, rtol=1e-7)
    np.testing.assert_allclose(s.coef, (B[1:] - B[0]).ravel(), rtol=1e-12)


def test_penalized_summary_is_labelled_and_multinomial_refused() -> None:
    X, y = _binary()
    text = str(LogisticRegression(C=1.0).fit(X, y).summary())
    assert "Laplace approximation" in text
    model = LogisticRegression(C=1.0).fit(X, np.arange(len(y)) % 3)
    with pytest.raises(ValueError, match="penalized multinomial"):
        model.summary()


def test_save_load_round_trip(tmp_path: pathlib.Path) -> None:
    X, y = _binary()
    labels = np.array(["benign", "malignant"])[y]
    model = LogisticRegression(C=0.5, solver="newton").fit(X, labels)
    written = model.save(str(tmp_path / "model"))
    assert written.endswith("model.npz") and sorted(p.name for p in tmp_path.iterdir()) == [
        "model.json",
        "model.npz",
    ]
    with np.load(written, allow_pickle=False) as archive:
        assert sorted(archive.files) == ["__chainrule__", "coef", "intercept", "n_iter"]
        meta = json.loads(archive["__chainrule__"].tobytes())
    assert meta["format"] == FORMAT and meta["params"]["C"] == 0.5
    # The readable sidecar holds the same metadata; loading by its name reads the archive.
    assert json.loads((tmp_path / "model.json").read_text(encoding="utf-8")) == meta
    assert LogisticRegression.load(tmp_path / "model.json").get_params() == model.get_params()
    assert meta["classes"] == ["benign", "malignant"]
    loaded = LogisticRegression.load(str(tmp_path / "model"))
    assert loaded.get_params() == model.get_params()
    np.testing.assert_array_equal(loaded.coef_, model.coef_)
    np.testing.assert_array_equal(loaded.predict(X), model.predict(X))
    np.testing.assert_allclose(loaded.predict_proba(X), model.predict_proba(X))
    # A loaded model keeps no data: summary needs X, y.
    with pytest.raises(ValueError, match="needs the training data"):
        loaded.summary()
    assert loaded.summary(X, labels).names[0] == "const"


def test_save_load_unpenalized_multinomial(tmp_path: pathlib.Path) -> None:
    rng = np.random.default_rng(3)
    X = rng.normal(size=(90, 2))
    y = np.arange(90) % 3
    model = LogisticRegression(penalty=None).fit(X, y)
    model.save(tmp_path / "m.npz")
    loaded = LogisticRegression.load(tmp_path / "m")
    assert loaded.penalty is None and loaded.coef_.shape == (3, 2)
    np.testing.assert_array_equal(loaded.classes_, [0, 1, 2])


def _archive(path: pathlib.Path, meta: dict[str, object], **arrays: np.ndarray) -> pathlib.Path:
    raw = np.frombuffer(json.dumps(meta).encode(), dtype=np.uint8)
    np.savez(path, __chainrule__=raw, **arrays)
    return path


def test_load_rejects_foreign_files(tmp_path: pathlib.Path) -> None:
    X, y = _binary(50)
    model = LogisticRegression().fit(X, y)
    with np.load(model.save(tmp_path / "ok"), allow_pickle=False) as archive:
        good = {k: archive[k] for k in archive.files}
    meta = json.loads(good.pop("__chainrule__").tobytes())
    # An archive of another format (a chainrule.nn file), or with no metadata at all.
    _archive(tmp_path / "other.npz", {"format": "chainrule.nn", "format_version": 1}, **good)
    with pytest.raises(
        ValueError, match=r"other\.npz' is not a chainrule\.linear\.LogisticRegression"
    ):
        LogisticRegression.load(tmp_path / "other")
    np.savez(tmp_path / "plain.npz", coef=np.zeros((1, 3)))
    with pytest.raises(ValueError, match="no __chainrule__ entry"):
        LogisticRegression.load(tmp_path / "plain")
    # Text, a bare .npy, and a pickle are refused before anything in them is used.
    (tmp_path / "garbage.npz").write_text("import os; os.system('echo hacked')")
    with pytest.raises(ValueError, match=r"garbage\.npz' is not"):
        LogisticRegression.load(tmp_path / "garbage")
    np.save(tmp_path / "bare.npy", np.ones(3))
    (tmp_path / "bare.npy").rename(tmp_path / "bare.npz")
    with pytest.raises(ValueError, match=r"bare \.npy array"):
        LogisticRegression.load(tmp_path / "bare")
    (tmp_path / "pickle.npz").write_bytes(pickle.dumps({"coef": 1}))
    with pytest.raises(ValueError, match=r"pickle\.npz' is not"):
        LogisticRegression.load(tmp_path / "pickle")
    # Our metadata next to an object (pickled) array: refused, nothing unpickled.
    evil = dict(good, coef=np.array([object()], dtype=object))
    np.savez(
        tmp_path / "evil.npz",
        __chainrule__=np.frombuffer(json.dumps(meta).encode(), np.uint8),
        **evil,
    )
    with pytest.raises(ValueError, match=r"evil\.npz"):
        LogisticRegression.load(tmp_path / "evil")
    # Shapes that disagree with the metadata.
    _archive(tmp_path / "bad.npz", meta, **dict(good, coef=np.zeros((1, 5))))
    with pytest.raises(ValueError, match="inconsistent arrays"):
        LogisticRegression.load(tmp_path / "bad")
    # Parameters and labels that are not what fit would make: each names the file.
    for key, value, message in [
        ("params", dict(meta["params"], solver="os.system"), "solver must be one of"),
        ("params", dict(meta["params"], max_iter=True), "max_iter must be a non-negative integer"),
        ("classes", [0, "a"], "all numbers or all strings"),
        ("classes", [1, 1], "a label twice"),
        ("format_version", 1, "version 1 is not supported"),
    ]:
        _archive(tmp_path / "p.npz", dict(meta, **{key: value}), **good)
        with pytest.raises(ValueError, match=message) as info:
            LogisticRegression.load(tmp_path / "p.npz")
        assert "p.npz" in str(info.value)
    with pytest.raises(FileNotFoundError, match=r"missing\.npz"):
        LogisticRegression.load(tmp_path / "missing")
