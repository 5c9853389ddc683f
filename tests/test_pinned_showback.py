"""Showback behaviours that mutation testing found unpinned (issue 16).

Small synthetic frames built by hand (``tests/frames.make_frame``), no demo fetch: the default
price-step window per bucket size, a step's exact size and place on a noise-free series, the
inclusive thresholds, the department and label checks, and every error message's whole text.
"""

import numpy as np
import pandas as pd
import pytest

from costtrend_nb.analysis import allocation, price_changes, rollup, unit_cost_scale, unit_costs
from costtrend_nb.errors import QueryError

from .frames import make_frame

TZ = "Asia/Shanghai"


def day(text):
    return pd.Timestamp(text, tz=TZ)


def images(start, end, unit_cost, *, freq="D", client_id=None):
    """An ImageGeneration series of 100 images a bucket at ``unit_cost(i)`` CNY an image."""
    return make_frame(
        start,
        end,
        {
            ("ImageGeneration", client_id, "image_count"): 100.0,
            ("ImageGeneration", client_id, "total_amount"): lambda i: 100.0 * unit_cost(i),
        },
        freq=freq,
    )


def step_on(on, before=1.0, after=2.0):
    return lambda i: np.where(i >= pd.Timestamp(on, tz=TZ), after, before)


# --- the default window, per bucket size --------------------------------------------------------


@pytest.mark.parametrize(
    ("start", "end", "on", "freq", "frame_freq", "first", "last"),
    [
        # 168 hours each side on hourly buckets (exactly one hour apart)
        ("2026-01-05", "2026-01-19", "2026-01-12", None, "h", "2026-01-05", "2026-01-18 23:00"),
        # 28 days each side on daily buckets
        ("2026-01-05", "2026-03-02", "2026-02-02", "D", "D", "2026-01-05", "2026-03-01"),
        # 6 weeks each side on weekly buckets (exactly seven days apart)
        ("2026-01-05", "2026-03-30", "2026-02-16", "W-MON", "D", "2026-01-05", "2026-03-23"),
        # 3 months each side on monthly buckets
        ("2026-01-01", "2026-07-01", "2026-04-01", "MS", "D", "2026-01-01", "2026-06-01"),
    ],
)
def test_the_default_window_fits_the_bucket_size(start, end, on, freq, frame_freq, first, last):
    df = images(start, end, step_on(on), freq=frame_freq)
    steps = price_changes(df, freq=freq)
    assert len(steps) == 1
    row = steps.iloc[0]
    assert row["timestamp"] == day(on)
    assert (row["window_start"], row["window_end"]) == (day(first), day(last))
    assert row["before"] == pytest.approx(1.0) and row["after"] == pytest.approx(2.0)
    # one bucket fewer than two windows: too short to compare
    second = unit_costs(df, freq=freq)["timestamp"].iloc[1]
    short = df[df["timestamp"] >= second]
    assert price_changes(short, freq=freq).empty


def test_a_noise_free_step_in_exactly_two_windows_is_found_with_its_size():
    df = images("2026-01-01", "2026-01-11", step_on("2026-01-06", 2.0, 1.5))
    steps = price_changes(df, window=5)
    assert len(steps) == 1
    row = steps.iloc[0]
    assert row["timestamp"] == day("2026-01-06")
    assert (row["before"], row["after"]) == pytest.approx((2.0, 1.5))
    assert (row["change"], row["pct_change"]) == pytest.approx((-0.5, -0.25))
    # no noise: the floor of 1e-9 on the noise sets the score
    se = 1.2533 * 1e-9 * np.sqrt(2.0 / 5)
    assert row["score"] == pytest.approx(np.log(0.75) / se, rel=1e-9)
    assert (row["window_start"], row["window_end"]) == (day("2026-01-01"), day("2026-01-10"))
    assert row["per"] == "image" and str(row["model_type"]) == "ImageGeneration"
    # the thresholds are inclusive: a step of exactly min_change and min_score counts
    assert len(price_changes(df, window=5, min_change=0.25 - 1e-12)) == 1
    assert len(price_changes(df, window=5, min_score=abs(row["score"]))) == 1
    assert price_changes(df, window=5, min_change=0.2501).empty
    assert price_changes(df, window=5, min_score=abs(row["score"]) * 1.0001).empty
    # a window longer than half the series finds nothing
    assert price_changes(df, window=6).empty


def test_the_score_measures_noise_from_bucket_to_bucket_changes():
    # +-1 % alternating noise: every first difference is 2 % in the log but the step's
    wiggle = lambda i: np.exp(0.01 * (-1.0) ** np.arange(len(i)))  # noqa: E731
    df = images("2026-01-01", "2026-01-17", lambda i: step_on("2026-01-09")(i) * wiggle(i))
    steps = price_changes(df, window=8)
    assert len(steps) == 1
    row = steps.iloc[0]
    assert row["timestamp"] == day("2026-01-09")
    sigma = 1.4826 * 0.02 / np.sqrt(2.0)
    se = 1.2533 * sigma * np.sqrt(2.0 / 8)
    assert row["score"] == pytest.approx(np.log(2.0) / se, rel=1e-6)
    assert row["pct_change"] == pytest.approx(1.0, rel=1e-6)


def test_two_steps_a_window_apart_are_both_found():
    up_then_down = lambda i: np.where(  # noqa: E731
        (i >= day("2026-01-11")) & (i < day("2026-01-21")), 2.0, 1.0
    )
    df = images("2026-01-01", "2026-01-31", up_then_down)
    steps = price_changes(df, window=5)
    assert steps["timestamp"].tolist() == [day("2026-01-11"), day("2026-01-21")]
    assert steps["pct_change"].round(6).tolist() == [1.0, -0.5]
    assert steps["window_start"].tolist() == [day("2026-01-06"), day("2026-01-16")]
    assert steps["window_end"].tolist() == [day("2026-01-15"), day("2026-01-25")]


def test_two_steps_closer_than_a_window_keep_the_stronger():
    # a rise on the 11th, then a smaller one 3 days later
    stairs = lambda i: np.where(  # noqa: E731
        i >= day("2026-01-14"), 3.0, np.where(i >= day("2026-01-11"), 2.0, 1.0)
    )
    df = images("2026-01-01", "2026-01-31", stairs)
    steps = price_changes(df, window=10, min_change=0.0)
    assert len(steps) == 1


