"""Showback plots: the department tree, the chargeback heat map, unit costs with their steps.

- :func:`plot_rollup`: one bar per department in tree order, names indented by depth; the
  solid part is the department's own keys, the light part what its sub-departments add.
- :func:`plot_allocation`: the department x model type matrix as a heat map, every cell
  written in ¥, with its totals.
- :func:`plot_unit_costs`: cost per unit of each model type's own volume over time, the steps
  :func:`~costtrend_nb.analysis.price_changes` finds marked and labelled.

Each title says the finding (and names the filters in force); the line under it the unit and
the scope: filters, window, granularity.
"""

from __future__ import annotations

import re
from typing import Any

import numpy as np
import pandas as pd

from ..analysis import allocation, price_changes, rollup, unit_costs
from ..analysis._frame import bucket_freq, validate
from ..analysis.breakdown import OTHER
from ..analysis.showback import TOTAL, _default_window
from ..lang import format_day, resolve_lang, t
from ..style import (
    MAX_COLORS,
    colors_for,
    format_value,
    group_label,
    metric_label,
    style_context,
    unit_formatter,
)
from ._common import (
    Names,
    _axes,
    _date_axis,
    _is_empty,
    _legend_outside,
    _local,
    _names,
    _no_data,
    _window_text,
    notes_missing_series,
)
from ._titles import _headline, scope_filters, scope_text

__all__ = ["plot_allocation", "plot_rollup", "plot_unit_costs"]

OWN_COLOR = "#0072B2"
SUBTREE_COLOR = "#A6CEE8"  # the same blue, lighter: what the sub-departments add
_INDENT = "    "  # per level of depth in the tree's labels


def _price(value: float) -> str:
    """A unit cost in yuan, to the precision it needs: ¥1,234, ¥2.41, ¥0.0412."""
    if value != value:  # NaN
        return "n/a"
    size = abs(value)
    if size >= 100:
        text = f"¥{size:,.0f}"
    elif size >= 1:
        text = f"¥{size:.2f}"
    elif size == 0:
        return "¥0"
    else:
        text = f"¥{size:#.3g}"
    return f"-{text}" if value < 0 else text


def _share(fraction: float) -> str:
    """A share in whole percent; "<1%" rather than "0%" for a small but real one."""
    if 0 < abs(fraction) < 0.005:
        return "<1%"
    return f"{fraction:.0%}"


def _tick_price(value: float, _pos: Any = None) -> str:
    """A unit-cost tick: ¥20, ¥2.50, ¥0.50, ¥0.005."""
    if value >= 10:
        return f"¥{value:,.0f}"
    if value >= 0.01:
        return f"¥{value:.2f}"
    return f"¥{value:.2g}"


def _wrap(label: str, width: int = 11) -> str:
    """A column head on short lines, split between words or CamelCase parts: Image/Generation."""
    words = re.findall(r"\([^)]*\)|[A-Z]+(?![a-z])|[A-Z]?[a-z0-9&]+|\S+", label)
    lines: list[str] = []
    for word in words:
        if lines and len(lines[-1]) + len(word) <= width:
            lines[-1] += (" " if f" {word}" in label else "") + word
        else:
            lines.append(word)
    return "\n".join(lines)


def _filtered(data: pd.DataFrame, names: Names = None, lang: str = "en") -> str:
    """ " (Chat, TTS)" after a title when the frame is filtered, so it never reads as the total."""
    filters = scope_filters(data, names, lang)
    if not filters:
        return ""
    return f"（{filters}）" if lang == "zh" else f" ({filters})"


def _indent_labels(ax: Any, labels: list[str]) -> None:
    """Left-align the y tick labels (so leading spaces indent them), padded past the widest."""
    ax.set_yticks(ax.get_yticks(), labels)
    canvas = ax.figure.canvas
    renderer = canvas.get_renderer() if hasattr(canvas, "get_renderer") else None
    renderer = renderer or ax.figure._get_renderer()
    widest = max(t.get_window_extent(renderer).width for t in ax.get_yticklabels())
    ax.tick_params(axis="y", length=0, pad=widest * 72 / ax.figure.dpi + 6)
    for text in ax.get_yticklabels():
        text.set_horizontalalignment("left")


# -- the department tree --------------------------------------------------------------------


