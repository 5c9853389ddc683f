"""Showback: the department roll-up, the allocation matrix, unit costs and price steps.

Every figure README's "Showback" states is printed here (run with ``-s`` to see them).
"""

import warnings

import numpy as np
import pandas as pd
import pytest

import costtrend_nb.analysis as analysis
from costtrend_nb import CostTrendClient
from costtrend_nb.analysis import TOTAL, allocation, price_changes, rollup, unit_costs
from costtrend_nb.errors import QueryError

from .frames import make_frame

SPAN = ("2026-03-01", "2026-07-01")


@pytest.fixture(scope="module")
def demo():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        client = CostTrendClient.demo()
        fetch = client.fetch
        return {
            "departments": client.departments(),
            # every department (a split by client_id without ids enumerates them all)
            "split": fetch(*SPAN, granularity="daily", by=["model_type", "client_id"]),
            "whole": fetch(*SPAN, granularity="daily"),
            "types": fetch("2025-09-01", "2026-11-21", granularity="daily", by="model_type"),
            # a running month: the 20th is still running on the demo's frozen clock
            "running": fetch("2026-11-01", "2026-11-21", granularity="daily", by="client_id"),
            "running_whole": fetch("2026-11-01", "2026-11-21", granularity="daily"),
            "marketing": fetch(
                *SPAN, granularity="daily", by="client_id", client_ids=[10006, 10007]
            ),
        }


def cost(df, **where):
    rows = df[(df["metric"] == "total_amount") & df["complete"]]
    for column, value in where.items():
        rows = rows[rows[column] == value]
    return float(rows["value"].sum())


# --- rollup -------------------------------------------------------------------------------------


def test_top_level_subtrees_add_up_to_the_unsplit_total(demo):
    for split, whole in (("split", "whole"), ("running", "running_whole")):
        tree = rollup(demo[split], demo["departments"])
        top = tree.loc[tree["depth"] == 1, "subtree"].sum()
        total = cost(demo[whole])  # an unsplit fetch of the same range, complete buckets
        print(f"{split}: top-level subtrees {top:,.2f}, unsplit fetch {total:,.2f}")
        assert top == pytest.approx(total, rel=1e-12)
        assert tree["own"].sum() == pytest.approx(total, rel=1e-12)
        assert tree["all_fetched"].all()


def test_each_subtree_is_its_own_spend_and_its_childrens(demo):
    tree = rollup(demo["split"], demo["departments"]).set_index("client_id")
    own = {i: cost(demo["split"], client_id=i) for i in tree.index}  # independent sums
    assert tree["own"].to_dict() == pytest.approx(own, rel=1e-12)
    assert tree.loc[10006, "subtree"] == pytest.approx(own[10006] + own[10007])  # Marketing
    assert tree.loc[10002, "subtree"] == pytest.approx(own[10002] + own[10003] + own[10004])
    assert tree.loc[10001, "subtree"] == pytest.approx(sum(own.values()))
    assert tree.loc[10007, "path"] == "Headquarters / Marketing / Creative Studio"
    assert tree.loc[10007, ["depth", "level", "parent_id"]].tolist() == [3, 3, 10006]
    assert tree.loc[10001, "share"] == 1.0
    print(
        "March-June 2026: Marketing own {:,.2f}, subtree {:,.2f}; Headquarters subtree {:,.2f}".format(
            tree.loc[10006, "own"], tree.loc[10006, "subtree"], tree.loc[10001, "subtree"]
        )
    )
    assert list(tree.index) == [10001, 10002, 10003, 10004, 10005, 10006, 10007, 10008]


def test_departments_not_fetched_are_nan_and_say_so(demo):
    tree = rollup(demo["marketing"], demo["departments"]).set_index("client_id")
    assert np.isnan(tree.loc[10001, "own"]) and not tree.loc[10001, "all_fetched"]
    assert tree.loc[10006, "all_fetched"] and tree.loc[10007, "all_fetched"]
    assert tree.loc[10001, "subtree"] == pytest.approx(tree.loc[10006, "subtree"])
    assert np.isnan(tree.loc[10002, "subtree"])  # nothing of R&D was fetched


