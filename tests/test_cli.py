import json

import httpx
import pandas as pd
import pytest

from costtrend_nb import CostTrendClient, Credentials, cli

from .fakeapi import FakeAPI, serve_cli

CREDS = Credentials("AKIDclitest00001", "cli-secret")


@pytest.fixture
def fake(monkeypatch):
    return serve_cli(monkeypatch)


def fetch(*flags: str) -> int:
    """``costtrend-nb fetch`` over one day, with these flags."""
    return cli.main(["fetch", "--start", "2026-11-16", "--end", "2026-11-17", *flags])


def test_fetch_writes_csv(fake, tmp_path, capsys):
    out = tmp_path / "week.csv"
    assert fetch("--by", "model_type", "--model-types", "Chat,TTS", "-o", str(out)) == 0
    df = pd.read_csv(out)
    assert list(df.columns) == [
        "timestamp",
        "model_type",
        "client_id",
        "metric",
        "value",
        "unit",
        "complete",
    ]
    assert set(df["model_type"]) == {"Chat", "TTS"}
    assert df["timestamp"].iloc[0] == "2026-11-16T00:00:00+08:00"
    err = capsys.readouterr().err
    assert f"to {out}" in err and "2 series" in err


def test_fetch_writes_json_and_parquet(fake, tmp_path):
    assert fetch("--granularity", "daily", "-o", str(tmp_path / "d.json")) == 0
    records = json.loads((tmp_path / "d.json").read_text())
    assert records[0]["timestamp"] == "2026-11-16T00:00:00+08:00"
    assert records[0]["metric"] == "total_amount"
    assert fetch("--format", "parquet", "-o", str(tmp_path / "d.bin")) == 0
    frame = pd.read_parquet(tmp_path / "d.bin")
    assert str(frame["timestamp"].dtype).startswith("datetime64") and len(frame) > 0


def test_parquet_without_pyarrow_says_what_to_install(fake, tmp_path, monkeypatch, capsys):
    import builtins

    real_import = builtins.__import__

    def no_pyarrow(name, *args, **kwargs):
        if name == "pyarrow":
            raise ImportError(name)
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_pyarrow)
    assert fetch("-o", str(tmp_path / "x.parquet")) == 2
    assert "costtrend_nb[parquet]" in capsys.readouterr().err


def test_bad_input_exits_2_with_the_reason_and_sends_nothing(fake, tmp_path, capsys):
    code = cli.main(
        ["fetch", "--start", "2026-11-17", "--end", "2026-11-16", "-o", str(tmp_path / "x.csv")]
    )
    assert code == 2
    assert "must be before end" in capsys.readouterr().err
    assert fake.requests == []
    assert fetch("-o", str(tmp_path / "x.xlsx")) == 2


def test_departments_prints_a_table(fake, capsys):
    assert cli.main(["departments"]) == 0
    out = capsys.readouterr().out
    assert "Research" in out and "客服中心" in out and "parent_id" in out


def test_service_errors_exit_1(monkeypatch, capsys):
    api = FakeAPI(
        hook=lambda r, n: httpx.Response(
            403, json={"Code": "B.Permission.OrgNoExistException", "RequestId": "Z9"}
        )
    )
    monkeypatch.setattr(
        cli, "_make_client", lambda args: CostTrendClient(CREDS, transport=api.transport())
    )
    assert cli.main(["departments"]) == 1
    err = capsys.readouterr().err
    assert "OrgNotFoundError" in err and "Z9" in err and "cli-secret" not in err


def test_output_folders_are_created_and_unwritable_paths_explained(fake, tmp_path, capsys):
    out = tmp_path / "new" / "folder" / "x.csv"
    assert fetch("-o", str(out)) == 0
    assert out.exists()
    blocker = tmp_path / "file"
    blocker.write_text("")
    assert fetch("-o", str(blocker / "x.csv")) == 2  # refused before any request
    assert f"cannot write {blocker / 'x.csv'}: {blocker} is a file" in capsys.readouterr().err


def test_demo_fetch_needs_no_credentials(tmp_path, capsys):
    out = tmp_path / "demo.csv"
    assert fetch("--demo", "--granularity", "daily", "--by", "model_type", "-o", str(out)) == 0
    df = pd.read_csv(out)
    assert df["model_type"].nunique() == 13
    assert "data as of 2026-11-20T14:30:00+08:00" in capsys.readouterr().err
