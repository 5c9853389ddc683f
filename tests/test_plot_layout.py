"""Every plot function over a matrix of scenarios: no text overlaps another or leaves the figure,
no legend covers a bar, and every figure names its scope (STYLE.md, "Presenting numbers")."""

from __future__ import annotations

import re

import matplotlib.pyplot as plt
import pytest

from costtrend_nb import CostTrendClient
from costtrend_nb import plot as P
from costtrend_nb.errors import QueryError

from .layout import assert_no_text_overlap

R_AND_D = 10002


@pytest.fixture(scope="module")
def client():
    return CostTrendClient.demo()


@pytest.fixture(scope="module")
def names(client):
    return client.departments()


BOTH = ["model_type", "client_id"]


def _zero(df):
    out = df.assign(value=0.0)
    out.attrs = dict(df.attrs)
    return out


def _partial(df):
    out = df[df["model_type"] != "TTS"].copy()
    out.attrs = dict(df.attrs, missing_series=["model_type=TTS", "model_type=ASR"])
    return out


@pytest.fixture(scope="module")
def scenarios(client):
    """The frames, fetched once: name -> tidy frame."""
    month = client.fetch("2026-10-01", "2026-11-21", granularity="daily", by=BOTH)
    return {
        "month": month,
        "chat_tts": client.fetch(
            "2026-10-01", "2026-11-21", granularity="daily", by=BOTH, model_types=["Chat", "TTS"]
        ),
        "one_department": client.fetch(
            "2026-10-01", "2026-11-21", granularity="daily", by=BOTH, client_ids=[R_AND_D]
        ),
        "hourly": client.fetch("2026-11-17", "2026-11-21", granularity="hourly", by=BOTH),
        "week": client.fetch("2026-11-09", "2026-11-16", granularity="daily", by=BOTH),
        "zero": _zero(month),
        "empty": month[month["metric"] == "no such metric"],
        "partial": _partial(month),
    }


def _horizon(df):
    return 24 if df["timestamp"].dt.hour.any() else "14D"


PLOTS = {
    "trend": lambda df, n, ax: P.plot_trend(df, by="model_type", names=n, ax=ax),
    "trend_departments": lambda df, n, ax: P.plot_trend(
        df, by="client_id", kind="area", names=n, ax=ax
    ),
    "overlay_month": lambda df, n, ax: P.plot_period_overlay(df, period="month", names=n, ax=ax),
    "overlay_week": lambda df, n, ax: P.plot_period_overlay(df, period="week", names=n, ax=ax),
    "breakdown": lambda df, n, ax: P.plot_breakdown(df, period="month", names=n, ax=ax),
    "share": lambda df, n, ax: P.plot_breakdown(df, kind="share", freq="W-MON", names=n, ax=ax),
    "drivers": lambda df, n, ax: P.plot_drivers(df, period="month", names=n, ax=ax),
    "drivers_departments": lambda df, n, ax: P.plot_drivers(
        df, by="client_id", period="week", names=n, ax=ax
    ),
    "forecast": lambda df, n, ax: P.plot_forecast(df, horizon=_horizon(df), names=n, ax=ax),
    "landing": lambda df, n, ax: P.plot_forecast(df, view="month", budget=80_000, names=n, ax=ax),
    "anomalies": lambda df, n, ax: P.plot_anomalies(df, names=n, ax=ax),
    "rollup": lambda df, n, ax: P.plot_rollup(df, n, ax=ax),
    "allocation": lambda df, n, ax: P.plot_allocation(df, names=n, ax=ax),
    "unit_costs": lambda df, n, ax: P.plot_unit_costs(df, freq=None, names=n, ax=ax),
}
SCENARIOS = ["month", "chat_tts", "one_department", "hourly", "week", "zero", "empty", "partial"]


@pytest.mark.parametrize("scenario", SCENARIOS)
@pytest.mark.parametrize("plot", list(PLOTS))
def test_no_text_overlaps_or_leaves_the_figure(scenarios, names, plot, scenario):
    try:
        ax = PLOTS[plot](scenarios[scenario], names, None)
    except QueryError as err:  # a frame too short for the plot: refused with what to fetch
        assert "fetch" in str(err) or "cover" in str(err)
        return
    assert_no_text_overlap(ax.figure)


