"""Tidy frames with known answers, built directly (no client, no parser)."""

from __future__ import annotations

from collections.abc import Callable, Mapping

import numpy as np
import pandas as pd

from costtrend_nb.catalogue import UNITS, metric_info, sort_metrics

Values = Callable[[pd.DatetimeIndex], np.ndarray] | float


def buckets(start: str, end: str, freq: str, tz: str) -> pd.DatetimeIndex:
    """Hourly buckets, or local midnights (23- and 25-hour days included)."""
    if freq == "h":
        return pd.date_range(
            pd.Timestamp(start, tz=tz), pd.Timestamp(end, tz=tz), freq="h", inclusive="left"
        )
    days = pd.date_range(pd.Timestamp(start), pd.Timestamp(end), freq="D", inclusive="left")
    return days.tz_localize(tz, ambiguous=True, nonexistent="shift_forward")


def make_frame(
    start: str,
    end: str,
    series: Mapping[tuple[str, int | None, str], Values],
    *,
    freq: str = "D",
    tz: str = "Asia/Shanghai",
    complete_until: str | None = None,
) -> pd.DataFrame:
    """A tidy frame: ``series`` maps (model_type, client_id, metric) to values or a function of
    the bucket starts. Buckets starting at or after ``complete_until`` are incomplete."""
    index = buckets(start, end, freq, tz)
    cut = pd.Timestamp(complete_until, tz=tz) if complete_until else None
    parts = []
    for (model_type, client_id, metric), values in series.items():
        v = values(index) if callable(values) else np.full(len(index), float(values))
        parts.append(
            pd.DataFrame(
                {
                    "timestamp": index,
                    "model_type": model_type,
                    "client_id": client_id,
                    "metric": metric,
                    "value": np.asarray(v, dtype=float),
                    "unit": metric_info(metric).unit,
                    "complete": index < cut if cut is not None else True,
                }
            )
        )
    df = pd.concat(parts, ignore_index=True)
    types = list(dict.fromkeys(k[0] for k in series))
    return pd.DataFrame(
        {
            "timestamp": df["timestamp"].astype(f"datetime64[ns, {tz}]"),
            "model_type": pd.Categorical(df["model_type"], categories=types),
            "client_id": pd.array(df["client_id"].tolist(), dtype="Int64"),
            "metric": pd.Categorical(
                df["metric"], categories=list(sort_metrics(df["metric"].unique()))
            ),
            "value": df["value"],
            "unit": pd.Categorical(
                df["unit"], categories=[u for u in UNITS if u in set(df["unit"])]
            ),
            "complete": df["complete"].astype(bool),
        }
    )


def weekly(
    level: float = 100.0, noise: float = 0.05, seed: int = 0, weekend: float = 0.4
) -> Callable[[pd.DatetimeIndex], np.ndarray]:
    """Daily values with a weekly cycle and multiplicative noise."""

    def values(index: pd.DatetimeIndex) -> np.ndarray:
        rng = np.random.default_rng(seed)
        base = np.where(index.day_of_week >= 5, weekend, 1.0) * level
        return base * np.exp(rng.normal(0.0, noise, len(index)))

    return values