def test_unknown_departments_sit_at_the_top_and_keep_the_total(demo):
    known = demo["departments"][demo["departments"]["id"] != 10008]
    tree = rollup(demo["split"], known)
    row = tree[tree["client_id"] == 10008].iloc[0]
    assert row["name"] == "Unknown (10008)" and row["depth"] == 1
    assert tree.loc[tree["depth"] == 1, "subtree"].sum() == pytest.approx(cost(demo["whole"]))


def test_rollup_refuses_what_it_cannot_roll_up(demo):
    deps = demo["departments"]
    looped = deps.assign(parent_id=deps["parent_id"].replace({0: 10008}))
    with pytest.raises(QueryError, match="cycle"):
        rollup(demo["split"], looped)
    with pytest.raises(QueryError, match="parents"):
        rollup(demo["split"], deps.assign(parent_id=deps["parent_id"].replace({10006: 99})))
    with pytest.raises(QueryError, match="by='client_id'"):
        rollup(demo["whole"], deps)
    with pytest.raises(QueryError, match="distinct count"):
        rollup(demo["split"], deps, metric="model_count")
    with pytest.raises(QueryError, match="departments"):
        rollup(demo["split"], deps[["id", "name"]])


# --- allocation ---------------------------------------------------------------------------------


def test_allocation_matrix_adds_up_and_matches_an_independent_pivot(demo):
    df = demo["split"]
    table = allocation(df, start="2026-04-01", end="2026-05-01", names=demo["departments"])
    april = df[
        (df["timestamp"] >= pd.Timestamp("2026-04-01", tz="Asia/Shanghai"))
        & (df["timestamp"] < pd.Timestamp("2026-05-01", tz="Asia/Shanghai"))
    ]
    pivot = april[april["metric"] == "total_amount"].pivot_table(
        index="client_id", columns="model_type", values="value", aggfunc="sum", observed=True
    )
    names = dict(zip(demo["departments"]["id"], demo["departments"]["name"], strict=True))
    body = table.iloc[:-1].set_index("Department")
    for client_id, row in pivot.iterrows():
        for model_type, value in row.items():
            assert body.loc[names[client_id], str(model_type)] == pytest.approx(value, abs=1e-9)
    cells = [c for c in table.columns if c not in ("Department", TOTAL, "Share")]
    assert table[TOTAL].iloc[:-1].to_numpy() == pytest.approx(body[cells].sum(axis=1).to_numpy())
    assert table.iloc[-1][cells].to_numpy(dtype=float) == pytest.approx(
        body[cells].sum().to_numpy()
    )
    grand = table[TOTAL].iloc[-1]
    april_whole = demo["whole"][demo["whole"]["timestamp"].dt.month == 4]
    assert grand == pytest.approx(cost(april_whole), rel=1e-12)
    assert table["Share"].iloc[:-1].sum() == pytest.approx(1.0)
    assert table.iloc[-1]["Department"] == TOTAL and table["Share"].iloc[-1] == 1.0
    assert table.attrs["start"] == pd.Timestamp("2026-04-01", tz="Asia/Shanghai")
    assert table.attrs["end"] == pd.Timestamp("2026-05-01", tz="Asia/Shanghai")
    top = table.iloc[0]
    print(
        f"April 2026 allocation: {grand:,.2f} in all; {top['Department']} first with "
        f"{top[TOTAL]:,.2f} ({top['Share']:.1%}); Chat {table[cells[0]].iloc[-1]:,.2f}"
    )


def test_allocation_exports_as_it_stands(demo):
    table = allocation(demo["split"], names=demo["departments"])
    header = table.to_csv(index=False).splitlines()[0].split(",")
    assert header[0] == "Department" and header[-2:] == [TOTAL, "Share"]
    assert isinstance(table.index, pd.RangeIndex) and table.columns.name is None
    assert all(isinstance(c, str) for c in table.columns)
    assert "Creative Studio" in set(table["Department"])


