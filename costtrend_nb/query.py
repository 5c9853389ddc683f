"""One validated, normalised cost-trend request, and its plan into series and windows.

A :class:`TrendQuery` is checked entirely when it is built, so bad input raises
:class:`~costtrend_nb.errors.QueryError` before any request is sent. :meth:`TrendQuery.plan`
then splits it into one paged request chain per series (model type and/or department) and per
window of time.

Decisions this module makes where the vendor documents nothing (see README, "Decisions"):

* daily buckets start at midnight UTC+8 (the product runs in China Standard Time);
* a page holds at most :data:`MAX_PAGE_SIZE` points;
* one request covers at most :data:`MAX_WINDOW_BUCKETS` buckets; longer ranges are split;
* a query spans at most :data:`MAX_SPAN` and starts no earlier than :data:`EARLIEST`.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import difflib
import itertools
import math
import numbers
import zoneinfo
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, NamedTuple

import numpy as np
import pandas as pd

from ._warn import warn
from .errors import QueryError

__all__ = [
    "DEFAULT_TZ",
    "EARLIEST",
    "GRANULARITIES",
    "MAX_PAGE_SIZE",
    "MAX_SPAN",
    "MAX_WINDOW_BUCKETS",
    "MODEL_TYPES",
    "SERVICE_UTC_OFFSET",
    "RangeWidenedWarning",
    "SeriesKey",
    "TrendQuery",
    "WindowRequest",
]

Granularity = Literal["hourly", "daily"]
GRANULARITIES: tuple[str, ...] = ("hourly", "daily")
GROUP_COLUMNS: tuple[str, ...] = ("model_type", "client_id")

#: The model types the vendor documents (API.md); others are refused before any request.
MODEL_TYPES: tuple[str, ...] = (
    "Chat",
    "ChatMultimodal",
    "ChatFullmodal",
    "ImageGeneration",
    "ImageEdit",
    "VideoGeneration",
    "VideoImageGeneration",
    "Embedding",
    "Rerank",
    "MultimodalEmbedding",
    "MultimodalRerank",
    "TTS",
    "ASR",
)

DEFAULT_TZ = "Asia/Shanghai"
#: The service's own day starts at midnight in this offset from UTC.
SERVICE_UTC_OFFSET = 8 * 3600
HOUR = 3600
DAY = 86400
MAX_PAGE_SIZE = 1000
MAX_WINDOW_BUCKETS: dict[str, int] = {"hourly": 366 * 24, "daily": 366}
MAX_SPAN: dict[str, pd.Timedelta] = {
    "hourly": pd.Timedelta(days=732),
    "daily": pd.Timedelta(days=3660),
}
EARLIEST = pd.Timestamp("2015-01-01", tz="UTC")
_MILLISECONDS_THRESHOLD = 10**11  # Unix seconds reach this in the year 5138
#: Department, API key and member ids are positive 64-bit integers.
MIN_ID, MAX_ID = 1, 2**63 - 1


class RangeWidenedWarning(UserWarning):
    """A range off the bucket grid was widened outward to whole buckets."""


class SeriesKey(NamedTuple):
    """One series of the tidy frame: a model type (``"all"`` unsplit) and a department."""

    model_type: str = "all"
    client_id: int | None = None

    @property
    def label(self) -> str:
        """A readable name, e.g. ``model_type=Chat, client_id=7`` (``all`` for the total)."""
        parts = []
        if self.model_type != "all":
            parts.append(f"model_type={self.model_type}")
        if self.client_id is not None:
            parts.append(f"client_id={self.client_id}")
        return ", ".join(parts) or "all"


@dataclass(frozen=True)
class WindowRequest:
    """One paged request chain: a series over ``[start, end)`` (Unix seconds)."""

    series: SeriesKey
    start: int
    end: int
    params: dict[str, str] = field(hash=False)


@dataclass(frozen=True, init=False, repr=False)
class TrendQuery:
    """A validated, normalised query of the cost trend endpoint.

    Args:
        start, end: the half-open range ``[start, end)``, as a ``datetime``, ``pd.Timestamp``,
            ISO string or Unix seconds; naive values are read in ``tz``. The range is widened
            to whole buckets (``requested_start``/``requested_end`` keep what was asked for).
        granularity: ``"hourly"`` or ``"daily"`` (days are local days in ``tz``).
        model_types: model types to include (``None``: all of them).
        client_ids: one department id or several (``None``: the whole organisation).
        api_key_id: one API key; needs exactly one department.
        member_user_ids: members of one department; an empty list means the department alone.
        by: split into one series per ``"model_type"`` and/or ``"client_id"``.
        tz: an IANA time zone name for timestamps and day boundaries.
        max_results: points per page, 1 to :data:`MAX_PAGE_SIZE`.
        settle: how long after its end a bucket is trusted not to change.

    Example:
        >>> q = TrendQuery("2026-11-01", "2026-11-08", granularity="daily", by="model_type",
        ...                model_types=["Chat", "TTS"])
        >>> [w.series.model_type for w in q.plan()]
        ['Chat', 'TTS']
    """

    start: pd.Timestamp
    end: pd.Timestamp
    requested_start: pd.Timestamp
    requested_end: pd.Timestamp
    granularity: Granularity
    model_types: tuple[str, ...] | None
    client_ids: tuple[int, ...] | None
    api_key_id: int | None
    member_user_ids: tuple[str, ...] | None
    by: tuple[str, ...]
    tz: str
    max_results: int
    settle: pd.Timedelta
    rebucket: bool
    """True when local days are built from hourly data (``tz`` midnight is not UTC+8's)."""

    def __init__(
        self,
        start: Any,
        end: Any,
        *,
        granularity: str = "hourly",
        model_types: str | Iterable[str] | None = None,
        client_ids: int | Iterable[int] | None = None,
        api_key_id: int | None = None,
        member_user_ids: Iterable[int | str] | int | str | None = None,
        by: str | Iterable[str] = (),
        tz: str = DEFAULT_TZ,
        max_results: int = 100,
        settle: str | pd.Timedelta | dt.timedelta = "2h",
    ) -> None:
        tz = _check_tz(tz)
        granularity = _check_granularity(granularity)
        req_start = to_timestamp(start, tz, name="start")
        req_end = to_timestamp(end, tz, name="end")
        if req_start >= req_end:
            raise QueryError(
                f"start ({req_start.isoformat()}) must be before end ({req_end.isoformat()}); "
                "ranges are half-open [start, end)."
            )
        if req_start < EARLIEST:
            raise QueryError(
                f"start {req_start.isoformat()} is before {EARLIEST.tz_convert(tz).isoformat()}, "
                "earlier than any data the service holds; check the date (and that Unix times "
                "are in seconds)."
            )
        client_tuple = _check_ids(client_ids, "client_ids")
        sets = {
            "start": req_start,
            "end": req_end,
            "requested_start": req_start,
            "requested_end": req_end,
            "granularity": granularity,
            "model_types": _check_model_types(model_types),
            "client_ids": client_tuple,
            "api_key_id": _check_single_id(api_key_id, "api_key_id"),
            "member_user_ids": _check_members(member_user_ids),
            "by": _check_by(by),
            "tz": tz,
            "max_results": _check_max_results(max_results),
            "settle": _check_settle(settle),
        }
        for name, value in sets.items():
            object.__setattr__(self, name, value)
        self._check_combinations()
        widened_start, widened_end = self._widen(req_start, req_end)
        object.__setattr__(self, "start", widened_start)
        object.__setattr__(self, "end", widened_end)
        if self.widened:
            warn(
                f"[{req_start.isoformat()}, {req_end.isoformat()}) is off the {granularity} "
                f"bucket grid: fetching the whole buckets [{widened_start.isoformat()}, "
                f"{widened_end.isoformat()}) instead. Adjacent ranges must meet on the grid, or "
                "the bucket they share is counted in both.",
                RangeWidenedWarning,
            )
        object.__setattr__(
            self,
            "rebucket",
            granularity == "daily" and not _midnights_match_service(widened_start, widened_end, tz),
        )
        span = widened_end - widened_start
        if span > MAX_SPAN[granularity]:
            raise QueryError(
                f"the range spans {span.days} days, more than the {MAX_SPAN[granularity].days} "
                f"allowed for {granularity} data; split it into shorter ranges"
                + (" or use granularity='daily'." if granularity == "hourly" else ".")
            )

    def __repr__(self) -> str:
        # never raises, even for a query whose __init__ refused its input half-way (a
        # traceback that shows locals shows this one)
        shown = ", ".join(
            f"{f.name}={getattr(self, f.name, '<unset>')!r}" for f in dataclasses.fields(self)
        )
        return f"TrendQuery({shown})"

    # -- derived facts ---------------------------------------------------------------------

    @property
    def fetch_granularity(self) -> Granularity:
        """The granularity requested from the service (hourly when days are re-bucketed)."""
        return "hourly" if self.rebucket else self.granularity

    @property
    def bucket_seconds(self) -> int:
        """The length of one fetched bucket in seconds."""
        return HOUR if self.fetch_granularity == "hourly" else DAY

    @property
    def widened(self) -> bool:
        """True when the requested range was widened to whole buckets."""
        return self.start != self.requested_start or self.end != self.requested_end

    def to_dict(self) -> dict[str, Any]:
        """The query as plain JSON-friendly values (for ``attrs``, reports and cache keys)."""
        return {
            "start": self.start.isoformat(),
            "end": self.end.isoformat(),
            "requested_start": self.requested_start.isoformat(),
            "requested_end": self.requested_end.isoformat(),
            "granularity": self.granularity,
            "fetch_granularity": self.fetch_granularity,
            "model_types": list(self.model_types) if self.model_types is not None else None,
            "client_ids": list(self.client_ids) if self.client_ids is not None else None,
            "api_key_id": self.api_key_id,
            "member_user_ids": (
                list(self.member_user_ids) if self.member_user_ids is not None else None
            ),
            "by": list(self.by),
            "tz": self.tz,
            "max_results": self.max_results,
            "settle": str(self.settle),
        }

    def to_params(self) -> dict[str, str]:
        """The service's query parameters for the whole query as one unsplit request.

        Example:
            >>> TrendQuery(1767196800, 1767200400, tz="UTC").to_params()["startTime"]
            '1767196800'
        """
        return self._params(
            int(self.start.timestamp()),
            int(self.end.timestamp()),
            self.model_types,
            self.client_ids,
        )

    # -- planning --------------------------------------------------------------------------

    def plan(
        self, departments: Sequence[int] | None = None, *, parallelism: int = 1
    ) -> list[WindowRequest]:
        """Split the query into one request chain per series and window.

        Each series is cut into enough windows that there are at least ``parallelism`` chains
        in all (so a client with 8 connections keeps them busy on a single long series, and
        does not spend a request per window on each of many idle series), each window a whole
        number of pages and at most :data:`MAX_WINDOW_BUCKETS` buckets long.

        Args:
            departments: the ids to split by when ``by`` holds ``"client_id"`` and the query
                names no ``client_ids`` (the client enumerates them from the department list).
            parallelism: how many chains can run at once (the client's ``max_concurrency``).

        Returns:
            Window requests, series by series, each window in time order.
        """
        if "model_type" in self.by:
            type_groups: list[tuple[str, tuple[str, ...] | None]] = [
                (t, (t,)) for t in (self.model_types or MODEL_TYPES)
            ]
        else:
            type_groups = [("all", self.model_types)]
        if "client_id" in self.by:
            ids = self.client_ids if self.client_ids is not None else departments
            if ids is None:
                raise QueryError(
                    "by='client_id' needs department ids: pass client_ids=[...], or fetch "
                    "through a client, which enumerates them with departments()."
                )
            ids = _check_ids(list(ids), "departments")
            if not ids:
                raise QueryError("by='client_id' found no departments to split by.")
            dept_groups: list[tuple[int | None, tuple[int, ...] | None]] = [(i, (i,)) for i in ids]
        else:
            dept_groups = [(None, self.client_ids)]

        series = len(type_groups) * len(dept_groups)
        windows = self._windows(-(-max(1, parallelism) // series))
        plan = []
        for (model_type, types), (client_id, clients) in itertools.product(
            type_groups, dept_groups
        ):
            key = SeriesKey(model_type, client_id)
            for w_start, w_end in windows:
                plan.append(
                    WindowRequest(key, w_start, w_end, self._params(w_start, w_end, types, clients))
                )
        return plan

    def _windows(self, pieces: int) -> list[tuple[int, int]]:
        """``[start, end)`` cut into about ``pieces`` windows of whole pages."""
        bucket = self.bucket_seconds
        start, end = int(self.start.timestamp()), int(self.end.timestamp())
        buckets = -(-(end - start) // bucket)
        page = self.max_results
        longest = MAX_WINDOW_BUCKETS[self.fetch_granularity]
        if page < longest:
            longest = longest // page * page  # whole pages, so no request comes back half empty
        per_window = -(-buckets // max(1, pieces))
        per_window = min(longest, -(-per_window // page) * page)
        edges = [*range(start, end, per_window * bucket), end]
        return list(itertools.pairwise(edges))

    def _params(
        self,
        start: int,
        end: int,
        model_types: tuple[str, ...] | None,
        client_ids: tuple[int, ...] | None,
    ) -> dict[str, str]:
        params = {
            "startTime": str(start),
            "endTime": str(end),
            "granularity": self.fetch_granularity,
            "maxResults": str(self.max_results),
        }
        if model_types:
            params["modelTypes"] = ",".join(model_types)
        if client_ids is not None and len(client_ids) == 1:
            params["clientId"] = str(client_ids[0])
        elif client_ids:
            params["clientIds"] = ",".join(str(i) for i in client_ids)
        if self.api_key_id is not None:
            params["apiKeyId"] = str(self.api_key_id)
        if self.member_user_ids is not None:
            params["memberUserIds"] = ",".join(self.member_user_ids)
        return params

    # -- validation helpers that need several fields ----------------------------------------

    def _check_combinations(self) -> None:
        one_department = self.client_ids is not None and len(self.client_ids) == 1
        if self.api_key_id is not None and not one_department:
            raise QueryError(
                "api_key_id needs exactly one department: pass client_ids=<the key's "
                "department id> as well."
            )
        if self.member_user_ids is not None and not one_department:
            raise QueryError(
                "member_user_ids filters the members of one department: pass exactly one "
                "client id with it."
            )
        if self.client_ids is not None and not self.client_ids:
            raise QueryError(
                "client_ids is empty; pass None for the whole organisation, or at least one id."
            )
        if self.model_types is not None and not self.model_types:
            raise QueryError("model_types is empty; pass None for all model types, or a list.")

    def _widen(self, start: pd.Timestamp, end: pd.Timestamp) -> tuple[pd.Timestamp, pd.Timestamp]:
        if self.granularity == "hourly":
            return _floor_seconds(start, HOUR, 0, self.tz), _ceil_seconds(end, HOUR, 0, self.tz)
        service_start = _floor_seconds(start, DAY, SERVICE_UTC_OFFSET, self.tz)
        service_end = _ceil_seconds(end, DAY, SERVICE_UTC_OFFSET, self.tz)
        if _midnights_match_service(service_start, service_end, self.tz):
            return service_start, service_end
        local_start = local_midnight(start, self.tz)
        local_end = local_midnight(end, self.tz)
        if local_end < end:
            local_end = local_midnight(end + pd.Timedelta(days=1), self.tz)
        _check_whole_hour_midnights(local_start, local_end, self.tz)
        return local_start, local_end


# -- conversions ----------------------------------------------------------------------------


def to_timestamp(value: Any, tz: str, *, name: str = "time") -> pd.Timestamp:
    """Read a point in time: datetime, ``pd.Timestamp``, ISO string or Unix seconds.

    Naive values are read as wall-clock time in ``tz``; the result is in ``tz``.

    Example:
        >>> to_timestamp("2026-11-01 08:00", "Asia/Shanghai").isoformat()
        '2026-11-01T08:00:00+08:00'
    """
    if isinstance(value, bool) or value is None:
        raise QueryError(f"{name} must be a date or time, not {value!r}.")
    if isinstance(value, str) and value.strip().lstrip("-").isdigit():
        value = int(value)
    if isinstance(value, numbers.Real):
        seconds = float(value)
        if not math.isfinite(seconds):
            raise QueryError(f"{name} must be a finite number of Unix seconds, not {value!r}.")
        if abs(seconds) >= _MILLISECONDS_THRESHOLD:
            raise QueryError(
                f"{name}={value!r} looks like milliseconds; pass Unix seconds "
                f"({int(seconds // 1000)})."
            )
        return pd.Timestamp(int(seconds), unit="s", tz="UTC").tz_convert(tz)
    if isinstance(value, (str, dt.date, np.datetime64, pd.Timestamp)):
        try:
            ts = pd.Timestamp(value)
        except (ValueError, TypeError, OverflowError) as err:
            raise QueryError(
                f"{name}={value!r} is not a date or time pandas can read; use ISO 8601 "
                "such as '2026-11-01' or '2026-11-01T08:00+08:00'."
            ) from err
    else:
        raise QueryError(
            f"{name} must be a datetime, pd.Timestamp, ISO string or Unix seconds, "
            f"not {type(value).__name__}."
        )
    if ts is pd.NaT:
        raise QueryError(f"{name} is missing (NaT).")
    if ts.tzinfo is None:
        ts = ts.tz_localize(tz, ambiguous=True, nonexistent="shift_forward")
    return ts.tz_convert(tz)


def local_midnight(ts: pd.Timestamp, tz: str) -> pd.Timestamp:
    """The start of the local day in ``tz`` that holds ``ts`` (DST-safe).

    Example:
        >>> local_midnight(pd.Timestamp("2026-03-08 12:00", tz="America/New_York"),
        ...                "America/New_York").isoformat()
        '2026-03-08T00:00:00-05:00'
    """
    day = ts.tz_convert(tz).tz_localize(None).normalize()
    return day.tz_localize(tz, ambiguous=True, nonexistent="shift_forward")


def local_midnights(start: pd.Timestamp, end: pd.Timestamp, tz: str) -> pd.DatetimeIndex:
    """Every local midnight in ``[start, end]`` in ``tz`` (days of 23 or 25 hours included)."""
    first = start.tz_convert(tz).tz_localize(None).normalize()
    last = end.tz_convert(tz).tz_localize(None).normalize()
    days = pd.date_range(first, last, freq="D")
    out = days.tz_localize(
        tz, ambiguous=np.ones(len(days), dtype=bool), nonexistent="shift_forward"
    )
    return out[(out >= start) & (out <= end)]


def unix_seconds(index: pd.DatetimeIndex) -> np.ndarray:
    """Unix seconds (int64) of a datetime index, whatever its resolution."""
    return np.asarray(index.as_unit("s").asi8, dtype=np.int64)


def _floor_seconds(ts: pd.Timestamp, step: int, offset: int, tz: str) -> pd.Timestamp:
    seconds = math.floor(ts.timestamp())
    floored = (seconds + offset) // step * step - offset
    return pd.Timestamp(floored, unit="s", tz="UTC").tz_convert(tz)


def _ceil_seconds(ts: pd.Timestamp, step: int, offset: int, tz: str) -> pd.Timestamp:
    seconds = math.ceil(ts.timestamp())
    ceiled = -((-(seconds + offset)) // step) * step - offset
    return pd.Timestamp(ceiled, unit="s", tz="UTC").tz_convert(tz)


def _midnights_match_service(start: pd.Timestamp, end: pd.Timestamp, tz: str) -> bool:
    seconds = unix_seconds(local_midnights(start, end, tz))
    return bool(np.all((seconds + SERVICE_UTC_OFFSET) % DAY == 0))


def _check_whole_hour_midnights(start: pd.Timestamp, end: pd.Timestamp, tz: str) -> None:
    midnights = local_midnights(start, end, tz)
    off = midnights[unix_seconds(midnights) % HOUR != 0]
    if len(off):
        offset = off[0].strftime("%z")
        raise QueryError(
            f"daily data in {tz} (UTC{offset[:3]}:{offset[3:]} on {off[0].date()}) cannot be "
            "built: the service's hourly buckets start on the whole hour, and this zone's "
            "midnight does not. Use granularity='hourly', or tz='Asia/Shanghai' for the "
            "service's own days."
        )


# -- single-field checks ---------------------------------------------------------------------


def _check_tz(tz: Any) -> str:
    if not isinstance(tz, str) or not tz:
        raise QueryError(f"tz must be an IANA time zone name such as 'Asia/Shanghai', not {tz!r}.")
    try:
        zoneinfo.ZoneInfo(tz)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError) as err:
        close = difflib.get_close_matches(tz, zoneinfo.available_timezones(), n=3)
        hint = f" Did you mean {', '.join(map(repr, close))}?" if close else ""
        raise QueryError(f"unknown time zone {tz!r}.{hint}") from err
    return tz


def _check_granularity(granularity: Any) -> Granularity:
    if granularity not in GRANULARITIES:
        raise QueryError(f"granularity must be 'hourly' or 'daily', not {granularity!r}.")
    return granularity


def _as_list(value: Any, name: str) -> list[Any]:
    if isinstance(value, (str, bytes, numbers.Number)):
        return [value]
    if isinstance(value, Iterable):
        return list(value)
    raise QueryError(f"{name} must be one value or a list, not {type(value).__name__}.")


def _check_model_types(model_types: Any) -> tuple[str, ...] | None:
    if model_types is None:
        return None
    if isinstance(model_types, str):
        model_types = [t.strip() for t in model_types.split(",") if t.strip()]
    types = _as_list(model_types, "model_types")
    out: list[str] = []
    for t in types:
        if not isinstance(t, str) or not t.strip() or "," in t:
            raise QueryError(f"model_types must be names such as 'Chat', got {t!r}.")
        t = t.strip()
        t = _canonical_model_type(t)
        if t not in out:
            out.append(t)
    return tuple(out)


_MODEL_TYPES_BY_LOWER = {t.lower(): t for t in MODEL_TYPES}


def _canonical_model_type(name: str) -> str:
    """The catalogue's spelling of a model type, matched case-insensitively."""
    found = _MODEL_TYPES_BY_LOWER.get(name.lower())
    if found is None:
        close = difflib.get_close_matches(name, MODEL_TYPES, n=1)
        hint = f" Did you mean {close[0]!r}?" if close else ""
        raise QueryError(
            f"unknown model type {name[:60]!r}.{hint} The service knows: {', '.join(MODEL_TYPES)}."
        )
    return found


def _check_single_id(value: Any, name: str) -> int | None:
    if value is None:
        return None
    shown = repr(value) if len(repr(value)) <= 40 else repr(value)[:37] + "..."
    if isinstance(value, bool) or not isinstance(value, (numbers.Integral, str)):
        raise QueryError(f"{name} must be an integer id, not {shown}.")
    text = value.strip() if isinstance(value, str) else value
    if isinstance(text, str) and not (text.isascii() and text.isdigit()):
        raise QueryError(f"{name} must be an integer id such as 10002, not {shown}.")
    number = int(text)
    if not MIN_ID <= number <= MAX_ID:
        raise QueryError(f"{name} must be an id from {MIN_ID} to {MAX_ID} (2**63-1), not {shown}.")
    return number


def _check_ids(values: Any, name: str) -> tuple[int, ...] | None:
    if values is None:
        return None
    if isinstance(values, str):
        values = [v for v in values.split(",") if v.strip()]
    ids = [_check_single_id(v, name) for v in _as_list(values, name)]
    return tuple(dict.fromkeys(i for i in ids if i is not None))


def _check_members(values: Any) -> tuple[str, ...] | None:
    if values is None:
        return None
    out = []
    for v in _as_list(values, "member_user_ids"):
        text = str(v).strip() if isinstance(v, (str, numbers.Integral)) else ""
        if isinstance(v, bool) or not (text.isascii() and text.isdigit()):
            raise QueryError(
                f"member_user_ids must be a list of ids such as [1001, 1002], got {v!r}; "
                "pass [] for the department alone."
            )
        out.append(str(_check_single_id(text, "member_user_ids")))
    return tuple(dict.fromkeys(out))


def _check_by(by: Any) -> tuple[str, ...]:
    if by is None:
        return ()
    items = _as_list(by, "by")
    bad = [b for b in items if b not in GROUP_COLUMNS]
    if bad:
        raise QueryError(
            f"by must name 'model_type', 'client_id' or both, not {', '.join(map(repr, bad))}."
        )
    return tuple(c for c in GROUP_COLUMNS if c in items)


def _check_max_results(max_results: Any) -> int:
    if (
        isinstance(max_results, bool)
        or not isinstance(max_results, numbers.Integral)
        or not 1 <= int(max_results) <= MAX_PAGE_SIZE
    ):
        raise QueryError(
            f"max_results must be an integer from 1 to {MAX_PAGE_SIZE}, not {max_results!r}."
        )
    return int(max_results)


def _check_settle(settle: Any) -> pd.Timedelta:
    try:
        value = pd.Timedelta(settle)
    except (ValueError, TypeError) as err:
        raise QueryError(f"settle must be a duration such as '2h', not {settle!r}.") from err
    if value is pd.NaT or value < pd.Timedelta(0):
        raise QueryError(f"settle must be a non-negative duration such as '2h', not {settle!r}.")
    return value
