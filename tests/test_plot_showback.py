"""Showback plots, checked on their artists (bar widths, cell texts, line data, labels), and for
text that overlaps or leaves the figure over a matrix of scenarios."""

import matplotlib as mpl
import matplotlib.pyplot as plt
import numpy as np
import pytest

from costtrend_nb import CostTrendClient
from costtrend_nb import plot as P
from costtrend_nb.analysis import allocation, price_changes, rollup, unit_costs
from costtrend_nb.style import MODEL_TYPE_COLORS

from .layout import assert_no_text_overlap

CHAT = MODEL_TYPE_COLORS["Chat"]


@pytest.fixture(scope="module")
def client():
    return CostTrendClient.demo()


@pytest.fixture(scope="module")
def names(client):
    return client.departments()


@pytest.fixture(scope="module")
def both(client):
    """October and November to date, by model type and department."""
    return client.fetch(
        "2026-10-01", "2026-11-21", granularity="daily", by=["model_type", "client_id"]
    )


@pytest.fixture(scope="module")
def spring(client):
    """March to June by model type: the 2026-05-01 price cut of qwen-max is in Chat's unit cost."""
    return client.fetch("2026-03-01", "2026-07-01", granularity="daily", by="model_type")


def texts_of(ax):
    return [t.get_text() for t in ax.texts]


# -- the department tree --------------------------------------------------------------------


def test_rollup_bars_are_the_subtrees_and_own_keys_in_tree_order(both, names):
    ax = P.plot_rollup(both, names, start="2026-11-01")
    tree = rollup(both, names, start="2026-11-01")
    light = [p for p in ax.patches if p.get_label() == "Sub-departments" or p in ax.patches[:8]]
    widths = [p.get_width() for p in ax.patches]
    np.testing.assert_allclose(widths[:8], tree["subtree"])
    np.testing.assert_allclose(widths[8:], tree["own"])
    assert len(light) == 8
    labels = [t.get_text() for t in ax.get_yticklabels()]
    assert labels[0] == "Headquarters"
    assert labels[tree.index[tree["name"] == "Creative Studio"][0]] == "        └ Creative Studio"
    assert all(t.get_horizontalalignment() == "left" for t in ax.get_yticklabels())
    assert ax.get_title() == "Research & Development and below: 54% of ¥47,701"
    scope = texts_of(ax)[-1]
    assert "Cost (CNY)" in scope and "01 Nov – 19 Nov 2026" in scope
    assert "All model types" in scope and "demo" not in scope  # the report says demo
    marketing = next(t for t in texts_of(ax) if t.startswith("  ¥11,385"))
    assert marketing == "  ¥11,385 · 24% (own ¥2,117)"
    assert "  ¥64 · <1%" in texts_of(ax)  # a small share is never "0%"
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["Sub-departments", "Own keys"]


def test_rollup_takes_the_rollup_frame_and_says_what_was_not_fetched(client, names):
    df = client.fetch(
        "2026-11-01", "2026-11-08", granularity="daily", by="client_id", client_ids=[10006, 10007]
    )
    tree = rollup(df, names)
    ax = P.plot_rollup(tree)
    assert "  not fetched" in texts_of(ax)
    assert texts_of(ax)[0].endswith("· 100% *")  # Headquarters: at least this
    assert "* not every sub-department\n   was fetched: at least this" in [
        t.get_text() for t in ax.get_legend().get_texts()
    ]
    assert ax.get_title() == "Marketing and below: 100% of ¥4,169 fetched"
    assert_no_text_overlap(ax.figure)


# -- the chargeback matrix ------------------------------------------------------------------


def test_allocation_cells_are_the_matrix_in_yuan(both, names):
    ax = P.plot_allocation(both, names=names, start="2026-11-01")
    table = allocation(both, names=names, start="2026-11-01")
    image = ax.get_images()[0].get_array()
    assert image.shape == (8, 8)  # 7 model types and Other; Total drawn apart
    np.testing.assert_allclose(image[:, 0], table["Chat"].iloc[:-1])
    columns = [t.get_text() for t in ax.get_xticklabels()]
    assert columns[0] == "Chat" and columns[-2] == "Other\n(6 types)" and columns[-1] == "Total"
    rows = [t.get_text() for t in ax.get_yticklabels()]
    assert rows == [*table["Department"].iloc[:-1], "Total"]
    texts = texts_of(ax)
    assert "¥14,045" in texts and "¥47,701" in texts and "–" in texts  # a zero is a dash
    assert ax.get_title() == "Research & Development pays most: ¥14,247 (30%), mostly Chat"
    assert "01 Nov – 19 Nov 2026" in texts[-1]


def test_allocation_folds_departments_and_takes_its_frame(both, names):
    table = allocation(both, names=names)
    ax = P.plot_allocation(table, top=4, top_departments=3)
    rows = [t.get_text() for t in ax.get_yticklabels()]
    assert rows == [*table["Department"].iloc[:2], "Other (6 departments)", "Total"]
    assert ax.get_images()[0].get_array().sum() == pytest.approx(table["Total"].iloc[-1])
    with pytest.raises(ValueError, match="amounts"):
        P.plot_allocation(allocation(both, values="share"))


# -- unit costs -----------------------------------------------------------------------------