def test_a_weekday_pattern_is_taken_out_of_daily_series():
    # weekends 20 % cheaper, a 50 % rise on a Monday: levels are those of an average day
    weekly = lambda i: np.where(i.day_of_week >= 5, 0.8, 1.0)  # noqa: E731
    df = images("2026-01-05", "2026-03-02", lambda i: weekly(i) * step_on("2026-02-02", 1, 1.5)(i))
    steps = price_changes(df)
    assert steps["timestamp"].tolist() == [day("2026-02-02")]
    assert steps["pct_change"].iloc[0] == pytest.approx(0.5, rel=1e-6)
    assert price_changes(images("2026-01-05", "2026-03-02", weekly)).empty


def test_an_hour_of_day_pattern_is_taken_out_of_hourly_series():
    nightly = lambda i: np.where(i.hour < 6, 0.7, 1.0)  # noqa: E731
    df = images(
        "2026-01-05",
        "2026-01-19",
        lambda i: nightly(i) * step_on("2026-01-12", 1, 1.5)(i),
        freq="h",
    )
    steps = price_changes(df, freq=None)
    assert steps["timestamp"].tolist() == [day("2026-01-12")]
    assert steps["pct_change"].iloc[0] == pytest.approx(0.5, rel=1e-6)
    assert price_changes(images("2026-01-05", "2026-01-19", nightly, freq="h"), freq=None).empty


def test_a_step_that_does_not_hold_is_not_one():
    # a spike of a few days inside one window: the after window's halves disagree
    spike = lambda i: np.where(  # noqa: E731
        (i >= day("2026-01-11")) & (i < day("2026-01-14")), 2.0, 1.0
    )
    df = images("2026-01-01", "2026-01-31", spike)
    assert price_changes(df, window=5, min_change=0.0).empty


# --- unit costs ---------------------------------------------------------------------------------


def test_unit_costs_use_only_the_types_own_volume():
    df = make_frame(
        "2026-01-01",
        "2026-01-03",
        {
            ("ImageGeneration", None, "image_count"): 50.0,
            ("ImageGeneration", None, "total_calls"): 7.0,
            ("ImageGeneration", None, "total_amount"): 25.0,
        },
    )
    out = unit_costs(df, freq=None)
    assert out["volume"].tolist() == [50.0, 50.0]
    assert out["cost"].tolist() == [25.0, 25.0]
    assert out["unit_cost"].tolist() == [0.5, 0.5]


def test_unit_cost_scales():
    assert unit_cost_scale("TTS") == ("chars", 1e4, "10,000 characters")
    assert unit_cost_scale("Unheard") == ("calls", 1e3, "1,000 calls")
    assert unit_cost_scale("ImageGeneration") == ("images", 1.0, "image")


# --- departments, labels and windows ------------------------------------------------------------


def spend(client_ids=(1, 2), start="2026-01-01", end="2026-01-05"):
    return make_frame(start, end, {("Chat", c, "total_amount"): float(c or 1) for c in client_ids})


def holey():
    df = spend()
    return df[df["timestamp"] != day("2026-01-02")]


TREE = pd.DataFrame({"id": [1, 2], "name": ["Top", "Child"], "parent_id": [None, 1]})


def test_departments_as_a_csv_gives_them_float_ids_and_nan_parents():
    deps = pd.DataFrame({"id": [1.0, 2.0], "name": ["Top", "Child"], "parent_id": [np.nan, 1.0]})
    tree = rollup(spend(), deps)
    assert tree["path"].tolist() == ["Top", "Top / Child"]
    assert tree["parent_id"].tolist() == [0, 1]
    assert tree["subtree"].tolist() == [12.0, 8.0]


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (
            lambda: rollup(spend(), TREE.drop(columns="parent_id")),
            "departments must be the frame client.departments() returns (id, name, parent_id).",
        ),
        (
            lambda: rollup(spend(), {"id": [1], "name": ["a"], "parent_id": [0]}),
            "departments must be the frame client.departments() returns (id, name, parent_id).",
        ),
        (
            lambda: rollup(spend(), pd.concat([TREE, TREE])),
            "departments lists an id twice.",
        ),
        (
            lambda: rollup(spend(), TREE.assign(parent_id=[9, 8])),
            "departments names parents that are not in it: [8, 9].",
        ),
        (
            lambda: allocation(spend(), names=["Top", "Child"]),
            "names must be client.departments() or a mapping of id to name.",
        ),
        (
            lambda: rollup(spend((None,)), TREE),
            "rollup needs a frame split by department: fetch with by='client_id' (a split "
            "without client_ids covers every department).",
        ),
        (
            lambda: allocation(spend(), start="2025-12-31"),
            "the frame starts at 2026-01-01T00:00:00+08:00, after "
            "start=2025-12-31T00:00:00+08:00; fetch from 2025-12-31 or pass a later start.",
        ),
        (
            lambda: allocation(spend(), start="someday"),
            "start='someday' is not a date or time pandas can read; use ISO 8601 such as "
            "'2026-11-01' or '2026-11-01T08:00+08:00'.",
        ),
        (
            lambda: rollup(spend(), TREE, end="someday"),
            "end='someday' is not a date or time pandas can read; use ISO 8601 such as "
            "'2026-11-01' or '2026-11-01T08:00+08:00'.",
        ),
        (
            lambda: allocation(spend(), start="2026-01-03", end="2026-01-03"),
            "the window 2026-01-03T00:00:00+08:00 to 2026-01-03T00:00:00+08:00 holds no whole "
            "bucket.",
        ),
        (
            lambda: allocation(holey(), start="2026-01-01", end="2026-01-05"),
            "the frame holds 75.0 % of the buckets of 2026-01-01T00:00:00+08:00 to "
            "2026-01-05T00:00:00+08:00 (holes left by a filter or a concat); fetch the whole "
            "range so that no spend is left out.",
        ),
    ],
)
def test_error_messages(call, message):
    with pytest.raises(QueryError) as err:
        call()
    assert str(err.value) == message


