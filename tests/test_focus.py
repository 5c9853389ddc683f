"""FOCUS rows of a tidy frame: every FOCUS 1.0 column, the invariants of issue 15, the decisions."""

import json

import numpy as np
import pandas as pd
import pytest

from costtrend_nb import CostTrendClient, QueryError
from costtrend_nb.focus import EXTRA_COLUMNS, FOCUS_1_2, FOCUS_COLUMNS, empty_focus, to_focus
from costtrend_nb.focus.columns import COLUMN_TYPES, NULL_COLUMNS, VOLUME_METRICS

# two settled days and the demo's running day (its last buckets are running or settling)
RANGE = ("2026-11-18", "2026-11-21")
SPLIT = ("model_type", "client_id")


@pytest.fixture(scope="module")
def client():
    with CostTrendClient.demo() as demo:
        yield demo


@pytest.fixture(scope="module")
def departments(client):
    return client.departments()


@pytest.fixture(scope="module")
def frames(client):
    """The demo's frames: hourly and daily, split by model type and department, and not."""
    return {
        (granularity, split): client.fetch(*RANGE, granularity=granularity, by=by)
        for granularity in ("hourly", "daily")
        for split, by in (("split", SPLIT), ("unsplit", ()))
    }


def cost(df, *, complete_only=True):
    rows = df[df["metric"] == "total_amount"]
    return rows[rows["complete"]] if complete_only else rows


CASES = [(g, s) for g in ("hourly", "daily") for s in ("split", "unsplit")]


# -- the columns -----------------------------------------------------------------------------------


def test_every_focus_1_0_column_then_ours_with_the_x_prefix(frames, departments):
    rows = to_focus(frames["hourly", "split"], departments=departments)
    assert list(rows.columns) == [*FOCUS_COLUMNS, *EXTRA_COLUMNS]
    assert len(FOCUS_COLUMNS) == 43 and all(c.startswith("x_") for c in EXTRA_COLUMNS)
    for name in NULL_COLUMNS:
        assert rows[name].isna().all(), name
    for name, kind in COLUMN_TYPES.items():
        if name in NULL_COLUMNS:
            continue
        if kind == "datetime":
            assert str(rows[name].dtype) == "datetime64[us, UTC]", name
        elif kind == "decimal" and name not in ("ConsumedQuantity", "PricingQuantity"):
            assert rows[name].notna().all(), name


def test_fixed_values_say_what_the_service_is(frames):
    rows = to_focus(frames["hourly", "split"])
    fixed = {
        "BillingCurrency": "CNY",
        "ChargeCategory": "Usage",
        "ChargeFrequency": "Usage-Based",
        "PricingCategory": "Standard",
        "ProviderName": "Alibaba Cloud",
        "PublisherName": "Alibaba Cloud",
        "InvoiceIssuerName": "Alibaba Cloud",
        "ServiceCategory": "AI and Machine Learning",
        "ServiceName": "Model Router",
        "BillingAccountId": "model-router",
    }
    for name, value in fixed.items():
        assert set(rows[name]) == {value}, name
    costs = rows[["BilledCost", "EffectiveCost", "ListCost", "ContractedCost"]].to_numpy()
    assert (costs == costs[:, [0]]).all()  # no price list: every cost is what was billed


def test_account_and_department_names(frames, departments):
    rows = to_focus(
        frames["hourly", "split"], departments=departments, account_id="1234", account_name="Acme"
    )
    assert set(rows["BillingAccountId"]) == {"1234"} and set(rows["BillingAccountName"]) == {"Acme"}
    search = rows[rows["SubAccountId"] == "10004"]
    assert set(search["SubAccountName"]) == {"Search"}
    tags = [json.loads(t) for t in search["Tags"]]
    assert {t["department"] for t in tags} == {"Headquarters / Research & Development / Search"}
    assert {t["model_type"] for t in tags} == set(search["x_ModelType"])
    assert all(isinstance(v, str) for t in tags for v in t.values())
    unnamed = to_focus(frames["hourly", "split"])
    assert unnamed["SubAccountName"].isna().all() and unnamed["SubAccountId"].notna().all()
    tagged = to_focus(frames["hourly", "unsplit"], api_key_id=77, member_user_ids=[1, 2])
    assert json.loads(tagged["Tags"].iloc[0]) == {
        "api_key_id": "77",
        "member_user_ids": "1,2",
        "model_type": "all",
    }


def test_volume_is_the_model_types_one_metric_and_null_for_the_others(frames):
    df = frames["hourly", "split"]
    rows = to_focus(df)
    tts = rows[rows["x_ModelType"] == "TTS"]
    chars = df[(df["model_type"] == "TTS") & (df["metric"] == "characters") & df["complete"]]
    assert tts["ConsumedQuantity"].sum() == pytest.approx(chars["value"].sum())
    assert set(tts["ConsumedUnit"]) == {"Characters"} == set(tts["PricingUnit"])
    assert (tts["PricingQuantity"] == tts["ConsumedQuantity"]).all()
    for kind, (_, unit) in VOLUME_METRICS.items():
        some = rows[rows["x_ModelType"] == kind]
        assert set(some["ConsumedUnit"]) <= {unit}, kind
    chat = rows[rows["x_ModelType"] == "Chat"]
    assert chat["ConsumedQuantity"].isna().all() and chat["ConsumedUnit"].isna().all()
    usage = json.loads(chat["x_Usage"].iloc[0])
    assert {"input_tokens", "output_tokens", "reasoning_tokens", "cached_tokens"} == set(usage)
    assert (
        set(rows["SkuId"])
        == {f"ModelRouter/{t}" for t in rows["x_ModelType"]}
        == set(rows["SkuPriceId"])
    )


