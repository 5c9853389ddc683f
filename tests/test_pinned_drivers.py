"""Behaviours of explain_change (analysis/drivers.py) that mutation testing found unpinned
(issue 16): each model type's volume, cells too small to matter to a threshold, the zeros of
the split without numpy's warnings, and hourly frames.

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