def test_allocation_labels_departments_by_name():
    by_frame = allocation(spend(), names=TREE, columns=None)
    assert by_frame["Department"].tolist() == ["Child", "Top", "Total"]
    by_mapping = allocation(spend(), names={"1": "Top", 2.0: "Child"}, columns=None)
    assert by_mapping["Department"].tolist() == ["Child", "Top", "Total"]
    unnamed = allocation(spend(), names={1: "Top"}, columns=None)
    assert unnamed["Department"].tolist() == ["2", "Top", "Total"]
    twins = allocation(spend(), names={1: "Same", 2: "Same"}, columns=None)
    assert twins["Department"].tolist() == ["Same (2)", "Same (1)", "Total"]
    plain = allocation(spend(), columns=None)
    assert plain["Department"].tolist() == ["2", "1", "Total"]


def test_a_window_counts_whole_buckets_between_its_edges():
    table = allocation(spend(), start="2026-01-02", end="2026-01-04", columns=None)
    assert table["Total"].tolist() == [4.0, 2.0, 6.0]
    assert (table.attrs["start"], table.attrs["end"]) == (day("2026-01-02"), day("2026-01-04"))
    # an end after "now" is cut at now
    late = allocation(spend(), end="2026-02-01", columns=None)
    assert late.attrs["end"] == day("2026-01-05")
    assert late["Total"].tolist() == [8.0, 4.0, 12.0]


def test_a_window_on_hourly_buckets_counts_hours():
    hourly = make_frame("2026-01-01", "2026-01-03", {("Chat", 1, "total_amount"): 1.0}, freq="h")
    table = allocation(hourly, end="2026-01-02 12:00", columns=None)
    assert table["Total"].tolist() == [36.0, 36.0]


def test_two_opposite_steps_exactly_a_window_apart_are_both_kept():
    plateau = lambda i: np.where(  # noqa: E731
        (i >= day("2026-01-11")) & (i < day("2026-01-16")), 2.0, 1.0
    )
    df = images("2026-01-01", "2026-01-26", plateau)
    steps = price_changes(df, window=5)
    assert steps["timestamp"].tolist() == [day("2026-01-11"), day("2026-01-16")]


def weekly(i):
    """Weekends 20 % cheaper."""
    return np.where(i.day_of_week >= 5, 0.8, 1.0)


@pytest.mark.parametrize(
    ("end", "on", "window", "before"),
    [
        # four weeks or more: the weekday pattern comes out, levels of an average day
        ("2026-03-02", "2026-02-02", None, 0.8 ** (2 / 7)),
        ("2026-02-02", "2026-01-19", 14, 0.8 ** (2 / 7)),
        # under four weeks: kept as it is
        ("2026-01-31", "2026-01-18", 13, 1.0),
    ],
)
def test_the_weekday_pattern_comes_out_of_four_weeks_or_more(end, on, window, before):
    df = images("2026-01-05", end, lambda i: weekly(i) * step_on(on, 1, 1.5)(i))
    steps = price_changes(df, window=window)
    assert steps["timestamp"].tolist() == [day(on)]
    assert (steps["before"].item(), steps["after"].item()) == pytest.approx((before, 1.5 * before))


def test_the_hour_of_day_pattern_leaves_the_level_of_an_average_hour():
    nightly = lambda i: np.where(i.hour < 6, 0.7, 1.0)  # noqa: E731
    df = images(
        "2026-01-05",
        "2026-01-19",
        lambda i: nightly(i) * step_on("2026-01-12", 1, 1.5)(i),
        freq="h",
    )
    steps = price_changes(df, freq=None)
    level = 0.7**0.25  # six hours of 24 at 0.7
    assert (steps["before"].item(), steps["after"].item()) == pytest.approx((level, 1.5 * level))
    # four days of hours are enough to take the pattern out
    days = df[df["timestamp"].between(day("2026-01-10"), day("2026-01-13 23:00"))]
    steps = price_changes(days, freq=None, window=48)
    assert steps["before"].item() == pytest.approx(level, rel=0.01)  # not the raw median, 1.0


def test_buckets_without_cost_are_left_out_of_the_steps():
    free_day = lambda i: np.where(i == day("2026-01-03"), 0.0, 1.0)  # noqa: E731
    df = images(
        "2026-01-01", "2026-01-11", lambda i: free_day(i) * step_on("2026-01-06", 2, 1.5)(i)
    )
    steps = price_changes(df, window=4)
    assert steps["timestamp"].tolist() == [day("2026-01-06")]
    assert (steps["before"].item(), steps["after"].item()) == (2.0, 1.5)


def test_a_step_of_exactly_min_change_counts():
    df = images("2026-01-01", "2026-01-11", step_on("2026-01-06", 1.0, 1.5))
    assert len(price_changes(df, window=5, min_change=0.5)) == 1


# --- rollup, whole frames -----------------------------------------------------------------------

# HQ (1) > R&D (2) > Lab (3); HQ > Sales (4, not fetched); Branch (5) a second top; 9 not listed
ORG = pd.DataFrame(
    {
        "id": [1, 2, 3, 4, 5],
        "name": ["HQ", "R&D", "Lab", "Sales", "Branch"],
        "parent_id": [0, 1, 2, 1, 0],
        "level": [1, 2, 3, 2, None],
    }
)


def org_spend(complete_until=None):
    """Four days of Chat spend: 1, 2, 3, 5 and 9 CNY a day for departments 1, 2, 3, 5 and 9 (and
    calls, another metric, that must not be summed)."""
    series = {}
    for c in (1, 2, 3, 5, 9):
        series[("Chat", c, "total_amount")] = float(c)
        series[("Chat", c, "total_calls")] = 1000.0
    return make_frame("2026-01-01", "2026-01-05", series, complete_until=complete_until)


def test_rollup_sums_each_subtree_in_tree_order():
    tree = rollup(org_spend(), ORG)
    expected = pd.DataFrame(
        {
            "client_id": pd.array([1, 2, 3, 4, 5, 9], dtype="Int64"),
            "name": ["HQ", "R&D", "Lab", "Sales", "Branch", "Unknown (9)"],
            "parent_id": pd.array([0, 1, 2, 1, 0, 0], dtype="Int64"),
            "level": pd.array([1, 2, 3, 2, 1, 1], dtype="Int64"),
            "depth": [1, 2, 3, 2, 1, 1],
            "path": ["HQ", "HQ / R&D", "HQ / R&D / Lab", "HQ / Sales", "Branch", "Unknown (9)"],
            "own": [4.0, 8.0, 12.0, np.nan, 20.0, 36.0],
            "subtree": [24.0, 20.0, 12.0, np.nan, 20.0, 36.0],
            "share": [24 / 80, 20 / 80, 12 / 80, np.nan, 20 / 80, 36 / 80],
            "all_fetched": [False, True, True, False, True, True],
        }
    )
    pd.testing.assert_frame_equal(tree, expected)


