"""`costtrend-nb` fed a few hundred generated argument lists: exit 0, 1 or 2, never a traceback.

Every command and option gets valid and invalid values (and some arbitrary text). It runs
fast and offline: `fetch` and `departments` use `--demo` over a day at most (without it they
must refuse, as no credentials are set), `report` renders nothing (no kernel starts), the
emulator binds a loopback port and returns at once, and every file goes under tmp_path.
"""

import logging

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from costtrend_nb import cli

OUT, FILE, CACHE, REPORTS = "<out>", "<file>", "<cache>", "<reports>"

# each option: (values that are fine, values that must be refused); None for a flag
CONNECTION = {
    "--endpoint": (
        ["http://127.0.0.1:9", "https://aicontent.aliyuncs.com", "127.0.0.1:8080"],
        [
            "ftp://example.com",
            "http://user:pw@127.0.0.1",
            "not a url",
            "http://[::1",
            "",
            "http://example.com",
            "https://example.com/path?q=1",
        ],
    ),
    "--timeout": (["0.5", "10"], ["0", "-1", "nan", "inf", "ten"]),
    "--max-concurrency": (["1", "8", "64"], ["65", "0", "many"]),
}
QUERY = {
    "--start": (
        ["2026-11-20T10:00", "2026-11-20", "1795140000", "2026-11-20T10:30+05:45"],
        ["yesterday", "", "2026-13-01", "1e99", "99999999999999", "2010-01-01", "-5"],
    ),
    "--end": (["2026-11-20T12:00", "2026-11-21"], ["2026-11-19", "tomorrow", "NaT", "0"]),
    "--granularity": (["hourly", "daily"], ["weekly", ""]),
    "--tz": (["Asia/Shanghai", "UTC", "Europe/Berlin"], ["Asia/Kolkata", "Mars/Base", "", "utc"]),
    "--model-types": (["Chat", "chat,tts", "TTS", "Chat,Chat"], ["Chatt", ",", "x" * 200]),
    "--client-ids": (
        ["10002", "10002,10003", "10002,10002"],
        [
            "99999",
            "abc",
            "0",
            "-1",
            "9223372036854775807",
            "9223372036854775808",
            ",",
            "1e3",
            "１２",
            "10002,99999",
        ],
    ),
}
COMMANDS = {
    "fetch": {
        **QUERY,
        **CONNECTION,
        "--by": (["model_type", "client_id", "model_type,client_id", ""], ["metric"]),
        "--max-results": (["1", "100", "1000"], ["1001", "0", "x"]),
        "--on-error": (["raise", "partial"], ["ignore"]),
        "-o": (
            [f"{OUT}/f.csv", f"{OUT}/f.json", f"{OUT}/f.parquet", "-", f"{OUT}/new/f.csv"],
            [f"{OUT}/f.xlsx", OUT, f"{FILE}/x.csv"],
        ),
        "--format": (["csv", "json", "parquet"], ["xml"]),
        "--cache-dir": ([CACHE], [FILE]),
        "--demo": None,
        "--allow-http": None,
        "-v": None,
    },
    "departments": {
        **CONNECTION,
        "-o": ([f"{OUT}/d.csv", f"{OUT}/d.json", f"{OUT}/d.parquet", "-"], [f"{FILE}/d.csv"]),
        "--format": (["csv", "json", "parquet"], ["xml"]),
        "--demo": None,
        "--allow-http": None,
    },
    "report": {**QUERY, "-o": ([REPORTS], [FILE, f"{FILE}/sub"]), "--demo": None},
    "emulator": {
        "--port": (["0", "00"], ["70000", "-1", "http", "65536"]),
        "--host": (["127.0.0.1", "localhost", "127.0.0.2"], ["0.0.0.0", "::1", "example.com"]),
        "--latency-ms": (["0", "20"], ["-1", "nan", "1e309"]),
        "--error-rate": (["0", "0.1", "1"], ["1.5", "-0.1", "nan"]),
        "--throttle-every": (["0", "5"], ["-1", "2.5"]),
        "--truncate-rate": (["0.02"], ["2", "inf"]),
        "--duplicate-rate": (["0.3"], ["-1"]),
        "--seed": (["0", "1", "99999999999999999999"], ["-1", "x"]),
        "--now": (
            ["2026-11-20T14:30+08:00", "1795104000"],
            ["bad", "1e99", "1795104000000"],
        ),
        "-v": None,
    },
    "cache": {"--cache-dir": ([CACHE, f"{CACHE}/missing"], [FILE])},
}
NOTEBOOKS = ["00", "01", "03-forecast-overlay", "nope", "0", "03-forecast-overlay.ipynb"]
# fetch's range: at most a day (--start 2026-11-20 ... --end 2026-11-21) keeps each run fast
ACTIONS = ["info", "clear", "purge"]
ODD = [["--version"], ["--help"], [], ["launch"], ["fetch", "--help"], ["cache"], ["-v"]]


