"""Analyst-ready tables: human headers, units formatted per column, a caption naming the scope.

A :class:`Table` wraps the raw numbers of an analysis frame with, for each column shown, a
header and a kind (``money``, ``pct``, ``share``, ``count``, ``number``, ``date``, ``text``).
In a notebook it displays as a pandas ``Styler`` table with no index and a caption, and under
it a link that downloads the raw numbers as CSV (a ``data:`` URL: no server). Its text form is
the same table as plain text.

* Money: ``¥12,345.67``; changes ``-¥12.34``; rounded to the fen first, so never ``-¥0.00``.
* Percentages: ``+7.7 %`` for changes, ``55.5 %`` for shares; counts ``12,345``.
* Dates: ``2026-11-19`` for daily data, ``2026-11-19 14:00`` for hourly.
* :func:`top_rows` cuts a table to its largest rows and adds "Other (n types)" and "Total" rows,
  so that it adds up to the headline.
* ``lang="zh"`` on every builder (and :class:`Table`): Chinese headers, captions, "其他" and
  "合计" rows, ``+7.7%``; no font needed, a browser draws the table.

Example:
    >>> import pandas as pd
    >>> t = Table(pd.DataFrame({"model_type": ["Chat"], "current": [1234.5]}),
    ...           {"model_type": ("Model type", "text"), "current": ("Current", "money")},
    ...           caption="Spend")
    >>> print(t)
    Spend
    Model type   Current
          Chat ¥1,234.50
"""

from __future__ import annotations

from ._format import (
    format_count,
    format_date,
    format_money,
    format_number,
    format_pct,
    scope_caption,
    window_label,
)
from ._table import Table, top_rows
from .results import (
    allocation_table,
    anomaly_table,
    backtest_table,
    breakdown_table,
    change_table,
    drivers_table,
    forecast_table,
    landing_table,
    period_table,
    price_step_table,
    rollup_table,
)

__all__ = [
    "Table",
    "allocation_table",
    "anomaly_table",
    "backtest_table",
    "breakdown_table",
    "change_table",
    "drivers_table",
    "forecast_table",
    "format_count",
    "format_date",
    "format_money",
    "format_number",
    "format_pct",
    "landing_table",
    "period_table",
    "price_step_table",
    "rollup_table",
    "scope_caption",
    "top_rows",
    "window_label",
]