def test_rollup_counts_complete_buckets_of_its_window_and_metric():
    df = org_spend(complete_until="2026-01-04")  # the 4th still runs
    tree = rollup(df, ORG).set_index("client_id")
    assert tree["own"].tolist()[:3] == [3.0, 6.0, 9.0]
    window = rollup(df, ORG, start="2026-01-02", end="2026-01-03").set_index("client_id")
    assert window["own"].tolist()[:3] == [1.0, 2.0, 3.0]
    assert rollup(df, ORG, as_of="2026-01-02 12:00")["own"].tolist()[:3] == [1.0, 2.0, 3.0]
    calls = rollup(df, ORG, metric="total_calls").set_index("client_id")
    assert calls.loc[1, "own"] == 3000.0 and calls.loc[1, "subtree"] == 9000.0


def test_rollup_of_a_zero_total_has_no_shares():
    df = org_spend()
    df["value"] = 0.0
    tree = rollup(df, ORG)
    assert tree["share"].isna().all()
    assert tree["own"].tolist()[:3] == [0.0, 0.0, 0.0]


def test_rollup_of_departments_without_levels_uses_their_depth():
    tree = rollup(org_spend(), ORG.drop(columns="level"))
    assert tree["level"].tolist() == [1, 2, 3, 2, 1, 1]


def test_rollup_returns_a_new_frame_and_keeps_missing_series():
    df = org_spend()
    df.attrs["missing_series"] = ["model_type=TTS"]
    before = df.copy()
    for out in (
        rollup(df, ORG),
        allocation(df),
        unit_costs(images("2026-01-01", "2026-01-05", lambda i: 1.0 + 0 * i.day)),
    ):
        assert isinstance(out, pd.DataFrame)
    assert rollup(df, ORG).attrs == {"missing_series": ["model_type=TTS"]}
    assert allocation(df).attrs["missing_series"] == ["model_type=TTS"]
    pd.testing.assert_frame_equal(df, before)
    assert df.attrs == {"missing_series": ["model_type=TTS"]}


# --- allocation, whole frames -------------------------------------------------------------------


def matrix_spend(complete_until=None):
    """Two days: department 1 spends 3 on Chat and 1 on images a day, department 2 spends 5 on
    images; model_count (not additive) and image_count ride along."""
    return make_frame(
        "2026-01-01",
        "2026-01-03",
        {
            ("Chat", 1, "total_amount"): 3.0,
            ("ImageGeneration", 1, "total_amount"): 1.0,
            ("ImageGeneration", 2, "total_amount"): 5.0,
            ("ImageGeneration", 2, "image_count"): 50.0,
        },
        complete_until=complete_until,
    )


def table(first, rows, columns=("Department", "ImageGeneration", "Chat", "Total", "Share")):
    return pd.DataFrame(
        [[label, *values] for label, values in zip(first, rows, strict=True)], columns=list(columns)
    )


@pytest.mark.parametrize(
    ("values", "cells"),
    [
        ("amount", [[10.0, 0.0, 10.0], [2.0, 6.0, 8.0], [12.0, 6.0, 18.0]]),
        ("share", [[10 / 18, 0.0, 10 / 18], [2 / 18, 6 / 18, 8 / 18], [12 / 18, 6 / 18, 1.0]]),
        ("row_share", [[1.0, 0.0, 1.0], [0.25, 0.75, 1.0], [12 / 18, 6 / 18, 1.0]]),
        ("column_share", [[10 / 12, 0.0, 10 / 18], [2 / 12, 1.0, 8 / 18], [1.0, 1.0, 1.0]]),
    ],
)
def test_allocation_matrix_largest_first_with_totals(values, cells):
    out = allocation(matrix_spend(), values=values, names=TREE)
    shares = [10 / 18, 8 / 18, 1.0]
    expected = table(
        ["Child", "Top", "Total"], [[*c, s] for c, s in zip(cells, shares, strict=True)]
    )
    pd.testing.assert_frame_equal(out, expected)
    assert out.attrs == {
        "metric": "total_amount",
        "values": values,
        "start": day("2026-01-01"),
        "end": day("2026-01-03"),
    }


def test_allocation_by_model_type_and_department():
    out = allocation(matrix_spend(), rows="model_type", columns="client_id", names=TREE)
    expected = table(
        ["ImageGeneration", "Chat", "Total"],
        [[10.0, 2.0, 12.0, 12 / 18], [0.0, 6.0, 6.0, 6 / 18], [10.0, 8.0, 18.0, 1.0]],
        columns=("Model type", "Child", "Top", "Total", "Share"),
    )
    pd.testing.assert_frame_equal(out, expected)
    by_type = allocation(matrix_spend(), rows="model_type", columns=None)
    expected = table(
        ["ImageGeneration", "Chat", "Total"],
        [[12.0, 12 / 18], [6.0, 6 / 18], [18.0, 1.0]],
        columns=("Model type", "Total", "Share"),
    )
    pd.testing.assert_frame_equal(by_type, expected)


def test_allocation_of_other_metrics_and_running_buckets():
    images_made = allocation(matrix_spend(), metric="image_count", columns=None)
    assert images_made["Total"].tolist() == [100.0, 100.0]
    assert images_made.attrs["metric"] == "image_count"
    running = allocation(matrix_spend(complete_until="2026-01-02"), columns=None)
    assert running["Total"].tolist() == [5.0, 4.0, 9.0]
    assert running.attrs["end"] == day("2026-01-02")


def test_allocation_ties_keep_the_frames_order():
    df = make_frame(
        "2026-01-01",
        "2026-01-02",
        {
            ("Chat", 2, "total_amount"): 1.0,
            ("ImageGeneration", 2, "total_amount"): 1.0,
            ("Chat", 1, "total_amount"): 1.0,
            ("ImageGeneration", 1, "total_amount"): 1.0,
        },
    )
    out = allocation(df)
    assert out.columns.tolist() == ["Department", "Chat", "ImageGeneration", "Total", "Share"]
    assert out["Department"].tolist() == ["1", "2", "Total"]


