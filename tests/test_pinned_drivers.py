"""Behaviours of explain_change (analysis/drivers.py) that mutation testing found unpinned
(issue 16): each model type's volume, cells too small to matter to a threshold, the zeros of
the split without numpy's warnings, hourly frames; and (second pass) explain_change's own
body: cells with no rows in one window, as_of, alignment, its errors, columns and order.

Each test fails when one plausible wrong change is made to the code; the docstring says which.
"""

from __future__ import annotations

import math
import warnings

import numpy as np
import pandas as pd
import pytest

from costtrend_nb.analysis import explain_change
from costtrend_nb.analysis.drivers import _log_mean, volume_of
from costtrend_nb.errors import QueryError

from .frames import make_frame

_TOKENS = ("input_tokens", "output_tokens", "reasoning_tokens")
_MODAL = (
    "input_text_tokens",
    "input_audio_tokens",
    "input_image_tokens",
    "input_video_tokens",
    "output_text_tokens",
    "output_audio_tokens",
)
_EMBED = ("billing_tokens", "image_tokens")


@pytest.mark.parametrize(
    ("model_type", "volume"),
    [
        ("Chat", (_TOKENS, "tokens")),
        ("ChatMultimodal", (_MODAL, "tokens")),
        ("ChatFullmodal", (_MODAL, "tokens")),
        ("ImageGeneration", (("image_count",), "images")),
        ("ImageEdit", (("image_count",), "images")),
        ("VideoGeneration", (("video_duration",), "s")),
        ("VideoImageGeneration", (("video_duration",), "s")),
        ("Embedding", (_EMBED, "tokens")),
        ("Rerank", (_EMBED, "tokens")),
        ("MultimodalEmbedding", (_EMBED, "tokens")),
        ("MultimodalRerank", (_EMBED, "tokens")),
        ("TTS", (("characters",), "chars")),
        ("ASR", (("asr_duration",), "s")),
        ("all", (("total_calls",), "calls")),  # a frame fetched without by="model_type"
        ("SpeechTranslation", (("total_calls",), "calls")),  # a type the catalogue lacks
    ],
)
def test_each_model_types_volume_and_its_unit(model_type, volume):
    assert volume_of(model_type) == volume


def _first_days(cells: dict[tuple[str, str], tuple[float, float, float, float]]) -> pd.DataFrame:
    """January and February 2026, daily; each (model type, volume metric) cell maps to
    (cost0, cost1, volume0, volume1), all of it on the first day of each month so that the
    monthly sums are exact."""

    def two(a: float, b: float):
        return lambda i: np.where(i.day == 1, np.where(i.month == 1, a, b), 0.0)

    series = {}
    for client, ((model_type, metric), (c0, c1, v0, v1)) in enumerate(cells.items(), start=1):
        series[(model_type, client, "total_amount")] = two(c0, c1)
        series[(model_type, client, metric)] = two(v0, v1)
    return make_frame("2026-01-01", "2026-03-01", series)


def _split(c0: float, c1: float, v0: float, v1: float) -> pd.Series:
    df = _first_days({("ImageGeneration", "image_count"): (c0, c1, v0, v1)})
    return explain_change(df, "month", as_of="2026-03-01", detail=True).iloc[0]


@pytest.mark.parametrize(
    ("c0", "c1", "v0", "v1"),
    [(0.5, 0.8, 1.0, 2.0), (0.8, 0.5, 2.0, 1.0), (0.25, 0.25, 1.0, 0.5)],
)
def test_cells_under_one_yuan_or_one_image_are_split_like_any_other(c0, c1, v0, v1):
    """Costs of ¥0.50 and ¥0.80 on 1 and 2 images: LMDI-I, L(C1, C0) ln(V1 / V0), not all
    unit cost (a threshold of 1 instead of 0 on cost or volume would send it there)."""
    row = _split(c0, c1, v0, v1)
    assert (row["previous_unit_cost"], row["current_unit_cost"]) == (c0 / v0, c1 / v1)
    weight = c0 if c0 == c1 else (c1 - c0) / math.log(c1 / c0)
    assert row["volume_effect"] == pytest.approx(weight * math.log(v1 / v0), rel=1e-12)
    assert row["unit_cost_effect"] == pytest.approx(
        weight * math.log((c1 / v1) / (c0 / v0)), rel=1e-12
    )


