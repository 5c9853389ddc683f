"""`costtrend-nb`: bad input is refused before any request (or kernel), in one line, exit 2;
demo data is never passed off as real."""

import pytest

from costtrend_nb import cli
from costtrend_nb.emulator import DEMO_ACCESS_KEY_ID, DEMO_ACCESS_KEY_SECRET, EmulatorServer

from .fakeapi import serve_cli

RANGE = ["--start", "2026-11-16", "--end", "2026-11-17"]


@pytest.fixture
def fake(monkeypatch):
    return serve_cli(monkeypatch)


@pytest.fixture(autouse=True)
def no_serving(monkeypatch):
    """`emulator` must never serve for ever here, whatever it accepts."""
    monkeypatch.setattr("costtrend_nb.emulator.EmulatorServer.serve_forever", lambda self: None)


@pytest.fixture(autouse=True)
def no_kernel(monkeypatch):
    """`report` never starts a kernel here: rendering is recorded instead."""
    calls = []

    def render_reports(notebooks, out_dir, **params):
        calls.append((list(notebooks or []), out_dir, params))
        return []

    monkeypatch.setattr("costtrend_nb.report.render_reports", render_reports)
    return calls


@pytest.fixture
def live_emulator(monkeypatch):
    """The emulator on loopback, with the public demo key pair as 'live' credentials."""
    with EmulatorServer() as server:
        monkeypatch.setenv("ALIBABA_CLOUD_ACCESS_KEY_ID", DEMO_ACCESS_KEY_ID)
        monkeypatch.setenv("ALIBABA_CLOUD_ACCESS_KEY_SECRET", DEMO_ACCESS_KEY_SECRET)
        monkeypatch.setenv("COSTTREND_NB_ENDPOINT", server.url)
        yield server


def refused(capsys, code, *words):
    """Exit 2 with one line, ``costtrend-nb: error: ...`` naming ``words``, no traceback."""
    err = capsys.readouterr().err
    assert code == 2, err
    assert err.count("\n") == 1 and err.startswith("costtrend-nb: error: "), err
    assert "Traceback" not in err
    for word in words:
        assert word in err, (word, err)
    return err


# -- argument types: each bad value is one line, exit 2, nothing sent ----------------------------


@pytest.mark.parametrize(
    ("argv", "words"),
    [
        (["emulator", "--port", "70000"], ["--port", "0 to 65535"]),
        (["emulator", "--port", "-1"], ["--port"]),
        (["emulator", "--port", "eighty"], ["--port"]),
        (["emulator", "--host", "0.0.0.0"], ["loopback"]),
        (["emulator", "--error-rate", "1.5"], ["--error-rate"]),
        (["emulator", "--latency-ms", "nan"], ["--latency-ms"]),
        (["emulator", "--seed", "-3"], ["--seed"]),
        (["fetch", *RANGE, "--client-ids", "abc", "-o", "x.csv"], ["--client-ids", "'abc'"]),
        (
            ["fetch", *RANGE, "--client-ids", "9223372036854775808", "-o", "x.csv"],
            ["9223372036854775807"],
        ),
        (["fetch", *RANGE, "--client-ids", "0", "-o", "x.csv"], ["--client-ids"]),
        (["fetch", *RANGE, "--client-ids", ",", "-o", "x.csv"], ["--client-ids"]),
        (["fetch", *RANGE, "--timeout", "0", "-o", "x.csv"], ["--timeout"]),
        (["fetch", *RANGE, "--max-concurrency", "0", "-o", "x.csv"], ["--max-concurrency"]),
        (["fetch", *RANGE, "--max-results", "many", "-o", "x.csv"], ["--max-results"]),
        (["fetch", *RANGE], ["-o/--output"]),
        (["fetch", *RANGE, "--granularity", "weekly", "-o", "x.csv"], ["--granularity"]),
        (["report", "--client-ids", "abc"], ["--client-ids"]),
        (["report", "--client-ids", "9223372036854775808"], ["--client-ids"]),
        (["cache", "empty"], ["action"]),
        (["launch"], ["COMMAND"]),
        ([], ["COMMAND"]),
    ],
)
def test_bad_arguments_are_one_line_exit_2_and_send_nothing(fake, capsys, argv, words, tmp_path):
    argv = [str(tmp_path / a) if a == "x.csv" else a for a in argv]
    refused(capsys, cli.main(argv), *words, "--help")
    assert fake.requests == []