def test_allocation_shares(demo):
    df, deps = demo["split"], demo["departments"]
    by_row = allocation(df, values="row_share", names=deps)
    assert by_row.drop(columns=["Department", TOTAL, "Share"]).sum(axis=1).to_numpy() == (
        pytest.approx(1.0)
    )
    by_col = allocation(df, values="column_share", names=deps)
    assert by_col.iloc[-1].drop(["Department", "Share"]).to_numpy(dtype=float) == (
        pytest.approx(1.0)
    )
    assert by_col[TOTAL].iloc[:-1].to_numpy() == pytest.approx(by_col["Share"].iloc[:-1])
    of_all = allocation(df, values="share", names=deps)
    assert of_all.iloc[:-1].drop(columns=["Department", TOTAL, "Share"]).to_numpy().sum() == (
        pytest.approx(1.0)
    )
    flipped = allocation(df, rows="model_type", columns="client_id", names=deps)
    assert flipped.columns[0] == "Model type" and "Marketing" in flipped.columns
    totals_only = allocation(df, columns=None, names={10001: "HQ"})
    assert list(totals_only.columns) == ["Department", TOTAL, "Share"]
    assert "HQ" in set(totals_only["Department"]) and "10005" in set(totals_only["Department"])


def test_allocation_counts_complete_buckets_only_and_checks_its_window(demo):
    table = allocation(demo["running"], columns=None, end="2026-12-01")
    assert table.attrs["end"] == pd.Timestamp("2026-11-20", tz="Asia/Shanghai")  # the 20th runs
    assert table[TOTAL].iloc[-1] == pytest.approx(cost(demo["running_whole"]), rel=1e-12)
    with pytest.raises(QueryError, match="frame starts"):
        allocation(demo["running"], start="2026-10-01")
    with pytest.raises(QueryError, match="values"):
        allocation(demo["split"], values="percent")
    with pytest.raises(QueryError, match="rows and columns"):
        allocation(demo["split"], rows="model_type", columns="model_type")
    with pytest.raises(QueryError, match="by='client_id'"):
        allocation(demo["whole"])


def test_a_hole_in_the_window_is_refused_not_a_smaller_total(demo):
    df = demo["split"]
    week = df["timestamp"].between(
        pd.Timestamp("2026-04-06", tz="Asia/Shanghai"),
        pd.Timestamp("2026-04-12", tz="Asia/Shanghai"),
    )
    holed = df[~week]
    with pytest.raises(QueryError, match="holes"):
        allocation(holed)
    with pytest.raises(QueryError, match="holes"):
        rollup(holed, demo["departments"])
    may = allocation(holed, start="2026-05-01", end="2026-06-01")  # a window clear of the hole
    assert may.attrs["end"] == pd.Timestamp("2026-06-01", tz="Asia/Shanghai")
    # an as_of inside a bucket counts only the buckets that ended by then
    running = allocation(demo["running"], columns=None, as_of="2026-11-19 14:30")
    assert running.attrs["end"] == pd.Timestamp("2026-11-19", tz="Asia/Shanghai")


def test_duplicate_department_names_stay_apart(demo):
    table = allocation(demo["split"], columns=None, names={10003: "Ops", 10004: "Ops"})
    assert {"Ops (10003)", "Ops (10004)"} <= set(table["Department"])


# --- unit costs ---------------------------------------------------------------------------------


def test_unit_costs_match_cost_over_volume(demo):
    out = unit_costs(demo["types"], freq="MS")
    chat = out[out["model_type"] == "Chat"].set_index("timestamp")
    wide = demo["types"][demo["types"]["model_type"] == "Chat"].pivot_table(
        index="timestamp", columns="metric", values="value", aggfunc="sum", observed=True
    )
    april = wide[wide.index.month == 4]
    tokens = april[["input_tokens", "output_tokens", "reasoning_tokens"]].sum().sum()
    expected = april["total_amount"].sum() / tokens * 1e6
    assert chat.loc["2026-04-01", "unit_cost"].item() == pytest.approx(expected, rel=1e-12)
    per = out.drop_duplicates("model_type").set_index("model_type")["per"].to_dict()
    assert per["Chat"] == "1M tokens" and per["ImageGeneration"] == "image"
    assert per["VideoGeneration"] == "second" and per["TTS"] == "10,000 characters"
    assert per["ASR"] == "hour"
    assert out["complete"].all()
    assert chat.index.max() == pd.Timestamp("2026-11-01", tz="Asia/Shanghai")
    nov = chat.loc["2026-11-01"]
    days = demo["types"][
        (demo["types"]["model_type"] == "Chat")
        & (demo["types"]["metric"] == "total_amount")
        & (demo["types"]["timestamp"] >= pd.Timestamp("2026-11-01", tz="Asia/Shanghai"))
    ]
    assert nov["cost"].item() == pytest.approx(days.loc[days["complete"], "value"].sum())
    monthly = chat["unit_cost"].round(2)
    print("Chat, CNY per 1M tokens, by month:", monthly.loc["2026-03-01":"2026-06-01"].tolist())


