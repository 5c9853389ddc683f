"""A waterfall of the change in cost, split into volume and unit cost (:func:`plot_drivers`)."""

from __future__ import annotations

from typing import Any

import pandas as pd

from ..analysis import explain_change
from ..analysis._frame import validate
from ..analysis.breakdown import OTHER
from ..style import MAX_COLORS, format_value, group_label, style_context, unit_formatter
from ._common import Names, _axes, _names, _no_data, _window_text, notes_missing_series

__all__ = ["plot_drivers"]


@notes_missing_series
def plot_drivers(
    data: pd.DataFrame,
    *,
    by: str = "model_type",
    period: Any = "month",
    as_of: Any = None,
    align: str = "calendar",
    top: int = MAX_COLORS,
    names: Names = None,
    ax: Any = None,
    **kwargs: Any,
) -> Any:
    """A waterfall of the change in cost: each group's step, split into volume and unit cost.

    Steps run from 0 to the total change; within each, the volume effect (blue) and the
    unit-cost effect (orange) are stacked, so a group whose volume grew while prices fell shows
    both. Groups beyond ``top`` fold into "Other".

    Example:
        >>> from costtrend_nb import CostTrendClient
        >>> client = CostTrendClient.demo()
        >>> df = client.fetch("2026-10-01", "2026-11-21", granularity="daily", by="client_id")
        >>> ax = plot_drivers(df, by="client_id", names=client.departments())
        >>> ax.get_title().splitlines()[0]
        'What drove the change in cost (+¥3,428)'
    """
    validate(data)
    labels = _names(names)
    with style_context():
        ax = _axes(ax)
        if (data["metric"] == "total_amount").sum() == 0:
            ax.set_title("What drove the change in cost")
            return _no_data(ax)
        table = explain_change(data, period, as_of=as_of, by=by, align=align)
        keep = table.iloc[:top]
        rest = table.iloc[top:]
        steps = [
            (group_label(g, labels), v, u)
            for g, v, u in zip(
                keep[by], keep["volume_effect"], keep["unit_cost_effect"], strict=True
            )
        ]
        if len(rest):
            steps.append(
                (OTHER, float(rest["volume_effect"].sum()), float(rest["unit_cost_effect"].sum()))
            )
        level = 0.0
        for i, (_, volume, unit_cost) in enumerate(steps):
            # volume first, then unit cost from where volume left off: side by side, so
            # effects of opposite sign never hide each other
            ax.bar(
                i - 0.17,
                volume,
                bottom=level,
                color="#0072B2",
                width=0.34,
                label="Volume effect" if i == 0 else None,
                **kwargs,
            )
            ax.bar(
                i + 0.17,
                unit_cost,
                bottom=level + volume,
                color="#E69F00",
                width=0.34,
                label="Unit-cost effect" if i == 0 else None,
                **kwargs,
            )
            step = volume + unit_cost
            ax.plot([i + 0.34, i + 0.66], [level + step] * 2, color="#666666", lw=0.8)
            top = max(level, level + volume, level + step)
            ax.annotate(
                f"{'+' if step >= 0 else ''}{format_value(step, 'CNY')}",
                (i, top),
                textcoords="offset points",
                xytext=(0, 3),
                ha="center",
                va="bottom",
                fontsize=8,
            )
            level += step
        total = level
        ax.bar(len(steps), total, color="#333333", width=0.6, label="Total change")
        ax.margins(y=0.12)
        ax.set_xticks(
            range(len(steps) + 1), [s[0] for s in steps] + ["Total"], rotation=30, ha="right"
        )
        ax.axhline(0, color="#666666", lw=0.8)
        ax.yaxis.set_major_formatter(unit_formatter("CNY"))
        ax.set_ylabel("change in cost (CNY)")
        row = table.iloc[0]
        ax.set_title(
            f"What drove the change in cost ({'+' if total >= 0 else ''}"
            f"{format_value(total, 'CNY')})\n"
            f"{_window_text(row['current_start'], row['current_end'])} against "
            f"{_window_text(row['previous_start'], row['previous_end'])}"
        )
        ax.legend(loc="upper left")
    return ax