def test_ids_beyond_64_bits_are_refused_by_the_command_itself(fake, capsys, tmp_path):
    code = cli.main(["fetch", *RANGE, "--client-ids", "10,9223372036854775808", "-o", "x.csv"])
    err = refused(capsys, code, "9223372036854775808", "9223372036854775807")
    assert "OverflowError" not in err
    assert fake.requests == []


def test_help_and_version_return_0(capsys):
    assert cli.main(["--version"]) == 0
    assert cli.main(["fetch", "--help"]) == 0
    assert "--client-ids" in capsys.readouterr().out


# -- what the library refuses, the command maps to exit 2 before any trend request --------------


def test_model_types_are_matched_case_insensitively(fake, tmp_path):
    out = tmp_path / "t.csv"
    assert (
        cli.main(
            ["fetch", *RANGE, "--model-types", "chat,tts", "--by", "model_type", "-o", str(out)]
        )
        == 0
    )
    assert {r["modelTypes"] for r in fake.trend_requests()} == {"Chat", "TTS"}


def test_unknown_model_type_is_refused_listing_the_valid_ones(fake, capsys, tmp_path):
    code = cli.main(["fetch", *RANGE, "--model-types", "Chatt", "-o", str(tmp_path / "t.csv")])
    refused(capsys, code, "'Chatt'", "Chat", "ChatMultimodal", "ASR")
    assert fake.requests == []


def test_unknown_department_is_exit_2_after_only_the_department_list(fake, capsys, tmp_path):
    out = tmp_path / "t.csv"
    code = cli.main(["fetch", *RANGE, "--client-ids", "99999", "-o", str(out)])
    refused(capsys, code, "99999")
    assert fake.trend_requests() == [] and len(fake.requests) == 1
    assert not out.exists()


