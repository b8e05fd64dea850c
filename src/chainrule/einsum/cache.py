"""A bounded, thread-safe least-recently-used cache for compiled einsum plans.

Reads take no lock: a dict lookup and ``move_to_end`` are atomic under the GIL (and internally locked
on free-threaded builds); a key evicted between the two is simply not refreshed. Inserts and evictions
take the lock, so the size bound always holds.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Hashable
from typing import Any

__all__ = ["LRUCache"]


class LRUCache:
    """Map of at most ``maxsize`` entries; the least recently used entry is dropped first.

    Raises:
        ValueError: ``maxsize`` is below 1.
    """

    def __init__(self, maxsize: int = 512) -> None:
        if maxsize < 1:
            raise ValueError(f"maxsize must be at least 1, got {maxsize}")
        self.maxsize = maxsize
        self._data: OrderedDict[Hashable, Any] = OrderedDict()
        self._lock = threading.Lock()
        self.hits = 0
        self.misses = 0

    def get(self, key: Hashable) -> Any:
        """The value for ``key`` (refreshed as most recent), or None."""
        value = self._data.get(key)
        if value is None:
            self.misses += 1
            return None
        try:  # noqa: SIM105  (contextlib.suppress costs more than the lookup itself)
            self._data.move_to_end(key)
        except KeyError:  # evicted by another thread meanwhile
            pass
        self.hits += 1
        return value

    def put(self, key: Hashable, value: Any) -> None:
        """Store ``value`` under ``key``, evicting the oldest entries beyond ``maxsize``."""
        with self._lock:
            self._data[key] = value
            self._data.move_to_end(key)
            while len(self._data) > self.maxsize:
                self._data.popitem(last=False)

    def clear(self) -> None:
        """Drop every entry and reset the counters."""
        with self._lock:
            self._data.clear()
            self.hits = 0
            self.misses = 0

    def __len__(self) -> int:
        return len(self._data)

    def __contains__(self, key: Hashable) -> bool:
        return key in self._data
