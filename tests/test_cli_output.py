"""`costtrend-nb` output files: provenance with every file, whole or not at all, streamed."""

import builtins
import errno
import io
import json
import re
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from costtrend_nb import cli
from costtrend_nb.emulator import DEMO_ACCESS_KEY_ID, DEMO_ACCESS_KEY_SECRET, EmulatorServer

ROOT = Path(__file__).resolve().parents[1]
DAY = ["--start", "2026-11-18", "--end", "2026-11-19"]
PROVENANCE = {"query", "tz", "as_of", "fetched_at", "request_count", "data", "version"}


@pytest.fixture
def live(monkeypatch):
    """'Live' data: the emulator on loopback, made-up credentials it accepts (the demo pair)."""
    with EmulatorServer() as server:
        monkeypatch.setenv("ALIBABA_CLOUD_ACCESS_KEY_ID", DEMO_ACCESS_KEY_ID)
        monkeypatch.setenv("ALIBABA_CLOUD_ACCESS_KEY_SECRET", DEMO_ACCESS_KEY_SECRET)
        yield server


def small_chunks(monkeypatch, rows: int) -> None:
    """Write ``rows`` rows at a time, so that a day of demo data takes several chunks."""
    try:
        from costtrend_nb import output
    except ImportError:  # before the streaming writer existed
        return
    monkeypatch.setattr(output, "CHUNK_ROWS", rows)


def sidecar(path: Path) -> dict:
    return json.loads(path.with_name(path.name + ".meta.json").read_text())


def parquet_provenance(path: Path) -> dict:
    import pyarrow.parquet as pq

    return json.loads(pq.read_schema(path).metadata[b"costtrend_nb"])


# -- provenance -----------------------------------------------------------------------------------


def test_csv_json_and_parquet_carry_their_provenance(live, tmp_path, capsys):
    flags = [*DAY, "--endpoint", live.url, "--model-types", "Chat,TTS", "--by", "model_type"]
    flags += ["--tz", "Europe/Berlin", "--client-ids", "10002,10004"]
    records = []
    for name in ("t.csv", "t.json", "t.parquet"):
        assert cli.main(["fetch", *flags, "-o", str(tmp_path / name)]) == 0
        read = parquet_provenance if name.endswith("parquet") else sidecar
        records.append(read(tmp_path / name))
    assert live.emulator.requests == 3 * 3  # the department list, then one page per series
    for record in records:
        assert set(record) >= PROVENANCE
        assert record["data"] == "live" and record["endpoint"].startswith(live.url)
        query = record["query"]
        assert query["model_types"] == ["Chat", "TTS"] and query["client_ids"] == [10002, 10004]
        assert query["by"] == ["model_type"] and query["granularity"] == "hourly"
        assert record["tz"] == "Europe/Berlin" and record["as_of"].startswith("2026-11-20T")
        assert record["request_count"] == 3 and record["package"] == "costtrend_nb"
        assert "departments in query.client_ids" in record["client_id_note"]
    text = "".join(p.read_text(errors="replace") for p in tmp_path.iterdir())
    assert DEMO_ACCESS_KEY_SECRET not in text + capsys.readouterr().err


def test_demo_output_says_it_is_demo(tmp_path, capsys):
    out = tmp_path / "d.csv"
    assert cli.main(["fetch", *DAY, "--demo", "-o", str(out)]) == 0
    record = sidecar(out)
    assert record["data"] == "demo" and "Synthetic" in record["note"]
    assert "of DEMO data" in capsys.readouterr().err


def test_standard_output_gets_its_provenance_on_standard_error(tmp_path, capsys):
    assert cli.main(["fetch", *DAY, "--demo", "--model-types", "TTS", "-o", "-"]) == 0
    out, err = capsys.readouterr()
    assert pd.read_csv(io.StringIO(out))["metric"].iloc[0] == "total_amount"
    record = json.loads(err.strip().splitlines()[-1])
    assert record["data"] == "demo" and record["query"]["model_types"] == ["TTS"]
    assert cli.main(["departments", "--demo"]) == 0
    out, err = capsys.readouterr()
    assert "Creative Studio" in out and json.loads(err)["data"] == "demo"


def test_departments_file_carries_its_provenance(live, tmp_path):
    out = tmp_path / "d.json"
    assert cli.main(["departments", "--endpoint", live.url, "-o", str(out)]) == 0
    assert len(json.loads(out.read_text())) == 8
    record = sidecar(out)
    assert record["data"] == "live" and record["request_count"] == 1


@pytest.mark.parametrize("name", ["one.csv", "one.json", "one.parquet"])
def test_one_department_asked_for_is_on_every_row(tmp_path, name):
    out = tmp_path / name
    assert cli.main(["fetch", *DAY, "--demo", "--client-ids", "10002", "-o", str(out)]) == 0
    frame = {"csv": pd.read_csv, "json": pd.read_json, "parquet": pd.read_parquet}[out.suffix[1:]](
        out
    )
    assert len(frame) > 0 and (frame["client_id"] == 10002).all()
    record = parquet_provenance(out) if name.endswith("parquet") else sidecar(out)
    assert record["client_id_filled"] == 10002 and "10002" in record["client_id_note"]


def test_split_by_department_keeps_each_rows_own_id(tmp_path):
    out = tmp_path / "split.csv"
    argv = ["fetch", *DAY, "--demo", "--client-ids", "10002,10003", "--by", "client_id"]
    assert cli.main([*argv, "-o", str(out)]) == 0
    assert set(pd.read_csv(out)["client_id"]) == {10002, 10003}
    assert sidecar(out)["client_id_filled"] is None


# -- written whole or not at all ------------------------------------------------------------------


