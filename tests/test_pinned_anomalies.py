"""Behaviours of ``detect_anomalies`` that mutation testing found unpinned (issue 16).

Small synthetic series whose expected values and scores are known by construction.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

# imported here, not at the first fit: mutation runs fork from a process that collected the
# tests, so each mutant's run need not import statsmodels again (0.7 s of CPU)
import statsmodels.tsa.seasonal  # noqa: F401

from costtrend_nb.analysis import detect_anomalies
from costtrend_nb.analysis.anomalies import _material
from costtrend_nb.errors import QueryError

from .frames import make_frame, weekly

TZ = "Asia/Shanghai"
SPIKE = pd.Timestamp("2026-08-12", tz=TZ)


def one_series(values, start="2026-01-01", freq="D"):
    values = np.asarray(values, dtype=float)
    step = pd.Timedelta(days=1) if freq == "D" else pd.Timedelta(hours=1)
    end = (pd.Timestamp(start) + step * len(values)).isoformat()
    return make_frame(
        start, end, {("Chat", None, "total_amount"): lambda ix: values[: len(ix)]}, freq=freq
    )


def days(n, level=1000.0, seed=1):
    return weekly(level, 0.05, seed=seed)(pd.date_range("2026-01-01", periods=n, freq="D"))


def test_a_short_series_is_judged_against_its_median():
    """Under two weeks there is no season to fit: the expected value is the median, and with
    no spread (12 equal days) the scale falls back to the residuals' standard deviation."""
    out = detect_anomalies(one_series([10.0] * 12 + [40.0]), min_amount=0)
    np.testing.assert_allclose(out["expected"], 10.0)
    np.testing.assert_allclose(out["score"], [0.0] * 12 + [13 / np.sqrt(12)])
    assert not out["anomaly"].any()  # 3.75 robust z-scores: unusual only beyond 7
    assert detect_anomalies(one_series([10.0] * 12 + [40.0]), threshold=3.7)["anomaly"].iloc[-1]


def test_two_weeks_are_enough_for_a_weekly_shape():
    shape = np.tile([100.0, 100, 100, 100, 100, 40, 40], 2)  # 1 January 2026 is a Thursday
    out = detect_anomalies(one_series(np.roll(shape, -4)[:14]))
    np.testing.assert_allclose(out["expected"], out["value"], rtol=0.01)
    flat = detect_anomalies(one_series(np.roll(shape, -4)[:13]))
    assert flat["expected"].nunique() == 1


def test_scores_are_robust_z_scores_of_the_residuals():
    """Median 0, and a median absolute score of 1 / 1.4826, in every series."""
    v = days(35)
    v[20] *= 3
    out = detect_anomalies(one_series(v))
    assert np.median(out["score"]) == pytest.approx(0.0, abs=1e-9)
    assert np.median(np.abs(out["score"])) == pytest.approx(1 / 1.4826)
    # the fit is robust: the spike does not lift its own expected value (1,408 if it did)
    assert out["expected"].iloc[20] == pytest.approx(1000.0, rel=0.06)
    assert out["score"].iloc[20] > 40 and out["anomaly"].sum() == 1


def test_a_week_long_dip_stands_out_on_sixteen_weeks():
    """From 112 days a 29-day trend keeps a holiday week from dragging its own expected value
    down: all seven days are flagged; on 111 days STL's shorter default trend follows it."""
    for n in (112, 111):
        v = days(n)
        v[56:63] *= 0.5
        out = detect_anomalies(one_series(v))
        flagged = out["anomaly"].iloc[56:63].sum()
        assert (flagged, out["anomaly"].sum()) == (7, 7) if n == 112 else flagged < 7


def test_an_hour_is_expected_to_be_like_the_same_hour_of_the_other_days():
    """36 hours from noon: the hours 12-23 were seen twice, the others once. A spike at 15:00
    on the second day is expected to be like 15:00 on the first, and the reverse."""
    shape = np.array([0.1] * 7 + [0.6, 1, 1, 1, 0.8, 0.7, 1, 1, 1, 0.9, 0.6] + [0.3] * 6)
    stamps = pd.date_range("2026-03-02 12:00", periods=36, freq="h")
    v = 100 * shape[stamps.hour] * np.exp(np.random.default_rng(0).normal(0, 0.03, 36))
    v[27] *= 3  # 15:00 on 3 March
    out = detect_anomalies(one_series(v, start="2026-03-02 12:00", freq="h"))
    assert out["expected"].iloc[27] == pytest.approx(v[3], rel=0.05)
    assert out["expected"].iloc[3] == pytest.approx(v[27], rel=0.05)
    assert np.isfinite(out["score"]).all()


