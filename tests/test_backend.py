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
