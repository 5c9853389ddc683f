"""Plots, checked on their artists (line data, legends, formatters, band vertices), not pixels."""

import re

import matplotlib as mpl
import matplotlib.pyplot as plt
import numpy as np
import pytest

from costtrend_nb import CostTrendClient
from costtrend_nb import plot as P
from costtrend_nb.analysis import breakdown, detect_anomalies, explain_change, forecast
from costtrend_nb.style import MODEL_TYPE_COLORS, OTHER_COLOR, metric_label, unit_formatter

CHAT = MODEL_TYPE_COLORS["Chat"]


@pytest.fixture(scope="module")
def client():
    return CostTrendClient.demo()


@pytest.fixture(scope="module")
def daily(client):
    return client.fetch(
        "2026-08-01", "2026-11-21", granularity="daily", by=["model_type", "client_id"]
    )


@pytest.fixture(scope="module")
def hourly(client):
    return client.fetch("2026-11-06", "2026-11-21", by="model_type")


@pytest.fixture(scope="module")
def names(client):
    return client.departments()


def legend_texts(ax):
    return [t.get_text() for t in ax.get_legend().get_texts()]


def tick(ax, value, axis="y"):
    formatter = (ax.yaxis if axis == "y" else ax.xaxis).get_major_formatter()
    return formatter(value, 0)


def test_trend_lines_carry_the_data_and_mark_incomplete_buckets(hourly):
    ax = P.plot_trend(hourly, by="model_type")
    totals = (
        hourly[hourly.metric == "total_amount"]
        .groupby(["timestamp", "model_type"], observed=True)["value"]
        .sum()
        .unstack()
    )
    chat = next(line for line in ax.get_lines() if line.get_label() == "Chat")
    done = hourly[hourly.complete].timestamp.nunique()
    np.testing.assert_allclose(chat.get_ydata(), totals["Chat"].to_numpy()[:done])
    assert chat.get_color() == CHAT and chat.get_linestyle() == "-"
    dashed = [
        line for line in ax.get_lines() if line.get_linestyle() == "--" and line.get_color() == CHAT
    ]
    assert len(dashed) == 1 and len(dashed[0].get_ydata()) == totals.shape[0] - done + 1
    texts = legend_texts(ax)
    assert texts[0] == "Chat" and "Other" in texts and "Incomplete: still settling" in texts
    assert len([t for t in texts if t not in ("Other", "Incomplete: still settling")]) == 8
    assert tick(ax, 1234.4) == "¥1,234" and ax.get_ylabel() == "Cost (CNY)"
    assert ax.get_title() == "Cost by model type"


def test_stacked_area_keeps_fixed_colours_and_folds_the_rest(daily):
    ax = P.plot_trend(daily, by="model_type", kind="area")
    polys = [
        c
        for c in ax.collections
        if c.get_label() not in ("_nolegend_", "") and not c.get_label().startswith("Incomplete")
    ]
    labels = [p.get_label() for p in polys]
    assert labels[0] == "Chat" and labels[-1] == "Other" and len(labels) == 9
    assert mpl.colors.to_hex(polys[0].get_facecolor()[0]) == CHAT.lower()
    assert mpl.colors.to_hex(polys[-1].get_facecolor()[0]) == OTHER_COLOR.lower()
    hatched = [p for p in ax.patches if p.get_hatch() == "//"]
    assert len(hatched) == 1  # the running day


def test_departments_are_named_and_units_follow_the_metric(daily, names):
    ax = P.plot_trend(daily, metric="input_tokens", by="client_id", names=names)
    texts = legend_texts(ax)
    assert "Research & Development" in texts and "Customer Service" in texts
    assert tick(ax, 1_250_000) == "1.25M" and ax.get_ylabel() == "Input tokens (tokens)"
    video = P.plot_trend(daily, metric="video_duration")
    assert tick(video, 3900) == "1h 05m"
    assert unit_formatter("images")(12_300, 0) == "12.3K"


