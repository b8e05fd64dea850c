"""backend: namespaces of inputs, conversion to NumPy."""

import array_api_strict as xps
import numpy as np
import pytest

from chainrule import backend


def test_namespace_of_numpy_and_scalars_is_numpy() -> None:
    xp = backend.array_namespace(np.ones(3), 2.0, None)
    assert backend.is_numpy_namespace(xp)
    assert backend.is_numpy_namespace(backend.array_namespace())


def test_namespace_of_strict_arrays_is_strict() -> None:
    xp = backend.array_namespace(xps.asarray([1.0, 2.0]))
    assert not backend.is_numpy_namespace(xp)
    out = backend.to_numpy(xp.asarray([1.0, 2.0]))
    np.testing.assert_array_equal(out, [1.0, 2.0])


def test_mixed_libraries_raise_type_error() -> None:
    with pytest.raises(TypeError):
        backend.array_namespace(np.ones(2), xps.asarray([1.0]))


def test_asarray_accepts_dtype_names() -> None:
    a = backend.asarray([1, 2], dtype="float32")
    assert a.dtype == np.float32


def test_dask_detection_imports_nothing() -> None:
    import subprocess
    import sys

    code = (
        "import sys, numpy as np\n"
        "from chainrule import backend\n"
        "assert not backend.is_dask_array(np.ones(2)) and not backend.any_dask(1.0, None, [1])\n"
        "assert 'dask' not in sys.modules, 'dask imported'\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr


def test_dask_arrays_are_detected_and_mix_with_numpy() -> None:
    import dask.array as da

    x = da.ones((4, 3), chunks=2)
    assert backend.is_dask_array(x) and backend.any_dask(np.ones(2), x)
    assert not backend.is_dask_array(np.ones(2))
    assert backend.dask_array_module() is da
    xp = backend.array_namespace(np.ones(3), x, 2.0)
    assert "dask" in xp.__name__
    with pytest.raises(TypeError):
        backend.array_namespace(x, xps.asarray([1.0]))
    np.testing.assert_array_equal(backend.to_numpy(x), np.ones((4, 3)))  # computed


def test_has_cuda_device_is_a_bool() -> None:
    assert isinstance(backend.has_cuda_device(), bool)