def test_hours_mostly_zero_or_below_zero_are_scored():
    """A median hour of 0 (spend at night only) and refunds below zero still get finite scores
    and expected values; a refund series is judged on its own scale, not logs."""
    stamps = pd.date_range("2026-03-02", periods=96, freq="h")
    night = np.where(stamps.hour < 6, 5.0, 0.0)
    out = detect_anomalies(one_series(night, start="2026-03-02", freq="h"))
    assert np.isfinite(out["score"]).all()
    np.testing.assert_allclose(out["expected"], night, atol=1e-6)
    refunds = np.where(stamps.hour < 6, -5.0, 2.0)
    refunds[60] = 60.0  # noon on the third day
    out = detect_anomalies(one_series(refunds, start="2026-03-02", freq="h"))
    assert out["expected"].iloc[60] == pytest.approx(2.0)
    np.testing.assert_allclose(out["expected"].drop(index=60), np.delete(refunds, 60))


def test_materiality_floors_are_inclusive_and_measured_on_nearby_buckets():
    y = np.full(60, 120.0)
    expected = np.full(60, 100.0)
    assert _material(y, expected, "D", 20.0, 0.2).all()  # exactly 20 and exactly 20 %
    assert not _material(y, expected, "D", 20.5, 0.2).any()
    assert not _material(y, expected, "D", 20.0, 0.21).any()
    # a typical bucket from the four weeks around: the level before a step sets the bar for
    # buckets well before it, the level after for the ones just before it
    step = np.r_[np.full(40, 100.0), np.full(40, 1000.0)]
    bar = _material(step + 100.0, step, "D", 0.0, 0.2)
    assert bar[:40].all() and not bar[40:].any()
    hourly = _material(step + 100.0, step, "h", 0.0, 0.2)  # a week of hours: all of it here
    assert not hourly.any()


def test_the_contributor_is_the_department_that_moved_the_same_day():
    """Two spikes in TTS, from two departments, on two days: each is put down to its own."""
    first, second = pd.Timestamp("2026-08-12", tz=TZ), pd.Timestamp("2026-09-09", tz=TZ)

    def spiked(level, seed, when):
        base = weekly(level, 0.05, seed=seed)
        return lambda ix: np.where(ix == when, 3.0, 1.0) * base(ix)

    df = make_frame(
        "2026-06-01",
        "2026-10-01",
        {
            ("Chat", 1, "total_amount"): weekly(1000.0, 0.05, seed=1),
            ("TTS", 1, "total_amount"): spiked(150.0, 2, second),
            ("TTS", 2, "total_amount"): spiked(300.0, 3, first),
        },
    )
    found = detect_anomalies(df, by="model_type").query("anomaly")
    assert found["timestamp"].tolist() == [first, second]
    assert found["contributor"].tolist() == [2, 1]  # department ids, as ints
    assert found["contribution"].to_numpy() == pytest.approx([600.0, 300.0], rel=0.15)
    named = detect_anomalies(df, attribute="client_id").query("anomaly")
    assert named["contributor"].tolist() == [2]  # the second is only +20 % of the total
    by_type = detect_anomalies(df, attribute="model_type").query("anomaly")
    assert by_type["contributor"].tolist() == ["TTS"]


def test_attribution_only_to_a_dimension_that_varies():
    spike = days(122)
    spike[70] *= 3
    one = make_frame("2026-06-01", "2026-10-01", {("Chat", None, "total_amount"): lambda ix: spike})
    assert detect_anomalies(one)["anomaly"].sum() == 1
    assert detect_anomalies(one)["contributor"].isna().all()
    # a split whose one other part has no department id is still a split by department
    two = make_frame(
        "2026-06-01",
        "2026-10-01",
        {
            ("Chat", None, "total_amount"): lambda ix: days(122, seed=4),
            ("Chat", 5, "total_amount"): lambda ix: spike,
        },
    )
    assert detect_anomalies(two).query("anomaly")["contributor"].tolist() == [5]
    with pytest.raises(QueryError) as err:
        detect_anomalies(one, attribute="department")
    assert str(err.value) == (
        "attribute must be 'model_type' or 'client_id', and not one of the by columns."
    )


def hours_from(start, values):
    return one_series(values, start=start, freq="h")


def test_hours_are_scaled_hour_by_hour():
    """Nights that swing 30 % an hour next to days that swing 1 %: judged on one scale for all
    hours, the nights would look out of pattern; scaled per hour of the day, nothing is."""
    stamps = pd.date_range("2026-03-02", periods=24 * 21, freq="h")
    night = stamps.hour < 7
    noise = np.where(night, 0.3, 0.01) * np.random.default_rng(7).normal(0, 1, len(stamps))
    v = 1000.0 * np.exp(noise)
    out = detect_anomalies(hours_from("2026-03-02", v), min_amount=0, min_share=0)
    assert not out["anomaly"].any()