@pytest.mark.parametrize(("c0", "c1", "v0", "v1"), [(0.3, 0.0, 1.0, 0.0), (0.0, 0.3, 0.0, 1.0)])
def test_a_single_image_vanishing_or_appearing_is_all_volume(c0, c1, v0, v1):
    row = _split(c0, c1, v0, v1)
    assert (row["volume_effect"], row["unit_cost_effect"]) == (c1 - c0, 0.0)


def test_the_zeros_of_the_split_raise_no_numpy_warning():
    """Cells that appear, vanish, go from free to paid or back, carry a fee without volume, or
    hold nothing at all: every division by zero is expected, and none of them may reach the
    user as a RuntimeWarning (or an error under warnings-as-errors)."""
    cells = {
        ("ImageGeneration", "image_count"): (0.0, 3.0, 0.0, 4.0),  # appears
        ("ImageEdit", "image_count"): (3.0, 0.0, 4.0, 0.0),  # vanishes
        ("TTS", "characters"): (0.0, 2.0, 100.0, 100.0),  # free to paid
        ("ASR", "asr_duration"): (2.0, 0.0, 100.0, 100.0),  # paid to free
        ("VideoGeneration", "video_duration"): (1.0, 2.0, 0.0, 0.0),  # a fee, no volume
        ("VideoImageGeneration", "video_duration"): (0.0, 0.0, 0.0, 0.0),  # nothing at all
    }
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        out = explain_change(_first_days(cells), "month", as_of="2026-03-01", detail=True)
    effects = out.set_index(out["model_type"].astype(str))[["volume_effect", "unit_cost_effect"]]
    assert effects.to_dict("index") == {
        "ImageGeneration": {"volume_effect": 3.0, "unit_cost_effect": 0.0},
        "ImageEdit": {"volume_effect": -3.0, "unit_cost_effect": 0.0},
        "TTS": {"volume_effect": 0.0, "unit_cost_effect": 2.0},
        "ASR": {"volume_effect": 0.0, "unit_cost_effect": -2.0},
        "VideoGeneration": {"volume_effect": 0.0, "unit_cost_effect": 1.0},
        "VideoImageGeneration": {"volume_effect": 0.0, "unit_cost_effect": 0.0},
    }
    fee = out[out["model_type"] == "VideoGeneration"].iloc[0]  # cost without volume: no unit cost
    assert math.isnan(fee["previous_unit_cost"]) and math.isnan(fee["current_unit_cost"])


def test_the_log_mean_of_equal_values_is_the_value_without_a_warning():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert _log_mean(np.array([2.0, 0.0]), np.array([2.0, 0.0])).tolist() == [2.0, 0.0]


def test_hourly_frames_sum_every_hour_of_each_window():
    """A day of hourly buckets holds 24 of them, each counted (not only those a day long)."""
    series = {
        ("TTS", 1, "total_amount"): lambda i: np.where(i.day == 2, 2.0, 1.0),
        ("TTS", 1, "characters"): 10.0,
    }
    df = make_frame("2026-03-01", "2026-03-03", series, freq="h")
    row = explain_change(df, "day", as_of="2026-03-03", detail=True).iloc[0]
    assert (row["previous_cost"], row["current_cost"]) == (24.0, 48.0)
    assert (row["previous_volume"], row["current_volume"]) == (240.0, 240.0)
    assert (row["volume_effect"], row["unit_cost_effect"]) == (0.0, 24.0)


def test_detail_has_a_row_per_cell_the_frame_holds_not_per_pairing():
    """Regression: department 1 uses only Chat, department 2 only TTS. The split had a row for
    every pairing of model type and department (a TTS row for department 1, all zeros): with
    13 model types and 50 departments, hundreds of cells that never existed."""
    series = {
        ("Chat", 1, "total_amount"): 1.0,
        ("Chat", 1, "input_tokens"): 10.0,
        ("Chat", 1, "output_tokens"): 0.0,
        ("Chat", 1, "reasoning_tokens"): 0.0,
        ("TTS", 2, "total_amount"): 2.0,
        ("TTS", 2, "characters"): 5.0,
    }
    df = make_frame("2026-01-01", "2026-03-01", series)
    out = explain_change(df, "month", as_of="2026-03-01", detail=True)
    cells = list(zip(out["model_type"].astype(str), out["client_id"], strict=True))
    assert sorted(cells) == [("Chat", 1), ("TTS", 2)]
    assert out["volume_unit"].tolist() == ["chars", "tokens"]  # TTS changed most: -¥6
    total = df.assign(client_id=pd.array([None] * len(df), dtype="Int64"))  # no departments
    out = explain_change(total, "month", as_of="2026-03-01", detail=True)
    assert out["model_type"].astype(str).tolist() == ["TTS", "Chat"]
    assert out["client_id"].isna().all() and out["previous_volume"].tolist() == [155.0, 310.0]


