"""Figures, tables and dashboards in Chinese (issue 13, point 11): every text drawn in a font
that has its glyphs, Chinese titles, labels and legends, the layout as tidy as in English, and
English (with one warning) where no font draws Chinese."""

from __future__ import annotations

import re
import warnings

import matplotlib.pyplot as plt
import pytest

from costtrend_nb import CostTrendClient, lang
from costtrend_nb import plot as P
from costtrend_nb.analysis import allocation, breakdown, compare_periods, explain_change
from costtrend_nb.query import MODEL_TYPES
from costtrend_nb.tables import (
    allocation_table,
    breakdown_table,
    change_table,
    drivers_table,
    format_pct,
    period_table,
)
from tests.layout import assert_no_text_overlap

CJK = re.compile(r"[\u4e00-\u9fff]")
WORD = re.compile(r"[A-Za-z]{2,}")
needs_font = pytest.mark.skipif(lang.cjk_font() is None, reason="no CJK font installed")


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


@pytest.fixture(scope="module")
def demo():
    client = CostTrendClient.demo()
    df = client.fetch(
        "2026-09-01", "2026-11-21", granularity="daily", by=["model_type", "client_id"]
    )
    return df, client.departments()


PLOTS = {
    "plot_trend": lambda df, names: P.plot_trend(df, by="model_type", lang="zh"),
    "plot_period_overlay": lambda df, names: P.plot_period_overlay(df, period="week", lang="zh"),
    "plot_breakdown": lambda df, names: P.plot_breakdown(df, lang="zh"),
    "plot_breakdown_share": lambda df, names: P.plot_breakdown(
        df, kind="share", freq="W-MON", lang="zh"
    ),
    "plot_drivers": lambda df, names: P.plot_drivers(df, by="client_id", names=names, lang="zh"),
    "plot_forecast": lambda df, names: P.plot_forecast(df, lang="zh"),
    "plot_forecast_month": lambda df, names: P.plot_forecast(
        df, view="month", budget=80_000, lang="zh"
    ),
    "plot_anomalies": lambda df, names: P.plot_anomalies(df, lang="zh"),
    "plot_rollup": lambda df, names: P.plot_rollup(df, names, lang="zh"),
    "plot_allocation": lambda df, names: P.plot_allocation(df, names=names, lang="zh"),
    "plot_unit_costs": lambda df, names: P.plot_unit_costs(df, lang="zh"),
}


def test_every_public_plot_function_is_checked_in_chinese():
    public = {name for name in P.__all__ if name.startswith("plot_")}
    assert public <= set(PLOTS)


def _identifiers(names) -> set[str]:
    """Words a Chinese figure may keep: model types, department names, API, Key, Token."""
    words = set(WORD.findall(" ".join(MODEL_TYPES)))
    words |= set(re.findall(r"[A-Z][a-z]+", " ".join(MODEL_TYPES)))  # heads wrapped: Image/Gen...
    words |= set(WORD.findall(" ".join(names["name"])))
    return words | {"API", "Key", "Token"}


def _reader_texts(ax) -> list[str]:
    texts = [ax.get_title(), ax.get_xlabel(), ax.get_ylabel()]
    legend = ax.get_legend()
    if legend is not None:
        texts += [t.get_text() for t in legend.get_texts()] + [legend.get_title().get_text()]
    texts += [t.get_text() for t in ax.texts]  # subtitle, key numbers, notices
    texts += [t.get_text() for t in ax.get_xticklabels() + ax.get_yticklabels()]
    return texts


@needs_font
@pytest.mark.parametrize("name", sorted(PLOTS))
def test_a_chinese_figure_has_every_glyph_chinese_words_and_a_tidy_layout(demo, name):
    df, names = demo
    ax = PLOTS[name](df, names)
    assert lang.missing_glyphs(ax.figure) == []
    assert CJK.search(ax.get_title()), ax.get_title()
    english = {w for text in _reader_texts(ax) for w in WORD.findall(text)}
    english -= _identifiers(names) | {"ETS", "Ad"}  # the forecast model's name
    assert english == set(), (name, english)
    assert_no_text_overlap(ax.figure)


@needs_font
def test_chinese_dates_on_axes_are_numeric(demo):
    df, _ = demo
    ax = P.plot_trend(df, lang="zh")
    ax.figure.draw_without_rendering()
    ticks = [t.get_text() for t in ax.get_xticklabels()]
    assert ticks and all(re.fullmatch(r"[\d:-]*", t) for t in ticks), ticks