@st.composite
def argument_lists(draw):
    """One command line: a command, some of its options with good or bad values, in any order."""
    if draw(st.integers(0, 19)) == 0:
        return draw(st.sampled_from(ODD))
    command = draw(st.sampled_from(sorted(COMMANDS)))
    options = COMMANDS[command]
    names = draw(st.lists(st.sampled_from(sorted(options)), unique=True, max_size=6))
    if command == "fetch" and draw(st.integers(0, 4)):  # mostly with what fetch requires
        names = list(dict.fromkeys(["--start", "--end", "-o", "--demo", *names]))
    if command in ("departments", "report") and draw(st.integers(0, 3)):
        names = list(dict.fromkeys(["--demo", *names]))
    all_good = draw(st.booleans())  # half the lines hold only values that are fine
    pieces = []
    for name in names:
        values = options[name]
        if values is None:
            pieces.append([name])
            continue
        good, bad = values
        if not all_good and draw(st.integers(0, 9)) == 0 and name not in ("-o", "--cache-dir"):
            pieces.append([name, draw(st.text(max_size=12))])
        else:
            wrong = not all_good and draw(st.integers(0, 2)) == 0
            pieces.append([name, draw(st.sampled_from(bad if wrong else good))])
    if command == "report":
        pieces += [[n] for n in draw(st.lists(st.sampled_from(NOTEBOOKS), max_size=2))]
    if command == "cache":
        pieces.append([draw(st.sampled_from(ACTIONS))])
    order = draw(st.permutations(range(len(pieces))))
    return [command, *(part for i in order for part in pieces[i])]


@pytest.fixture
def places(tmp_path, monkeypatch):
    """Where outputs go, and stubs that keep the run fast: no kernel, no serving for ever."""
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    monkeypatch.setattr("costtrend_nb.report.render_reports", lambda *a, **k: [])
    monkeypatch.setattr("costtrend_nb.emulator.EmulatorServer.serve_forever", lambda self: None)
    monkeypatch.chdir(tmp_path)
    return {
        OUT: str(tmp_path / "out"),
        FILE: str(blocker),
        CACHE: str(tmp_path / "cache"),
        REPORTS: str(tmp_path / "reports"),
    }


def resolve(argv, places):
    out = []
    for arg in argv:
        for key, path in places.items():
            arg = arg.replace(key, path)
        out.append(arg)
    return out


class KeptLogging:
    """`-v` configures logging; put it back after each command line."""

    def __enter__(self):
        self.root = list(logging.root.handlers)
        self.level = logging.getLogger("costtrend_nb").level
        return self

    def __exit__(self, *exc):
        for handler in logging.root.handlers[:]:
            if handler not in self.root:
                logging.root.removeHandler(handler)
        logging.getLogger("costtrend_nb").setLevel(self.level)


@settings(
    max_examples=300,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(argv=argument_lists())
def test_any_command_line_ends_in_0_1_or_2_without_a_traceback(places, capsys, argv):
    argv = resolve(argv, places)
    capsys.readouterr()
    with KeptLogging():
        try:
            code = cli.main(argv)
        except SystemExit as done:  # argparse's own exits count as results too
            code = done.code
    err = capsys.readouterr().err
    assert code in (0, 1, 2), (argv, code, err)
    assert "Traceback" not in err, (argv, err)
    if code == 2 and "-v" not in argv:  # bad input: one line saying what to do
        assert err.count("\n") == 1 and err.startswith("costtrend-nb: error: "), (argv, err)