def test_allocation_of_a_zero_total_has_no_shares():
    df = matrix_spend()
    df["value"] = 0.0
    amounts = allocation(df)
    assert amounts["Total"].tolist() == [0.0, 0.0, 0.0] and amounts["Share"].isna().all()
    for values in ("share", "row_share", "column_share"):
        out = allocation(df, values=values)
        assert out.drop(columns="Department").isna().all().all(), values


def test_allocation_of_a_type_nobody_used_has_no_column_shares():
    df = matrix_spend()
    df.loc[df["model_type"] == "Chat", "value"] = 0.0
    out = allocation(df, values="column_share")
    assert out["ImageGeneration"].tolist() == [10 / 12, 2 / 12, 1.0]
    assert out["Chat"].isna().all()
    rows = allocation(df, values="row_share", rows="model_type", columns="client_id")
    assert rows.iloc[1, 1:4].isna().all() and rows.iloc[0, 1:4].tolist() == [10 / 12, 2 / 12, 1.0]


# --- unit costs, whole frames -------------------------------------------------------------------


def chat_and_images(complete_until=None):
    """Ten days from Monday 5 January: department 1 uses 2M tokens of Chat a day for 4 CNY; images
    cost 0.5 an image, 10 a day, for departments 1 and 2, but department 2 makes none on the
    first two days (free)."""
    return make_frame(
        "2026-01-05",
        "2026-01-15",
        {
            ("Chat", 1, "input_tokens"): 1.5e6,
            ("Chat", 1, "output_tokens"): 0.5e6,
            ("Chat", 1, "total_calls"): 99.0,
            ("Chat", 1, "total_amount"): 4.0,
            ("ImageGeneration", 1, "image_count"): 10.0,
            ("ImageGeneration", 1, "total_amount"): 5.0,
            ("ImageGeneration", 2, "image_count"): lambda i: np.where(i.day < 7, 0.0, 10.0),
            ("ImageGeneration", 2, "total_amount"): lambda i: np.where(i.day < 7, 0.0, 5.0),
        },
        complete_until=complete_until,
    )


def test_unit_costs_per_week_by_department():
    out = unit_costs(chat_and_images("2026-01-14"), by=["model_type", "client_id"], freq="W-MON")
    week, next_week = day("2026-01-05"), day("2026-01-12")
    expected = pd.DataFrame(
        {
            "timestamp": [week, next_week, week, next_week, week, next_week],
            "model_type": pd.Categorical(
                ["Chat"] * 2 + ["ImageGeneration"] * 4, categories=["Chat", "ImageGeneration"]
            ),
            "client_id": pd.array([1, 1, 1, 1, 2, 2], dtype="Int64"),
            "cost": [28.0, 8.0, 35.0, 10.0, 25.0, 10.0],
            "volume": [14e6, 4e6, 70.0, 20.0, 50.0, 20.0],
            "volume_unit": ["tokens"] * 2 + ["images"] * 4,
            "per": ["1M tokens"] * 2 + ["image"] * 4,
            "unit_cost": [2.0, 2.0, 0.5, 0.5, 0.5, 0.5],
            "complete": [True] * 6,
        }
    )
    expected["timestamp"] = expected["timestamp"].astype("datetime64[ns, Asia/Shanghai]")
    pd.testing.assert_frame_equal(out, expected)


def test_unit_costs_bucket_by_bucket_leave_free_buckets_without_a_unit_cost():
    out = unit_costs(chat_and_images(), by=["client_id", "model_type"], freq=None)
    assert out.columns.tolist()[:3] == ["timestamp", "model_type", "client_id"]
    second = out[(out["client_id"] == 2)]
    assert second["cost"].tolist()[:3] == [0.0, 0.0, 5.0]
    assert np.isnan(second["unit_cost"].iloc[0]) and second["unit_cost"].iloc[2] == 0.5
    assert out["timestamp"].iloc[0] == day("2026-01-05") and len(out) == 30
    whole = unit_costs(chat_and_images(), freq="MS")
    assert whole["cost"].tolist() == [40.0, 90.0]
    assert whole["unit_cost"].tolist() == [2.0, 0.5]
    assert whole["timestamp"].tolist() == [day("2026-01-01")] * 2


def test_unit_costs_of_a_frame_with_a_running_bucket():
    running = unit_costs(chat_and_images("2026-01-14"), freq="MS")
    assert running["cost"].tolist() == [36.0, 80.0]  # the 14th still runs
    # a later as_of never counts the last bucket when it was fetched running
    assert unit_costs(chat_and_images("2026-01-14"), freq="MS", as_of="2026-01-20").equals(running)
    early = unit_costs(chat_and_images("2026-01-14"), freq="MS", as_of="2026-01-12 08:00")
    assert early["cost"].tolist() == [28.0, 60.0]


def test_unit_costs_say_when_a_bucket_is_incomplete():
    df = chat_and_images()
    df.loc[df["timestamp"] == day("2026-01-13"), "complete"] = False  # a revised day
    out = unit_costs(df, freq="W-MON")
    assert out["complete"].tolist() == [True, False, True, False]


# --- price changes, whole frames ----------------------------------------------------------------


def test_price_changes_by_department_name_each_step():
    df = pd.concat(
        [
            images("2026-01-01", "2026-01-11", step_on("2026-01-06", 2.0, 1.5), client_id=1),
            images("2026-01-01", "2026-01-11", lambda i: 1.0 + 0 * i.day, client_id=2),
            images("2026-01-01", "2026-01-11", step_on("2026-01-05", 1.0, 3.0), client_id=3),
        ],
        ignore_index=True,
    )
    df.attrs["missing_series"] = ["model_type=TTS"]
    steps = price_changes(df, by=["model_type", "client_id"], window=4)
    assert steps.columns.tolist() == [
        "model_type",
        "client_id",
        "timestamp",
        "before",
        "after",
        "change",
        "pct_change",
        "score",
        "per",
        "window_start",
        "window_end",
    ]
    assert steps["client_id"].tolist() == [1, 3] and str(steps["client_id"].dtype) == "Int64"
    assert steps["timestamp"].tolist() == [day("2026-01-06"), day("2026-01-05")]
    assert steps["model_type"].cat.categories.tolist() == ["ImageGeneration"]
    assert steps.attrs == {"missing_series": ["model_type=TTS"]}