def test_two_weeks_of_hours_expect_the_same_hour_of_the_same_weekday():
    stamps = pd.date_range("2026-03-02", periods=336, freq="h")
    v = np.where(stamps.day_of_week >= 5, 40.0, 100.0) * np.where(stamps.hour < 7, 0.5, 1)
    out = detect_anomalies(hours_from("2026-03-02", v))
    np.testing.assert_allclose(out["expected"], v, atol=1e-6)
    # under two weeks, the same hour of any day: weekends are expected at weekday levels
    shorter = detect_anomalies(hours_from("2026-03-02", v[:335]))
    assert np.abs(shorter["expected"] - shorter["value"]).max() > 20


def test_less_than_a_day_of_hours_is_expected_as_it_is():
    out = detect_anomalies(hours_from("2026-03-02", np.arange(1.0, 21.0)))
    np.testing.assert_allclose(out["expected"], np.arange(1.0, 21.0))
    assert (out["score"] == 0).all()


def test_the_hourly_contribution_is_measured_against_the_hours_pattern():
    shape = np.array([0.1] * 7 + [0.6, 1, 1, 1, 0.8, 0.7, 1, 1, 1, 0.9, 0.6] + [0.3] * 6)
    when = pd.Timestamp("2026-09-10 15:00", tz=TZ)
    rng = np.random.default_rng(4)

    def chat(index):
        x = 50.0 * shape[index.hour] * np.exp(rng.normal(0, 0.05, len(index)))
        return np.where(index == when, 3 * x, x)

    series = {("Chat", None, "total_amount"): chat, ("TTS", None, "total_amount"): 5.0}
    df = make_frame("2026-08-20", "2026-09-20", series, freq="h")
    found = detect_anomalies(df).query("anomaly")
    assert found["timestamp"].tolist() == [when] and found["contributor"].tolist() == ["Chat"]
    assert found["contribution"].item() == pytest.approx(100.0, rel=0.1)  # 3 x 50, less 50


def test_a_part_without_a_department_id_can_be_the_contributor():
    def spike(level, seed, factor=3.0):
        base = weekly(level, 0.05, seed=seed)
        return lambda ix: np.where(ix == SPIKE, factor, 1.0) * base(ix)

    df = make_frame(
        "2026-06-01",
        "2026-10-01",
        {
            ("Chat", None, "total_amount"): weekly(1000.0, 0.05, seed=1),
            ("TTS", None, "total_amount"): spike(300.0, 2, factor=6.0),
            ("Chat", 5, "total_amount"): spike(1000.0, 3, factor=2.0),
            ("TTS", 5, "total_amount"): weekly(300.0, 0.05, seed=4),
        },
    )
    by_dept = detect_anomalies(df, by="client_id").query("anomaly")
    assert by_dept["client_id"].astype(object).tolist() == [5, pd.NA]
    assert by_dept["contributor"].tolist() == ["Chat", "TTS"]  # each within its department
    by_type = detect_anomalies(df, by="model_type").query("anomaly")
    tts = by_type[by_type["model_type"] == "TTS"]
    assert tts["contributor"].tolist() == [None]  # the part with no id
    assert tts["contribution"].item() == pytest.approx(1500.0, rel=0.15)


def test_the_running_bucket_never_moves_an_attribution():
    """A frame with the running day and the same frame without it give the same answer."""
    late = pd.Timestamp("2026-09-22", tz=TZ)

    def spiked(ix):
        return np.where(ix == late, 3.0, 1.0) * weekly(300.0, 0.05, seed=2)(ix)

    series = {
        ("Chat", None, "total_amount"): weekly(1000.0, 0.05, seed=1),
        ("TTS", None, "total_amount"): spiked,
    }
    df = make_frame("2026-06-01", "2026-10-01", series, complete_until="2026-09-30")
    df.loc[~df["complete"], "value"] *= 0.05  # an hour into the day
    cut = df[df["complete"]].reset_index(drop=True)
    with_running = detect_anomalies(df).query("anomaly")
    assert with_running["timestamp"].tolist() == [late]
    pd.testing.assert_frame_equal(with_running, detect_anomalies(cut).query("anomaly"))


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"threshold": 0}, "threshold must be a positive number of robust z-scores, not 0."),
        ({"threshold": True}, "threshold must be a positive number of robust z-scores, not True."),
        ({"threshold": "7"}, "threshold must be a positive number of robust z-scores, not '7'."),
        ({"min_amount": -1}, "min_amount must be a number of at least 0, not -1."),
        ({"min_amount": True}, "min_amount must be a number of at least 0, not True."),
        ({"min_share": float("nan")}, "min_share must be a number of at least 0, not nan."),
        ({"min_share": "0.2"}, "min_share must be a number of at least 0, not '0.2'."),
        (
            {"by": "model_type", "attribute": "model_type"},
            "attribute must be 'model_type' or 'client_id', and not one of the by columns.",
        ),
    ],
)
def test_bad_arguments_get_the_whole_message(kwargs, message):
    with pytest.raises(QueryError) as err:
        detect_anomalies(one_series([10.0] * 13), **kwargs)
    assert str(err.value) == message


