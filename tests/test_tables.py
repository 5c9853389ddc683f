"""Tables for people: formats, Other/Total rows that add up, CSV links, captions with filters."""

from __future__ import annotations

import base64
import io
import re
import warnings

import pandas as pd
import pytest

from costtrend_nb import CostTrendClient
from costtrend_nb.analysis import compare_periods, forecast
from costtrend_nb.tables import (
    Table,
    change_table,
    forecast_table,
    format_count,
    format_date,
    format_money,
    format_pct,
    top_rows,
)


@pytest.fixture(scope="module")
def demo_frames():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        client = CostTrendClient.demo()
        every = client.fetch("2026-09-06", "2026-11-21", granularity="daily", by="model_type")
        some = client.fetch(
            "2026-09-06", "2026-11-21", granularity="daily", model_types=["Chat", "TTS"]
        )
    return every, some


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (12345.678, "¥12,345.68"),
        (-0.004, "¥0.00"),
        (-0.005001, "-¥0.01"),
        (-1234.5, "-¥1,234.50"),
        (float("nan"), "–"),
        (None, "–"),
    ],
)
def test_money(value, text):
    assert format_money(value) == text


@pytest.mark.parametrize(
    ("value", "signed", "text"),
    [
        (0.0774, True, "+7.7 %"),
        (-0.0774, True, "-7.7 %"),
        (-0.0004, True, "0.0 %"),
        (0.555, False, "55.5 %"),
        (float("nan"), True, "–"),
        (float("inf"), True, "–"),
    ],
)
def test_percentages(value, signed, text):
    assert format_pct(value, signed=signed) == text


def test_counts_and_dates():
    assert format_count(1234567.0) == "1,234,567"
    assert format_count(-0.2) == "0"
    day = pd.Timestamp("2026-11-19", tz="Asia/Shanghai")
    assert format_date(day) == "2026-11-19"
    assert format_date(day + pd.Timedelta(hours=14), hourly=True) == "2026-11-19 14:00"


def _csv_of(table: Table) -> pd.DataFrame:
    match = re.search(r'href="data:text/csv;charset=utf-8;base64,([^"]+)"', table._repr_html_())
    assert match, "no CSV link in the table's HTML"
    return pd.read_csv(io.StringIO(base64.b64decode(match.group(1)).decode("utf-8")))


def test_by_model_type_has_other_and_total_adding_up_to_the_headline(demo_frames):
    every, _ = demo_frames
    headline = compare_periods(every, "total_amount", "month").iloc[0]
    table = change_table(compare_periods(every, "total_amount", "month", by="model_type"))
    shown = table.formatted()
    labels = shown["Model type"].tolist()
    assert labels[-2:] == ["Other (5 types)", "Total"] and len(labels) == 10
    total = table.data.iloc[-1]
    assert total["current"] == pytest.approx(headline["current"], rel=1e-12)
    assert total["delta"] == pytest.approx(headline["delta"], rel=1e-12)
    assert shown["Change"].iloc[-1] == format_money(headline["delta"])  # ¥3,428.09
    assert shown["Change %"].iloc[-1] == format_pct(headline["pct_change"])
    parts = table.data.iloc[:-1]
    assert parts["current"].sum() == pytest.approx(total["current"], rel=1e-12)


def test_top_rows_keeps_a_lone_remainder_and_sums_ratios():
    f = pd.DataFrame({"t": list("abc"), "delta": [3.0, -1.0, 2.0], "previous": [10.0, 10.0, 20.0]})
    f["pct_change"] = f["delta"] / f["previous"]
    out = top_rows(f, "t", "delta", top=2, ratios={"pct_change": ("delta", "previous")})
    assert out["t"].tolist() == ["a", "c", "b", "Total"]  # no "Other (1 types)"
    assert out["pct_change"].iloc[-1] == pytest.approx(4.0 / 40.0)


def test_csv_link_holds_the_raw_numbers_under_human_headers(demo_frames):
    every, _ = demo_frames
    compared = compare_periods(every, "total_amount", "month", by="model_type")
    table = change_table(compared, top=20)
    csv = _csv_of(table)
    assert list(csv.columns) == ["Model type", "Previous", "Current", "Change", "Change %"]
    chat = csv[csv["Model type"] == "Chat"].iloc[0]
    raw = compared[compared["model_type"] == "Chat"].iloc[0]
    assert chat["Current"] == pytest.approx(raw["current"], rel=1e-9)
    assert chat["Change %"] == pytest.approx(raw["pct_change"], rel=1e-9)


def test_html_has_no_index_and_no_pandas_leftovers(demo_frames):
    every, _ = demo_frames
    html = change_table(compare_periods(every, "total_amount", "month", by="model_type"))
    text = html._repr_html_()
    assert "row_heading" not in text and "index_name" not in text
    assert "-¥0.00" not in text and "00:00:00" not in text and "pct_change" not in text
    assert html._repr_html_() == text  # deterministic: notebooks' stored outputs compare


def test_captions_name_the_filters(demo_frames):
    _, some = demo_frames
    table = change_table(
        compare_periods(some, "total_amount", "month", by=None).assign(model_type="all"),
        source=some,
    )
    assert "model types Chat, TTS" in table.caption
    assert "daily" in table.caption and "demo data" in table.caption
    assert "model types Chat, TTS" in str(table)


def test_forecast_table_shows_its_whole_horizon_or_says_what_is_hidden(demo_frames):
    _, some = demo_frames
    ahead = forecast(some, "total_amount", "14D")
    table = forecast_table(ahead, some)
    assert len(table.formatted()) == 14 and "14 days" in table.caption
    assert table.formatted()["Date"].iloc[0] == "2026-11-20"
    cut = forecast_table(ahead, some, max_rows=7)
    assert len(cut.formatted()) == 7 and "first 7 of 14 rows shown" in cut.note
    assert len(_csv_of(cut)) == 14
