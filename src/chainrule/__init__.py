"""chainrule: a NumPy-native deep-learning core that is fast and shows its work.

The public API is re-exported here; nothing else lives in this file.
"""

from chainrule._version import __version__
from chainrule.einsum import contract_expression, einsum, einsum_path

__all__ = ["__version__", "contract_expression", "einsum", "einsum_path"]