def test_period_overlay_names_both_windows_and_annotates_the_change(daily):
    ax = P.plot_period_overlay(daily, period="month")
    texts = legend_texts(ax)
    assert texts[:2] == ["Current: 01 Nov – 19 Nov 2026", "Previous: 01 Oct – 19 Oct 2026"]
    note = next(t.get_text() for t in ax.texts)
    assert "like for like" in note and "¥" in note and "%" in note
    current = ax.get_lines()[0]
    assert np.isfinite(current.get_ydata()).sum() == 19


def test_breakdown_bars_and_shares(daily, names):
    ax = P.plot_breakdown(daily, by="model_type", top=5)
    table = breakdown(daily, "model_type", top=5)
    widths = [p.get_width() for p in ax.patches]
    np.testing.assert_allclose(widths, table["current"].to_numpy())
    assert [t.get_text() for t in ax.get_yticklabels()] == table["model_type"].tolist()
    assert ax.get_yticks()[0] > ax.get_yticks()[-1]  # the largest on top
    assert mpl.colors.to_hex(ax.patches[0].get_facecolor()) == CHAT.lower()
    by_dept = P.plot_breakdown(daily, by="client_id", names=names)
    assert "Customer Service" in [t.get_text() for t in by_dept.get_yticklabels()]
    share = P.plot_breakdown(daily, kind="share", freq="W-MON")
    assert tick(share, 0.25) == "25%" and share.get_ylim() == (0.0, 1.0)


def test_drivers_waterfall_adds_up(daily):
    ax = P.plot_drivers(daily, period="month")
    table = explain_change(daily, "month")
    total = table["change"].sum()
    total_bar = ax.patches[-1]
    assert total_bar.get_height() == pytest.approx(total)
    labels = [t.get_text() for t in ax.get_xticklabels()]
    assert (
        labels[0] == table["model_type"].iloc[0] and labels[-1] == "Total" and labels[-2] == "Other"
    )
    effects = ax.patches[:-1]
    assert sum(p.get_height() for p in effects) == pytest.approx(total)
    assert legend_texts(ax) == ["Volume effect", "Unit-cost effect", "Total change"]


def running_sums(ax):
    """Every level the waterfall's effect bars reach (all patches but the total)."""
    return [y for p in ax.patches[:-1] for y in (p.get_y(), p.get_y() + p.get_height())]


@pytest.mark.parametrize(
    ("period", "as_of", "by"),
    [
        ("week", None, "client_id"),  # +¥1 in all, +¥192 on the way
        ("month", None, "model_type"),  # +¥3,428
        ("month", "2026-10-19", "client_id"),  # -¥244 in all, +¥433 on the way
        ("month", "2026-11-02", "model_type"),  # -¥1,577
    ],
)
def test_the_waterfall_axis_holds_every_running_sum_with_room(daily, period, as_of, by):
    """The y-limits stopped at the total: bars ran off the axes, labels under the title."""
    ax = P.plot_drivers(daily, period=period, as_of=as_of, by=by)
    low, high = ax.get_ylim()
    sums = running_sums(ax)
    span = max(sums) - min(sums)
    assert low <= min(sums) and high >= max(sums) + 0.1 * span  # room for the labels
    total = ax.patches[-1].get_height()
    assert low <= min(total, 0) and high > max(total, 0)
    bars = [p.get_window_extent() for p in ax.patches]
    legend = ax.get_legend().get_window_extent()
    assert not any(legend.overlaps(b) for b in bars)


def test_waterfall_limits_cover_the_path_not_only_the_total():
    from costtrend_nb.plot.drivers import waterfall_limits

    low, high = waterfall_limits([("Chat", 300.0, 0.0), ("TTS", -290.0, -5.0)])
    assert low < 0 and high > 300  # the total is +¥5; the path reaches +¥300


def test_forecast_bands_match_the_forecast(daily):
    fc = forecast(daily, "total_amount", "14D")
    ax = P.plot_forecast(daily, forecast_frame=fc)
    bands = {c.get_label(): c for c in ax.collections}
    for level in (80, 95):
        vertices = bands[f"{level}% interval"].get_paths()[0].vertices
        assert vertices[:, 1].min() == pytest.approx(fc[f"lo_{level}"].min())
        assert vertices[:, 1].max() == pytest.approx(fc[f"hi_{level}"].max())
    median = next(line for line in ax.get_lines() if line.get_label() == "Forecast (median)")
    np.testing.assert_allclose(median.get_ydata(), fc["yhat"])
    assert "Actual so far (incomplete)" in legend_texts(ax)


