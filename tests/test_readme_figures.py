"""README's description of the demo organisation, measured on what a fetch returns.

Every figure of README's "The demo" and the worked example of "Analysis" is printed here (run
with ``-s`` to see them) and asserted to the precision README shows. The other sections' figures
are printed by their own tests: ``test_forecast.py`` (backtests), ``test_drivers_breakdown.py``
(drivers), ``test_anomaly_accuracy.py`` (anomalies), ``test_showback.py`` (showback), and the
speed figures by ``make bench`` (``benchmarks/RESULTS.md``).
"""

from __future__ import annotations

import pandas as pd
import pytest

from costtrend_nb import CostTrendClient
from costtrend_nb.analysis import compare_periods
from costtrend_nb.emulator import synth

TZ = "Asia/Shanghai"


@pytest.fixture(scope="module")
def demo():
    client = CostTrendClient.demo()
    df = client.fetch(
        "2025-09-01", "2026-11-21", granularity="daily", by=["model_type", "client_id"]
    )
    return client.departments(), df


def daily(df, metric, **where):
    rows = df[df["metric"] == metric]
    for column, value in where.items():
        rows = rows[rows[column].isin(value if isinstance(value, list) else [value])]
    return rows.groupby("timestamp")["value"].sum()


def test_the_demo_organisation(demo):
    departments, df = demo
    names = dict(zip(departments["id"], departments["name"], strict=True))
    pairs = zip(departments["id"], departments["parent_id"], strict=True)
    parents = {names[i]: names.get(p) for i, p in pairs}
    print("departments:", parents)
    assert parents == {
        "Headquarters": None,
        "Research & Development": "Headquarters",
        "AI Platform": "Research & Development",
        "Search": "Research & Development",
        "Customer Service": "Headquarters",
        "Marketing": "Headquarters",
        "Creative Studio": "Marketing",
        "Finance & Operations": "Headquarters",
    }
    cost = df[(df["metric"] == "total_amount") & (df["value"] > 0)]
    first = cost.groupby("model_type", observed=True)["timestamp"].min()
    print(f"{len(first)} model types, all spending from {first.max().date()}")
    assert len(first) == 13 and first.max() == pd.Timestamp("2025-09-01", tz=TZ)
    as_of = pd.Timestamp(df.attrs["as_of"])
    print("frozen clock:", as_of.strftime("%A %Y-%m-%d %H:%M %Z"))
    assert as_of == pd.Timestamp("2026-11-20 14:30", tz=TZ) and as_of.day_name() == "Friday"


def test_spend_in_november_2026(demo):
    _, df = demo
    # README: "about ¥2,500 a day by November 2026, chat 56% of it" (1-19 November, whole days)
    days = slice("2026-11-01", "2026-11-19")
    total = daily(df, "total_amount").loc[days]
    chat = daily(df, "total_amount", model_type="Chat").loc[days]
    per_day, share = total.mean(), chat.sum() / total.sum()
    print(f"1-19 November 2026: {per_day:,.2f} CNY a day, Chat {share:.1%} of it")
    assert len(total) == 19 and round(per_day, -2) == 2500 and round(100 * share) == 56
    # README: compare_periods(..., as_of="2026-11-20 14:30") compares 1-19 November with 1-19
    # October, ¥47,701 against ¥44,273, +7.7 %
    row = compare_periods(df, "total_amount", "month", as_of="2026-11-20 14:30").iloc[0]
    print(
        f"{row['current_start']:%Y-%m-%d} to {row['current_end']:%Y-%m-%d}: "
        f"{row['current']:,.0f} against {row['previous']:,.0f}, {row['pct_change']:+.1%}"
    )
    assert (row["current_start"], row["current_end"]) == (
        pd.Timestamp("2026-11-01", tz=TZ),
        pd.Timestamp("2026-11-20", tz=TZ),
    )
    assert (row["previous_start"], row["previous_end"]) == (
        pd.Timestamp("2026-10-01", tz=TZ),
        pd.Timestamp("2026-10-20", tz=TZ),
    )
    assert (round(row["current"]), round(row["previous"])) == (47_701, 44_273)
    assert round(100 * row["pct_change"], 1) == 7.7


def test_spring_festival_quiets_the_office_departments(demo):
    departments, df = demo
    names = dict(zip(departments["id"], departments["name"], strict=True))
    cost = df[df["metric"] == "total_amount"]
    by_department = cost.groupby(["timestamp", "client_id"])["value"].sum().unstack()
    festival = by_department.loc["2026-02-16":"2026-02-22"].sum()
    week_before = by_department.loc["2026-02-02":"2026-02-08"].sum()
    ratio = (festival / week_before).rename(names).round(2)
    print("Spring Festival week against two weeks before:", ratio.to_dict())
    quiet = sorted(ratio[ratio < 0.4].index)
    assert quiet == [
        "Creative Studio",
        "Finance & Operations",
        "Headquarters",
        "Marketing",
        "Research & Development",
    ]
    assert (ratio.drop(quiet) > 0.9).all()  # AI Platform, Search, Customer Service carry on


def test_the_outage_day_has_almost_no_traffic(demo):
    _, df = demo
    calls = daily(df, "total_calls")
    ratio = calls.loc["2026-03-11"] / calls.loc[["2026-03-04", "2026-03-18"]].mean()
    print(f"2026-03-11: {ratio:.1%} of the calls of the same weekday a week before and after")
    assert ratio < 0.05


def test_qwen_max_prices_are_cut_by_a_third_on_1_may():
    (qwen_max,) = [m for m in synth.demo_organisation().models if m.name == "qwen-max"]
    cut = synth.PRICE_CUT
    assert pd.Timestamp(cut, unit="s", tz="UTC").tz_convert(TZ) == pd.Timestamp("2026-05-01", tz=TZ)
    before = synth._prices_at(qwen_max, pd.Series([cut - 1]).to_numpy())
    after = synth._prices_at(qwen_max, pd.Series([cut]).to_numpy())
    ratios = [float(a[0] / b[0]) for a, b in zip(after, before, strict=True)]
    print("qwen-max input and output prices from 2026-05-01, against before:", ratios)
    assert ratios == pytest.approx([2 / 3, 2 / 3], rel=1e-12)


def test_creative_studios_video_campaign_spikes_about_6x(demo):
    departments, df = demo
    (studio,) = departments.loc[departments["name"] == "Creative Studio", "id"]
    video = daily(
        df,
        "total_amount",
        client_id=int(studio),
        model_type=["VideoGeneration", "VideoImageGeneration"],
    )
    ratio = video.loc["2026-06-15"] / video.loc["2026-06-01":"2026-06-14"].mean()
    print(f"Creative Studio's video generation on 2026-06-15: {ratio:.2f}x the two weeks before")
    assert round(ratio) == 6


def test_research_and_development_adopts_a_chat_model_on_23_july(demo):
    departments, df = demo
    (rnd,) = departments.loc[departments["name"] == "Research & Development", "id"]
    models = daily(df, "model_count", client_id=int(rnd), model_type="Chat")
    summer = models.loc["2026-07-01":"2026-08-31"]
    steps = summer[summer.diff() > 0]
    print("R&D's chat models in use rise on", [f"{t:%Y-%m-%d}" for t in steps.index])
    assert list(steps.index) == [pd.Timestamp("2026-07-23", tz=TZ)]
