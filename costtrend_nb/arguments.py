"""The arguments of the ``costtrend-nb`` command: the parser, and a type for each value.

Each argument type refuses what the command cannot use, with the reason, and argparse's usage
errors are one line (:class:`~costtrend_nb.errors.QueryError`, exit status 2), so bad input
never reaches the library or a traceback.

Example:
    >>> build_parser().parse_args(["emulator", "--port", "0"]).port
    0
"""

from __future__ import annotations

import argparse
import ipaddress
import math
from collections.abc import Callable
from typing import Any, NoReturn

from . import __version__
from .errors import QueryError
from .output import FORMATS

__all__ = ["FORMATS", "MAX_CONCURRENCY", "MAX_ID", "PROG", "build_parser"]

PROG = "costtrend-nb"
MAX_ID = 2**63 - 1  # department ids are positive 64-bit integers
MAX_CONCURRENCY = 64


# -- argument types: each refuses what it cannot use, with the reason --------------------------


class _Parser(argparse.ArgumentParser):
    """argparse whose usage errors are one line: ``costtrend-nb: error: ...`` (exit 2)."""

    def error(self, message: str) -> NoReturn:
        raise QueryError(f"{message}; see `{self.prog} --help`.")


def _csv_list(text: str) -> list[str]:
    return [part.strip() for part in text.split(",") if part.strip()]


def _names(text: str) -> list[str]:
    """A comma-separated list of names, at least one: ``Chat,TTS``."""
    names = _csv_list(text)
    if not names:
        raise argparse.ArgumentTypeError("give at least one name, e.g. Chat,TTS")
    return names


def _department_ids(text: str) -> list[int]:
    """A comma-separated list of department ids, each from 1 to 2**63-1: ``10001,10002``."""
    parts = _csv_list(text)
    if not parts:
        raise argparse.ArgumentTypeError("give at least one department id, e.g. 10002")
    ids = []
    for part in parts:
        number = int(part) if part.isascii() and part.isdigit() else 0
        if not 1 <= number <= MAX_ID:
            raise argparse.ArgumentTypeError(
                f"{part[:40]!r} is not a department id: ids are whole numbers from 1 to "
                f"{MAX_ID}; `{PROG} departments` lists them"
            )
        ids.append(number)
    return ids


def _whole(low: int, high: int | None = None) -> Callable[[str], int]:
    """An argparse type: a whole number from ``low`` to ``high``."""

    def parse(text: str) -> int:
        value = text.strip()
        number = int(value) if value.lstrip("-").isascii() and value.lstrip("-").isdigit() else None
        if number is None or number < low or (high is not None and number > high):
            bound = f"from {low} to {high}" if high is not None else f"of at least {low}"
            raise argparse.ArgumentTypeError(f"must be a whole number {bound}, not {text[:40]!r}")
        return number

    return parse


def _real(low: float, high: float | None = None, *, above: bool = False) -> Callable[[str], float]:
    """An argparse type: a finite number from ``low`` (or above it) to ``high``."""

    def parse(text: str) -> float:
        try:
            number = float(text)
        except ValueError:
            number = math.nan
        bad = not math.isfinite(number) or number < low or (above and number == low)
        if bad or (high is not None and number > high):
            bound = f"above {low:g}" if above else f"of at least {low:g}"
            bound += f" and at most {high:g}" if high is not None else ""
            raise argparse.ArgumentTypeError(f"must be a number {bound}, not {text[:40]!r}")
        return number

    return parse


def _loopback(text: str) -> str:
    """An argparse type: a loopback address to serve on (the emulator is never public)."""
    try:
        loopback = text == "localhost" or ipaddress.ip_address(text).is_loopback
    except ValueError:
        loopback = False
    if not loopback:
        raise argparse.ArgumentTypeError(
            f"the emulator serves loopback only: give 127.0.0.1 or localhost, not {text[:40]!r}"
        )
    return text


# -- the parser ---------------------------------------------------------------------------------


