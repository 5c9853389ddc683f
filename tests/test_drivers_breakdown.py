import math

import numpy as np
import pandas as pd
import pytest

from costtrend_nb import CostTrendClient
from costtrend_nb.analysis import breakdown, explain_change, share_over_time
from costtrend_nb.errors import QueryError

from .frames import make_frame


def two_months(series):
    return make_frame("2026-01-01", "2026-03-01", series, freq="D")


def in_feb(value_jan, value_feb, days_jan=31, days_feb=28):
    """A per-day value that makes January total ``value_jan`` and February ``value_feb``."""
    return lambda i: np.where(i.month == 1, value_jan / days_jan, value_feb / days_feb)


def test_lmdi_split_of_one_cell_by_hand():
    # Chat: 1M tokens for 10 CNY in January, 2M tokens for 15 CNY in February
    df = two_months(
        {
            ("Chat", 7, "total_amount"): in_feb(10.0, 15.0),
            ("Chat", 7, "input_tokens"): in_feb(600_000, 1_500_000),
            ("Chat", 7, "output_tokens"): in_feb(400_000, 500_000),
            ("Chat", 7, "reasoning_tokens"): 0.0,
        }
    )
    row = explain_change(df, "month", as_of="2026-03-01", by="model_type").iloc[0]
    weight = (15 - 10) / math.log(15 / 10)  # the logarithmic mean L(15, 10)
    assert row["change"] == pytest.approx(5.0)
    assert row["volume_effect"] == pytest.approx(weight * math.log(2.0))
    assert row["unit_cost_effect"] == pytest.approx(weight * math.log(0.75))
    assert row["volume_effect"] + row["unit_cost_effect"] == pytest.approx(5.0, rel=1e-12)
    detail = explain_change(df, "month", as_of="2026-03-01", detail=True).iloc[0]
    assert detail["volume_unit"] == "tokens"
    assert detail["previous_volume"] == pytest.approx(1e6) and detail[
        "current_volume"
    ] == pytest.approx(2e6)
    assert detail["current_unit_cost"] == pytest.approx(7.5e-6)


def test_appearing_and_vanishing_cells_are_volume_only():
    df = two_months(
        {
            ("TTS", 1, "total_amount"): in_feb(0.0, 8.0),
            ("TTS", 1, "characters"): in_feb(0.0, 40_000),
            ("ASR", 1, "total_amount"): in_feb(6.0, 0.0),
            ("ASR", 1, "asr_duration"): in_feb(25_000, 0.0),
        }
    )
    out = explain_change(df, "month", as_of="2026-03-01").set_index("model_type")
    assert (
        out.loc["TTS", "volume_effect"] == pytest.approx(8.0)
        and out.loc["TTS", "unit_cost_effect"] == 0.0
    )
    assert (
        out.loc["ASR", "volume_effect"] == pytest.approx(-6.0)
        and out.loc["ASR", "unit_cost_effect"] == 0.0
    )
    assert out["share_of_change"].sum() == pytest.approx(1.0)


# Each model type's volume, written out here rather than taken from the package, so that the
# comparison below is independent of analysis/drivers.py.
_TOKENS = ["input_tokens", "output_tokens", "reasoning_tokens"]
_MODAL = [
    "input_text_tokens",
    "input_audio_tokens",
    "input_image_tokens",
    "input_video_tokens",
    "output_text_tokens",
    "output_audio_tokens",
]
_EMBED = ["billing_tokens", "image_tokens"]
HAND_VOLUME = {
    "Chat": _TOKENS,
    "ChatMultimodal": _MODAL,
    "ChatFullmodal": _MODAL,
    "ImageGeneration": ["image_count"],
    "ImageEdit": ["image_count"],
    "VideoGeneration": ["video_duration"],
    "VideoImageGeneration": ["video_duration"],
    "Embedding": _EMBED,
    "Rerank": _EMBED,
    "MultimodalEmbedding": _EMBED,
    "MultimodalRerank": _EMBED,
    "TTS": ["characters"],
    "ASR": ["asr_duration"],
}