@notes_missing_series
def plot_rollup(
    data: pd.DataFrame,
    departments: pd.DataFrame | None = None,
    *,
    metric: str = "total_amount",
    start: Any = None,
    end: Any = None,
    as_of: Any = None,
    lang: str = "en",
    ax: Any = None,
    **kwargs: Any,
) -> Any:
    """The department tree: each department's own spend and its subtree's, as indented bars.

    ``data`` is a tidy frame split by department with ``departments=client.departments()``
    (summed over ``[start, end)`` by :func:`~costtrend_nb.analysis.rollup`), or the frame
    ``rollup`` returned. The light bar is the subtree (the department and everything below it),
    the solid part its own keys; the label gives the subtree's cost and share of the total.

    Example:
        >>> from costtrend_nb import CostTrendClient
        >>> client = CostTrendClient.demo()
        >>> df = client.fetch("2026-10-01", "2026-11-01", granularity="daily", by="client_id")
        >>> ax = plot_rollup(df, client.departments())
        >>> ax.get_title()
        'Research & Development and below: 53% of ¥74,380'
    """
    lang = resolve_lang(lang)
    scope = ""
    unit = t("Cost (CNY) by department: own keys, and with sub-departments", lang)
    empty_title = t(
        "Cost{filtered} by department and its sub-departments",
        lang,
        filtered=_filtered(data, departments, lang),
    )
    if "subtree" in data.columns:
        tree = data
    else:
        validate(data)
        if _is_empty(data, metric):
            with style_context(lang):
                ax = _axes(ax, lang=lang)
                scoped = f"{unit} · {scope_text(data, departments, lang=lang)}"
                _headline(ax, empty_title, scoped, data, lang)
                return _no_data(ax, metric, lang)
        if departments is None:
            raise TypeError("plot_rollup needs departments=client.departments() with a tidy frame")
        tree = rollup(data, departments, metric=metric, start=start, end=end, as_of=as_of)
        span = allocation(data, columns=None, metric=metric, start=start, end=end, as_of=as_of)
        window = _window_text(span.attrs["start"], span.attrs["end"], lang)
        scope = f" · {scope_text(data, departments, window=window, lang=lang)}"
    rows = len(tree)
    with style_context(lang):
        ax = _axes(ax, figsize=(9, 1.6 + 0.42 * max(rows, 3)), lang=lang)
        total = float(np.nansum(tree.loc[tree["depth"] == 1, "subtree"])) if rows else 0.0
        if not rows or not total:
            _headline(ax, empty_title, unit + scope, data, lang)
            return _no_data(ax, metric, lang)
        y = np.arange(rows)[::-1].astype(float)
        subtree = tree["subtree"].fillna(0.0).to_numpy(dtype=float)
        own = tree["own"].fillna(0.0).to_numpy(dtype=float)
        below_label, own_label = t("Sub-departments", lang), t("Own keys", lang)
        ax.barh(y, subtree, color=SUBTREE_COLOR, height=0.7, label=below_label, **kwargs)
        ax.barh(y, own, color=OWN_COLOR, height=0.7, label=own_label, **kwargs)
        for yi, r in zip(y, tree.itertuples(index=False), strict=True):
            if pd.isna(r.subtree):
                text = f"  {t('not fetched', lang)}"
            else:
                text = f"  {format_value(r.subtree, 'CNY')} · {_share(r.subtree / total)}"
                if not pd.isna(r.own) and r.own < r.subtree:
                    text += " " + t("(own {value})", lang, value=format_value(r.own, "CNY"))
                if not r.all_fetched:
                    text += " *"
            ax.text(np.nan_to_num(r.subtree), yi, text, va="center", fontsize=9)
        labels = [
            f"{_INDENT * (int(d) - 1)}{'└ ' if d > 1 else ''}{n}"
            for d, n in zip(tree["depth"], tree["name"], strict=True)
        ]
        ax.set_yticks(y)
        ax.set_ylim(-0.6, rows - 0.4)
        ax.set_xlim(0, float(np.nanmax(subtree)) * 1.55)
        from matplotlib.ticker import MaxNLocator

        ax.xaxis.set_major_locator(MaxNLocator(nbins=5))
        ax.xaxis.set_major_formatter(unit_formatter("CNY"))
        ax.set_xlabel(metric_label("total_amount", lang))
        ax.grid(axis="y", visible=False)
        ax.grid(axis="x", visible=True)
        handles, names = ax.get_legend_handles_labels()
        if not tree["all_fetched"].all():
            from matplotlib.patches import Patch

            handles.append(Patch(visible=False))
            names.append(t("* not every sub-department\n   was fetched: at least this", lang))
        from matplotlib.transforms import ScaledTranslation

        # below the axis' label, where no bar label reaches
        below = ScaledTranslation(0, -0.55, ax.figure.dpi_scale_trans)
        ax.legend(
            handles,
            names,
            loc="upper left",
            bbox_to_anchor=(0, 0),
            bbox_transform=ax.transAxes + below,
            borderaxespad=0,
            ncols=len(handles),
        )
        _indent_labels(ax, labels)
        roots = tree[tree["depth"] == 1]
        below = (
            tree[tree["depth"] == 2] if len(roots) == 1 and (tree["depth"] == 2).any() else roots
        )
        lead = below.loc[below["subtree"].idxmax()]
        who = lead["name"]
        if lead["subtree"] > np.nan_to_num(lead["own"]):
            who = t("{name} and below", lang, name=who)
        of = format_value(total, "CNY")
        if not tree["all_fetched"].all():
            of = t("{value} fetched", lang, value=of)
        share = _share(lead["subtree"] / total)
        _headline(
            ax,
            t("{who}: {share} of {total}", lang, who=who, share=share, total=of)
            + _filtered(data, departments, lang),
            unit + scope,
            data,
            lang,
        )
    return ax