def _client_options(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("connection")
    group.add_argument(
        "--demo", action="store_true", help="use the built-in demo emulator (synthetic data)"
    )
    group.add_argument(
        "--endpoint",
        default=None,
        help="service URL (default: $COSTTREND_NB_ENDPOINT or the vendor's)",
    )
    group.add_argument(
        "--allow-http", action="store_true", help="allow plain http to a non-loopback host"
    )
    group.add_argument(
        "--timeout", type=_real(0, above=True), default=10.0, help="seconds per request"
    )
    group.add_argument(
        "--max-concurrency",
        type=_whole(1, MAX_CONCURRENCY),
        default=8,
        help=f"request chains at once (1 to {MAX_CONCURRENCY})",
    )
    group.add_argument("-v", "--verbose", action="count", default=0, help="log requests (-vv)")


def _output_options(parser: argparse.ArgumentParser, *, required: bool) -> None:
    parser.add_argument(
        "-o",
        "--output",
        required=required,
        help="file to write ('-' for standard output); provenance goes to FILE.meta.json "
        "(csv, json) or the Parquet schema",
    )
    parser.add_argument(
        "--format", choices=FORMATS, default=None, help="csv, json or parquet (default: by suffix)"
    )


def _query_options(parser: argparse.ArgumentParser, *, report: bool) -> None:
    default = "the notebook's" if report else None
    parser.add_argument(
        "--start",
        required=not report,
        default=None,
        help=f"range start (ISO date/time or Unix s){f'; default: {default}' if report else ''}",
    )
    parser.add_argument("--end", required=not report, default=None, help="range end, exclusive")
    parser.add_argument(
        "--granularity", choices=("hourly", "daily"), default=None if report else "hourly"
    )
    parser.add_argument(
        "--tz", default=None if report else "Asia/Shanghai", help="IANA time zone (Asia/Shanghai)"
    )
    parser.add_argument("--model-types", type=_names, default=None, help="e.g. Chat,TTS")
    parser.add_argument(
        "--client-ids", type=_department_ids, default=None, help="department ids, e.g. 10002"
    )


def _add_fetch(commands: Any) -> None:
    fetch = commands.add_parser("fetch", help="fetch the cost trend as a tidy table")
    _query_options(fetch, report=False)
    fetch.add_argument(
        "--by", type=_csv_list, default=[], help="split by model_type and/or client_id"
    )
    fetch.add_argument("--max-results", type=_whole(1), default=100, help="points per page")
    fetch.add_argument(
        "--on-error",
        choices=("raise", "partial"),
        default="raise",
        help="'partial' keeps the series that arrived when others fail",
    )
    _output_options(fetch, required=True)
    _client_options(fetch)
    fetch.add_argument(
        "--cache-dir",
        default=None,
        help="keep settled buckets here and fetch only the rest (off by default)",
    )


def _add_export(commands: Any) -> None:
    export = commands.add_parser(
        "export",
        help="write the cost trend as a FOCUS dataset (hive-partitioned Parquet or CSV)",
        description="Write FOCUS 1.0 rows, one billing month (Asia/Shanghai) at a time, into "
        "DIR/billing_period=YYYY-MM/, with DIR/_manifest.json. Re-running into the same folder "
        "adds new months and rewrites only the months whose rows changed. docs/focus.md maps "
        "the columns.",
    )
    export.add_argument(
        "--focus", action="store_true", required=True, help="FOCUS 1.0 rows (the one schema)"
    )
    export.add_argument("-o", "--output", required=True, help="the dataset folder")
    export.add_argument(
        "--format", choices=("parquet", "csv"), default="parquet", help="file format of parts"
    )
    _query_options(export, report=False)
    export.add_argument(
        "--by",
        type=_csv_list,
        default=["model_type", "client_id"],
        help="split by model_type and/or client_id (default both; '' for neither)",
    )
    export.add_argument(
        "--include-running",
        action="store_true",
        help="keep running and settling buckets, marked x_Complete=false (default: left out)",
    )
    export.add_argument(
        "--account-id", default=None, help="BillingAccountId (default: model-router)"
    )
    export.add_argument("--account-name", default=None, help="BillingAccountName")
    export.add_argument("--max-results", type=_whole(1), default=100, help="points per page")
    _client_options(export)


def _add_departments(commands: Any) -> None:
    departments = commands.add_parser("departments", help="list the departments")
    _output_options(departments, required=False)
    _client_options(departments)


def _add_report(commands: Any) -> None:
    report = commands.add_parser(
        "report",
        help="run the analysis notebooks and export self-contained HTML reports",
        description="Run notebooks (figures drawn, no widgets) and export each as one "
        "self-contained HTML file, with a table of contents and a provenance footer, plus an "
        "index.html that opens with the executive summary. Every parameter is checked before "
        "any notebook starts.",
    )
    report.add_argument(
        "notebooks", nargs="*", help="notebook names or prefixes, e.g. 01 (default: all)"
    )
    report.add_argument("-o", "--output", default="reports", help="folder for the reports")
    _query_options(report, report=True)
    report.add_argument("--demo", action="store_true", help="use the built-in demo data")
    report.add_argument(
        "--lang",
        default=None,
        help="en or zh: titles, labels, table headers and the index in Chinese (needs a CJK "
        "font, e.g. fonts-noto-cjk; without one, figures fall back to English with a warning)",
    )
    report.add_argument(
        "--budget",
        type=_real(0),
        default=None,
        help="this month's budget in CNY: the index shows P(over budget)",
    )


def _add_emulator(commands: Any) -> None:
    emulator = commands.add_parser(
        "emulator",
        help="serve the built-in emulator on a loopback port",
        description="Serve the demo organisation on a loopback port, for any client (the "
        "vendor's SDK included: endpoint HOST:PORT, protocol http, the demo key pair).",
    )
    add = emulator.add_argument
    add("--port", type=_whole(0, 65535), default=8080, help="port, 0 to 65535 (0: any free one)")
    add("--host", type=_loopback, default="127.0.0.1", help="loopback address to bind")
    add("--latency-ms", type=_real(0), default=0.0, help="delay of every answer")
    add("--error-rate", type=_real(0, 1), default=0.0, help="share of 500 answers (0 to 1)")
    add("--throttle-every", type=_whole(0), default=0, help="about one request in N gets a 429")
    add("--truncate-rate", type=_real(0, 1), default=0.0, help="share of cut bodies (0 to 1)")
    add("--duplicate-rate", type=_real(0, 1), default=0.0, help="share of pages repeating a point")
    add("--seed", type=_whole(0), default=0, help="the demo organisation's seed")
    add("--now", default=None, help="the frozen data clock (default DEMO_NOW)")
    add("-v", "--verbose", action="count", default=0, help="log requests")


def _add_cache(commands: Any) -> None:
    cache = commands.add_parser(
        "cache",
        help="show or clear the cache of settled buckets",
        description="The cache keeps settled buckets of fetches with a cache directory "
        "(notebooks on the real API use the default one), so a re-run fetches only what may "
        "still change.",
    )
    cache.add_argument(
        "action", choices=("info", "clear"), help="info: what is kept; clear: delete it"
    )
    cache.add_argument(
        "--cache-dir", default=None, help="the cache directory (default: the user's cache folder)"
    )


def _add_summary(commands: Any) -> None:
    summary = commands.add_parser(
        "summary",
        help="print the executive summary; exit 3 when a --fail-on condition holds",
        description="Spend month to date (like for like), the last complete week, where the "
        "month will land, the drivers of the change, unusual days and the top departments, "
        "from the daily spend of the DAYS days before --end. Exit status 3 when a --fail-on "
        "condition holds (after printing the summary, one line per alert on standard error), "
        "so a scheduled job can alert.",
    )
    form = summary.add_mutually_exclusive_group()
    form.add_argument("--json", action="store_true", help="print the summary as JSON")
    form.add_argument("--markdown", action="store_true", help="print it as Markdown")
    summary.add_argument(
        "--budget", type=_real(0), default=None, help="this month's budget in CNY, e.g. 78000"
    )
    summary.add_argument(
        "--fail-on",
        type=_csv_list,
        default=[],
        help="exit 3 when one holds: over-budget (needs --budget), anomaly[:DAYS], "
        "spend-up[:PCT] (default 20), week-up[:PCT]; e.g. over-budget,anomaly:3,spend-up:20",
    )
    summary.add_argument(
        "--end", default=None, help="range end, exclusive (default: after the running day)"
    )
    summary.add_argument(
        "--days", type=_whole(1, 3660), default=210, help="days of history (default 210)"
    )
    summary.add_argument("--tz", default="Asia/Shanghai", help="IANA time zone (Asia/Shanghai)")
    summary.add_argument("--model-types", type=_names, default=None, help="e.g. Chat,TTS")
    summary.add_argument(
        "--client-ids", type=_department_ids, default=None, help="department ids, e.g. 10002"
    )
    summary.add_argument("--lang", default="en", help="en or zh (simplified Chinese)")
    _client_options(summary)


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of ``costtrend-nb``; its usage errors raise :class:`QueryError`.

    Example:
        >>> build_parser().parse_args(["emulator", "--port", "0"]).port
        0
    """
    parser = _Parser(prog=PROG, description="Fetch and report Alibaba Cloud Model Router spend.")
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for add in (
        _add_fetch,
        _add_export,
        _add_departments,
        _add_report,
        _add_summary,
        _add_emulator,
        _add_cache,
    ):
        add(commands)
    return parser