def hand_lmdi(df, previous, current):
    """LMDI-I per (model type, department) cell, by hand: cost C, volume V, unit cost P = C / V.

    volume effect = L(C1, C0) ln(V1 / V0), unit-cost effect = L(C1, C0) ln(P1 / P0), with
    L(a, b) = (a - b) / (ln a - ln b); on cells with cost and volume in both windows only.
    """
    rows = []
    for (model_type, client_id), cell in df.groupby(["model_type", "client_id"], observed=True):
        sums = []
        for start, end in (previous, current):
            inside = cell[(cell["timestamp"] >= start) & (cell["timestamp"] < end)]
            by_metric = inside.groupby("metric", observed=True)["value"].sum()
            cost = float(by_metric.get("total_amount", 0.0))
            volume = float(sum(by_metric.get(m, 0.0) for m in HAND_VOLUME[str(model_type)]))
            sums.append((cost, volume))
        (c0, v0), (c1, v1) = sums
        row = {"model_type": str(model_type), "client_id": int(client_id)}
        row.update(c0=c0, c1=c1, v0=v0, v1=v1)
        if min(c0, c1, v0, v1) > 0:
            weight = (c1 - c0) / (math.log(c1) - math.log(c0)) if c1 != c0 else c1
            row["volume_effect"] = weight * math.log(v1 / v0)
            row["unit_cost_effect"] = weight * math.log((c1 / v1) / (c0 / v0))
        rows.append(row)
    return pd.DataFrame(rows)


def test_drivers_match_an_independent_lmdi_on_the_demo():
    df = CostTrendClient.demo().fetch(
        "2026-04-01", "2026-06-01", granularity="daily", by=["model_type", "client_id"]
    )
    tz = "Asia/Shanghai"
    april = (pd.Timestamp("2026-04-01", tz=tz), pd.Timestamp("2026-05-01", tz=tz))
    may = (pd.Timestamp("2026-05-01", tz=tz), pd.Timestamp("2026-06-01", tz=tz))
    hand = hand_lmdi(df, april, may)
    split = hand["volume_effect"].notna()
    # every cell of the demo is either split or empty in both windows, so the hand
    # computation covers the whole change
    assert split.sum() == 25
    assert (hand.loc[~split, ["c0", "c1", "v0", "v1"]] == 0).all().all()

    detail = explain_change(df, "month", detail=True)
    assert (detail["current_start"] == may[0]).all() and (detail["current_end"] == may[1]).all()
    assert (detail["previous_start"] == april[0]).all()
    assert (detail["previous_end"] == april[1]).all()
    cells = detail.assign(
        model_type=detail["model_type"].astype(str), client_id=detail["client_id"].astype(int)
    ).merge(hand[split], on=["model_type", "client_id"], validate="one_to_one")
    assert len(cells) == 25
    for ours, theirs in [
        ("previous_cost", "c0"),
        ("current_cost", "c1"),
        ("previous_volume", "v0"),
        ("current_volume", "v1"),
    ]:
        np.testing.assert_allclose(cells[ours], cells[theirs], rtol=1e-12)
    for effect in ("volume_effect", "unit_cost_effect"):
        np.testing.assert_allclose(cells[f"{effect}_x"], cells[f"{effect}_y"], rtol=0, atol=1e-9)

    for by in ("model_type", "client_id"):
        ours = explain_change(df, "month", by=by)
        ours[by] = ours[by].astype(str if by == "model_type" else int)
        theirs = hand[split].groupby(by)[["volume_effect", "unit_cost_effect"]].sum()
        both = ours.set_index(by).join(theirs.add_suffix("_hand"), how="inner")
        assert len(both) == len(theirs) == ours[by].nunique()
        for effect in ("volume_effect", "unit_cost_effect"):
            np.testing.assert_allclose(both[effect], both[f"{effect}_hand"], rtol=0, atol=1e-9)

    # README: "May's cut of qwen-max prices shows as about -¥1,000 of unit cost against
    # +¥945 of volume in chat"
    chat = explain_change(df, "month").set_index("model_type").loc["Chat"]
    print(
        f"Chat, May against April 2026: unit-cost effect {chat['unit_cost_effect']:,.2f} CNY, "
        f"volume effect {chat['volume_effect']:,.2f} CNY"
    )
    assert round(chat["unit_cost_effect"], -2) == -1000 and round(chat["volume_effect"]) == 945
    assert "LMDI" in explain_change(df, "month").attrs["method"]


