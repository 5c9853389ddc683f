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