def test_unwritable_output_is_refused_before_any_request(fake, capsys, tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("")
    code = cli.main(["fetch", *RANGE, "-o", str(blocker / "x.csv")])
    refused(capsys, code, str(blocker), "not a folder")
    code = cli.main(["fetch", *RANGE, "--format", "csv", "-o", str(tmp_path)])
    refused(capsys, code, str(tmp_path), "is a folder")
    assert fake.requests == []


# -- never demo data passed off as real ---------------------------------------------------------


@pytest.mark.parametrize(
    "argv",
    [
        ["fetch", *RANGE, "-o", "OUT"],
        ["fetch", *RANGE, "--endpoint", "http://127.0.0.1:9", "-o", "OUT"],
        ["fetch", *RANGE, "--endpoint", "https://aicontent.aliyuncs.com", "-o", "-"],
        ["departments"],
        ["departments", "--endpoint", "http://127.0.0.1:9", "-o", "OUT"],
        ["report", "00", "-o", "OUT"],
    ],
)
def test_without_credentials_or_demo_the_command_refuses(capsys, tmp_path, no_kernel, argv):
    out = tmp_path / "out.csv"
    code = cli.main([str(out) if a == "OUT" else a for a in argv])
    err = refused(
        capsys, code, "ALIBABA_CLOUD_ACCESS_KEY_ID", "ALIBABA_CLOUD_ACCESS_KEY_SECRET", "--demo"
    )
    assert "DemoModeWarning" not in err
    assert not out.exists() and no_kernel == []
    assert capsys.readouterr().out == ""


def test_demo_flag_uses_the_demo_even_with_credentials(live_emulator, tmp_path, capsys):
    out = tmp_path / "d.csv"
    assert cli.main(["fetch", *RANGE, "--demo", "-o", str(out)]) == 0
    assert "of DEMO data" in capsys.readouterr().err
    assert live_emulator.emulator.requests == 0


# -- report: every parameter is checked before any kernel starts --------------------------------


@pytest.mark.parametrize(
    ("flags", "words"),
    [
        (["--tz", "Mars/Olympus"], ["Mars/Olympus"]),
        (["--start", "the day before"], ["--start"]),
        (["--end", "2026-13-45"], ["--end"]),
        (["--start", "2030-01-01"], ["--end"]),  # alone: after the notebook's default end
        (["--end", "2016-01-01"], ["--start"]),  # alone: before the notebook's default start
        (["--start", "2026-11-01", "--end", "2026-10-01"], ["must be before end"]),
        (["--start", "2020-01-01", "--end", "2026-11-01", "--granularity", "hourly"], ["732"]),
        (["--tz", "Asia/Kolkata"], ["Asia/Kolkata"]),  # daily needs whole-hour midnights
        (["--model-types", "Chatt"], ["'Chatt'", "TTS"]),
        (["--client-ids", "99999"], ["99999", "departments"]),
        (["nope"], ["nope", "00-getting-started"]),
    ],
)
def test_report_checks_every_parameter_before_a_kernel(capsys, tmp_path, no_kernel, flags, words):
    code = cli.main(["report", *flags, "--demo", "-o", str(tmp_path / "r")])
    refused(capsys, code, *words)
    assert no_kernel == []


def test_report_refuses_an_output_folder_it_cannot_write(capsys, tmp_path, no_kernel):
    blocker = tmp_path / "file"
    blocker.write_text("")
    refused(capsys, cli.main(["report", "--demo", "-o", str(blocker)]), str(blocker))
    refused(capsys, cli.main(["report", "--demo", "-o", str(blocker / "sub")]), str(blocker))
    assert no_kernel == []


def test_report_passes_checked_parameters_to_the_notebooks(capsys, tmp_path, no_kernel):
    out = tmp_path / "r"
    argv = ["report", "01", "--demo", "--client-ids", "10002,10003", "--model-types", "chat"]
    assert cli.main([*argv, "--start", "2026-10-01", "-o", str(out)]) == 0
    [(notebooks, _out_dir, params)] = no_kernel
    assert [p.name for p in notebooks] == ["01-period-over-period.ipynb"]
    assert params["client_ids"] == [10002, 10003] and params["demo"] is True
    assert params["start"] == "2026-10-01" and out.is_dir()


def test_report_on_live_credentials_checks_departments_with_one_request(
    live_emulator, capsys, tmp_path, no_kernel
):
    refused(
        capsys, cli.main(["report", "00", "--client-ids", "99999", "-o", str(tmp_path)]), "99999"
    )
    assert live_emulator.emulator.requests == 1 and no_kernel == []
    assert cli.main(["report", "00", "--client-ids", "10002", "-o", str(tmp_path)]) == 0
    assert no_kernel[0][2]["demo"] is None  # the notebook resolves the same credentials


def test_a_key_that_cannot_go_in_a_header_is_exit_2_and_writes_nothing(
    monkeypatch, capsys, tmp_path
):
    monkeypatch.setenv("ALIBABA_CLOUD_ACCESS_KEY_ID", "AKIDexample1234\u200b")
    monkeypatch.setenv("ALIBABA_CLOUD_ACCESS_KEY_SECRET", "made-up-secret")
    out = tmp_path / "x.csv"
    code = cli.main(["fetch", *RANGE, "--endpoint", "http://127.0.0.1:9", "-o", str(out)])
    err = refused(capsys, code, "ALIBABA_CLOUD_ACCESS_KEY_ID")
    assert "made-up-secret" not in err and not out.exists()


def test_warnings_are_one_line_each_and_a_refusal_shows_only_its_error(capsys, tmp_path):
    off_grid = ["fetch", "--start", "2026-11-16T10:30", "--end", "2026-11-17", "--demo"]
    assert cli.main([*off_grid, "-o", str(tmp_path / "x.csv")]) == 0
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 2 and lines[0].startswith("wrote ")
    assert lines[1].startswith("costtrend-nb: warning: ") and "off the hourly" in lines[1]
    code = cli.main([*off_grid, "--client-ids", "99999", "-o", str(tmp_path / "y.csv")])
    refused(capsys, code, "99999")


def test_an_unknown_report_language_is_refused_before_any_kernel(tmp_path, capsys, no_kernel):
    assert cli.main(["report", "01", "--demo", "--lang", "fr", "-o", str(tmp_path)]) == 2
    assert "'en' or 'zh'" in capsys.readouterr().err and no_kernel == []
