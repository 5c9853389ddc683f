"""What a dashboard keeps between redraws: results per frame and view.

A frame is known by its identity (the :class:`DataSource` hands back the same object for the same
choices), so results are kept per ``(frame, ...)`` key with the frame itself held alongside,
never by an ``id`` that a new frame could reuse. Fitted forecast models are kept below, by
:func:`costtrend_nb.analysis.engines.fit_once`: the forecast, the month-end landing and their
calibration folds fit the same histories, so a change of budget refits nothing and a change of
horizon by a week refits one fold.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import Any

__all__ = ["FrameMemo"]


class FrameMemo:
    """Values computed from a frame, by ``(frame, key)``, for the last ``frames`` frames used;
    the least recently used go first.

    Example:
        >>> import pandas as pd
        >>> memo, frame = FrameMemo(size=2), pd.DataFrame({"a": [1]})
        >>> memo.get(frame, "sum", lambda: int(frame["a"].sum())), len(memo)
        (1, 1)
        >>> memo.get(frame, "sum", lambda: 0)   # kept: not computed again
        1
    """

    def __init__(self, size: int = 16, frames: int = 3) -> None:
        self._size, self._frames = size, frames
        self._items: OrderedDict[tuple[int, Hashable], tuple[Any, Any]] = OrderedDict()

    def __len__(self) -> int:
        return len(self._items)

    def peek(self, frame: Any, key: Hashable) -> Any:
        """The value kept for ``(frame, key)``, or ``None``."""
        found = self._items.get((id(frame), key))
        if found is None or found[0] is not frame:
            return None
        self._items.move_to_end((id(frame), key))
        return found[1]

    def put(self, frame: Any, key: Hashable, value: Any) -> None:
        """Keep ``value`` for ``(frame, key)``."""
        self._items[(id(frame), key)] = (frame, value)
        self._items.move_to_end((id(frame), key))
        while len(self._items) > self._size:
            self._items.popitem(last=False)
        kept = list(dict.fromkeys(frame_id for frame_id, _ in reversed(self._items)))
        for old in kept[self._frames :]:  # frames are large: keep the results of a few only
            for item in [k for k in self._items if k[0] == old]:
                del self._items[item]

    def get(self, frame: Any, key: Hashable, compute: Callable[[], Any]) -> Any:
        """The value kept for ``(frame, key)``, computed (and kept) the first time."""
        found = self.peek(frame, key)
        if found is None:
            found = compute()
            self.put(frame, key, found)
        return found
