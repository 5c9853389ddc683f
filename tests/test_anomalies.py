import numpy as np
import pandas as pd
import pytest

from costtrend_nb.analysis import detect_anomalies
from costtrend_nb.errors import QueryError

from .frames import make_frame, weekly

SPIKE = pd.Timestamp("2026-08-12", tz="Asia/Shanghai")


def with_spike(values, when, factor=3.0):
    def spiked(index):
        v = values(index)
        return np.where(index == when, v * factor, v)

    return spiked


def frame(tts):
    return make_frame(
        "2026-05-01",
        "2026-10-01",
        {
            ("Chat", None, "total_amount"): weekly(1000.0, 0.05, seed=1),
            ("TTS", None, "total_amount"): tts,
            ("ImageGeneration", None, "total_amount"): weekly(400.0, 0.05, seed=3),
        },
    )


def test_a_3x_spike_is_flagged_and_attributed():
    df = frame(with_spike(weekly(300.0, 0.05, seed=2), SPIKE))
    found = detect_anomalies(df, "total_amount")
    flagged = found[found["anomaly"]]
    assert flagged["timestamp"].tolist() == [SPIKE]
    assert flagged["contributor"].iloc[0] == "TTS"
    assert flagged["contribution"].iloc[0] == pytest.approx(600.0, rel=0.15)
    per_type = detect_anomalies(df, "total_amount", by="model_type")
    hits = per_type[per_type["anomaly"]]
    assert hits[["timestamp", "model_type"]].astype(str).values.tolist() == [[str(SPIKE), "TTS"]]


def test_a_quiet_series_flags_nothing():
    found = detect_anomalies(frame(weekly(300.0, 0.05, seed=2)), "total_amount", by="model_type")
    assert not found["anomaly"].any()


def test_hourly_spike_and_quiet_hours():
    rng = np.random.default_rng(4)
    shape = np.array([0.1] * 7 + [0.6, 1, 1, 1, 0.8, 0.7, 1, 1, 1, 0.9, 0.6] + [0.3] * 6)
    when = pd.Timestamp("2026-09-10 15:00", tz="Asia/Shanghai")

    def hours(index):
        return 50.0 * shape[index.hour] * np.exp(rng.normal(0, 0.05, len(index)))

    series = {
        ("Chat", None, "total_amount"): with_spike(hours, when),
        ("TTS", None, "total_amount"): 5.0,
    }
    df = make_frame("2026-08-20", "2026-09-20", series, freq="h")
    flagged = detect_anomalies(df).query("anomaly")
    assert flagged["timestamp"].tolist() == [when] and flagged["contributor"].tolist() == ["Chat"]


def test_running_buckets_are_never_scored():
    df = make_frame(
        "2026-05-01",
        "2026-10-01",
        {
            ("Chat", None, "total_amount"): with_spike(
                weekly(seed=5), pd.Timestamp("2026-09-30", tz="Asia/Shanghai"), 0.1
            )
        },
        complete_until="2026-09-30",
    )
    found = detect_anomalies(df)
    assert found["timestamp"].max() == pd.Timestamp("2026-09-29", tz="Asia/Shanghai")
    assert not found["anomaly"].any()


def test_arguments_and_no_mutation():
    df = frame(weekly(300.0, seed=2))
    before = df.copy()
    with pytest.raises(QueryError, match="threshold"):
        detect_anomalies(df, threshold=0)
    with pytest.raises(QueryError, match="attribute"):
        detect_anomalies(df, by="model_type", attribute="model_type")
    detect_anomalies(df, by="model_type")
    pd.testing.assert_frame_equal(df, before)


def test_a_small_series_must_also_be_material():
    small = with_spike(weekly(5.0, 0.05, seed=6), SPIKE)  # ¥5 a day, ¥10 more on the day
    df = make_frame(
        "2026-05-01",
        "2026-10-01",
        {
            ("Chat", None, "total_amount"): weekly(1000.0, 0.05, seed=1),
            ("Rerank", None, "total_amount"): small,
        },
    )
    found = detect_anomalies(df, by="model_type")
    row = found[(found["model_type"] == "Rerank") & (found["timestamp"] == SPIKE)]
    assert row["score"].item() > 7  # unusual ...
    assert not row["material"].item() and not found["anomaly"].any()  # ... but only ¥10
    loose = detect_anomalies(df, by="model_type", min_amount=5)
    hits = loose[loose["anomaly"]]
    assert hits[["timestamp", "model_type"]].astype(str).values.tolist() == [[str(SPIKE), "Rerank"]]
    # a share of the group's typical day: a 3x day is +200 %, so 2.5 is out of reach
    assert not detect_anomalies(df, by="model_type", min_amount=0, min_share=2.5)["anomaly"].any()


def test_materiality_arguments_are_checked():
    df = frame(weekly(300.0, seed=2))
    for bad in (-1, "20", True, float("nan")):
        with pytest.raises(QueryError, match="min_amount"):
            detect_anomalies(df, min_amount=bad)
        with pytest.raises(QueryError, match="min_share"):
            detect_anomalies(df, min_share=bad)