@needs_font
def test_a_chinese_plot_on_english_made_axes_still_has_every_glyph(demo):
    df, _ = demo
    fig, axes = plt.subplots(1, 2, figsize=(11, 4.2), layout="constrained")  # as dashboards do
    P.plot_breakdown(df, lang="zh", ax=axes[0])
    P.plot_drivers(df, lang="zh", ax=axes[1])
    assert lang.missing_glyphs(fig) == []
    assert "其他" in " ".join(t.get_text() for t in axes[0].get_yticklabels())


def test_english_is_unchanged_by_the_lang_keyword(demo):
    df, _ = demo
    assert P.plot_drivers(df, lang="en").get_title() == P.plot_drivers(df).get_title()
    title = P.plot_period_overlay(df, period="week").get_title()
    assert title == "Cost: 2026-W47 against the period before"


def test_without_a_cjk_font_a_chinese_plot_warns_once_and_draws_english(demo, monkeypatch):
    df, _ = demo
    monkeypatch.setattr(lang, "cjk_font", lambda: None)
    monkeypatch.setattr(lang, "_warned", False)
    with pytest.warns(lang.CJKFontWarning, match="fonts-noto-cjk"):
        ax = P.plot_breakdown(df, lang="zh")
    assert ax.get_title() == "Cost by model type"
    assert lang.missing_glyphs(ax.figure) == []
    with warnings.catch_warnings():
        warnings.simplefilter("error", lang.CJKFontWarning)  # once per process
        assert P.plot_trend(df, lang="zh").get_title() == "Cost"


def test_tables_in_chinese_have_chinese_headers_and_totals_that_sum(demo):
    df, names = demo
    compared = compare_periods(df, "total_amount", "month", by="model_type")
    table = change_table(compared, top=4, source=df, lang="zh")
    assert table.headers == ["模型类型", "上期", "本期", "变化额", "变化率"]
    labels = table.data["model_type"].tolist()
    assert labels[-1] == "合计" and labels[-2].startswith("其他（")
    body = table.data.iloc[:-1]
    assert body["current"].sum() == pytest.approx(table.data["current"].iloc[-1])
    assert table.formatted()["变化率"].iloc[-1].endswith("%")
    assert not table.formatted()["变化率"].iloc[-1].endswith(" %")
    assert "同口径" not in table.caption and "对比" in table.caption and "演示数据" in table.caption
    html = table._repr_html_()
    assert "下载 CSV" in html and "font-weight: bold" in html and "font-style: italic" in html

    parts = breakdown(df, "model_type", "total_amount", top=4, period="month")
    shares = breakdown_table(parts, source=df, lang="zh")
    assert shares.data["model_type"].iloc[-1] == "合计"
    assert shares.data["current"].iloc[:-1].sum() == pytest.approx(shares.data["current"].iloc[-1])
    assert CJK.search(shares.caption)

    drivers = drivers_table(explain_change(df, "month", by="model_type"), lang="zh")
    assert "用量影响" in drivers.headers and drivers.data["model_type"].iloc[-1] == "合计"

    periods = period_table(compare_periods(df, "total_amount", "month"), df, lang="zh")
    assert periods.caption.startswith("消费金额（同口径对比）")
    assert " 至 " in periods.formatted()["本期日期"].iloc[0]

    matrix = allocation_table(allocation(df, names=names), lang="zh")
    assert matrix.headers[0] == "部门" and "合计" in matrix.data.iloc[:, 0].tolist()


def test_tables_in_english_are_unchanged(demo):
    df, _ = demo
    compared = compare_periods(df, "total_amount", "month", by="model_type")
    table = change_table(compared, top=4, source=df)
    assert table.headers == ["Model type", "Previous", "Current", "Change", "Change %"]
    other, total = table.data["model_type"].tolist()[-2:]
    assert re.fullmatch(r"Other \(\d+ types\)", other) and total == "Total"
    assert format_pct(0.0774) == "+7.7 %" and format_pct(0.0774, lang="zh") == "+7.7%"


@needs_font
def test_a_chinese_dashboard_renders_chinese_figures(demo):
    pytest.importorskip("ipywidgets")
    from IPython.utils.capture import capture_output

    from costtrend_nb.widgets import ModelTypeBreakdown

    df, _ = demo
    with capture_output():
        board = ModelTypeBreakdown(df, lang="zh")
    assert board.error is None and board.render_count == 1
    fig = board.last_figure
    assert all(CJK.search(ax.get_title()) for ax in fig.axes)
    assert lang.missing_glyphs(fig) == []