# Added in the second pass (issue 16): explain_change itself is now mutated (tools/mutation.py
# undecorates it in the snapshot), and these pin what its own body does.


def _january_february(**extra) -> pd.DataFrame:
    """TTS (department 1) in both months; ImageGeneration (2) only in February; ASR (3) only
    in January: no rows at all, not rows of zeros, in the other month."""
    df = make_frame(
        "2026-01-01",
        "2026-03-01",
        {
            ("TTS", 1, "total_amount"): 1.0,
            ("TTS", 1, "characters"): 10.0,
            ("ImageGeneration", 2, "total_amount"): 2.0,
            ("ImageGeneration", 2, "image_count"): 1.0,
            ("ASR", 3, "total_amount"): 3.0,
            ("ASR", 3, "asr_duration"): 60.0,
        },
        **extra,
    )
    month = df["timestamp"].dt.month
    kind = df["model_type"].astype(str)
    return df[~((kind == "ImageGeneration") & (month == 1)) & ~((kind == "ASR") & (month == 2))]


def test_cells_with_no_rows_in_one_window_appear_or_vanish_from_zero():
    """A department's model type with no rows at all in one month (not rows of zeros) is a
    cell that appears or vanishes: ¥0 and no volume in that month, all of its change volume."""
    df = _january_february()
    out = explain_change(df, "month", as_of="2026-03-01", detail=True)
    got = out.set_index(out["model_type"].astype(str))
    columns = ["previous_cost", "current_cost", "previous_volume", "current_volume"]
    assert got[columns].to_dict("index") == {
        "ASR": dict(zip(columns, [93.0, 0.0, 1860.0, 0.0], strict=True)),
        "ImageGeneration": dict(zip(columns, [0.0, 56.0, 0.0, 28.0], strict=True)),
        "TTS": dict(zip(columns, [31.0, 28.0, 310.0, 280.0], strict=True)),
    }
    assert got.loc["ASR", "volume_effect"] == -93.0
    assert got.loc["ImageGeneration", "volume_effect"] == 56.0
    assert got.loc[["ASR", "ImageGeneration"], "unit_cost_effect"].tolist() == [0.0, 0.0]
    assert out.columns.tolist()[:3] == ["model_type", "client_id", "volume_unit"]
    assert len(out.columns) == 21
    assert (out["client_id"].dtype, out["model_type"].dtype) == ("Int64", df["model_type"].dtype)
    unit_costs = got[["previous_unit_cost", "current_unit_cost"]]
    assert unit_costs.dtypes.tolist() == [np.float64, np.float64]
    np.testing.assert_allclose(  # no unit cost (NaN) where there is no volume
        unit_costs.to_numpy(), [[0.05, np.nan], [np.nan, 2.0], [0.1, 0.1]], rtol=1e-12
    )


def test_the_default_period_is_the_month():
    df = _january_february()
    got = explain_change(df, as_of="2026-03-01")
    pd.testing.assert_frame_equal(got, explain_change(df, "month", as_of="2026-03-01"))
    assert (got["period"].iloc[0], got["running"].iloc[0]) == ("2026-02", False)
    assert got.columns.tolist() == [
        "model_type",
        *("previous_cost", "current_cost", "change", "volume_effect", "unit_cost_effect"),
        *("share_of_change", "period", "running", "current_start", "current_end"),
        *("previous_start", "previous_end", "current_coverage", "previous_coverage"),
    ]


def test_weekday_alignment_compares_the_window_four_weeks_back():
    df = _january_february()
    row = explain_change(df, "month", as_of="2026-03-01", align="weekday").iloc[0]
    assert (str(row["previous_start"]), str(row["previous_end"])) == (
        "2026-01-04 00:00:00+08:00",
        "2026-02-01 00:00:00+08:00",
    )


def test_as_of_counts_every_bucket_that_ended_by_it_even_ones_marked_incomplete():
    """With ``as_of``, "now" is as_of, not the end of the last complete bucket: February's
    buckets from the 20th to the 27th count (the frame's last one, still running when
    fetched, never does), the window is whole and no hole is refused."""
    df = _january_february(complete_until="2026-02-20")
    out = explain_change(df, "month", as_of="2026-02-28", detail=True)
    assert out["running"].all()  # February had not ended by the 28th
    got = out.set_index(out["model_type"].astype(str))[["previous_cost", "current_cost"]]
    assert got.to_dict("index") == {
        "ASR": {"previous_cost": 81.0, "current_cost": 0.0},
        "ImageGeneration": {"previous_cost": 0.0, "current_cost": 54.0},
        "TTS": {"previous_cost": 27.0, "current_cost": 27.0},
    }


