"""`costtrend-nb export --focus`: bad input is one line, exit 2, before any request; a run writes
the dataset and says what it did."""

import json

import pytest

from costtrend_nb import CostTrendClient, cli
from costtrend_nb.focus import MANIFEST, read_partition

from .fakeapi import serve_cli

RANGE = ["--start", "2026-11-16", "--end", "2026-11-17"]


@pytest.fixture
def fake(monkeypatch):
    return serve_cli(monkeypatch)


def refused(capsys, code, *words):
    err = capsys.readouterr().err
    assert code == 2, err
    assert err.count("\n") == 1 and err.startswith("costtrend-nb: error: "), err
    for word in words:
        assert word in err, (word, err)
    return err


@pytest.fixture
def taken(tmp_path):
    """A folder holding something else, a file, and an export of another query."""
    other = tmp_path / "photos"
    other.mkdir()
    (other / "cat.jpg").write_bytes(b"\xff\xd8")
    file = tmp_path / "notes.txt"
    file.write_text("")
    export = tmp_path / "by-type"
    args = ["export", "--focus", "--demo", *RANGE, "--by", "model_type", "--model-types", "TTS"]
    assert cli.main([*args, "-o", str(export)]) == 0
    return {"OTHER": other, "FILE": file, "EXPORT": export, "FILEDIR": file / "sub"}


@pytest.mark.parametrize(
    ("argv", "words"),
    [
        (["--start", "2026-11-17", "--end", "2026-11-16", "-o", "NEW"], ["before --end"]),
        ([*RANGE, "--model-types", "Chatt", "-o", "NEW"], ["'Chatt'", "ChatMultimodal"]),
        ([*RANGE, "--by", "department", "-o", "NEW"], ["department"]),
        ([*RANGE, "--start", "yesterday-ish", "-o", "NEW"], ["yesterday-ish"]),
        ([*RANGE, "-o", "FILE"], ["is a file"]),
        ([*RANGE, "-o", "FILEDIR"], ["is a file"]),
        ([*RANGE, "-o", "OTHER"], ["not a FOCUS export folder", "_manifest.json"]),
        ([*RANGE, "-o", "EXPORT"], ["another query", "by:", "model_types:"]),
        (
            [
                *RANGE,
                "-o",
                "EXPORT",
                "--format",
                "csv",
                "--by",
                "model_type",
                "--model-types",
                "TTS",
            ],
            ["format"],
        ),
        ([*RANGE, "--format", "xlsx", "-o", "NEW"], ["--format"]),
        (
            [*RANGE, "--granularity", "daily", "--tz", "Europe/London", "-o", "NEW"],
            ["Asia/Shanghai", "--granularity hourly"],
        ),
    ],
)
def test_bad_input_is_one_line_exit_2_and_sends_nothing(fake, capsys, taken, tmp_path, argv, words):
    places = {**taken, "NEW": tmp_path / "new"}
    capsys.readouterr()
    fake.requests.clear()  # those of the export made beforehand
    argv = ["export", "--focus", *(str(places.get(a, a)) for a in argv)]
    refused(capsys, cli.main(argv), *words)
    assert fake.requests == []
    assert not (tmp_path / "new" / MANIFEST).exists()


def test_focus_is_asked_for_by_name(fake, capsys, tmp_path):
    refused(capsys, cli.main(["export", *RANGE, "-o", str(tmp_path / "x")]), "--focus")
    assert fake.requests == []


def test_an_unknown_department_is_exit_2_after_only_the_department_list(fake, capsys, tmp_path):
    argv = ["export", "--focus", *RANGE, "--client-ids", "99999", "-o", str(tmp_path / "x")]
    refused(capsys, cli.main(argv), "99999", "departments")
    assert fake.trend_requests() == [] and len(fake.requests) == 1


def test_without_credentials_or_demo_the_command_refuses(capsys, tmp_path):
    code = cli.main(["export", "--focus", *RANGE, "-o", str(tmp_path / "x")])
    refused(capsys, code, "ALIBABA_CLOUD_ACCESS_KEY_ID", "--demo")
    assert not (tmp_path / "x").exists()


def test_a_run_says_what_it_wrote_and_where_the_provenance_is(capsys, tmp_path):
    out = tmp_path / "focus"
    argv = ["export", "--focus", "--demo", *RANGE, "--model-types", "Chat", "-o", str(out)]
    assert cli.main(argv) == 0
    err = capsys.readouterr().err
    assert err.startswith("wrote 1 of 1 billing months (0 unchanged; ") and "DEMO data" in err
    assert f"provenance in {out / MANIFEST}" in err and "¥" in err
    manifest = json.loads((out / MANIFEST).read_text())
    (entry,) = manifest["partitions"].values()
    assert f"billed ¥{entry['billed_cost']:,.2f}" in err
    assert cli.main(argv) == 0
    assert capsys.readouterr().err.startswith("wrote 0 of 1 billing months (1 unchanged; ")


