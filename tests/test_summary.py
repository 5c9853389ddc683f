"""The summary model and the index page: numbers against the frame and the notebooks' outputs."""

from __future__ import annotations

import dataclasses
import html
import json
import re

import pandas as pd
import pytest

from costtrend_nb import CostTrendClient, __version__
from costtrend_nb.errors import QueryError
from costtrend_nb.lang import DEMO_NOTICE
from costtrend_nb.overview import fetch_summary
from costtrend_nb.summary import Card, Summary, parse_conditions, render_index, summarise

TZ = "Asia/Shanghai"
NOW = pd.Timestamp("2026-12-04 12:00", tz="UTC")


def day(text: str) -> pd.Timestamp:
    return pd.Timestamp(text, tz=TZ)


@pytest.fixture(scope="module")
def client():
    return CostTrendClient.demo()


@pytest.fixture(scope="module")
def summary(client):
    """The demo summary with a ¥78,000 budget (notebook 03's default for November)."""
    return fetch_summary(client, budget=78_000, now=NOW)


@pytest.fixture(scope="module")
def daily(client):
    """The frame fetch_summary totals: 210 days before the demo's running day, as notebook 03."""
    return client.fetch("2026-04-24", "2026-11-21", granularity="daily")


def spend(df: pd.DataFrame, start: str, end: str, **where) -> float:
    """A direct sum of complete cost buckets in [start, end)."""
    cost = df[(df["metric"] == "total_amount") & df["complete"]]
    cost = cost[(cost["timestamp"] >= day(start)) & (cost["timestamp"] < day(end))]
    for column, value in where.items():
        cost = cost[cost[column] == value]
    return float(cost["value"].sum())


# -- numbers ------------------------------------------------------------------------------------


def test_month_to_date_is_a_direct_sum_of_complete_days(summary, daily):
    m = summary.month
    assert (m.current_start, m.current_end) == (day("2026-11-01"), day("2026-11-20"))
    assert (m.previous_start, m.previous_end) == (day("2026-10-01"), day("2026-10-20"))
    assert m.current == pytest.approx(spend(daily, "2026-11-01", "2026-11-20"), abs=1e-6)
    assert m.previous == pytest.approx(spend(daily, "2026-10-01", "2026-10-20"), abs=1e-6)
    assert m.running  # the month is still running; the 20th is not in the total
    running = daily[
        (daily["metric"] == "total_amount")
        & ~daily["complete"]
        & (daily["timestamp"] >= day("2026-11-01"))
    ]
    assert summary.running == pytest.approx(float(running["value"].sum()))
    assert summary.running > 0


def test_numbers_match_the_notebooks_stored_outputs(summary):
    # notebook 01's "Spend, like for like" table and 03's "Where the month lands" table
    m, land = summary.month, summary.landing
    assert (m.current_text, m.change_text) == ("¥47,701.46", "+7.7 %")
    assert round(m.previous, 2) == 44_273.37 and round(m.delta, 2) == 3_428.09
    assert round(land.to_date, 2) == 47_701.46
    assert round(land.landing, 2) == 73_587.56
    assert (round(land.lo_80, 2), round(land.hi_80, 2)) == (72_829.84, 74_336.40)
    assert land.budget == 78_000 and land.p_over_budget == 0.0
    # 01's drivers table: the three largest changes, volume and unit-cost effects
    assert [d.name for d in summary.drivers] == ["Chat", "ImageGeneration", "TTS"]
    chat = summary.drivers[0]
    assert (round(chat.change, 2), round(chat.volume_effect, 2)) == (2_183.84, 1_735.42)
    assert round(chat.unit_cost_effect, 2) == 448.42


def test_the_last_complete_week_against_the_week_before(summary, daily):
    w = summary.week
    assert not w.running
    assert (w.current_start, w.current_end) == (day("2026-11-09"), day("2026-11-16"))
    assert w.current == pytest.approx(spend(daily, "2026-11-09", "2026-11-16"))
    assert w.previous == pytest.approx(spend(daily, "2026-11-02", "2026-11-09"))