def test_month_view_marks_budget_and_landing(daily):
    ax = P.plot_forecast(daily, view="month", budget=76_000)
    budget = next(line for line in ax.get_lines() if line.get_label() == "_budget")
    assert budget.get_ydata()[0] == 76_000
    label = next(t for t in ax.texts if t.get_text().startswith("Budget"))
    assert re.fullmatch(r"Budget ¥76,000: P\(over\) \d+%", label.get_text())
    assert "Budget" not in " ".join(legend_texts(ax))  # labelled on the line, not in the legend
    assert any("Lands at ¥" in t.get_text() for t in ax.texts)
    spent = ax.get_lines()[0]
    assert spent.get_ydata()[0] == 0.0


def test_anomalies_are_marked(client):
    df = client.fetch("2026-01-15", "2026-07-01", granularity="daily", by="model_type")
    found = detect_anomalies(df)
    ax = P.plot_anomalies(df, anomalies=found)
    marks = next(c for c in ax.collections if c.get_label().startswith("Anomaly"))
    assert len(marks.get_offsets()) == int(found["anomaly"].sum()) == 9
    assert any(t.get_text().startswith("Chat -¥") for t in ax.texts)


PLOTS = {
    "trend": lambda df: P.plot_trend(df, by="model_type"),
    "area": lambda df: P.plot_trend(df, by="model_type", kind="area"),
    "overlay": lambda df: P.plot_period_overlay(df, period="week"),
    "breakdown": lambda df: P.plot_breakdown(df, period="week"),
    "share": lambda df: P.plot_breakdown(df, kind="share"),
    "drivers": lambda df: P.plot_drivers(df, period="week"),
    "forecast": lambda df: P.plot_forecast(df, horizon=3 if df.timestamp.dt.hour.any() else "7D"),
    "landing": lambda df: P.plot_forecast(df, view="month", budget=70_000),
    "anomalies": lambda df: P.plot_anomalies(df),
}


@pytest.mark.parametrize("plot", list(PLOTS))
@pytest.mark.parametrize("granularity", ["hourly", "daily"])
@pytest.mark.parametrize("types", [["TTS"], None])
def test_every_plot_renders_on_the_demo(client, plot, granularity, types):
    df = client.fetch(
        "2026-10-20", "2026-11-21", granularity=granularity, model_types=types, by="model_type"
    )
    ax = PLOTS[plot](df)
    assert ax.get_title()
    ax.figure.canvas.draw()


def _all_zero(df):
    out = df.assign(value=0.0)
    out.attrs = dict(df.attrs)
    return out


@pytest.mark.parametrize("plot", list(PLOTS))
@pytest.mark.parametrize("selection", ["empty", "zero"])
def test_every_plot_says_no_spend_on_an_empty_or_all_zero_selection(daily, plot, selection):
    nothing = daily[daily.metric == "no such metric"] if selection == "empty" else _all_zero(daily)
    ax = PLOTS[plot](nothing)
    ax.figure.canvas.draw()
    texts = [t.get_text() for t in ax.texts]
    assert [t for t in texts if "selection" in t] == ["No spend in this selection"]
    ticks = [t.get_text() for t in [*ax.get_xticklabels(), *ax.get_yticklabels()]]
    assert not [t for t in ticks if t.strip()]  # no ¥0 or -¥0 ticks
    assert not [t for t in texts if "n/a" in t or "nothing before" in t]
    assert ax.get_legend() is None


def test_other_metrics_say_no_usage(daily):
    ax = P.plot_trend(_all_zero(daily), metric="total_calls")
    assert "No usage in this selection" in [t.get_text() for t in ax.texts]


def test_draws_on_the_given_axes_never_shows_and_never_restyles(daily, monkeypatch):
    monkeypatch.setattr(plt, "show", lambda *a, **k: pytest.fail("plt.show() called"))
    before = dict(mpl.rcParams)
    _, axes = plt.subplots(1, 2)
    assert P.plot_trend(daily, ax=axes[1]) is axes[1]
    assert P.plot_breakdown(daily, ax=axes[0]) is axes[0]
    assert len(plt.get_fignums()) == 1
    assert dict(mpl.rcParams) == before