# the dashboards' pairs, in their figure (costtrend_nb.widgets: 11 x 4.2 in, two panels)
PAIRS = {
    "period_comparison": ("overlay_week", "drivers", [3, 2]),
    "breakdown": ("breakdown", "share", [1, 1]),
    "forecast": ("forecast", "landing", [3, 2]),
}


@pytest.mark.parametrize("scenario", ["month", "chat_tts", "hourly", "week", "zero"])
@pytest.mark.parametrize("pair", list(PAIRS))
def test_no_text_overlaps_in_the_dashboards_figure(scenarios, names, pair, scenario):
    left_plot, right_plot, ratios = PAIRS[pair]
    fig = plt.figure(figsize=(11.0, 4.2), layout="constrained")
    left, right = fig.subplots(1, 2, width_ratios=ratios)
    for plot, ax in ((left_plot, left), (right_plot, right)):
        try:
            PLOTS[plot](scenarios[scenario], names, ax)
        except QueryError:  # the dashboard shows the error instead of the figure
            return
    assert_no_text_overlap(fig)


# -- every figure says what it covers (issue 13, point 4) ------------------------------------


def headline(ax):
    """The title and the grey subtitle under it."""
    subtitles = [t.get_text() for t in ax.texts if t.get_gid() == "costtrend-subtitle"]
    return ax.get_title(), " ".join(subtitles).replace("\n", " ")


@pytest.mark.parametrize("plot", list(PLOTS))
def test_a_filtered_figure_names_its_filter_and_range(scenarios, names, plot):
    title, subtitle = headline(PLOTS[plot](scenarios["chat_tts"], names, None))
    assert "Chat, TTS" in subtitle and "daily" in subtitle
    assert re.search(r"\d\d \w{3}( \d{4})? – \d\d \w{3} \d{4}", subtitle)  # the range
    if plot != "unit_costs":  # its title names the model type whose step it found
        assert "Chat, TTS" in title.replace("\n", " ")  # never titled like the total


@pytest.mark.parametrize("plot", list(PLOTS))
def test_a_one_department_figure_names_the_department(scenarios, names, plot):
    _, subtitle = headline(PLOTS[plot](scenarios["one_department"], names, None))
    assert "Research & Development" in subtitle
    assert "All model types" not in subtitle


@pytest.mark.parametrize("plot", list(PLOTS))
def test_an_unfiltered_figure_says_all_model_types(scenarios, names, plot):
    title, subtitle = headline(PLOTS[plot](scenarios["month"], names, None))
    assert "All model types" in subtitle and "Chat, TTS" not in title


def test_scope_text_names_every_filter_from_the_provenance(scenarios, names):
    df = scenarios["chat_tts"].iloc[:0].copy()  # no rows: the range comes from the query
    df.attrs = dict(scenarios["chat_tts"].attrs)
    df.attrs["query"] = dict(
        df.attrs["query"], client_ids=[R_AND_D, 99], member_user_ids=[7], api_key_id="k-1"
    )
    text = P.scope_text(df, names)
    assert text == (
        "Chat, TTS · department Research & Development, 99 · member 7 · API key k-1"
        " · 01 Oct – 20 Nov 2026 · daily"
    )
    assert P.scope_text(scenarios["hourly"]).endswith("17 Nov 2026 00:00 – 20 Nov 15:00 · hourly")


def test_alt_text_carries_the_titles_and_key_numbers(scenarios, names):
    fig = plt.figure(figsize=(11.0, 4.2), layout="constrained")
    left, right = fig.subplots(1, 2, width_ratios=[3, 2])
    P.plot_period_overlay(scenarios["chat_tts"], period="month", ax=left)
    P.plot_drivers(scenarios["chat_tts"], period="month", ax=right)
    alt = P.figure_alt_text(fig)
    assert alt.startswith("Cost of Chat, TTS: 2026-11 against the period before. Cost (CNY) ·")
    assert "like for like; ¥" in alt and "What drove the change in cost of Chat, TTS (+¥" in alt
    assert "\n" not in alt and "01 Nov – 19 Nov 2026 against 01 Oct – 19 Oct 2026" in alt
    empty = P.plot_trend(scenarios["empty"], names=names)
    assert P.figure_alt_text(empty.figure).endswith("No spend in this selection.")