# -- the chargeback matrix ------------------------------------------------------------------


def _fold(matrix: pd.DataFrame, top: int, axis: int, lang: str = "en") -> pd.DataFrame:
    """Keep the ``top`` largest rows (axis 0) or columns (axis 1); sum the rest into Other."""
    size = matrix.shape[axis]
    if size <= top:
        return matrix
    keep = top - 1  # Other takes the last place
    noun = t("departments" if axis == 0 else "types", lang)
    other = t(OTHER + " ({n} {noun})", lang, n=size - keep, noun=noun)
    if axis == 0:
        rest = matrix.iloc[keep:].sum(axis=0).rename(other)
        return pd.concat([matrix.iloc[:keep], rest.to_frame().T])
    rest = matrix.iloc[:, keep:].sum(axis=1).rename(other)
    return pd.concat([matrix.iloc[:, :keep], rest], axis=1)


@notes_missing_series
def plot_allocation(
    data: pd.DataFrame,
    *,
    names: Names = None,
    metric: str = "total_amount",
    start: Any = None,
    end: Any = None,
    as_of: Any = None,
    top: int = MAX_COLORS,
    top_departments: int = 12,
    lang: str = "en",
    ax: Any = None,
    **kwargs: Any,
) -> Any:
    """The chargeback matrix as a heat map: department x model type, each cell in ¥.

    ``data`` is a tidy frame split by department and model type (summed over ``[start, end)``
    by :func:`~costtrend_nb.analysis.allocation`), or the amounts frame ``allocation``
    returned. The ``top`` model types and ``top_departments`` departments keep their own
    column and row; the rest fold into "Other". The Total row and column are drawn apart, in
    white; ``kwargs`` go to ``imshow`` (``cmap=...``).

    Example:
        >>> from costtrend_nb import CostTrendClient
        >>> client = CostTrendClient.demo()
        >>> df = client.fetch("2026-10-01", "2026-11-01", granularity="daily",
        ...                   by=["model_type", "client_id"])
        >>> ax = plot_allocation(df, names=client.departments())
        >>> ax.get_title()
        'Research & Development pays most: ¥21,829 (29%), mostly Chat'
    """
    lang = resolve_lang(lang)
    window = None
    empty_title = t(
        "Cost{filtered} by department and model type", lang, filtered=_filtered(data, names, lang)
    )
    by_both = t("Cost (CNY) by department and model type", lang)
    if "Share" in data.columns and TOTAL in data.columns:
        table = data
        if table.attrs.get("values", "amount") != "amount":
            raise ValueError("plot_allocation draws amounts: pass allocation(..., values='amount')")
    else:
        validate(data)
        if _is_empty(data, metric):
            with style_context(lang):
                ax = _axes(ax, lang=lang)
                scope = scope_text(data, names, lang=lang)
                _headline(ax, empty_title, f"{by_both} · {scope}", data, lang)
                return _no_data(ax, metric, lang)
        table = allocation(
            data, names=names, metric=metric, start=start, end=end, as_of=as_of, values="amount"
        )
    if "start" in table.attrs:
        window = _window_text(table.attrs["start"], table.attrs["end"], lang)
    if "timestamp" in data:
        scope = f" · {scope_text(data, names, window=window, lang=lang)}"
    else:  # the amounts frame allocation() returned: its window only
        scope = f" · {window}" if window else ""
    label = table.columns[0]
    body = table[table[label] != TOTAL].set_index(label).drop(columns=[TOTAL, "Share"])
    body = _fold(_fold(body, max(top, 2), axis=1, lang=lang), max(top_departments, 2), 0, lang)
    grand = float(body.to_numpy().sum()) if body.size else 0.0
    rows, cols = body.shape
    with style_context(lang):
        size = (max(8.0, 2.6 + 0.85 * (cols + 1)), 1.9 + 0.42 * (rows + 1))
        ax = _axes(ax, figsize=size, lang=lang)
        if not body.size or not grand:
            _headline(ax, empty_title, f"{by_both}{scope}", data, lang)
            return _no_data(ax, metric, lang)
        values = body.to_numpy(dtype=float)
        kwargs.setdefault("cmap", "Blues")
        ax.imshow(values, aspect="auto", vmin=0, vmax=float(values.max()), **kwargs)
        row_totals, col_totals = values.sum(axis=1), values.sum(axis=0)
        for i in range(rows):
            for j in range(cols):
                v = values[i, j]
                shade = v / values.max()
                ink = "white" if shade > 0.55 else "#222222"
                text = "–" if v == 0 else format_value(v, "CNY")
                ax.text(j, i, text, ha="center", va="center", fontsize=8, color=ink)
            _bold_total(ax, cols, i, row_totals[i])
        for j in range(cols):
            _bold_total(ax, j, rows, col_totals[j])
        _bold_total(ax, cols, rows, grand)
        ax.axvline(cols - 0.5, color="#333333", lw=1)
        ax.axhline(rows - 0.5, color="#333333", lw=1)
        ax.set_xlim(-0.5, cols + 0.5)
        ax.set_ylim(rows + 0.5, -0.5)
        heads = [str(c) for c in body.columns] + [t(TOTAL, lang)]
        ax.set_xticks(range(cols + 1), [_wrap(h) for h in heads], fontsize=9)
        ax.set_yticks(range(rows + 1), [str(r) for r in body.index] + [t(TOTAL, lang)])
        ax.tick_params(length=0)
        ax.grid(False)
        for side in ("left", "bottom"):
            ax.spines[side].set_visible(False)
        lead_row = int(np.argmax(row_totals))
        lead_col = int(np.argmax(values[lead_row]))
        who = str(body.index[lead_row])
        title = t(
            "{who} pays most: {value} ({share}), mostly {what}",
            lang,
            who=who,
            value=format_value(row_totals[lead_row], "CNY"),
            share=_share(row_totals[lead_row] / grand),
            what=body.columns[lead_col],
        )
        rows_are = t(str(label), lang) if lang == "zh" else str(label).lower()
        _headline(
            ax,
            title + _filtered(data, names, lang),
            t("Cost (CNY) by {what} and model type", lang, what=rows_are) + scope,
            data,
            lang,
        )
    return ax