def test_unit_cost_lines_carry_the_data_and_mark_the_price_cut(spring):
    ax = P.plot_unit_costs(spring, model_types=["Chat", "ImageGeneration"])
    costs = unit_costs(spring).query("model_type == 'Chat'")
    chat = next(line for line in ax.get_lines() if line.get_label().startswith("Chat:"))
    np.testing.assert_allclose(chat.get_ydata(), costs["unit_cost"])
    assert chat.get_color() == CHAT
    assert chat.get_label() == "Chat: ¥2.50 per 1M tokens"
    assert ax.get_yscale() == "log"  # tokens and images share one axis
    step = price_changes(spring).query("model_type == 'Chat'").iloc[0]
    marker = next(line for line in ax.get_lines() if line.get_marker() == "v")
    assert marker.get_ydata()[0] == pytest.approx(step["after"])
    assert any(t.startswith("Chat -4.7%\n¥2.41 → ¥2.30") for t in texts_of(ax))
    assert ax.get_title() == "Chat unit cost: -4.7% from 04 May 2026"
    assert "01 Mar – 30 Jun 2026" in texts_of(ax)[-1]


def test_one_unit_gets_a_plain_axis_in_it(spring):
    ax = P.plot_unit_costs(spring, model_types=["Chat"])
    assert ax.get_yscale() == "linear" and ax.get_ylabel() == "¥ per 1M tokens"
    assert ax.yaxis.get_major_formatter()(2.5, 0) == "¥2.50"
    assert texts_of(ax)[-1].startswith("¥ per 1M tokens, daily")


def test_no_step_and_too_short_a_span_are_sentences_too(client):
    quiet = client.fetch("2026-09-01", "2026-11-01", granularity="daily", by="model_type")
    ax = P.plot_unit_costs(quiet, model_types=["TTS", "Rerank"])
    assert ax.get_title() == "No step in unit cost found"
    assert "Rerank: ¥0.800 per 1M tokens" in [t.get_text() for t in ax.get_legend().get_texts()]
    assert ax.yaxis.get_major_formatter()(0.5, 0) == "¥0.5"
    short = P.plot_unit_costs(quiet[quiet.timestamp >= "2026-10-20"], model_types=["TTS"])
    assert short.get_title() == "Too short to find price steps: 12 of 56 days"


# -- every showback plot ------------------------------------------------------------------------

PLOTS = {
    "rollup": lambda df, names: P.plot_rollup(df, names),
    "allocation": lambda df, names: P.plot_allocation(df, names=names),
    "unit_costs": lambda df, names: P.plot_unit_costs(df),
    "unit_costs_by_department": lambda df, names: P.plot_unit_costs(
        df, by=["model_type", "client_id"], model_types=["Chat"], names=names
    ),
}


@pytest.mark.parametrize("plot", list(PLOTS))
@pytest.mark.parametrize(
    "scenario",
    ["daily", "hourly", "one_type", "partial", "some_departments"],
)
def test_text_never_overlaps_or_leaves_the_figure(client, names, plot, scenario):
    if scenario == "hourly":
        df = client.fetch("2026-11-10", "2026-11-21", by=["model_type", "client_id"])
    else:
        df = client.fetch(
            "2026-04-01",
            "2026-06-01",
            granularity="daily",
            by=["model_type", "client_id"],
            model_types=["ASR"] if scenario == "one_type" else None,
            client_ids=[10006, 10007] if scenario == "some_departments" else None,
        )
    if scenario == "partial":
        df = df[df.model_type != "TTS"].copy()
        df.attrs["missing_series"] = ["model_type=TTS", "model_type=ASR"]
    ax = PLOTS[plot](df, names)
    assert ax.get_title()
    assert_no_text_overlap(ax.figure)


@pytest.mark.parametrize("plot", list(PLOTS))
@pytest.mark.parametrize("selection", ["empty", "zero"])
def test_every_showback_plot_says_no_spend_on_an_empty_selection(both, names, plot, selection):
    if selection == "empty":
        nothing = both[both.metric == "no such metric"]
    else:
        nothing = both.assign(value=0.0)
        nothing.attrs = dict(both.attrs)
    ax = PLOTS[plot](nothing, names)
    assert [t for t in texts_of(ax) if "selection" in t] == ["No spend in this selection"]
    assert ax.get_title() and "All model types" in texts_of(ax)[0]
    ax.figure.canvas.draw()
    ticks = [t.get_text() for t in [*ax.get_xticklabels(), *ax.get_yticklabels()]]
    assert not [t for t in ticks if t.strip()]  # no ¥0 or -¥0


@pytest.mark.parametrize("plot", list(PLOTS))
def test_every_showback_plot_of_partial_data_says_so(both, names, plot):
    partial = both[both.model_type != "TTS"].copy()
    partial.attrs["missing_series"] = ["model_type=TTS"]
    notices = [
        t.get_text() for t in PLOTS[plot](partial, names).texts if t.get_gid() == P.PARTIAL_GID
    ]
    assert notices == ["Partial data: 1 series missing (model_type=TTS); totals are understated"]
    assert [t for t in PLOTS[plot](both, names).texts if t.get_gid() == P.PARTIAL_GID] == []


def test_draws_on_the_given_axes_and_never_shows(both, names, monkeypatch):
    monkeypatch.setattr(plt, "show", lambda *a, **k: pytest.fail("plt.show() called"))
    before = dict(mpl.rcParams)
    _, axes = plt.subplots(1, 3, figsize=(24, 5))
    assert P.plot_rollup(both, names, ax=axes[0]) is axes[0]
    assert P.plot_allocation(both, names=names, ax=axes[1]) is axes[1]
    assert P.plot_unit_costs(both, model_types=["Chat"], ax=axes[2]) is axes[2]
    assert len(plt.get_fignums()) == 1
    assert dict(mpl.rcParams) == before