def test_metrics_absent_or_not_additive_get_the_whole_message():
    with pytest.raises(QueryError) as err:
        detect_anomalies(one_series([10.0] * 13), "output_tokens")
    assert str(err.value) == "metric 'output_tokens' is not in the frame; it holds: total_amount."
    counts = make_frame("2026-01-01", "2026-01-14", {("Chat", None, "model_count"): 3.0})
    with pytest.raises(QueryError) as err:
        detect_anomalies(counts, "model_count")
    assert str(err.value) == (
        "model_count is a distinct count per bucket: it cannot be summed across buckets or "
        "groups. Compare it bucket by bucket, or pick an additive metric such as total_amount."
    )


def test_as_of_decides_the_last_bucket_scored_and_groups_gone_are_not_scored():
    out = detect_anomalies(one_series([10.0] * 12 + [40.0]), as_of="2026-01-10")
    assert out["timestamp"].iloc[-1] == pd.Timestamp("2026-01-09", tz=TZ) and len(out) == 9
    np.testing.assert_allclose(out["expected"], 10.0)
    df = make_frame(
        "2026-01-01",
        "2026-01-14",
        {("Chat", None, "total_amount"): 10.0, ("TTS", None, "total_amount"): 3.0},
    )
    chat = df[df["model_type"] == "Chat"]  # TTS stays a category of the column
    out = detect_anomalies(chat, by="model_type")
    assert out["model_type"].astype(str).unique().tolist() == ["Chat"] and len(out) == 13
    # nothing flagged: no contributor (None, not NaN), a float contribution, a plain index
    both = detect_anomalies(df, by="model_type")
    assert both["contributor"].tolist() == [None] * 26
    assert str(both["contribution"].dtype) == "float64" and both["contribution"].isna().all()
    assert both.index.tolist() == list(range(26))


def test_an_hours_materiality_bar_is_the_typical_hour_of_the_week_around_it():
    """Weekdays at 1000 an hour, weekends at 10: a Sunday hour 100 over its expected 10 is not
    worth a look (the typical hour of the week around it is 1000, and 20 % of it is 200); 300
    over is."""
    stamps = pd.date_range("2026-03-02", periods=24 * 21, freq="h")  # from a Monday, 3 weeks
    weekly_hours = np.where(stamps.day_of_week >= 5, 10.0, 1000.0)
    sunday_noon = 24 * 13 + 12  # 15 March
    for bump, material in ((100.0, False), (300.0, True)):
        v = weekly_hours.copy()
        v[sunday_noon] += bump
        out = detect_anomalies(hours_from("2026-03-02", v))
        assert out["expected"].iloc[sunday_noon] == pytest.approx(10.0)
        assert out["material"].iloc[sunday_noon] == material


def test_a_bucket_is_unusual_only_beyond_the_threshold_either_way():
    """The last day's score is 13 / sqrt(12): a threshold of exactly that flags nothing; a dip
    as deep is flagged as a spike is, and a threshold under 1 is allowed."""
    spike = detect_anomalies(one_series([10.0] * 12 + [40.0]), min_amount=0)
    score = float(spike["score"].iloc[-1])
    assert not detect_anomalies(one_series([10.0] * 12 + [40.0]), threshold=score)["anomaly"].any()
    dip = detect_anomalies(one_series([40.0] * 12 + [10.0]), threshold=0.5)
    assert dip["score"].iloc[-1] < -3 and dip["anomaly"].tolist() == [False] * 12 + [True]
    assert list(dip.columns) == [
        "timestamp",
        "value",
        "expected",
        "score",
        "anomaly",
        "material",
        "contributor",
        "contribution",
    ]


def test_floors_of_zero_make_every_bucket_material_even_a_lone_one():
    out = detect_anomalies(one_series([10.0]), min_amount=0, min_share=0)
    assert out["expected"].tolist() == pytest.approx([10.0]) and out["material"].tolist() == [True]
