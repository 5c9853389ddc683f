"""Where a dashboard's data comes from: a tidy frame, or a loader such as ``client.fetch``."""

from __future__ import annotations

import datetime as dt
from collections import OrderedDict
from collections.abc import Callable, Sequence
from typing import Any

import pandas as pd

from ..analysis._frame import bucket_freq
from ..errors import CostTrendError
from ..query import DEFAULT_TZ, MODEL_TYPES
from ..tidy import to_daily

__all__ = ["DataSource", "Loader"]

Loader = Callable[..., pd.DataFrame]


class DataSource:
    """A tidy frame, or a loader with ``fetch``'s signature, and the frames already loaded.

    ``requests`` counts calls to the loader; the same arguments are served from a small cache,
    so dashboards sharing a source do not fetch twice.

    Example:
        >>> from costtrend_nb import CostTrendClient
        >>> source = DataSource(CostTrendClient.demo().fetch)
        >>> first = source.load(dt.date(2026, 11, 1), dt.date(2026, 11, 21), granularity="daily",
        ...                     model_types=None, client_ids=None)
        >>> again = source.load(dt.date(2026, 11, 1), dt.date(2026, 11, 21), granularity="daily",
        ...                     model_types=None, client_ids=None)
        >>> again is first, source.requests
        (True, 1)
    """

    def __init__(self, data: pd.DataFrame | Loader, *, cache_size: int = 8) -> None:
        if isinstance(data, pd.DataFrame):
            self.frame: pd.DataFrame | None = data
            self.loader: Loader | None = None
        elif callable(data):
            self.frame, self.loader = None, data
        else:
            raise TypeError("data must be a tidy DataFrame or a loader such as client.fetch")
        self.requests = 0
        self._cache: OrderedDict[tuple[Any, ...], pd.DataFrame] = OrderedDict()
        self._cache_size = cache_size
        self._names: dict[int, str] | None = None

    def names(self) -> dict[int, str]:
        """Department names, asked once of the client behind a bound ``fetch`` (else none)."""
        if self._names is None:
            self._names = {}
            client = getattr(self.loader, "__self__", None)
            if client is not None and hasattr(client, "departments"):
                try:
                    found = client.departments()
                except CostTrendError:
                    found = None
                if found is not None:
                    pairs = zip(found["id"], found["name"], strict=True)
                    self._names = {int(i): str(n) for i, n in pairs}
        return self._names

    @property
    def tz(self) -> str:
        """The time zone of the frame (``Asia/Shanghai`` for a loader, as ``fetch`` defaults)."""
        return str(self.frame["timestamp"].dt.tz) if self.frame is not None else DEFAULT_TZ

    def span(self) -> tuple[dt.date, dt.date]:
        """The default date range: the frame's, or the last 90 days for a loader."""
        if self.frame is not None and len(self.frame):
            first = self.frame["timestamp"].min().date()
            return first, self.frame["timestamp"].max().date() + dt.timedelta(days=1)
        today = pd.Timestamp.now(tz=self.tz).date()
        return today - dt.timedelta(days=90), today + dt.timedelta(days=1)

    def granularities(self) -> list[str]:
        """What the source can give: daily always; hourly from a loader or an hourly frame."""
        if self.frame is not None and len(self.frame) and bucket_freq(self.frame) == "D":
            return ["daily"]
        return ["hourly", "daily"]

    def model_types(self) -> list[str]:
        """The model types one may select."""
        if self.frame is not None:
            return [str(t) for t in self.frame["model_type"].cat.categories if t != "all"]
        return list(MODEL_TYPES)

    def departments(self) -> list[int]:
        """The department ids one may select (a frame's, when it is split by department)."""
        if self.frame is not None:
            return sorted(int(i) for i in self.frame["client_id"].dropna().unique())
        return []

    def load(
        self,
        start: dt.date,
        end: dt.date,
        *,
        granularity: str,
        model_types: Sequence[str] | None,
        client_ids: Sequence[int] | None,
        by: Sequence[str] = (),
    ) -> pd.DataFrame:
        """The data for these choices: fetched (once) from the loader, or cut from the frame.

        The same choices give the same frame object back (kept for the last ``cache_size``
        choices), so what the dashboards keep per frame is found again.
        """
        key = (
            start,
            end,
            granularity,
            tuple(model_types or ()),
            tuple(client_ids or ()),
            tuple(by),
        )
        if key not in self._cache:
            self._cache[key] = self._load(start, end, granularity, model_types, client_ids, by)
            while len(self._cache) > self._cache_size:
                self._cache.popitem(last=False)
        self._cache.move_to_end(key)
        return self._cache[key]

    def _load(
        self,
        start: dt.date,
        end: dt.date,
        granularity: str,
        model_types: Sequence[str] | None,
        client_ids: Sequence[int] | None,
        by: Sequence[str],
    ) -> pd.DataFrame:
        if self.loader is not None:
            self.requests += 1
            return self.loader(
                start,
                end,
                granularity=granularity,
                model_types=model_types or None,
                client_ids=list(client_ids) if client_ids else None,
                by=list(by),
            )
        assert self.frame is not None
        df = self.frame
        tz = self.tz
        lo, hi = pd.Timestamp(start, tz=tz), pd.Timestamp(end, tz=tz)
        df = df[(df["timestamp"] >= lo) & (df["timestamp"] < hi)]
        if model_types:
            df = df[df["model_type"].astype(str).isin(model_types)]
        if client_ids:
            df = df[df["client_id"].isin(list(client_ids))]
        if granularity == "daily" and len(df) and bucket_freq(df) == "h":
            df = to_daily(df)
        if model_types or client_ids:  # the figures name the filters from the query
            query = dict(df.attrs.get("query") or {})
            query["model_types"] = list(model_types) if model_types else query.get("model_types")
            query["client_ids"] = list(client_ids) if client_ids else query.get("client_ids")
            df.attrs = {**df.attrs, "query": query}
        return df