@pytest.mark.parametrize(
    ("drop", "message"),
    [
        (
            ["total_amount"],
            "metric 'total_amount' is not in the frame; it holds: input_tokens, "
            "output_tokens, reasoning_tokens.",
        ),
        (
            ["output_tokens", "reasoning_tokens"],
            "explain_change needs the volume of Chat (input_tokens, output_tokens, "
            "reasoning_tokens); the frame lacks output_tokens, reasoning_tokens. Pass the frame "
            "fetch() returns, all metrics.",
        ),
    ],
)
def test_a_frame_without_cost_or_volume_gets_a_clear_error(drop, message):
    series = {
        ("Chat", 1, "total_amount"): 1.0,
        ("Chat", 1, "input_tokens"): 10.0,
        ("Chat", 1, "output_tokens"): 5.0,
        ("Chat", 1, "reasoning_tokens"): 1.0,
    }
    df = make_frame("2026-01-01", "2026-03-01", series)
    df = df[~df["metric"].isin(drop)]
    with pytest.raises(QueryError) as err:
        explain_change(df, "month", as_of="2026-03-01")
    assert str(err.value) == message


def test_cost_without_a_department_keeps_its_row_when_summed_by_department():
    df = _january_february()
    df = df.assign(client_id=df["client_id"].mask(df["model_type"] == "ASR"))
    out = explain_change(df, "month", as_of="2026-03-01", by="client_id")
    assert out["client_id"].iloc[0] is pd.NA and out["change"].iloc[0] == -93.0
    assert out["client_id"].iloc[1:].tolist() == [2, 1]


def test_a_frame_filtered_to_one_model_type_has_no_rows_for_the_others():
    """The frame's categories still name ImageGeneration and ASR; they get no rows of zeros,
    and the result keeps the frame's categories, in its order."""
    df = _january_february()
    out = explain_change(df[df["model_type"] == "TTS"], "month", as_of="2026-03-01")
    assert out["model_type"].astype(str).tolist() == ["TTS"]
    assert out["model_type"].cat.categories.tolist() == ["TTS", "ImageGeneration", "ASR"]
    assert out.attrs["method"] == (
        "LMDI-I (additive log-mean Divisia index), per (model type, department)"
    )


def test_changes_that_cancel_out_have_no_share_of_the_change():
    """¥-3 and ¥+3: the total change is 0, so no share (NaN), never an infinite one."""
    cells = {
        ("TTS", "characters"): (3.0, 0.0, 10.0, 10.0),
        ("ASR", "asr_duration"): (0.0, 3.0, 10.0, 10.0),
    }
    out = explain_change(_first_days(cells), "month", as_of="2026-03-01")
    assert out["change"].tolist() == [-3.0, 3.0]
    assert out["share_of_change"].isna().all()


def test_equal_changes_keep_the_order_of_their_cells():
    """Twenty-one departments whose cost rose by ¥1, ¥2 or ¥3: largest first, and equal ones
    by department, as their cells are listed (a sort that is not stable shuffles ties once
    there are more than 16 rows)."""
    one = _first_days({("TTS", "characters"): (1.0, 2.0, 10.0, 10.0)})
    rise = np.where(one["metric"] == "total_amount", one["value"] - 1.0, 0.0)
    df = pd.concat(
        [
            one.assign(client_id=d, value=one["value"] + rise * (d % 3)).astype(one.dtypes)
            for d in range(1, 22)
        ]
    )
    out = explain_change(df, "month", as_of="2026-03-01", detail=True)
    assert out["client_id"].tolist() == [*range(2, 22, 3), *range(1, 22, 3), *range(3, 22, 3)]


def test_a_running_day_of_hourly_buckets_counts_the_hours_that_ended():
    """As of 12:00, the running day holds the 12 hours that ended, each an hour long (not
    running to midnight), and is met by the first 12 hours of the day before."""
    series = {("TTS", 1, "total_amount"): 1.0, ("TTS", 1, "characters"): 10.0}
    df = make_frame("2026-03-01", "2026-03-04", series, freq="h")
    row = explain_change(df, "day", as_of="2026-03-03 12:00", detail=True).iloc[0]
    assert (row["previous_cost"], row["current_cost"], row["running"]) == (12.0, 12.0, True)
