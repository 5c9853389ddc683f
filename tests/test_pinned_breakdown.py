"""Behaviours of breakdown and share_over_time (analysis/breakdown.py) that mutation testing
found unpinned (issue 16): cost without a department, groups a filtered frame no longer
holds, and the whole text of their warnings.
"""

from __future__ import annotations

import pandas as pd
import pytest

from costtrend_nb.analysis import breakdown, share_over_time
from costtrend_nb.errors import QueryError

from .frames import make_frame

SH = "Asia/Shanghai"


def _mixed() -> pd.DataFrame:
    """February and March 2026, daily: ¥1 a day with no department, ¥2 and ¥3 a day for
    departments 1 and 2, ¥0.50 for department 3."""
    series = {
        ("Chat", None, "total_amount"): 1.0,
        ("TTS", 1, "total_amount"): 2.0,
        ("TTS", 2, "total_amount"): 3.0,
        ("Chat", 3, "total_amount"): 0.5,
    }
    return make_frame("2026-02-01", "2026-04-01", series)


@pytest.mark.parametrize(("period", "days"), [("month", 31), (None, 59)])
def test_cost_without_a_department_keeps_its_row_and_its_share(period, days):
    """Regression: the rows whose department is missing were dropped, so the shares of the
    others added up to 1 without them (and a frame fetched without departments gave an empty
    table). March: ¥31 of ¥201.50 has no department."""
    table = breakdown(_mixed(), "client_id", period=period, as_of="2026-04-01", top=3)
    assert table["client_id"].iloc[:2].tolist() == [2, 1] and table["client_id"].iloc[3] == "Other"
    assert pd.isna(table["client_id"].iloc[2])
    assert table["current"].tolist() == [3.0 * days, 2.0 * days, 1.0 * days, 0.5 * days]
    assert table["share"].tolist() == pytest.approx([3 / 6.5, 2 / 6.5, 1 / 6.5, 0.5 / 6.5])
    no_departments = _mixed().assign(client_id=pd.array([None] * 4 * 59, dtype="Int64"))
    whole = breakdown(no_departments, "client_id", period=period, as_of="2026-04-01")
    assert len(whole) == 1 and whole["current"].iloc[0] == 6.5 * days


def test_a_frame_filtered_to_one_model_type_has_no_rows_for_the_others():
    """The filtered frame keeps every model type among its categories; no zero rows appear."""
    chat = _mixed()[lambda d: d["model_type"] == "Chat"]
    for period in ("month", None):
        table = breakdown(chat, "model_type", period=period, as_of="2026-04-01")
        assert table["model_type"].tolist() == ["Chat"] and table["share"].tolist() == [1.0]


FRAME = "the frame (2026-03-01T00:00:00+08:00 to 2026-03-16T00:00:00+08:00) does not cover "
FETCH = "NaN, never a zero. Fetch the whole range to compare."


def _holed_hours() -> pd.DataFrame:
    series = {("Chat", None, "total_amount"): 1.0, ("TTS", None, "total_amount"): 2.0}
    hours = make_frame("2026-03-01", "2026-03-16", series, freq="h")
    return hours[hours["timestamp"] != pd.Timestamp("2026-03-10 05:00", tz=SH)]


@pytest.mark.parametrize(
    ("period", "message"),
    [
        (
            "week",
            f"{FRAME}2026-03-09T00:00:00+08:00 to 2026-03-15T00:00:00+08:00 (coverage 99.3 % of "
            f"its buckets, holes or whole buckets outside the frame): its total is {FETCH}",
        ),
        (
            None,
            f"{FRAME}2026-03-01T00:00:00+08:00 to 2026-03-15T00:00:00+08:00 (coverage 99.7 % of "
            f"its buckets, holes or whole buckets outside the frame): every total is {FETCH}",
        ),
    ],
)
def test_a_breakdown_with_a_hole_says_which_window_and_what_became_nan(period, message):
    with pytest.warns(UserWarning) as caught:
        breakdown(_holed_hours(), "model_type", period=period, as_of="2026-03-15")
    assert [str(w.message) for w in caught] == [message]


@pytest.mark.parametrize(
    ("freq", "where"),
    [
        (None, "1 bucket(s) from 2026-03-10T05:00:00+08:00"),
        ("D", "1 bin(s) from 2026-03-10T00:00:00+08:00"),
    ],
)
def test_shares_over_time_with_a_hole_say_where_it_starts(freq, where):
    with pytest.warns(UserWarning) as caught:
        share_over_time(_holed_hours(), freq=freq)
    assert [str(w.message) for w in caught] == [
        f"the frame has holes (buckets missing inside its span) in {where}: their values and "
        "shares are NaN, never a zero. Fetch the whole range."
    ]


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"by": "team"}, "by must be 'model_type' or 'client_id', not 'team'."),
        ({"top": True}, "top must be a whole number >= 1, not True."),
        ({"top": 2.0}, "top must be a whole number >= 1, not 2.0."),
        ({"top": 0}, "top must be a whole number >= 1, not 0."),
    ],
)
def test_bad_by_or_top_gets_its_whole_message(kwargs, message):
    for analysis in (breakdown, share_over_time):
        with pytest.raises(QueryError) as err:
            analysis(_mixed(), **kwargs)
        assert str(err.value) == message


def test_top_one_keeps_the_largest_group_and_folds_the_rest():
    table = breakdown(_mixed(), "model_type", top=1, as_of="2026-04-01")
    assert table["model_type"].tolist() == ["TTS", "Other"]
    assert (table["current"].tolist(), table["groups"].tolist()) == ([155.0, 46.5], [1, 1])


def test_a_hole_on_a_monday_empties_the_week_it_opens():
    """Weekly bins close on the left for the held share as for the values: the Monday 9 March
    belongs to the week of the 9th, not to the week before."""
    days = make_frame("2026-03-02", "2026-03-16", {("Chat", None, "total_amount"): 1.0})
    holed = days[days["timestamp"] != pd.Timestamp("2026-03-09", tz=SH)]
    with pytest.warns(UserWarning, match="in 1 bin"):
        out = share_over_time(holed, freq="W-MON")
    assert out["value"].iloc[0] == 7.0 and pd.isna(out["value"].iloc[1])
    assert out["coverage"].tolist() == pytest.approx([1.0, 6 / 7])


def test_ties_at_the_cut_keep_the_groups_listed_first():
    """40 departments alternate ¥5 and ¥4 a day: the three kept are the first three at ¥5
    (departments 1, 3 and 5), whatever the sort, so the same frame always gives the same table."""
    series = {
        ("Chat", client, "total_amount"): 5.0 if client % 2 else 4.0 for client in range(1, 41)
    }
    days = make_frame("2026-03-01", "2026-03-08", series)
    table = breakdown(days, "client_id", period=None, as_of="2026-03-08", top=3)
    assert table["client_id"].tolist() == [1, 3, 5, "Other"]
    assert table["groups"].tolist() == [1, 1, 1, 37]
