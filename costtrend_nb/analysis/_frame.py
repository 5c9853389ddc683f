"""What every analysis function needs from a tidy frame: checks, sums, buckets and windows.

Nothing here computes from ``df.attrs``: results depend on the frame's columns and the
arguments only. :func:`keeps_missing_series` carries one fact forward, so that a result of a
partial fetch still says so where it is plotted or reported.
"""

from __future__ import annotations

import functools
import hashlib
import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

import numpy as np
import pandas as pd

from ..catalogue import metric_info
from ..errors import QueryError
from ..query import to_timestamp

REQUIRED = ("timestamp", "model_type", "client_id", "metric", "value", "complete")
GROUPS = ("model_type", "client_id")
PERIODS = ("day", "week", "month", "quarter", "year")
# weekday alignment shifts back by whole weeks: Mondays meet Mondays
WEEKDAY_SHIFT = {"day": 7, "week": 7, "month": 28, "quarter": 91, "year": 364}

F = TypeVar("F", bound=Callable[..., Any])
T = TypeVar("T")

DERIVED_KEPT = 256  # facts about frames' buckets remembered per process
DERIVED_BYTES = 32 * 2**20  # and the most their arrays (rows that count) may hold in all
_derived: OrderedDict[Hashable, Any] = OrderedDict()
_derived_lock = threading.Lock()


def _buckets_digest(df: pd.DataFrame) -> Hashable:
    """What the bucket facts of ``df`` depend on: its stamps (and zone) and complete flags."""
    stamps = df["timestamp"]
    h = hashlib.blake2b(digest_size=16)
    h.update(np.ascontiguousarray(stamps.array.asi8).tobytes())
    h.update(np.asarray(df["complete"].astype(bool), dtype=bool).tobytes())
    return (str(stamps.dtype), len(df), h.digest())


def remembered(kind: str, df: pd.DataFrame, extra: Hashable, compute: Callable[[], T]) -> T:
    """``compute()``, remembered by ``kind``, ``extra`` and the content of ``df``'s stamps and
    complete flags: an analysis asks the same facts of one frame many times (its bucket size,
    its "now", which rows count)."""
    if "complete" not in df or not isinstance(df["timestamp"].dtype, pd.DatetimeTZDtype):
        return compute()  # not a tidy frame: the checks that follow say so
    key = (kind, _buckets_digest(df), extra)
    with _derived_lock:
        if key in _derived:
            _derived.move_to_end(key)
            return _derived[key]
    value = compute()
    with _derived_lock:
        _derived[key] = value
        held = sum(getattr(v, "nbytes", 0) for v in _derived.values())
        while len(_derived) > DERIVED_KEPT or (held > DERIVED_BYTES and len(_derived) > 1):
            _, old = _derived.popitem(last=False)
            held -= getattr(old, "nbytes", 0)
    return value


def keeps_missing_series(func: F) -> F:
    """Copy the input frame's ``attrs["missing_series"]`` onto the function's result frame.

    A fetch with ``on_error="partial"`` names the series it could not get there; the
    comparisons, breakdowns and forecasts made from it keep saying so.
    """

    @functools.wraps(func)
    def wrapper(df: Any, *args: Any, **kwargs: Any) -> Any:
        out = func(df, *args, **kwargs)
        missing = getattr(df, "attrs", {}).get("missing_series")
        if missing and isinstance(out, pd.DataFrame):
            out.attrs["missing_series"] = list(missing)
        return out

    return wrapper  # type: ignore[return-value]


def validate(df: Any, metric: str | None = None) -> None:
    """Raise a clear :class:`QueryError` unless ``df`` is a tidy frame holding ``metric``."""
    if not isinstance(df, pd.DataFrame):
        raise QueryError(f"expected the tidy DataFrame fetch() returns, not {type(df).__name__}.")
    missing = [c for c in REQUIRED if c not in df.columns]
    if missing:
        raise QueryError(
            f"not a tidy frame: the column(s) {', '.join(missing)} are missing. Pass the long "
            "frame fetch() returns (not tidy.wide(...))."
        )
    if not isinstance(df["timestamp"].dtype, pd.DatetimeTZDtype):
        raise QueryError("the timestamp column must be timezone-aware, as fetch() returns it.")
    if metric is not None and not (df["metric"] == metric).any():
        present = sorted(map(str, pd.unique(df["metric"])))
        raise QueryError(
            f"metric {metric!r} is not in the frame; it holds: {', '.join(present) or 'nothing'}."
        )