def test_top_departments_are_this_months_largest(summary, client):
    by_department = client.fetch("2026-10-01", "2026-11-21", granularity="daily", by="client_id")
    depts = summary.departments
    assert depts and depts[0].name == "Research & Development"
    spends = [d.spend for d in depts]
    assert spends == sorted(spends, reverse=True)
    top = depts[0]
    assert top.spend == pytest.approx(
        spend(by_department, "2026-11-01", "2026-11-20", client_id=top.id)
    )
    assert sum(d.share for d in depts) <= 1 + 1e-9


def test_anomalies_are_the_flagged_days_of_the_range(summary):
    dates = [f"{a.date:%Y-%m-%d}" for a in summary.anomalies]
    assert dates == ["2026-06-15", "2026-06-16", "2026-06-17"]  # in notebook 02's list too
    assert summary.anomalies[0].contributor == "VideoGeneration"


def test_range_as_of_version_and_demo(summary):
    assert summary.demo and summary.version == __version__
    assert summary.start == day("2026-04-24")
    assert summary.as_of == pd.Timestamp("2026-11-20 14:30", tz=TZ)
    assert summary.generated_at == NOW
    assert summary.notes == ()


def test_a_short_frame_gives_notes_not_errors(client):
    df = client.fetch("2026-11-10", "2026-11-21", granularity="daily")
    s = summarise(df, now=NOW)
    assert s.landing is None and s.month is None
    assert any("Month to date" in note for note in s.notes)
    page = render_index(s, [])
    assert "not computed" in page


def test_bad_budget_and_language_are_refused(daily):
    with pytest.raises(QueryError, match="budget"):
        summarise(daily, budget=-1)
    with pytest.raises(QueryError, match="lang"):
        summarise(daily, lang="fr")
    with pytest.raises(QueryError, match="budget"):
        fetch_summary(CostTrendClient.demo(), budget=-5)


# -- machine and reader forms -------------------------------------------------------------------


def test_json_round_trip(summary):
    data = summary.to_dict()
    text = json.dumps(data, allow_nan=False)  # no NaN, no Timestamp
    assert json.loads(text) == data
    assert Summary.from_dict(json.loads(text)).to_dict() == data
    assert data["month"]["pct_change"] == pytest.approx(summary.month.pct_change)
    assert data["generated_at_utc"] == "2026-12-04T12:00:00+00:00"
    assert data["demo"] is True and data["currency"] == "CNY"


def test_markdown_and_text_say_the_numbers(summary):
    md = summary.to_markdown()
    for piece in (
        "Demo data",
        "| Month to date | **¥47,701.46** | +7.7 % like for like (1 – 19 Nov 2026 against "
        "1 – 19 Oct 2026) |",
        "¥73,588",
        "P(over the ¥78,000 budget) 0.0 %",
        "- Chat: ¥2,183.84",
        "2026-06-15",
        "Research &amp; Development",
        "2026-12-04 20:00 Asia/Shanghai (2026-12-04 12:00 UTC)",
        __version__,
    ):
        assert piece in md, piece
    text = summary.to_text()
    assert text.startswith("DEMO DATA")
    assert "Month to date: ¥47,701.46" in text
    assert "_" not in re.sub(r"costtrend_nb|Asia/Shanghai", "", text)  # no snake_case


def test_chinese_summary(summary):
    text = summary.to_text("zh")
    assert "本月截至目前: ¥47,701.46  +7.7% 同口径" in text
    assert "演示数据" in text


# -- alerts -------------------------------------------------------------------------------------


def with_budget(s: Summary, budget: float, p: float) -> Summary:
    return dataclasses.replace(
        s, landing=dataclasses.replace(s.landing, budget=budget, p_over_budget=p)
    )


