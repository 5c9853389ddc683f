"""The executive summary of a frame, and its renderings: JSON, Markdown, text and the index page.

:func:`summarise` turns a daily tidy frame into a :class:`Summary`: spend month to date with
its like-for-like change (the same elapsed days of the month before), the last complete week
against the week before, where the month will land (the median of the forecast paths, its
80 % interval and P(over budget)), the three model types that drove the month's change most,
the days that broke the pattern, and the departments that spent most this month. Only
complete buckets count: the running day is left out of every total (and its spend so far is
shown apart, as ``running``).

The numbers are the notebooks' own: the same analysis functions on the same frame
(``compare_periods`` for 01's table, ``month_end_landing`` for 03's, ``explain_change`` and
``detect_anomalies`` for 01's and 02's).

:meth:`Summary.alerts` checks the conditions a scheduled job can fail on
(:data:`CONDITIONS`); :func:`render_index` writes the reports' ``index.html`` around it.

Example:
    >>> from costtrend_nb import CostTrendClient
    >>> df = CostTrendClient.demo().fetch("2026-09-01", "2026-11-21", granularity="daily")
    >>> s = summarise(df, now="2026-11-20 07:00Z")
    >>> s.month.current_text, s.month.change_text
    ('¥47,701.46', '+7.7 %')
    >>> s.alerts(["spend-up:5"])
    ['Spend month to date is +7.7 % like for like (1 – 19 Nov 2026), above the +5.0 % threshold.']
"""

from __future__ import annotations

from .compute import summarise
from .conditions import Condition, parse_conditions
from .model import CONDITIONS, Anomaly, Change, Department, Driver, Landing, Summary
from .page import Card, render_index

__all__ = [
    "CONDITIONS",
    "Anomaly",
    "Card",
    "Change",
    "Condition",
    "Department",
    "Driver",
    "Landing",
    "Summary",
    "parse_conditions",
    "render_index",
    "summarise",
]
