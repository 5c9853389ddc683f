"""The FOCUS dataset: hive partitions by billing month, incremental and atomic, read as it is by
DuckDB and pyarrow.dataset; CSV holds the same rows."""

import hashlib
import json
from pathlib import Path

import pandas as pd
import pytest

from costtrend_nb import CostTrendClient
from costtrend_nb.focus import (
    MANIFEST,
    billing_periods,
    open_dataset,
    partition_path,
    read_partition,
    write_period,
)
from costtrend_nb.focus import dataset as dataset_module
from costtrend_nb.focus.dataset import content_hash
from costtrend_nb.focusexport import plan_export, run_export

TYPES = ["TTS", "Rerank"]  # two model types x two departments (each with use) keep runs small
DEPARTMENTS = [10004, 10005]


@pytest.fixture(scope="module")
def client():
    with CostTrendClient.demo() as demo:
        yield demo


def export(client, folder, start, end, **options):
    plan = plan_export(
        folder, start, end, model_types=TYPES, client_ids=DEPARTMENTS, demo=True, **options
    )
    return run_export(client, plan)


def files(folder):
    return sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file())


def trend_cost(client, start, end, **filters):
    df = client.fetch(
        start,
        end,
        model_types=TYPES,
        client_ids=DEPARTMENTS,
        by=("model_type", "client_id"),
        **filters,
    )
    cost = df[(df["metric"] == "total_amount") & df["complete"]]
    return cost


@pytest.fixture(scope="module")
def two_months(client, tmp_path_factory):
    folder = tmp_path_factory.mktemp("focus") / "two-months"
    result = export(client, folder, "2026-10-25", "2026-11-21")
    return folder, result


def test_the_layout_is_hive_partitions_by_billing_month_and_a_manifest(two_months):
    folder, result = two_months
    assert files(folder) == [
        MANIFEST,
        "billing_period=2026-10/part-0.parquet",
        "billing_period=2026-11/part-0.parquet",
    ]
    assert result.written == ["2026-10", "2026-11"] and result.unchanged == []
    manifest = json.loads((folder / MANIFEST).read_text())
    assert manifest["identity"]["focus_version"] == "1.0"
    assert (
        manifest["provenance"]["data"] == "demo" and "Synthetic" in manifest["provenance"]["note"]
    )
    assert manifest["provenance"]["query"]["model_types"] == TYPES
    assert manifest["provenance"]["as_of"] == "2026-11-20T14:30:00+08:00"
    assert manifest["version"] and manifest["columns"][0] == "BilledCost"
    for label, entry in manifest["partitions"].items():
        rows = read_partition(folder / entry["path"])
        digest = hashlib.sha256((folder / entry["path"]).read_bytes()).hexdigest()
        assert entry["rows"] == len(rows) and entry["sha256"] == digest
        assert set(
            rows["BillingPeriodStart"].dt.tz_convert("Asia/Shanghai").dt.strftime("%Y-%m")
        ) == {label}


def test_billed_cost_equals_the_trend_per_department_and_model_type(client, two_months):
    folder, _ = two_months
    rows = pd.concat([read_partition(p) for p in sorted(folder.rglob("*.parquet"))])
    trend = trend_cost(client, "2026-10-25", "2026-11-21")
    assert abs(rows["BilledCost"].sum() - trend["value"].sum()) < 1e-6
    got = rows.groupby(["x_ModelType", "x_ClientId"])["BilledCost"].sum()
    want = trend.groupby([trend["model_type"].astype(str), trend["client_id"].astype(str)])[
        "value"
    ].sum()
    want = want[want != 0]
    pd.testing.assert_series_equal(got, want, check_names=False, check_index_type=False, atol=1e-6)
    key = rows[["ChargePeriodStart", "x_ModelType", "x_ClientId"]]
    assert not key.duplicated().any()


