"""costtrend_nb: analyse Alibaba Cloud Model Router spend in Jupyter.

Example:
    >>> import costtrend_nb as ct
    >>> client = ct.CostTrendClient.demo()   # ct.CostTrendClient() finds your credentials
    >>> df = client.fetch("2026-11-01", "2026-11-08", granularity="daily", by="model_type")
    >>> week = ct.wide(df)                   # one column per metric
    >>> week.groupby("model_type", observed=True)["total_amount"].sum().nlargest(2).round(2)
    model_type
    Chat               9552.29
    ImageGeneration    1904.98
    Name: total_amount, dtype: float64

Names are imported on first use, so ``import costtrend_nb`` stays light: plotting, widgets,
forecasting and the emulator load only when asked for.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from ._version import __version__

# public name -> the module that defines it
_EXPORTS: dict[str, str] = {
    "CostTrendClient": "client",
    "AsyncCostTrendClient": "client",
    "DemoModeWarning": "client",
    "Credentials": "credentials",
    "Secret": "credentials",
    "RangeWidenedWarning": "query",
    "AcsV3Auth": "auth",
    "TrendQuery": "query",
    "MODEL_TYPES": "query",
    "METRICS": "catalogue",
    "Metric": "catalogue",
    "wide": "tidy",
    "CostTrendError": "errors",
    "QueryError": "errors",
    "APIError": "errors",
    "BadRequestError": "errors",
    "AuthError": "errors",
    "OrgNotFoundError": "errors",
    "ThrottledError": "errors",
    "ServerError": "errors",
    "TransportError": "errors",
    "TimeoutError": "errors",
    "ResponseError": "errors",
    "FetchError": "errors",
    "to_daily": "tidy",
    "Dashboard": "widgets",
    "PeriodComparison": "widgets",
    "ModelTypeBreakdown": "widgets",
    "ForecastOverlay": "widgets",
    "default_cache_dir": "cache",
}

__all__ = [
    "METRICS",
    "MODEL_TYPES",
    "APIError",
    "AcsV3Auth",
    "AsyncCostTrendClient",
    "AuthError",
    "BadRequestError",
    "CostTrendClient",
    "CostTrendError",
    "Credentials",
    "Dashboard",
    "DemoModeWarning",
    "FetchError",
    "ForecastOverlay",
    "Metric",
    "ModelTypeBreakdown",
    "OrgNotFoundError",
    "PeriodComparison",
    "QueryError",
    "RangeWidenedWarning",
    "ResponseError",
    "Secret",
    "ServerError",
    "ThrottledError",
    "TimeoutError",
    "TransportError",
    "TrendQuery",
    "__version__",
    "default_cache_dir",
    "to_daily",
    "wide",
]
assert sorted(__all__) == sorted([*_EXPORTS, "__version__"])


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'costtrend_nb' has no attribute {name!r}")
    value = getattr(importlib.import_module(f".{module}", __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))


if TYPE_CHECKING:  # pragma: no cover
    from .auth import AcsV3Auth
    from .catalogue import METRICS, Metric
    from .client import AsyncCostTrendClient, CostTrendClient, DemoModeWarning
    from .credentials import Credentials, Secret
    from .errors import (
        APIError,
        AuthError,
        BadRequestError,
        CostTrendError,
        FetchError,
        OrgNotFoundError,
        QueryError,
        ResponseError,
        ServerError,
        ThrottledError,
        TimeoutError,
        TransportError,
    )
    from .query import MODEL_TYPES, RangeWidenedWarning, TrendQuery
    from .tidy import to_daily, wide
    from .widgets import Dashboard, ForecastOverlay, ModelTypeBreakdown, PeriodComparison