def test_unit_cost_is_nan_not_inf_where_there_is_no_volume():
    df = make_frame(
        "2026-01-01",
        "2026-01-05",
        {
            ("ImageGeneration", None, "total_amount"): lambda i: np.array([4.0, 0.0, 3.0, 0.0]),
            ("ImageGeneration", None, "image_count"): lambda i: np.array([20.0, 0.0, 0.0, 0.0]),
        },
    )
    out = unit_costs(df, freq=None)
    assert out["unit_cost"].iloc[0] == pytest.approx(0.2)
    assert out["unit_cost"].iloc[1:].isna().all() and not np.isinf(out["unit_cost"]).any()


def test_unit_costs_by_department_and_bad_input(demo):
    out = unit_costs(demo["split"], by=["model_type", "client_id"], freq="MS")
    assert set(out["client_id"].dropna()) == set(range(10001, 10009))
    with pytest.raises(QueryError, match="by must be"):
        unit_costs(demo["split"], by="client_id")
    costs_only = demo["types"][demo["types"]["metric"] == "total_amount"]
    with pytest.raises(QueryError, match="volume"):
        unit_costs(costs_only)


# --- price changes ------------------------------------------------------------------------------


def test_the_qwen_max_price_cut_is_a_step_in_chat_unit_cost(demo):
    steps = price_changes(demo["types"])
    for row in steps.itertuples():
        print(
            f"{row.model_type} {row.timestamp.date()}: {row.before:.2f} -> {row.after:.2f} CNY "
            f"per {row.per}, {row.pct_change:+.1%}, score {row.score:+.1f}"
        )
    chat = steps[steps["model_type"] == "Chat"]
    may = chat[chat["timestamp"].between("2026-04-28", "2026-05-05")]
    assert len(may) == 1
    cut = may.iloc[0]
    assert -0.08 < cut["pct_change"] < -0.03 and cut["change"] < 0 and cut["per"] == "1M tokens"
    assert cut["after"] - cut["before"] == pytest.approx(cut["change"])
    # the only other steps are Chat's mix changing as deepseek-r1 (from 2025-12-01) and
    # qwen3-coder-plus (from 2026-07-23) ramp up: dearer tokens, within a week of each
    others = steps.drop(may.index)
    assert list(others["model_type"]) == ["Chat", "Chat"] and (others["pct_change"] > 0).all()
    adopted = pd.to_datetime(["2025-12-01", "2026-07-23"]).tz_localize("Asia/Shanghai")
    lag = (others["timestamp"].to_numpy() - adopted.to_numpy()) / pd.Timedelta(days=1)
    assert ((lag >= 0) & (lag <= 7)).all()
    # why 28 days: two weeks either side score the cut in chat's mixed unit cost below 4
    short = price_changes(demo["types"], window=14)
    assert not short["timestamp"].between("2026-04-24", "2026-05-08").any()
    # by department the cut falls on the day itself, where qwen-max is used
    by_dept = price_changes(demo["split"], by=["model_type", "client_id"])
    for row in by_dept.itertuples():
        print(f"{row.model_type} {row.client_id} {row.timestamp.date()}: {row.pct_change:+.1%}")
    on_day = by_dept[by_dept["timestamp"] == pd.Timestamp("2026-05-01", tz="Asia/Shanghai")]
    assert set(on_day["client_id"]) == {10001, 10003}
    assert (on_day["pct_change"] < -0.05).all() and len(by_dept) == 2