class DiskFills:
    """Files opened for writing under ``folder`` take ``room`` characters, then fail (or stop)."""

    def __init__(self, folder: Path, room: int, raise_: BaseException) -> None:
        self.folder, self.room, self.raise_ = str(folder), room, raise_
        self.real_open = builtins.open

    def open(self, file, mode="r", *args, **kwargs):
        handle = self.real_open(file, mode, *args, **kwargs)
        if "w" not in mode or not str(file).startswith(self.folder):
            return handle
        fills = self

        class Full:
            def __init__(self):
                self.written = 0

            def write(self, data):
                if self.written + len(data) > fills.room:
                    handle.write(data[: fills.room - self.written])
                    handle.flush()
                    raise fills.raise_
                self.written += len(data)
                return handle.write(data)

            def __getattr__(self, name):
                return getattr(handle, name)

            def __enter__(self):
                return self

            def __exit__(self, *exc):
                handle.close()

            def __iter__(self):
                return iter(handle)

        return Full()


@pytest.fixture
def existing(tmp_path):
    """A complete earlier output, and its sidecar, that a failed write must leave alone."""
    folder = tmp_path / "out"
    out = folder / "x.csv"
    assert cli.main(["fetch", *DAY, "--demo", "--granularity", "daily", "-o", str(out)]) == 0
    meta = out.with_name(out.name + ".meta.json")
    return out, out.read_bytes(), meta.read_bytes() if meta.exists() else None


def leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name not in ("x.csv", "x.csv.meta.json"))


@pytest.mark.parametrize(
    ("failure", "status", "message"),
    [
        (OSError(errno.ENOSPC, "No space left on device"), 1, "No space left on device"),
        (KeyboardInterrupt(), 130, "interrupted"),
    ],
)
def test_a_write_cut_short_leaves_the_old_file_and_no_temporary_one(
    existing, monkeypatch, capsys, failure, status, message
):
    out, before, meta = existing
    capsys.readouterr()
    small_chunks(monkeypatch, 100)
    disk = DiskFills(out.parent, room=8192, raise_=failure)
    monkeypatch.setattr(builtins, "open", disk.open)
    monkeypatch.setattr(io, "open", disk.open)
    code = cli.main(["fetch", *DAY, "--demo", "--by", "model_type", "-o", str(out)])
    monkeypatch.undo()
    err = capsys.readouterr().err
    assert out.read_bytes() == before, "the old file was replaced by a cut one"
    assert meta is None or out.with_name(out.name + ".meta.json").read_bytes() == meta
    assert leftovers(out.parent) == []
    assert code == status, err
    assert err.count("\n") == 1 and message in err and str(out) in err, err


def test_csv_is_written_in_chunks_into_one_file(tmp_path, monkeypatch):
    calls = []
    real = pd.DataFrame.to_csv

    def spy(self, path_or_buf=None, *args, **kwargs):
        calls.append((path_or_buf, len(self)))
        return real(self, path_or_buf, *args, **kwargs)

    small_chunks(monkeypatch, 500)
    monkeypatch.setattr(pd.DataFrame, "to_csv", spy)
    out = tmp_path / "big.csv"
    argv = ["fetch", *DAY, "--demo", "--by", "model_type", "--client-ids", "10002", "-o", str(out)]
    assert cli.main(argv) == 0
    rows = len(pd.read_csv(out))
    assert rows > 1500 and all(buf is not None for buf, _ in calls)
    assert max(n for _, n in calls) <= 500 and sum(n for _, n in calls) == rows
    assert len({id(buf) for buf, _ in calls}) == 1


def test_json_is_one_array_written_in_chunks(tmp_path, monkeypatch):
    small_chunks(monkeypatch, 7)
    argv = ["fetch", *DAY, "--demo", "--model-types", "TTS", "-o"]
    assert cli.main([*argv, str(tmp_path / "t.json")]) == 0
    assert cli.main([*argv, str(tmp_path / "t.csv")]) == 0
    records = pd.DataFrame(json.loads((tmp_path / "t.json").read_text()))
    table = pd.read_csv(tmp_path / "t.csv")
    assert len(records) == len(table) > 7 * 3
    assert records["timestamp"].tolist() == table["timestamp"].tolist()
    assert records["value"].tolist() == table["value"].tolist()


def test_an_empty_frame_writes_a_header_and_an_empty_array(tmp_path):
    from costtrend_nb.output import write_frame

    empty = pd.DataFrame({"a": pd.Series([], dtype="Int64")})
    write_frame(empty, tmp_path / "e.csv", "csv", {})
    write_frame(empty, tmp_path / "e.json", "json", {})
    assert (tmp_path / "e.csv").read_text() == "a\n"
    assert json.loads((tmp_path / "e.json").read_text()) == []


def test_iso_text_matches_isoformat_across_dst():
    from costtrend_nb.output import iso_text

    stamps = pd.Series(pd.date_range("2026-03-28", periods=72, freq="h", tz="Europe/Berlin"))
    assert iso_text(stamps).tolist() == [t.isoformat() for t in stamps]


def test_benchmark_b7_quick_run(tmp_path):
    out = tmp_path / "rows.json"
    result = subprocess.run(
        [
            sys.executable,
            str(ROOT / "benchmarks" / "run.py"),
            "--quick",
            "--only",
            "B7",
            "--json",
            str(out),
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    [row] = json.loads(out.read_text())
    assert row["id"] == "B7" and "csv" in row["workload"] and "to_csv" in row["baseline"]
    ours, old = (float(re.search(r"\+([\d.]+)x", row[k]).group(1)) for k in ("ours", "baseline"))
    assert ours < old / 2  # even at 200 k rows, where fixed costs weigh most
