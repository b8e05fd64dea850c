"""chainrule: a NumPy-native deep-learning core that is fast and shows its work.

The public API is re-exported here; nothing else lives in this file.
"""

from chainrule._version import __version__

__all__ = ["__version__"]