def test_no_price_change_is_an_empty_frame_of_the_right_types():
    flat = images("2026-01-01", "2026-01-11", lambda i: 1.0 + 0 * i.day)
    steps = price_changes(flat, window=4)
    assert steps.empty
    assert steps.columns.tolist() == [
        "model_type",
        "timestamp",
        "before",
        "after",
        "change",
        "pct_change",
        "score",
        "per",
        "window_start",
        "window_end",
    ]
    for column in ("timestamp", "window_start", "window_end"):
        assert str(steps[column].dtype) == "datetime64[ns, Asia/Shanghai]"
    for column in ("before", "after", "change", "pct_change", "score"):
        assert steps[column].dtype == float
    assert str(steps["model_type"].dtype) == "category"


def with_model_count():
    df = make_frame(
        "2026-01-01",
        "2026-01-05",
        {("Chat", 1, "total_amount"): 1.0, ("Chat", 1, "model_count"): 2.0},
    )
    return df


NOT_ADDITIVE = (
    "model_count is a distinct count per bucket: it cannot be summed across buckets or groups. "
    "Compare it bucket by bucket, or pick an additive metric such as total_amount."
)


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (
            lambda: rollup(spend(), TREE.assign(parent_id=[2, 1])),
            "departments has a cycle through [1, 2].",
        ),
        (
            lambda: rollup(spend(), TREE, metric="model_count"),
            "metric 'model_count' is not in the frame; it holds: total_amount.",
        ),
        (
            lambda: rollup(with_model_count(), TREE, metric="model_count"),
            NOT_ADDITIVE,
        ),
        (
            lambda: allocation(with_model_count(), metric="model_count"),
            NOT_ADDITIVE,
        ),
        (
            lambda: allocation(spend(), metric="image_count"),
            "metric 'image_count' is not in the frame; it holds: total_amount.",
        ),
        (
            lambda: rollup(spend().to_dict(), TREE),
            "expected the tidy DataFrame fetch() returns, not dict.",
        ),
        (
            lambda: unit_costs(spend().drop(columns="complete")),
            "not a tidy frame: the column(s) complete are missing. Pass the long frame fetch() "
            "returns (not tidy.wide(...)).",
        ),
        (
            lambda: unit_costs(spend().query("metric == 'nothing'")),
            "metric 'total_amount' is not in the frame; it holds: nothing.",
        ),
        # a defect fixed: price_changes built a frame of whatever it was given before checking
        # it (a pandas ValueError for a string; a dict of columns was taken as a frame)
        (
            lambda: price_changes(spend().to_dict()),
            "expected the tidy DataFrame fetch() returns, not dict.",
        ),
        (
            lambda: price_changes("costs.csv"),
            "expected the tidy DataFrame fetch() returns, not str.",
        ),
        (
            lambda: allocation(spend(), rows="model_type", columns="model_type"),
            "rows and columns must be 'client_id' and 'model_type' (one each; columns may be "
            "None), not 'model_type' and 'model_type'.",
        ),
        (
            lambda: allocation(spend(), rows="metric", columns=None),
            "rows and columns must be 'client_id' and 'model_type' (one each; columns may be "
            "None), not 'metric' and None.",
        ),
        (
            lambda: allocation(spend(), values="percent"),
            "values must be 'amount', 'share', 'row_share' or 'column_share', not 'percent'.",
        ),
        (
            lambda: allocation(spend((None,))),
            "allocation by department needs a frame split by department: fetch with "
            "by='client_id' (a split without client_ids covers every department).",
        ),
        (
            lambda: unit_costs(spend((None,)), by=["model_type", "client_id"]),
            "unit_costs by department needs a frame split by department: fetch with "
            "by='client_id' (a split without client_ids covers every department).",
        ),
        (
            lambda: unit_costs(spend(), by="client_id"),
            "by must be 'model_type' or ['model_type', 'client_id']: a unit cost is per model "
            "type, whose volume has its own unit; not 'client_id'.",
        ),
        (
            lambda: unit_costs(spend(), by=["model_type", "metric"]),
            "by must be 'model_type' or ['model_type', 'client_id']: a unit cost is per model "
            "type, whose volume has its own unit; not ['model_type', 'metric'].",
        ),
        (
            lambda: unit_costs(
                pd.concat([spend(), images("2026-01-01", "2026-01-05", lambda i: 1.0 + 0 * i.day)])
                .query("metric == 'total_amount'")
                .reset_index(drop=True)
            ),
            "unit_costs needs each model type's volume; the frame lacks it for Chat "
            "(input_tokens, output_tokens, reasoning_tokens); ImageGeneration (image_count). "
            "Pass the frame fetch() returns, all metrics.",
        ),
        (
            lambda: price_changes(spend(), window=1),
            "window must be a whole number of buckets >= 2, not 1.",
        ),
        (
            lambda: price_changes(spend(), window=True),
            "window must be a whole number of buckets >= 2, not True.",
        ),
        (
            lambda: price_changes(spend(), window=7.0),
            "window must be a whole number of buckets >= 2, not 7.0.",
        ),
        (
            lambda: price_changes(spend(), min_change=1),
            "min_change must be a fraction from 0 to 1, such as 0.03, not 1.",
        ),
        (
            lambda: price_changes(spend(), min_change=-0.01),
            "min_change must be a fraction from 0 to 1, such as 0.03, not -0.01.",
        ),
        (
            lambda: price_changes(spend(), min_change="3%"),
            "min_change must be a fraction from 0 to 1, such as 0.03, not '3%'.",
        ),
        (
            lambda: price_changes(spend(), min_score=-1),
            "min_score must be a number >= 0, not -1.",
        ),
        (
            lambda: price_changes(spend(), min_score="4"),
            "min_score must be a number >= 0, not '4'.",
        ),
    ],
)
def test_more_error_messages(call, message):
    with pytest.raises(QueryError) as err:
        call()
    assert str(err.value) == message