# -- unit costs -----------------------------------------------------------------------------


@notes_missing_series
def plot_unit_costs(
    data: pd.DataFrame,
    *,
    by: str = "model_type",
    model_types: list[str] | None = None,
    freq: str | None = "D",
    as_of: Any = None,
    steps: pd.DataFrame | None = None,
    top: int = 6,
    names: Names = None,
    lang: str = "en",
    ax: Any = None,
    **kwargs: Any,
) -> Any:
    """Unit costs over time, one line per model type, the detected price steps marked.

    Cost per unit of each model type's own volume (:func:`~costtrend_nb.analysis.unit_costs`:
    ¥ per 1M tokens, per image, per second of video...). Types quoted in different units share
    a log axis, each legend entry naming its unit; one unit alone gets a plain axis in it.
    ``model_types`` picks the lines (default: the ``top`` types by cost). ``steps`` defaults
    to :func:`~costtrend_nb.analysis.price_changes` on the same frame; each is marked at its
    first bucket and labelled with its size. ``by=["model_type", "client_id"]`` draws a line
    per model type and department.

    Example:
        >>> from costtrend_nb import CostTrendClient
        >>> df = CostTrendClient.demo().fetch("2026-03-01", "2026-07-01", granularity="daily",
        ...                                   by="model_type")
        >>> ax = plot_unit_costs(df, model_types=["Chat", "ImageGeneration"])
        >>> ax.get_title()
        'Chat unit cost: -4.7% from 04 May 2026'
    """
    validate(data)
    groups = [by] if isinstance(by, str) else list(by)
    labels = _names(names)
    lang = resolve_lang(lang)
    with style_context(lang):
        ax = _axes(ax, figsize=(10, 4.5), lang=lang)
        rows = data[data["metric"] == "total_amount"]
        if model_types is not None:
            rows = rows[rows["model_type"].astype(str).isin([str(m) for m in model_types])]
        empty_title = t("Unit cost by model type", lang)
        empty_unit = f"{t('¥ per unit', lang)} · {scope_text(data, names, lang=lang)}"
        if _is_empty(rows, "total_amount"):
            _headline(ax, empty_title, empty_unit, data, lang)
            return _no_data(ax, lang=lang)
        picked = data[data["model_type"].isin(pd.unique(rows["model_type"]))]
        costs = unit_costs(picked, by=by, freq=freq, as_of=as_of)
        if model_types is None:
            spend = costs.groupby("model_type", observed=True)["cost"].sum()
            keep = spend[spend > 0].sort_values(ascending=False).index[:top]
            costs = costs[costs["model_type"].isin(keep)]
        costs = costs[costs.groupby(groups, observed=True)["unit_cost"].transform("count") > 0]
        if costs.empty:
            _headline(ax, empty_title, empty_unit, data, lang)
            return _no_data(ax, "total_calls", lang)
        own_steps = steps is None
        if steps is None:
            steps = price_changes(picked, by=by, freq=freq, as_of=as_of)
        keys = list(costs.groupby(groups if len(groups) > 1 else groups[0], observed=True).groups)
        order = sorted(keys, key=lambda k: -costs.loc[_match(costs, groups, k), "cost"].sum())
        colors = colors_for(
            [k if isinstance(k, str) else k[0] for k in order]
            if len(groups) == 1
            else list(range(len(order)))
        )
        pers = costs["per"].unique()
        one_unit = len(pers) == 1
        marked = []
        for key, color in zip(order, colors, strict=True):
            part = costs[_match(costs, groups, key)]
            x = _local(part["timestamp"])
            y = part["unit_cost"].to_numpy(dtype=float)
            done = part["complete"].to_numpy()
            last = np.flatnonzero(done).max() if done.any() else -1
            name = _key_label(key, groups, labels)
            latest = part["unit_cost"].dropna()
            per = t(str(part["per"].iloc[0]), lang)
            ax.plot(
                x[: last + 1],
                y[: last + 1],
                color=color,
                lw=1.4,
                label=(
                    t(
                        "{name}: {price} per {per}",
                        lang,
                        name=name,
                        price=_price(latest.iloc[-1]),
                        per=per,
                    )
                    if len(latest)
                    else name
                ),
                **kwargs,
            )
            if last < len(y) - 1:
                tail = slice(max(last, 0), len(y))
                ax.plot(x[tail], y[tail], color=color, lw=1.4, ls="--", **kwargs)
            for s in steps[_match(steps, groups, key)].itertuples(index=False):
                at = _local(pd.DatetimeIndex([s.timestamp]))[0]
                ax.axvline(at, color=color, lw=0.8, ls=":")
                ax.plot([at], [s.after], marker="v" if s.change < 0 else "^", color=color, ms=8)
                marked.append((s, name, color, at))
        for s, name, color, at in marked:
            ax.annotate(
                f"{name} {s.pct_change:+.1%}\n{_price(s.before)} → {_price(s.after)}",
                (at, s.after),
                textcoords="offset points",
                xytext=(8, -22 if s.change < 0 else 10),
                fontsize=8,
                color=color,
                bbox={"boxstyle": "round,pad=0.2", "fc": "white", "ec": "none", "alpha": 0.8},
            )
        _date_axis(ax, lang)
        _unit_axis(ax, costs["unit_cost"], one_unit, t(str(pers[0]), lang), lang)
        _legend_outside(ax, title=t("Latest unit cost", lang))
        if marked:
            s, name, _, _ = max(marked, key=lambda m: abs(m[0].pct_change))
            more = len(marked) - 1
            day = format_day(s.timestamp, lang) if lang == "zh" else f"{s.timestamp:%d %b %Y}"
            pct = f"{s.pct_change:+.1%}"
            finding = t("{name} unit cost: {pct} from {day}", lang, name=name, pct=pct, day=day)
            if more:
                term = "({more} more steps marked)" if more > 1 else "({more} more step marked)"
                finding += "\n" + t(term, lang, more=more)
        else:
            finding = t("No step in unit cost found", lang)
            if own_steps:
                longest = int(costs.groupby(groups, observed=True)["unit_cost"].count().max())
                needed = 2 * _default_window(pd.DatetimeIndex(costs["timestamp"].unique()))
                if longest < needed:
                    unit = {56: "days", 336: "hours", 12: "weeks"}.get(needed, "buckets")
                    finding = t(
                        "Too short to find price steps: {longest} of {needed} {unit}",
                        lang,
                        longest=longest,
                        needed=needed,
                        unit=t(unit, lang),
                    )
        span = _window_text(
            costs["timestamp"].min(),
            costs["timestamp"].max() + _step(costs["timestamp"], freq, data),
            lang,
        )
        quoted = (
            t("¥ per {per}", lang, per=t(str(pers[0]), lang))
            if one_unit
            else t("¥ per unit of each type's own volume", lang)
        )
        grain = {"D": "daily", "W-MON": "weekly", "MS": "monthly"}.get(str(freq), str(freq))
        if freq is None:
            grain = "daily" if bucket_freq(data) == "D" else "hourly"
        filters = scope_filters(data, names, lang) or t("All model types", lang)
        comma = "，" if lang == "zh" else ", "
        _headline(ax, finding, f"{quoted}{comma}{t(grain, lang)} · {filters} · {span}", data, lang)
    return ax