def test_chinese_labels_only_when_asked():
    assert metric_label("total_calls") == "Calls (calls)"
    assert metric_label("total_calls", lang="zh") == "调用次数（次）"  # full-width brackets


def test_plots_refuse_model_count_sums(daily):
    from costtrend_nb.errors import QueryError

    with pytest.raises(QueryError, match="distinct count"):
        P.plot_trend(daily, metric="model_count")


def test_the_style_context_restores_only_its_own_settings():
    """Jupyter's inline backend turns interactive mode on during the first figure; leaving the
    style must not turn it off again (every later figure would stay hidden)."""
    from costtrend_nb.style import style_context

    was = mpl.is_interactive()
    try:
        plt.ioff()
        with style_context():
            assert mpl.rcParams["axes.spines.top"] is False
            plt.ion()  # what the inline backend does when it switches itself on
        assert mpl.is_interactive()
        assert mpl.rcParams["axes.spines.top"] is True
    finally:
        plt.interactive(was)


def partial_notices(ax):
    return [t.get_text() for t in ax.texts if t.get_gid() == P.PARTIAL_GID]


@pytest.mark.parametrize("plot", list(PLOTS))
def test_every_plot_of_partial_data_says_so(daily, plot):
    partial = daily[daily.model_type != "TTS"].copy()
    partial.attrs["missing_series"] = ["model_type=TTS", "model_type=ASR"]
    (notice,) = partial_notices(PLOTS[plot](partial))
    assert notice.startswith("Partial data: 2 series missing (model_type=TTS, model_type=ASR)")
    assert partial_notices(PLOTS[plot](daily)) == []


def test_a_partial_fetch_is_flagged_on_its_plot():
    import httpx

    from costtrend_nb import Credentials

    from .fakeapi import FakeAPI

    def hook(request, n):
        if "modelTypes=TTS" in str(request.url):
            return httpx.Response(500, json={"Code": "Server.Internal.UnknownError"})
        return None

    with (
        CostTrendClient(
            Credentials("AKIDplotpartial1", "s"),
            transport=FakeAPI(hook=hook).transport(),
            max_retries=0,
        ) as client,
        pytest.warns(UserWarning, match="could not be fetched"),
    ):
        df = client.fetch(
            "2026-11-16",
            "2026-11-17",
            by="model_type",
            model_types=["Chat", "TTS"],
            on_error="partial",
        )
    assert partial_notices(P.plot_trend(df, by="model_type")) == [
        "Partial data: 1 series missing (model_type=TTS); totals are understated"
    ]


def test_a_budget_line_in_the_month_view_has_headroom_above_it():
    from costtrend_nb import CostTrendClient
    from costtrend_nb.plot import plot_forecast

    df = CostTrendClient.demo().fetch("2026-06-01", "2026-11-21", granularity="daily")
    budget = 78_000  # above every value drawn: the line used to sit on the axes' top edge
    ax = plot_forecast(df, view="month", budget=budget)
    assert ax.get_ylim()[1] >= budget * 1.1


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_a_breakdown_of_a_frame_with_holes_says_so_instead_of_bars(lang):
    """Without a period the bars are the whole frame's totals: a hole makes them NaN (with a
    warning), and the chart says which range to fetch whole (it raised KeyError before)."""
    from .frames import make_frame

    df = make_frame("2026-11-01", "2026-11-08", {("Chat", None, "total_amount"): 2.0})
    df = df[df["timestamp"].dt.day != 3]
    with pytest.warns(UserWarning, match="does not cover"):
        ax = P.plot_breakdown(df, by="model_type", period=None, lang=lang)
    texts = [t.get_text() for t in ax.texts]
    expected = {
        "en": "The frame has holes in 01 Nov – 07 Nov 2026:\nfetch it whole to see it",
        "zh": "数据在 2026-11-01 至 2026-11-07 内有缺口：\n请完整获取该时段的数据",
    }
    assert texts[-1] == expected[lang] and not ax.patches  # under the subtitle
    plt.close(ax.figure)
