"""Autodiff test fixtures: primitives registered by a test are removed after it."""

import pytest

from chainrule.autodiff import graph


@pytest.fixture(autouse=True)
def _restore_primitive_table():
    before = set(graph.PRIMITIVES)
    yield
    for name in set(graph.PRIMITIVES) - before:
        graph.unregister_primitive(name)