def quiet(seeds, step=None, on="2026-05-01", noise=0.05):
    """Seeded daily Chat series, one department per seed: a weekly cycle, 5 % noise and a flat
    unit cost (or one step on ``on``)."""

    def tokens(seed):
        return lambda i: np.random.default_rng(seed + 1000).uniform(2e8, 3e8, len(i))

    def amount(seed):
        def values(i):
            rng = np.random.default_rng(seed)
            level = np.where(i.day_of_week >= 5, 2.2, 2.4) * np.exp(rng.normal(0, noise, len(i)))
            if step is not None:
                level = level * np.where(i >= pd.Timestamp(on, tz=i.tz), 1 + step, 1.0)
            return level * tokens(seed)(i) / 1e6

        return values

    series = {}
    for seed in seeds:
        series[("Chat", seed + 1, "input_tokens")] = tokens(seed)
        series[("Chat", seed + 1, "output_tokens")] = 0.0
        series[("Chat", seed + 1, "reasoning_tokens")] = 0.0
        series[("Chat", seed + 1, "total_amount")] = amount(seed)
    return make_frame("2025-09-01", "2026-11-21", series)


BY = ["model_type", "client_id"]


def test_quiet_seeded_series_show_no_step():
    found = price_changes(quiet(range(40)), by=BY)
    print("steps found in 40 quiet seeded series (5 % daily noise):", len(found))
    assert found.empty


def test_steps_in_seeded_series_are_found_near_their_day():
    day = pd.Timestamp("2026-05-01", tz="Asia/Shanghai")
    for size, recall, exact, near in (
        (-0.10, 0.9, 0.5, 0.8),
        (+0.20, 1, 0.9, 1),
    ):
        steps = price_changes(quiet(range(40), step=size), by=BY)
        assert steps["client_id"].is_unique  # never two steps for one
        days_off = ((steps["timestamp"] - day) / pd.Timedelta(days=1)).abs()
        found = len(steps) / 40
        print(
            f"a {size:+.0%} step in 40 seeded series: {found:.0%} found, {(days_off == 0).mean():.0%}"
            f" on the day, {(days_off <= 2).mean():.0%} within 2 days; sizes "
            f"{steps['pct_change'].min():+.1%} to {steps['pct_change'].max():+.1%}"
        )
        assert (
            found >= recall and (days_off == 0).mean() >= exact and (days_off <= 2).mean() >= near
        )
        # a difference of two 28-day medians of 5 % noise: a standard error of 0.017 in logs
        logs = np.log1p(steps["pct_change"].to_numpy())
        assert np.median(logs) == pytest.approx(np.log1p(size), abs=0.01)
        assert logs == pytest.approx(np.log1p(size), abs=0.05)
    assert price_changes(quiet([0], step=-0.10), min_change=0.2).empty  # the size is settable


def test_price_changes_checks_its_arguments():
    df = quiet([0])
    for bad in ({"window": 1}, {"window": True}, {"min_change": 2}, {"min_score": -1}):
        with pytest.raises(QueryError):
            price_changes(df, **bad)
    empty = price_changes(df)
    assert str(empty["timestamp"].dtype) == "datetime64[ns, Asia/Shanghai]"


# --- conventions --------------------------------------------------------------------------------


def test_results_keep_missing_series_and_inputs_are_unchanged(demo):
    df = demo["split"].copy()
    df.attrs["missing_series"] = ["model_type=TTS"]
    before = df.copy()
    results = [
        rollup(df, demo["departments"]),
        allocation(df),
        unit_costs(df),
        price_changes(df),
    ]
    for out in results:
        assert out.attrs["missing_series"] == ["model_type=TTS"]
    assert df.equals(before) and df.attrs == before.attrs  # no function changes its input


def test_showback_is_exported():
    for name in ("rollup", "allocation", "unit_costs", "price_changes", "unit_cost_scale"):
        assert name in analysis.__all__ and callable(getattr(analysis, name))