def _match(frame: pd.DataFrame, groups: list[str], key: Any) -> pd.Series:
    keys = key if isinstance(key, tuple) else (key,)
    hit = pd.Series(True, index=frame.index)
    for column, value in zip(groups, keys, strict=True):
        hit &= frame[column].astype(object) == value
    return hit


def _key_label(key: Any, groups: list[str], labels: dict[int, str]) -> str:
    keys = key if isinstance(key, tuple) else (key,)
    return " · ".join(
        group_label(v, labels) if g == "client_id" else str(v)
        for g, v in zip(groups, keys, strict=True)
    )


def _step(stamps: pd.Series, freq: str | None, data: pd.DataFrame) -> Any:
    """The length of the last bucket drawn, so the window's end is exclusive as elsewhere."""
    if freq is None:
        return pd.Timedelta(days=1) if bucket_freq(data) == "D" else pd.Timedelta(hours=1)
    return pd.tseries.frequencies.to_offset(freq)


def _unit_axis(ax: Any, values: pd.Series, one_unit: bool, per: str, lang: str = "en") -> None:
    from matplotlib.ticker import FuncFormatter, LogLocator, NullFormatter

    finite = values[np.isfinite(values) & (values > 0)]
    if one_unit:
        ax.yaxis.set_major_formatter(FuncFormatter(_tick_price))
        ax.set_ylabel(t("¥ per {per}", lang, per=per))
        low, high = float(finite.min()), float(finite.max())
        pad = (high - low) * 0.25 or high * 0.1
        ax.set_ylim(max(0.0, low - pad), high + pad)
        return
    ax.set_yscale("log")
    ax.yaxis.set_major_locator(LogLocator(base=10, subs=(1.0, 2.0, 5.0)))
    ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _pos: f"¥{v:,g}"))
    ax.yaxis.set_minor_formatter(NullFormatter())
    ax.set_ylabel(t("¥ per unit (log scale; units in the legend)", lang))
    ax.set_ylim(float(finite.min()) / 1.6, float(finite.max()) * 1.6)


def _bold_total(ax: Any, x: float, y: float, value: float) -> None:
    """A total of the heat map, in bold ¥, at cell ``(x, y)``."""
    ax.text(x, y, format_value(value, "CNY"), ha="center", va="center", fontsize=8, weight="bold")