def test_the_boundary_arguments_are_accepted():
    df = images("2026-01-01", "2026-01-11", step_on("2026-01-06", 2.0, 1.5))
    assert len(price_changes(df, window=2, min_change=0, min_score=0)) >= 1
    assert len(price_changes(df, window=5, min_change=0.0, min_score=0.0)) == 1


# --- spend without a department, credits, and the edges of the shares ---------------------------


def with_unassigned():
    """Department 1 spends 3 a day on Chat, department 2 1 on images; 2 a day has no department."""
    return make_frame(
        "2026-01-01",
        "2026-01-03",
        {
            ("Chat", 1, "total_amount"): 3.0,
            ("Chat", None, "total_amount"): 2.0,
            ("ImageGeneration", 2, "total_amount"): 1.0,
        },
    )


def test_spend_without_a_department_is_labelled_so():
    # a defect fixed: with names it raised a TypeError (int(<NA>)); without, its label was NaN
    for names in (None, TREE, {1: "Top"}):
        out = allocation(with_unassigned(), names=names)
        assert out["Department"].iloc[1] == "No department"
        assert out["Total"].tolist() == [6.0, 4.0, 2.0, 12.0]
    flipped = allocation(with_unassigned(), rows="model_type", columns="client_id", names=TREE)
    assert flipped.columns.tolist() == [
        "Model type",
        "Top",
        "No department",
        "Child",
        "Total",
        "Share",
    ]
    assert flipped["No department"].tolist() == [4.0, 0.0, 4.0]


def credits():
    """Department 1 spends 5 a day, department 2 is credited 5 a day: a total of zero."""
    return make_frame(
        "2026-01-01",
        "2026-01-03",
        {("Chat", 1, "total_amount"): 5.0, ("Chat", 2, "total_amount"): -5.0},
    )


def test_credits_that_cancel_the_spend_leave_shares_undefined_not_infinite():
    out = allocation(credits(), columns=None)
    assert out["Total"].tolist() == [10.0, -10.0, 0.0]
    assert out["Share"].isna().all()
    assert allocation(credits(), values="share").drop(columns="Department").isna().all().all()
    tree = rollup(credits(), TREE)
    assert tree["subtree"].tolist() == [0.0, -10.0] and tree["share"].isna().all()


def test_a_row_or_column_total_of_one_is_a_total_like_any_other():
    df = make_frame(
        "2026-01-01",
        "2026-01-02",
        {
            ("Chat", 1, "total_amount"): 0.25,
            ("ImageGeneration", 1, "total_amount"): 0.75,
            ("ImageGeneration", 2, "total_amount"): 1.0,
        },
    )
    rows = allocation(df, values="row_share")
    assert rows["ImageGeneration"].tolist() == [0.75, 1.0, 1.75 / 2]
    columns = allocation(df, values="column_share")
    assert columns["Chat"].tolist() == [1.0, 0.0, 1.0]
    chat = make_frame(
        "2026-01-01",
        "2026-01-02",
        {("Chat", 1, "total_amount"): 0.25, ("Chat", 2, "total_amount"): 0.75},
    )
    assert allocation(chat, values="column_share")["Chat"].tolist() == [0.75, 0.25, 1.0]


def test_column_shares_by_model_type():
    out = allocation(matrix_spend(), rows="model_type", columns="client_id", values="column_share")
    assert out.columns.tolist() == ["Model type", "2", "1", "Total", "Share"]
    assert out["2"].tolist() == [1.0, 0.0, 1.0]
    assert out["1"].tolist() == [0.25, 0.75, 1.0]


def test_allocation_as_of_counts_the_buckets_ended_by_then():
    out = allocation(matrix_spend(), columns=None, as_of="2026-01-02 12:00")
    assert out["Total"].tolist() == [5.0, 4.0, 9.0]
    assert out.attrs["end"] == day("2026-01-02")


def test_allocation_shows_only_the_types_with_the_metric():
    out = allocation(matrix_spend(), metric="image_count")
    assert out.columns.tolist() == ["Department", "ImageGeneration", "Total", "Share"]
    assert out["Department"].tolist() == ["2", "Total"]


def test_rollup_of_a_department_without_the_metric_is_zero_not_missing():
    df = make_frame(
        "2026-01-01",
        "2026-01-03",
        {("Chat", 1, "total_amount"): 2.0, ("Chat", 2, "total_calls"): 10.0},
    )
    tree = rollup(df, TREE)
    assert tree["own"].tolist() == [4.0, 0.0] and tree["all_fetched"].all()


def test_rollup_keeps_the_levels_as_listed():
    deps = TREE.assign(level=[0, 1])  # counted from 0 by whoever listed them
    assert rollup(spend(), deps)["level"].tolist() == [0, 1]
    assert rollup(spend(), deps)["depth"].tolist() == [1, 2]


# --- runs of flagged buckets: one step per run, at its largest difference -----------------------


def test_a_steady_climb_is_one_step_not_one_per_bucket():
    # the log of the unit cost climbs steadily from the 21st of January to the 10th of February
    climb = lambda i: np.exp(np.interp(np.arange(len(i)), [0, 20, 40, 60], [0, 0, 1, 1]))  # noqa: E731
    steps = price_changes(images("2026-01-01", "2026-03-02", climb), window=4)
    assert steps["timestamp"].tolist() == [day("2026-02-02")]
    assert steps["pct_change"].item() == pytest.approx(np.expm1(0.2), rel=1e-6)


def test_a_small_step_before_a_large_one_does_not_hide_it():
    # +10 % on the 25th of January, then to twice the first level on the 1st of February
    stairs = lambda i: np.where(  # noqa: E731
        i >= day("2026-02-01"), 2.0, np.where(i >= day("2026-01-25"), 1.1, 1.0)
    )
    steps = price_changes(images("2026-01-01", "2026-03-02", stairs), window=10)
    assert steps["timestamp"].tolist() == [day("2026-02-01")]
    assert steps["pct_change"].item() == pytest.approx(0.9 / 1.1, rel=1e-6)


def test_equal_totals_keep_the_order_of_the_ids_even_among_many():
    # twenty departments: the odd ones spend 2, the even ones 1 (a sort that is not stable
    # shuffles ties from 17 values up)
    df = make_frame(
        "2026-01-01",
        "2026-01-02",
        {("Chat", c, "total_amount"): 1.0 + c % 2 for c in range(1, 21)},
    )
    order = [str(c) for c in [*range(1, 21, 2), *range(2, 21, 2)]]
    assert allocation(df, columns=None)["Department"].tolist() == [*order, "Total"]
    flipped = allocation(df, rows="model_type", columns="client_id")
    assert flipped.columns.tolist() == ["Model type", *order, "Total", "Share"]