def check_additive(metric: str) -> None:
    """Refuse to sum a non-additive metric (``model_count`` is a distinct count per bucket)."""
    if not metric_info(metric).additive:
        raise QueryError(
            f"{metric} is a distinct count per bucket: it cannot be summed across buckets or "
            "groups. Compare it bucket by bucket, or pick an additive metric such as "
            "total_amount."
        )


def normalise_by(by: str | Iterable[str] | None) -> list[str]:
    """``by`` as a list of group columns (``[]`` for the total)."""
    if by is None:
        return []
    items = [by] if isinstance(by, str) else list(by)
    bad = [b for b in items if b not in GROUPS]
    if bad:
        raise QueryError(f"by must be 'model_type', 'client_id', both or None, not {bad!r}.")
    return [g for g in GROUPS if g in items]


def tz_of(df: pd.DataFrame) -> str:
    """The frame's time zone name."""
    return str(df["timestamp"].dt.tz)


def bucket_freq(df: pd.DataFrame) -> str:
    """``"D"`` when the frame's buckets are local days, else ``"h"``."""
    return remembered("freq", df, None, lambda: _bucket_freq(df))


def _bucket_freq(df: pd.DataFrame) -> str:
    stamps = pd.DatetimeIndex(pd.unique(df["timestamp"])).sort_values()
    if len(stamps) == 0:
        return "h"
    # each stamp against its local day's start as the grid makes it (a repeated midnight takes
    # the first, a skipped one moves forward): DatetimeIndex.normalize raises on those days
    days = stamps.tz_localize(None).normalize()
    starts = days.tz_localize(stamps.tz, ambiguous=True, nonexistent="shift_forward")
    at_midnight = bool((stamps == starts).all())
    if len(stamps) == 1:
        return "D" if at_midnight else "h"
    spacing = (stamps[1:] - stamps[:-1]).min()
    return "D" if at_midnight and spacing >= pd.Timedelta(hours=23) else "h"


def bucket_ends(starts: pd.DatetimeIndex | pd.Series, freq: str) -> pd.DatetimeIndex:
    """The end of each bucket: an hour later, or the next local midnight (23 or 25 hours)."""
    index = pd.DatetimeIndex(starts)
    if freq == "h":
        return index + pd.Timedelta(hours=1)
    # normalize: a day whose midnight was skipped starts later (01:00) but ends at midnight
    naive = index.tz_localize(None).normalize() + pd.Timedelta(days=1)
    return naive.tz_localize(index.tz, ambiguous=True, nonexistent="shift_forward")


def resolve_as_of(df: pd.DataFrame, as_of: Any = None) -> pd.Timestamp:
    """The analysis' "now": the end of the last bucket that ended by ``as_of``, if given, else
    the end of the last complete bucket.

    An ``as_of`` inside a bucket (14:30 on hourly or daily data) moves back to that bucket's
    start: a bucket that had not ended by then never counts as whole.
    """
    tz = tz_of(df)
    freq = bucket_freq(df)
    if as_of is not None:
        return floor_to_bucket(df, to_timestamp(as_of, tz, name="as_of"), freq)
    return remembered("now", df, None, lambda: _last_complete_end(df, freq))


def _last_complete_end(df: pd.DataFrame, freq: str) -> pd.Timestamp:
    complete = df.loc[df["complete"].astype(bool), "timestamp"]
    if len(complete):
        return pd.Timestamp(bucket_ends(pd.DatetimeIndex([complete.max()]), freq)[0])
    if len(df):
        return pd.Timestamp(df["timestamp"].min())  # nothing is complete yet
    raise QueryError("the frame is empty: there is nothing to analyse.")