def test_duckdb_and_pyarrow_dataset_read_it_as_it_is(two_months):
    duckdb = pytest.importorskip("duckdb")
    import pyarrow.compute as pc
    import pyarrow.dataset as ds

    folder, result = two_months
    manifest = json.loads((folder / MANIFEST).read_text())
    per_month = {k: v["billed_cost"] for k, v in manifest["partitions"].items()}
    query = f"""
        SELECT billing_period, sum(BilledCost) AS cost, count(*) AS n
        FROM read_parquet('{folder}/**/*.parquet', hive_partitioning = true)
        GROUP BY billing_period ORDER BY billing_period
    """
    got = duckdb.sql(query).fetchall()
    assert [row[0] for row in got] == ["2026-10", "2026-11"]
    for label, cost, _ in got:
        assert cost == pytest.approx(per_month[label], abs=1e-6)
    assert sum(row[2] for row in got) == result.rows
    assert sum(row[1] for row in got) == pytest.approx(result.billed_cost, abs=1e-6)

    table = ds.dataset(folder, format="parquet", partitioning="hive").to_table()
    assert table.num_rows == result.rows
    assert pc.sum(table["BilledCost"]).as_py() == pytest.approx(result.billed_cost, abs=1e-6)
    assert set(table["billing_period"].to_pylist()) == {"2026-10", "2026-11"}


def test_the_readme_query_beside_another_providers_focus_file(two_months, tmp_path, monkeypatch):
    """README's DuckDB query, as written there, against a two-row FOCUS file of another provider."""
    duckdb = pytest.importorskip("duckdb")
    folder, result = two_months
    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text()
    query = readme.split("```sql\n", 1)[1].split("```", 1)[0]
    assert "read_parquet('focus/**/*.parquet', hive_partitioning = true)" in query
    work = tmp_path / "work"
    work.mkdir()
    (work / "focus").symlink_to(folder)
    (work / "aws-focus.csv").write_text(
        "BilledCost,BillingCurrency,ProviderName,ServiceName,ChargePeriodStart\n"
        "12.5,USD,AWS,Amazon Bedrock,2026-11-02T00:00:00Z\n"
        "7.5,USD,AWS,Amazon Bedrock,2026-11-03T00:00:00Z\n"
    )
    monkeypatch.chdir(work)
    got = duckdb.sql(query).fetchall()
    print(got)
    assert got[0][:3] == ("AWS", "Amazon Bedrock", "USD") and got[0][3] == 20.0
    assert got[1][:3] == ("Alibaba Cloud", "Model Router", "CNY")
    assert got[1][3] == pytest.approx(result.billed_cost, abs=0.01)


def test_a_re_run_adds_new_months_and_rewrites_only_what_changed(client, tmp_path):
    folder = tmp_path / "focus"
    first = export(client, folder, "2026-09-25", "2026-10-05")
    assert first.written == ["2026-09", "2026-10"]
    september = partition_path(folder, "2026-09", "parquet")
    before = september.stat().st_mtime_ns, september.stat().st_ino
    again = export(client, folder, "2026-09-25", "2026-10-05")
    assert again.written == [] and again.unchanged == ["2026-09", "2026-10"]
    later = export(client, folder, "2026-10-01", "2026-11-21")
    assert later.written == ["2026-10", "2026-11"] and later.unchanged == []
    assert (september.stat().st_mtime_ns, september.stat().st_ino) == before  # not touched
    # the same rows as one export of the whole range, month by month
    whole = tmp_path / "whole"
    export(client, whole, "2026-09-25", "2026-11-21")
    for label, _, _ in billing_periods("2026-09-25", "2026-11-21"):
        a = read_partition(partition_path(folder, label, "parquet"))
        b = read_partition(partition_path(whole, label, "parquet"))
        assert content_hash(a) == content_hash(b), label


def client_at(now):
    """The demo organisation served as it stood at ``now`` (Unix seconds), as live data."""
    from costtrend_nb import Credentials
    from costtrend_nb.emulator import (
        DEMO_ACCESS_KEY_ID,
        DEMO_ACCESS_KEY_SECRET,
        Emulator,
        EmulatorTransport,
    )

    return CostTrendClient(
        Credentials(DEMO_ACCESS_KEY_ID, DEMO_ACCESS_KEY_SECRET),
        transport=EmulatorTransport(Emulator(now=now)),
    )