# --- unit costs at their edges ------------------------------------------------------------------


def test_unit_costs_of_groups_missing_their_cost_or_their_volume():
    df = make_frame(
        "2026-01-01",
        "2026-01-03",
        {
            ("ImageGeneration", 1, "image_count"): 10.0,  # no cost listed: free
            ("ImageGeneration", 2, "image_count"): 10.0,
            ("ImageGeneration", 2, "total_amount"): 5.0,
            ("ImageGeneration", 3, "total_amount"): 5.0,  # cost without volume
            ("ImageGeneration", 4, "image_count"): 1.0,  # a single image a day
            ("ImageGeneration", 4, "total_amount"): 0.4,
            ("ImageGeneration", None, "image_count"): 0.5,  # no department
            ("ImageGeneration", None, "total_amount"): 1.0,
        },
    )
    out = unit_costs(df, by=["model_type", "client_id"], freq=None)
    first = out[out["timestamp"] == day("2026-01-01")]
    assert first["client_id"].tolist()[:4] == [1, 2, 3, 4] and first["client_id"].isna().iloc[4]
    assert first["cost"].tolist() == [0.0, 5.0, 5.0, 0.4, 1.0]
    assert first["volume"].tolist() == [10.0, 10.0, 0.0, 1.0, 0.5]
    assert first["unit_cost"].tolist()[:2] == [0.0, 0.5] and np.isnan(first["unit_cost"].iloc[2])
    assert first["unit_cost"].tolist()[3:] == [0.4, 2.0]
    assert out["complete"].all()


def test_unit_costs_keep_the_frames_model_types():
    df = pd.concat(
        [
            images("2026-01-01", "2026-01-03", lambda i: 0.5 + 0 * i.day),
            make_frame(
                "2026-01-01",
                "2026-01-03",
                {("Chat", None, "input_tokens"): 1e6, ("Chat", None, "total_amount"): 2.0},
            ),
        ],
        ignore_index=True,
    )
    df["model_type"] = pd.Categorical(df["model_type"], categories=["ImageGeneration", "Chat"])
    df["metric"] = df["metric"].astype(str).astype("category")
    df["unit"] = df["unit"].astype(str).astype("category")
    only_images = df[df["model_type"] == "ImageGeneration"]  # Chat stays a category
    out = unit_costs(only_images, freq=None)
    assert out["model_type"].tolist() == ["ImageGeneration", "ImageGeneration"]
    assert out["model_type"].cat.categories.tolist() == ["ImageGeneration", "Chat"]
    assert out["complete"].tolist() == [True, True]
    both = unit_costs(df, freq=None)
    assert both["model_type"].cat.categories.tolist() == ["ImageGeneration", "Chat"]
    assert both["unit_cost"].tolist() == [0.5, 0.5, 2.0, 2.0]
    assert unit_cost_scale("ASR") == ("s", 3600.0, "hour")


def test_price_changes_keep_the_frames_model_types_and_departmentless_spend():
    df = images("2026-01-01", "2026-01-11", step_on("2026-01-06", 2.0, 1.5), client_id=None)
    df = pd.concat([df, images("2026-01-01", "2026-01-11", lambda i: 1.0 + 0 * i.day, client_id=1)])
    df = df.reset_index(drop=True)
    df["model_type"] = pd.Categorical(df["model_type"], categories=["TTS", "ImageGeneration"])
    steps = price_changes(df, by=["model_type", "client_id"], window=5)
    assert steps["client_id"].isna().tolist() == [True]
    assert steps["model_type"].cat.categories.tolist() == ["TTS", "ImageGeneration"]


def test_price_changes_count_the_buckets_ended_by_as_of():
    df = images("2026-01-01", "2026-01-11", step_on("2026-01-06", 2.0, 1.5))
    assert len(price_changes(df, window=5)) == 1
    assert price_changes(df, window=5, as_of="2026-01-10").empty  # nine days: too short


def test_the_default_min_score_is_four():
    # +-1 % alternating noise (a standard error of 0.0131 for windows of 8), then a rise of
    # 4.5 standard errors
    wiggle = lambda i: np.exp(0.01 * (-1.0) ** np.arange(len(i)))  # noqa: E731
    se = 1.2533 * (1.4826 * 0.02 / np.sqrt(2.0)) * np.sqrt(2.0 / 8)
    rise = np.exp(4.5 * se)
    df = images("2026-01-01", "2026-01-17", lambda i: step_on("2026-01-09", 1, rise)(i) * wiggle(i))
    steps = price_changes(df, window=8)
    assert steps["score"].tolist() == pytest.approx([4.5], rel=1e-6)
    assert price_changes(df, window=8, min_score=4.6).empty


def test_a_rise_and_a_fall_closer_than_a_window_keep_the_stronger():
    # doubled on the 20th of January, down to 1.2 a week later; windows of eight days
    rise_fall = lambda i: np.where(  # noqa: E731
        i >= day("2026-01-27"), 1.2, np.where(i >= day("2026-01-20"), 2.0, 1.0)
    )
    steps = price_changes(images("2026-01-01", "2026-03-02", rise_fall), window=8, min_change=0.0)
    assert steps["timestamp"].tolist() == [day("2026-01-20")]
    assert steps["pct_change"].tolist() == pytest.approx([1.0])


def test_a_revised_day_without_a_department_is_not_complete():
    df = make_frame(
        "2026-01-01",
        "2026-01-04",
        {
            ("ImageGeneration", 1, "image_count"): 10.0,
            ("ImageGeneration", 1, "total_amount"): 5.0,
            ("ImageGeneration", None, "image_count"): 10.0,
            ("ImageGeneration", None, "total_amount"): 5.0,
        },
    )
    df.loc[df["client_id"].isna() & (df["timestamp"] == day("2026-01-02")), "complete"] = False
    out = unit_costs(df, by=["model_type", "client_id"], freq=None)
    assert out["complete"].tolist() == [True, True, True, True, False, True]