def floor_to_bucket(df: pd.DataFrame, instant: pd.Timestamp, freq: str) -> pd.Timestamp:
    """The latest bucket boundary of the frame's grid at or before ``instant``.

    Days start at local midnight; hours keep the frame's own phase (zones such as
    Asia/Kolkata have buckets at half past).
    """
    tz = tz_of(df)
    if freq == "D":
        naive = instant.tz_convert(tz).tz_localize(None).normalize()
        start = localize(naive, tz)
        return start if start <= instant else localize(naive - pd.Timedelta(days=1), tz)
    if not len(df):
        return instant
    ref = pd.Timestamp(df["timestamp"].min())
    hours = (instant - ref) // pd.Timedelta(hours=1)
    return pd.Timestamp(ref + pd.Timedelta(hours=int(hours))).tz_convert(tz)


def counted(df: pd.DataFrame, now: pd.Timestamp, freq: str | None = None) -> np.ndarray:
    """Which rows are of buckets that count as whole at ``now``.

    A bucket counts when it ended by ``now``. The frame's last bucket, when marked incomplete,
    never counts: a fetch holds no bucket after its as-of time, so that bucket was still
    running when it was fetched, whatever ``as_of`` says later.
    """
    freq = freq or bucket_freq(df)
    rows = remembered("counted", df, (now, freq), lambda: _counted(df, now, freq))
    return rows.copy()


def _counted(df: pd.DataFrame, now: pd.Timestamp, freq: str) -> np.ndarray:
    ends = bucket_ends(df["timestamp"], freq)
    ended = np.asarray(ends <= now, dtype=bool)
    if not len(df):
        return ended
    running = (
        ~df["complete"].astype(bool).to_numpy()
        & (df["timestamp"] == df["timestamp"].max()).to_numpy()
    )
    return ended & ~running


def in_window(
    df: pd.DataFrame, start: pd.Timestamp, end: pd.Timestamp, now: pd.Timestamp, freq: str
) -> np.ndarray:
    """Rows of buckets that lie wholly inside ``[start, end)`` and count at ``now``."""
    ends = bucket_ends(df["timestamp"], freq)
    inside = (df["timestamp"] >= start).to_numpy() & np.asarray(ends <= end, dtype=bool)
    return inside & counted(df, now, freq)


def grid(df: pd.DataFrame, start: pd.Timestamp, end: pd.Timestamp, freq: str) -> pd.DatetimeIndex:
    """The starts of the buckets of the frame's grid that lie wholly inside ``[start, end)``."""
    tz = tz_of(df)
    if end <= start:
        return pd.DatetimeIndex([], tz=tz)
    if freq == "D":
        first = start.tz_convert(tz).tz_localize(None).ceil("D")
        last = end.tz_convert(tz).tz_localize(None)
        days = pd.date_range(first, last, freq="D", inclusive="left")
        starts = days.tz_localize(tz, ambiguous=True, nonexistent="shift_forward")
    else:
        first = floor_to_bucket(df, start, freq)
        if first < start:
            first += pd.Timedelta(hours=1)
        starts = pd.date_range(first, end, freq="h", inclusive="left").tz_convert(tz)
    return starts[bucket_ends(starts, freq) <= end]


def coverage(
    df: pd.DataFrame,
    start: pd.Timestamp,
    end: pd.Timestamp,
    now: pd.Timestamp,
    freq: str | None = None,
) -> float:
    """The share of the buckets of ``[start, end)`` that the frame holds and that count at ``now``.

    A fetched frame holds every bucket (zeros for idle ones); a filtered or concatenated one may
    have holes, and a window may reach past the frame's start or "now". 1.0 for a window too
    short to hold a bucket.
    """
    freq = freq or bucket_freq(df)
    expected = grid(df, start, end, freq)
    if not len(expected):
        return 1.0
    held = pd.DatetimeIndex(pd.unique(df.loc[in_window(df, start, end, now, freq), "timestamp"]))
    return float(expected.isin(held).sum() / len(expected))


