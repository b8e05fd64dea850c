"""CSV loading, input validation and the embedded breast-cancer data."""

from __future__ import annotations

import pathlib
import warnings

import numpy as np
import pytest

from chainrule.linear.datasets import check_X, check_Xy, load_breast_cancer, load_csv
from chainrule.linear.exceptions import DataConversionWarning


def _write(tmp_path: pathlib.Path, text: str, name: str = "data.csv") -> pathlib.Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def test_load_csv_default_target_is_last_column(tmp_path: pathlib.Path) -> None:
    path = _write(tmp_path, "a,b,label\n1,2.5,0\n3,-4,1\n\n5,6e1,1\n")
    X, y, names, target = load_csv(path)
    assert X.dtype == np.float64
    np.testing.assert_array_equal(X, [[1, 2.5], [3, -4], [5, 60]])
    assert y.dtype == np.int64
    np.testing.assert_array_equal(y, [0, 1, 1])
    assert names == ["a", "b"]
    assert target == "label"


def test_load_csv_named_target_in_the_middle_and_string_labels(tmp_path: pathlib.Path) -> None:
    path = _write(tmp_path, "x1,kind,x2\n1,M,2\n3,B,4\n")
    X, y, names, target = load_csv(path, target="kind")
    np.testing.assert_array_equal(X, [[1, 2], [3, 4]])
    assert list(y) == ["M", "B"]
    assert names == ["x1", "x2"]
    assert target == "kind"


def test_load_csv_float_target_stays_float(tmp_path: pathlib.Path) -> None:
    _, y, _, _ = load_csv(_write(tmp_path, "a,t\n1,0.5\n2,1\n"))
    assert y.dtype == np.float64


def test_load_csv_non_numeric_cell_names_file_column_and_line(tmp_path: pathlib.Path) -> None:
    path = _write(tmp_path, "age,height,y\n1,2,0\n3,tall,1\n")
    with pytest.raises(ValueError, match=r"data\.csv.*line 3.*'height'.*'tall'"):
        load_csv(path)


def test_load_csv_empty_cell_is_reported(tmp_path: pathlib.Path) -> None:
    path = _write(tmp_path, "a,b,y\n1,,0\n")
    with pytest.raises(ValueError, match=r"line 2, column 'b'"):
        load_csv(path)


def test_load_csv_missing_file_names_it(tmp_path: pathlib.Path) -> None:
    missing = tmp_path / "nope.csv"
    with pytest.raises(FileNotFoundError, match=r"nope\.csv"):
        load_csv(missing)


def test_load_csv_unknown_target_lists_columns(tmp_path: pathlib.Path) -> None:
    path = _write(tmp_path, "a,b,y\n1,2,0\n")
    with pytest.raises(ValueError, match=r"no column 'label'.*a, b, y"):
        load_csv(path, target="label")


@pytest.mark.parametrize("text", ["", "\n\n"])
def test_load_csv_empty_file(tmp_path: pathlib.Path, text: str) -> None:
    with pytest.raises(ValueError, match="empty"):
        load_csv(_write(tmp_path, text))


def test_load_csv_header_only_and_ragged_rows(tmp_path: pathlib.Path) -> None:
    with pytest.raises(ValueError, match="no data rows"):
        load_csv(_write(tmp_path, "a,y\n"))
    with pytest.raises(ValueError, match="line 3: 2 cells"):
        load_csv(_write(tmp_path, "a,b,y\n1,2,0\n1,2\n", "ragged.csv"))
    with pytest.raises(ValueError, match="twice"):
        load_csv(_write(tmp_path, "a,a,y\n1,2,0\n", "dup.csv"))


def test_check_Xy_names_first_nonfinite_row_and_column() -> None:
    X = np.zeros((4, 3))
    X[2, 1] = np.nan
    X[3, 0] = np.inf
    with pytest.raises(ValueError, match=r"X contains NaN at row 2, column 1"):
        check_Xy(X, np.zeros(4))
    X[2, 1] = 0.0
    with pytest.raises(ValueError, match=r"X contains inf at row 3, column 0"):
        check_Xy(X, np.zeros(4))


def test_check_Xy_nonfinite_y_names_row() -> None:
    y = np.array([0.0, 1.0, np.nan])
    with pytest.raises(ValueError, match=r"y contains NaN at row 2"):
        check_Xy(np.zeros((3, 2)), y)
    with pytest.raises(ValueError, match=r"target contains inf at row 0"):
        check_Xy(np.zeros((3, 2)), [np.inf, 0.0, 1.0], name_y="target")


def test_check_Xy_shapes() -> None:
    with pytest.raises(ValueError, match=r"\(5, 2\).*\(4,\)"):
        check_Xy(np.zeros((5, 2)), np.zeros(4))
    with pytest.raises(ValueError, match="Reshape your data"):
        check_Xy(np.zeros(5), np.zeros(5))
    with pytest.raises(ValueError, match=r"0 sample\(s\)"):
        check_Xy(np.zeros((0, 3)), np.zeros(0))
    with pytest.raises(ValueError, match=r"0 feature\(s\)"):
        check_Xy(np.zeros((3, 0)), np.zeros(3))
    with pytest.raises(ValueError, match="target y is None"):
        check_Xy(np.zeros((3, 1)), None)
    with pytest.raises(ValueError, match="Complex data not supported"):
        check_Xy(np.zeros((3, 1), dtype=complex), np.zeros(3))


def test_check_Xy_converts_and_flattens_column_y() -> None:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        X, y = check_Xy([[1, 2], [3, 4]], np.array([[0], [1]]))
    assert X.dtype == np.float64 and X.shape == (2, 2)
    assert y.shape == (2,)
    assert any(issubclass(w.category, DataConversionWarning) for w in caught)


def test_check_X_wrong_number_of_features_names_both() -> None:
    with pytest.raises(ValueError, match="X has 3 features, but Model is expecting 2 features"):
        check_X(np.zeros((1, 3)), n_features=2, owner="Model")


def test_load_breast_cancer_matches_known_facts() -> None:
    X, y, names, target_names = load_breast_cancer()
    assert X.shape == (569, 30) and X.dtype == np.float64
    assert y.shape == (569,)
    assert int(y.sum()) == 357  # benign
    assert names[0] == "mean radius" and names[-1] == "worst fractal dimension"
    assert target_names == ["malignant", "benign"]
    # First row of the UCI file (case 842302, malignant).
    assert X[0, 0] == 17.99 and X[0, 3] == 1001.0 and y[0] == 0
    assert np.all(np.isfinite(X))


def test_load_breast_cancer_matches_sklearn_copy() -> None:
    datasets = pytest.importorskip("sklearn.datasets")
    ref = datasets.load_breast_cancer()
    X, y, names, _ = load_breast_cancer()
    np.testing.assert_array_equal(X, ref.data)
    np.testing.assert_array_equal(y, ref.target)
    assert names == [str(n) for n in ref.feature_names]
