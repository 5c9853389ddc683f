"""The conditions a scheduled job can fail on (``costtrend-nb summary --fail-on``)."""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass

import pandas as pd

from ..errors import QueryError
from .model import CONDITIONS, DEFAULT_UP_PCT, Summary, _local, _money, _pct


@dataclass(frozen=True)
class Condition:
    """One ``--fail-on`` condition: its name and its number (a threshold or a count of days)."""

    name: str
    number: float | None = None

    def check(self, s: Summary) -> str | None:
        """The sentence saying that the condition holds for ``s``, or None."""
        if self.name == "over-budget":
            return _over_budget(s)
        if self.name == "anomaly":
            return _anomaly(s, self.number)
        if self.name in ("spend-up", "week-up"):
            change = s.month if self.name == "spend-up" else s.week
            limit = DEFAULT_UP_PCT if self.number is None else self.number
            pct = None if change is None else change.pct_change
            if pct is None or pct * 100 <= limit:
                return None
            what = (
                "Spend month to date is" if self.name == "spend-up" else "The last complete week is"
            )
            assert change is not None
            return (
                f"{what} {_pct(pct)} like for like ({change.span()}), above the "
                f"{_pct(limit / 100)} threshold."
            )
        return None  # pragma: no cover - parse_conditions admits known names only


def _over_budget(s: Summary) -> str | None:
    land = s.landing
    if land is None or land.budget is None:
        return None
    p, landing, budget = land.p_over_budget, land.landing, land.budget
    if land.to_date is not None and land.to_date > budget:
        return (
            f"Spend in {land.month} is already {_money(land.to_date)}, over the "
            f"{_money(budget, 0)} budget."
        )
    if (landing is not None and landing > budget) or (p is not None and p >= 0.5):
        return (
            f"{land.month} is forecast to land at {_money(landing, 0)} (80 %: "
            f"{_money(land.lo_80, 0)} to {_money(land.hi_80, 0)}), P(over the "
            f"{_money(budget, 0)} budget) {_pct(p, signed=False)}."
        )
    return None


def _anomaly(s: Summary, days: float | None) -> str | None:
    found = list(s.anomalies)
    where = f"in {s.range_text('en')}"
    if days is not None and s.as_of is not None:
        last = _local(s.as_of, s.tz).normalize() - pd.Timedelta(days=int(days))
        found = [a for a in found if _local(a.date, s.tz) >= last]
        where = f"in the last {int(days)} complete day{'s' if days != 1 else ''}"
    if not found:
        return None
    dates = ", ".join(f"{a.date:%Y-%m-%d}" for a in found)
    return f"{len(found)} day{'s' if len(found) != 1 else ''} broke the pattern {where}: {dates}."


def parse_conditions(
    fail_on: Iterable[str | Condition] | str | None,
) -> list[Condition]:
    """The conditions named in ``fail_on`` (a list, or one comma-separated string).

    ``spend-up`` and ``week-up`` take a threshold in percent (``spend-up:20``, the default);
    ``anomaly`` takes a number of days (``anomaly:3``: the last three complete days only).

    Example:
        >>> parse_conditions("over-budget, spend-up:15")
        [Condition(name='over-budget', number=None), Condition(name='spend-up', number=15.0)]

    Raises:
        QueryError: a name not in :data:`CONDITIONS`, or a bad number.
    """
    if fail_on is None:
        return []
    items = [fail_on] if isinstance(fail_on, str) else list(fail_on)
    out = []
    for item in items:
        if isinstance(item, Condition):
            out.append(item)
            continue
        for part in str(item).split(","):
            text = part.strip().lower()
            if not text:
                continue
            name, _, number = text.partition(":")
            name = name.strip()
            if name not in CONDITIONS:
                raise QueryError(
                    f"unknown --fail-on condition {part.strip()[:40]!r}: use "
                    f"{', '.join(CONDITIONS)} (e.g. over-budget,anomaly:3,spend-up:20)."
                )
            value = None
            if number.strip():
                if name == "over-budget":
                    raise QueryError("over-budget takes no number: give the budget with --budget.")
                try:
                    value = float(number)
                except ValueError:
                    value = math.nan
                ok = math.isfinite(value) and value >= 0
                if name == "anomaly":
                    ok = ok and value >= 1 and value == int(value)
                if not ok:
                    what = (
                        "a whole number of days of at least 1"
                        if name == "anomaly"
                        else "a percentage of at least 0"
                    )
                    raise QueryError(f"{name}:N needs {what}, not {part.strip()[:40]!r}.")
            out.append(Condition(name, value))
    return out