# -- times -------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("granularity", "split"), CASES)
def test_charge_periods_are_buckets_in_utc_inside_their_shanghai_billing_month(
    frames, granularity, split
):
    rows = to_focus(frames[granularity, split])
    length = pd.Timedelta(hours=1 if granularity == "hourly" else 24)
    assert ((rows["ChargePeriodEnd"] - rows["ChargePeriodStart"]) == length).all()
    assert (rows["BillingPeriodStart"] == pd.Timestamp("2026-10-31T16:00Z")).all()
    assert (rows["BillingPeriodEnd"] == pd.Timestamp("2026-11-30T16:00Z")).all()
    assert rows["ChargePeriodStart"].min() == pd.Timestamp("2026-11-17T16:00Z")
    assert rows["ChargePeriodStart"].is_monotonic_increasing
    assert set(rows["x_Granularity"]) == {granularity}


def test_a_month_boundary_splits_billing_periods_at_shanghai_midnight(client):
    df = client.fetch("2026-10-31T22:00", "2026-11-01T02:00", model_types=["Chat"])
    rows = to_focus(df)
    before = rows[rows["ChargePeriodStart"] < pd.Timestamp("2026-10-31T16:00Z")]
    after = rows[rows["ChargePeriodStart"] >= pd.Timestamp("2026-10-31T16:00Z")]
    assert len(before) == 2 and len(after) == 2
    assert set(before["BillingPeriodEnd"]) == {pd.Timestamp("2026-10-31T16:00Z")}
    assert set(after["BillingPeriodStart"]) == {pd.Timestamp("2026-10-31T16:00Z")}


def test_a_local_day_across_the_billing_month_is_refused(client):
    df = client.fetch(
        "2026-10-30", "2026-11-02", granularity="daily", tz="Europe/London", model_types=["TTS"]
    )
    with pytest.raises(QueryError, match="Asia/Shanghai month"):
        to_focus(df)


def test_granularity_is_read_from_the_timestamps_or_asked_for(client):
    one_day = client.fetch("2026-11-18", "2026-11-19", granularity="daily", model_types=["TTS"])
    with pytest.raises(QueryError, match="granularity="):
        to_focus(one_day)
    rows = to_focus(one_day, granularity="daily")
    assert (rows["ChargePeriodEnd"] - rows["ChargePeriodStart"] == pd.Timedelta(days=1)).all()


# -- the invariants ----------------------------------------------------------------------------------


@pytest.mark.parametrize(("granularity", "split"), CASES)
def test_billed_cost_equals_the_trend_in_total_and_per_department_and_model_type(
    frames, granularity, split
):
    df = frames[granularity, split]
    rows = to_focus(df)
    assert abs(rows["BilledCost"].sum() - cost(df)["value"].sum()) < 1e-6
    trend = cost(df).assign(
        model_type=lambda d: d["model_type"].astype(str),
        client_id=lambda d: [("-" if pd.isna(i) else str(i)) for i in d["client_id"]],
    )
    expected = trend.groupby(["model_type", "client_id"])["value"].sum()
    got = (
        rows.assign(x_ClientId=rows["x_ClientId"].fillna("-"))
        .groupby(["x_ModelType", "x_ClientId"])["BilledCost"]
        .sum()
    )
    expected = expected[expected != 0]  # idle series have no rows
    pd.testing.assert_series_equal(
        got.sort_index(), expected.sort_index(), check_names=False, atol=1e-6, rtol=0
    )


@pytest.mark.parametrize(("granularity", "split"), CASES)
def test_no_charge_period_is_counted_twice(frames, granularity, split):
    rows = to_focus(frames[granularity, split], include_incomplete=True, keep_idle=True)
    key = rows[["ChargePeriodStart", "x_ModelType", "x_ClientId"]].astype(str)
    assert not key.duplicated().any()
    series = 104 if split == "split" else 1
    buckets = frames[granularity, split]["timestamp"].nunique()
    assert len(rows) == series * buckets  # every bucket of every series, once


def test_running_and_settling_buckets_are_left_out_or_marked(frames):
    df = frames["hourly", "split"]
    as_of = pd.Timestamp(df.attrs["as_of"])
    left_out = to_focus(df)
    assert left_out["x_Complete"].all()
    assert left_out["ChargePeriodEnd"].max() <= as_of - pd.Timedelta("2h")
    marked = to_focus(df, include_incomplete=True)
    running = marked[~marked["x_Complete"]]
    assert not running.empty and running["ChargePeriodEnd"].min() > as_of - pd.Timedelta("2h")
    everything = cost(df, complete_only=False)["value"].sum()
    assert abs(marked["BilledCost"].sum() - everything) < 1e-6
    assert len(marked) - len(left_out) == len(running)


def test_idle_buckets_are_left_out_unless_kept(frames):
    df = frames["hourly", "split"]
    rows = to_focus(df, keep_idle=True)
    idle = (rows["BilledCost"] == 0) & (rows["x_Calls"] == 0)
    assert idle.any()
    assert len(to_focus(df)) == len(rows) - idle.sum()


def test_empty_and_not_tidy_frames(frames):
    empty = to_focus(frames["hourly", "split"].iloc[:0])
    assert empty.shape == (0, 49) and list(empty.columns) == list(empty_focus().columns)
    with pytest.raises(QueryError, match="tidy frame"):
        to_focus(pd.DataFrame({"a": [1]}))


def test_focus_1_2_additions_are_documented():
    from pathlib import Path

    doc = (Path(__file__).resolve().parents[1] / "docs" / "focus.md").read_text()
    for name in [*FOCUS_1_2, *FOCUS_COLUMNS, *EXTRA_COLUMNS]:
        assert f"`{name}`" in doc, name
    assert np.all([isinstance(v, str) for v in FOCUS_1_2.values()])