def coverage_warning(
    df: pd.DataFrame,
    start: pd.Timestamp,
    end: pd.Timestamp,
    share: float,
    what: str,
    *,
    refused: bool = False,
) -> str:
    """The sentence that says a window is not wholly covered and what became NaN (or, with
    ``refused``, that ``what`` cannot be computed and what to do instead)."""
    first = df["timestamp"].min()
    last = bucket_ends(pd.DatetimeIndex([df["timestamp"].max()]), bucket_freq(df))[0]
    outcome = (
        f"{what} cannot be computed. Fetch from {start.date()} (whole, without holes) or choose "
        "a shorter period."
        if refused
        else f"{what} is NaN, never a zero. Fetch the whole range to compare."
    )
    return (
        f"the frame ({first.isoformat()} to {last.isoformat()}) does not cover "
        f"{start.isoformat()} to {end.isoformat()} (coverage {100 * share:.1f} % of its buckets, "
        f"holes or whole buckets outside the frame): {outcome}"
    )


def totals(
    df: pd.DataFrame, metric: str, by: Sequence[str], *, until: pd.Timestamp | None = None
) -> pd.DataFrame:
    """Sum ``metric`` per bucket (and group): columns ``timestamp``, the groups, ``value``.

    With ``until``, only buckets that count by then (see :func:`counted`) are summed.
    """
    rows = df[df["metric"] == metric]
    if until is not None:
        rows = rows[counted(rows, until, bucket_freq(df))]
    keys = ["timestamp", *by]
    summed = rows.groupby(keys, observed=True, dropna=False, sort=True)["value"].sum().reset_index()
    return summed


@dataclass(frozen=True)
class Window:
    """A half-open window of time, with the label of the period it belongs to."""

    start: pd.Timestamp
    end: pd.Timestamp
    label: str


def localize(naive: pd.Timestamp, tz: str) -> pd.Timestamp:
    """Wall-clock time in ``tz`` as an instant (DST gaps move forward, repeats take the first)."""
    return naive.tz_localize(tz, ambiguous=True, nonexistent="shift_forward")


def calendar_start(instant: pd.Timestamp, period: str, tz: str) -> pd.Timestamp:
    """The local start of the calendar ``period`` holding ``instant``."""
    naive = instant.tz_convert(tz).tz_localize(None).normalize()
    if period == "week":
        naive -= pd.Timedelta(days=naive.weekday())
    elif period == "month":
        naive = naive.replace(day=1)
    elif period == "quarter":
        naive = naive.replace(month=3 * ((naive.month - 1) // 3) + 1, day=1)
    elif period == "year":
        naive = naive.replace(month=1, day=1)
    return localize(naive, tz)


def calendar_step(period: str) -> pd.DateOffset:
    """One calendar period as an offset of wall-clock time."""
    return {
        "day": pd.DateOffset(days=1),
        "week": pd.DateOffset(days=7),
        "month": pd.DateOffset(months=1),
        "quarter": pd.DateOffset(months=3),
        "year": pd.DateOffset(years=1),
    }[period]


def shift_local(ts: pd.Timestamp, offset: pd.DateOffset | pd.Timedelta, tz: str, sign: int = 1):
    """Move ``ts`` by ``offset`` in wall-clock time (so a month back from 31 March is 28 Feb)."""
    naive = ts.tz_convert(tz).tz_localize(None)
    return localize(naive + offset if sign > 0 else naive - offset, tz)


def period_label(start: pd.Timestamp, period: str | pd.DateOffset, end: pd.Timestamp) -> str:
    """A readable name for a period: 2026-11-19, 2026-W47, 2026-11, 2026Q4, 2026."""
    if period == "day":
        return start.strftime("%Y-%m-%d")
    if period == "week":
        iso = start.isocalendar()
        return f"{iso[0]}-W{iso[1]:02d}"
    if period == "month":
        return start.strftime("%Y-%m")
    if period == "quarter":
        return f"{start.year}Q{(start.month - 1) // 3 + 1}"
    if period == "year":
        return str(start.year)
    return f"{start.isoformat()} to {end.isoformat()}"


def restore_groups(out: pd.DataFrame, df: pd.DataFrame, groups: Sequence[str]) -> pd.DataFrame:
    """Give result group columns the frame's dtypes: ``Int64`` ids, categorical model types."""
    if "client_id" in groups:
        out["client_id"] = out["client_id"].astype("Int64")
    if "model_type" in groups:
        categories = list(df["model_type"].cat.categories)
        out["model_type"] = pd.Categorical(out["model_type"], categories=categories)
    return out