def test_running_buckets_are_left_out_then_added_once_settled(tmp_path):
    from costtrend_nb.emulator import DEMO_NOW

    folder = tmp_path / "focus"
    options = {"model_types": TYPES, "client_ids": DEPARTMENTS, "demo": False}
    with client_at(DEMO_NOW - 6 * 3600) as earlier:
        run_export(earlier, plan_export(folder, "2026-11-19", "2026-11-21", **options))
    rows = read_partition(partition_path(folder, "2026-11", "parquet"))
    settled_then = pd.Timestamp(DEMO_NOW - 6 * 3600 - 2 * 3600, unit="s", tz="UTC")
    assert rows["x_Complete"].all() and rows["ChargePeriodEnd"].max() <= settled_then
    with client_at(DEMO_NOW) as later:
        result = run_export(later, plan_export(folder, "2026-11-19", "2026-11-21", **options))
    assert result.written == ["2026-11"]
    rows = read_partition(partition_path(folder, "2026-11", "parquet"))
    assert rows["ChargePeriodEnd"].max() > settled_then
    assert not rows[["ChargePeriodStart", "x_ModelType", "x_ClientId"]].duplicated().any()


def test_a_crash_midway_leaves_each_partition_old_or_new(client, tmp_path, monkeypatch):
    folder = tmp_path / "focus"
    # an old export whose rows all differ from what the service now says
    manifest = open_dataset(folder, identity=_identity(), fmt="parquet")
    truth = {}
    for label, lo, hi in billing_periods("2026-09-25", "2026-11-01"):
        df = client.fetch(
            lo, hi, model_types=TYPES, client_ids=DEPARTMENTS, by=("model_type", "client_id")
        )
        from costtrend_nb.focus import to_focus

        rows = to_focus(df, departments=client.departments(), granularity="hourly")
        truth[label] = rows
        old = rows.assign(BilledCost=rows["BilledCost"] * 2)
        write_period(folder, manifest, label, old, window=(lo, hi))
    old_hash = {
        label: content_hash(read_partition(partition_path(folder, label, "parquet")))
        for label in truth
    }

    real = dataset_module._write_rows
    calls = []

    def crash_on_second(rows, path, fmt):
        calls.append(path)
        if len(calls) == 2:
            raise KeyboardInterrupt("power cut")
        real(rows, path, fmt)

    monkeypatch.setattr(dataset_module, "_write_rows", crash_on_second)
    with pytest.raises(KeyboardInterrupt):
        export(client, folder, "2026-09-25", "2026-11-01")
    monkeypatch.setattr(dataset_module, "_write_rows", real)

    sept = read_partition(partition_path(folder, "2026-09", "parquet"))
    octo = read_partition(partition_path(folder, "2026-10", "parquet"))
    assert content_hash(sept) != old_hash["2026-09"]  # new
    assert sept["BilledCost"].sum() == pytest.approx(truth["2026-09"]["BilledCost"].sum())
    assert content_hash(octo) == old_hash["2026-10"]  # old, whole
    assert not [p for p in folder.rglob("*") if p.name.startswith(".")]  # no temporary file
    json.loads((folder / MANIFEST).read_text())  # the manifest is whole too
    done = export(client, folder, "2026-09-25", "2026-11-01")
    assert done.written == ["2026-10"] and done.unchanged == ["2026-09"]


def _identity():
    return {
        "data": "demo",
        "granularity": "hourly",
        "model_types": TYPES,
        "client_ids": DEPARTMENTS,
        "by": ["client_id", "model_type"],
        "include_incomplete": False,
        "account_id": "model-router",
    }


def test_csv_holds_the_same_rows(client, two_months, tmp_path):
    folder, result = two_months
    csv = tmp_path / "csv"
    again = export(client, csv, "2026-10-25", "2026-11-21", fmt="csv")
    assert files(csv) == [
        MANIFEST,
        "billing_period=2026-10/part-0.csv",
        "billing_period=2026-11/part-0.csv",
    ]
    assert again.rows == result.rows
    for label in ("2026-10", "2026-11"):
        a = read_partition(partition_path(folder, label, "parquet"))
        b = read_partition(partition_path(csv, label, "csv"))
        assert content_hash(a) == content_hash(b), label
    text = partition_path(csv, "2026-11", "csv").read_text().splitlines()
    assert text[0].startswith("BilledCost,EffectiveCost,ListCost")
    assert "2026-10-31T16:00:00Z" in text[1]
    # a csv re-run compares the rows it reads back: nothing changed, nothing rewritten
    assert export(client, csv, "2026-11-05", "2026-11-21", fmt="csv").written == []