def test_alerts(summary):
    assert summary.alerts([]) == []
    assert summary.alerts(["over-budget"]) == []  # lands at ¥73,588 of ¥78,000, P = 0
    over = with_budget(summary, 70_000, 1.0)
    (alert,) = over.alerts(["over-budget"])
    assert "¥73,588" in alert and "¥70,000" in alert
    assert with_budget(summary, 74_000, 0.6).alerts("over-budget")  # P >= 50 % is enough
    spent = with_budget(summary, 40_000, 1.0).alerts(["over-budget"])
    assert "already ¥47,701.46" in spent[0]
    assert summary.alerts(["anomaly"])  # 15-17 June lie in the range
    assert summary.alerts(["anomaly:3"]) == []  # none in the last three days
    assert summary.alerts(["spend-up"]) == []  # +7.7 % is under the default 20 %
    (up,) = summary.alerts("spend-up:5")
    assert "+7.7 %" in up and "+5.0 %" in up
    assert summary.alerts(["week-up:0"]) and not summary.alerts(["week-up:1"])
    assert len(over.alerts("over-budget,spend-up:5,anomaly")) == 3


@pytest.mark.parametrize("bad", ["nope", "over-budget:3", "anomaly:0", "anomaly:1.5", "spend-up:x"])
def test_unknown_or_malformed_conditions_are_refused(bad):
    with pytest.raises(QueryError, match=r"--fail-on|over-budget|needs"):
        parse_conditions(bad)


# -- the index page -----------------------------------------------------------------------------

PNG = "data:image/png;base64,iVBORw0KGgo="


def cards() -> list[Card]:
    return [
        Card("01 Period over period", "01-period-over-period.html", "Up 7.7 %", PNG, "demo"),
        Card("<b>02</b> & co", "02.html", "Chat <script>alert(1)</script>", None),
        Card("Evil", "javascript:alert(1)", "", "https://example.com/x.png"),
    ]


def test_index_is_self_contained_and_fits_a_phone(summary):
    page = render_index(summary, cards())
    assert not re.search(r"https?://", page)
    assert not re.search(r"(src|href)\s*=\s*[\"'](?!data:|#|[\w./-]+\.html)", page)
    assert "@import" not in page and "<script" not in page
    assert '<meta name="viewport" content="width=device-width, initial-scale=1">' in page
    assert "max-width:72rem" in page and "auto-fill" in page


def test_index_has_the_banner_headline_cards_and_footer(summary):
    page = render_index(summary, cards())
    assert 'class="banner"' in page and "Demo data" in page
    assert html.escape(DEMO_NOTICE) in page  # the same sentence as on every demo report
    for piece in ("¥47,701.46", "+7.7\u00a0%", "1 – 19 Nov 2026", "¥73,588", "¥72,830", "¥74,336"):
        assert piece in page, piece
    assert page.count('<li class="card">') == 3
    assert 'alt="Key figure of 01 Period over period: Up 7.7\u00a0%"' in page
    assert " %" not in page  # a percentage never wraps away from its sign
    assert "2026-12-04 12:00 UTC" in page and __version__ in page
    assert "2026-11-20 14:30 Asia/Shanghai" in page  # as of


def test_index_escapes_card_text_and_refuses_foreign_links():
    page = render_index(None, cards())
    assert "&lt;b&gt;02&lt;/b&gt; &amp; co" in page
    assert "&lt;script&gt;" in page and "<script>" not in page
    assert "javascript:" not in page and "example.com" not in page
    assert "The summary could not be computed" in page
    assert 'class="banner"' not in page


def test_index_in_chinese(summary):
    page = render_index(summary, cards()[:1], lang="zh")
    assert '<html lang="zh-CN">' in page and "演示数据" in page and "本月截至目前" in page


def test_a_range_ending_with_a_whole_month_says_so(client):
    df = client.fetch("2026-08-01", "2026-11-01", granularity="daily")
    s = summarise(df, budget=70_000, now=NOW)
    assert not s.month.running and s.month.current == pytest.approx(
        spend(df, "2026-10-01", "2026-11-01")
    )
    (label, value, _), *_ = s.headline()
    assert (label, value) == ("October 2026 (whole month)", "¥74,380.29")
    assert "nothing to forecast" in s.headline()[2][2]
    assert s.departments_title() == "Top departments, 1 – 31 Oct 2026"
    assert s.alerts(["over-budget"]) == [
        "Spend in 2026-10 is already ¥74,380.29, over the ¥70,000 budget."
    ]
