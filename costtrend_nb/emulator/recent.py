"""A bounded, expiring table of recent keys: the emulator's memory of the nonces it has seen
and of how many times each query was asked, so that neither grows without end."""

from __future__ import annotations

import hashlib
from collections import OrderedDict

__all__ = ["Recent"]


def _digest(text: str) -> bytes:
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).digest()


class Recent:
    """Counts by key, each kept until it expires, at most ``cap`` of them, oldest forgotten first.

    Keys are stored as SHA-256 digests, so a 20 KB query costs 32 bytes. Entries are kept in
    order of last use, so forgetting is O(1) amortised. The emulator's lock guards it.

    Example:
        >>> seen = Recent(cap=2)
        >>> seen.put("a", 1, expires=10.0); seen.put("b", 1, expires=20.0)
        >>> seen.put("c", 1, expires=30.0)       # over the cap: "a" goes
        >>> "a" in seen, len(seen)
        (False, 2)
        >>> seen.forget_expired(now=25.0)         # "b" expired
        >>> seen.get("b"), seen.get("c")
        (0, 1)
    """

    def __init__(self, cap: int) -> None:
        self.cap = cap
        self._table: OrderedDict[bytes, tuple[float, int]] = OrderedDict()

    def __len__(self) -> int:
        return len(self._table)

    def __contains__(self, key: str) -> bool:
        return _digest(key) in self._table

    def get(self, key: str) -> int:
        """The count kept for ``key``; 0 when none is."""
        entry = self._table.get(_digest(key))
        return 0 if entry is None else entry[1]

    def put(self, key: str, count: int, expires: float) -> None:
        """Keep ``count`` for ``key`` until ``expires``, as its most recent entry."""
        digest = _digest(key)
        self._table[digest] = (expires, count)
        self._table.move_to_end(digest)
        while len(self._table) > self.cap:
            self._table.popitem(last=False)

    def forget_expired(self, now: float) -> None:
        """Forget the entries that expired before ``now``, oldest first, up to a live one.

        An entry behind a live one waits for it (at most one window): the cap bounds them all.
        """
        while self._table and next(iter(self._table.values()))[0] < now:
            self._table.popitem(last=False)