def test_csv_and_the_account_options(capsys, tmp_path):
    out = tmp_path / "focus"
    argv = ["export", "--focus", "--demo", *RANGE, "--model-types", "TTS", "--format", "csv"]
    argv += ["--account-id", "1234567", "--account-name", "Acme", "--include-running"]
    assert cli.main([*argv, "-o", str(out)]) == 0
    rows = read_partition(out / "billing_period=2026-11" / "part-0.csv")
    assert set(rows["BillingAccountId"]) == {"1234567"} and set(rows["BillingAccountName"]) == {
        "Acme"
    }
    assert json.loads((out / MANIFEST).read_text())["identity"]["include_incomplete"] is True


def test_help_names_the_command(capsys):
    assert cli.main(["export", "--help"]) == 0
    out = capsys.readouterr().out
    assert "--focus" in out and "billing_period=YYYY-MM" in out


def test_the_readme_example(capsys, tmp_path, monkeypatch):
    """README, "FOCUS export": the two commands and what they print."""
    monkeypatch.chdir(tmp_path)
    argv = ["export", "--focus", "--demo", "--end", "2026-11-21", "-o", "focus"]
    assert cli.main([*argv, "--start", "2026-10-01"]) == 0
    err = capsys.readouterr().err
    print(err)
    assert err == (
        "wrote 2 of 2 billing months (0 unchanged; 28,561 rows of DEMO data, billed "
        "¥123,152.50, 469 requests) to focus; provenance in focus/_manifest.json\n"
    )
    assert cli.main([*argv, "--start", "2026-11-01"]) == 0
    assert capsys.readouterr().err.startswith("wrote 0 of 1 billing months (1 unchanged; ")
    found = sorted(p.relative_to(tmp_path).as_posix() for p in tmp_path.rglob("*") if p.is_file())
    assert found == [
        "focus/_manifest.json",
        "focus/billing_period=2026-10/part-0.parquet",
        "focus/billing_period=2026-11/part-0.parquet",
    ]


def test_months_without_any_use_are_counted_apart(capsys, tmp_path):
    """The demo starts in 2025-09: July and August have no use, and no file, not 'unchanged'."""
    argv = ["export", "--focus", "--demo", "--start", "2025-07-15", "--end", "2025-09-03"]
    assert cli.main([*argv, "--model-types", "TTS", "-o", str(tmp_path / "f")]) == 0
    err = capsys.readouterr().err
    assert err.startswith("wrote 1 of 3 billing months (0 unchanged, 2 without any use; "), err
    assert [p.name for p in (tmp_path / "f").iterdir() if p.is_dir()] == ["billing_period=2025-09"]


def test_a_partition_that_cannot_be_written_is_named_exit_1(capsys, tmp_path, monkeypatch):
    from costtrend_nb.focus import dataset

    out = tmp_path / "focus"
    argv = ["export", "--focus", "--demo", "--start", "2026-10-30", "--end", "2026-11-02"]
    argv += ["--model-types", "TTS", "-o", str(out)]
    assert cli.main(argv) == 0
    before = {p: p.read_bytes() for p in out.rglob("*") if p.is_file()}
    capsys.readouterr()

    def full_disk(rows, path, fmt):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(dataset, "_write_rows", full_disk)
    argv[argv.index("2026-11-02")] = "2026-11-03"  # one day more: November changes
    assert cli.main(argv) == 1
    err = capsys.readouterr().err
    assert err == (
        f"costtrend-nb: cannot write {out / 'billing_period=2026-11' / 'part-0.parquet'}: "
        "No space left on device\n"
    )
    after = {p: p.read_bytes() for p in out.rglob("*") if p.is_file()}
    assert after == before  # every file as it was, no temporary one left


def test_daily_exports_shanghai_days_and_whole_buckets(capsys, tmp_path):
    out = tmp_path / "daily"
    argv = ["export", "--focus", "--demo", "--granularity", "daily", "--model-types", "TTS"]
    argv += ["--start", "2026-10-30T12:00", "--end", "2026-11-02T06:00", "-o", str(out)]
    assert cli.main(argv) == 0
    rows = [read_partition(p) for p in sorted(out.rglob("*.parquet"))]
    assert [len(r) for r in rows] == [2, 2]  # Oct 30 and 31; Nov 1 and 2 (widened to whole days)
    days = rows[1]["ChargePeriodStart"].dt.tz_convert("Asia/Shanghai").dt.strftime("%m-%d")
    assert list(days) == ["11-01", "11-02"]
    daily = CostTrendClient.demo().fetch(
        "2026-10-30", "2026-11-03", granularity="daily", model_types=["TTS"], by="model_type"
    )
    cost = daily[(daily["metric"] == "total_amount") & daily["complete"]]["value"].sum()
    assert abs(sum(r["BilledCost"].sum() for r in rows) - cost) < 1e-6