def test_drivers_need_volumes_and_coverage():
    df = two_months({("Chat", None, "total_amount"): 1.0})
    with pytest.raises(QueryError, match="needs the volume of Chat"):
        explain_change(df, "month", as_of="2026-03-01")
    short = make_frame(
        "2026-02-10",
        "2026-03-01",
        {("TTS", None, "total_amount"): 1.0, ("TTS", None, "characters"): 5.0},
    )
    with pytest.raises(QueryError, match="does not cover"):
        explain_change(short, "month", as_of="2026-03-01")
    with pytest.raises(QueryError, match="by must be"):
        explain_change(df, "month", by="team")


def demo_week():
    return CostTrendClient.demo().fetch(
        "2026-10-01", "2026-11-21", granularity="daily", by=["model_type", "client_id"]
    )


def test_breakdown_top_n_and_other():
    df = demo_week()
    table = breakdown(df, "model_type", top=4)
    assert table["model_type"].tolist()[-1] == "Other" and len(table) == 5
    assert table["rank"].tolist() == [1, 2, 3, 4, 5]
    assert table["share"].sum() == pytest.approx(1.0)
    assert table["groups"].tolist() == [1, 1, 1, 1, 9]
    assert table["current"].iloc[:4].is_monotonic_decreasing
    full = compare = breakdown(df, "model_type", top=20)
    assert len(full) == 13 and "Other" not in full["model_type"].tolist()
    assert table["current"].sum() == pytest.approx(compare["current"].sum(), rel=1e-12)
    assert table["delta"].sum() == pytest.approx(full["delta"].sum(), rel=1e-12)
    assert bool(table["running"].iloc[0]) and table["period"].iloc[0] == "2026-11"


def test_breakdown_by_department_and_whole_span():
    df = demo_week()
    table = breakdown(df, "client_id", top=3, period=None)
    assert table["client_id"].tolist()[:3] == sorted(
        table["client_id"].tolist()[:3],
        key=lambda c: -table.set_index("client_id").loc[c, "current"],
    )
    assert table["client_id"].iloc[-1] == "Other" and table["previous"].isna().all()
    whole = df[(df.metric == "total_amount") & df.complete]["value"].sum()
    assert table["current"].sum() == pytest.approx(whole, rel=1e-12)
    with pytest.raises(QueryError, match="top must be"):
        breakdown(df, top=0)
    with pytest.raises(QueryError, match="distinct count"):
        breakdown(df, metric="model_count")


def test_share_over_time_sums_to_one_per_bucket():
    df = demo_week()
    shares = share_over_time(df, "model_type", freq="W-MON", top=3)
    per_week = shares.groupby("timestamp")["share"].sum()
    assert np.allclose(per_week, 1.0)
    totals = df[df.metric == "total_amount"].groupby("model_type", observed=True)["value"].sum()
    assert set(shares["model_type"]) == set(totals.nlargest(3).index) | {"Other"}
    assert (shares["timestamp"].dt.day_of_week == 0).all()
    daily = share_over_time(df, "client_id", top=20)
    assert daily.groupby("timestamp")["value"].sum().sum() == pytest.approx(
        df[df.metric == "total_amount"]["value"].sum(), rel=1e-12
    )
    assert not daily["complete"].iloc[-1]


def test_analysis_never_mutates_its_input():
    df = demo_week()
    before = df.copy()
    explain_change(df, "month")
    breakdown(df, "client_id")
    share_over_time(df, freq="MS")
    pd.testing.assert_frame_equal(df, before)
