"""The ``costtrend-nb`` command.

Examples::

    costtrend-nb fetch --start 2026-11-01 --end 2026-11-08 --by model_type -o week.csv
    costtrend-nb departments
    costtrend-nb emulator --port 8080 --latency-ms 20
    costtrend-nb report --demo -o reports
    costtrend-nb cache info
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from . import __version__
from .errors import CostTrendError, QueryError

__all__ = ["main"]

FORMATS = ("csv", "json", "parquet")


def _csv_list(text: str) -> list[str]:
    return [part.strip() for part in text.split(",") if part.strip()]


def _client_options(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("connection")
    group.add_argument("--demo", action="store_true", help="use the built-in demo emulator")
    group.add_argument(
        "--endpoint",
        default=None,
        help="service URL (default: $COSTTREND_NB_ENDPOINT or the vendor's)",
    )
    group.add_argument(
        "--allow-http", action="store_true", help="allow plain http to a non-loopback host"
    )
    group.add_argument("--timeout", type=float, default=10.0, help="seconds per request")
    group.add_argument("--max-concurrency", type=int, default=8, help="request chains at once")
    group.add_argument("-v", "--verbose", action="count", default=0, help="log requests (-vv)")


def _output_options(parser: argparse.ArgumentParser, *, required: bool) -> None:
    parser.add_argument(
        "-o",
        "--output",
        required=required,
        help="file to write ('-' for standard output)",
    )
    parser.add_argument(
        "--format", choices=FORMATS, default=None, help="csv, json or parquet (default: by suffix)"
    )


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of ``costtrend-nb``."""
    parser = argparse.ArgumentParser(
        prog="costtrend-nb",
        description="Fetch and report Alibaba Cloud Model Router spend.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    fetch = commands.add_parser("fetch", help="fetch the cost trend as a tidy table")
    fetch.add_argument("--start", required=True, help="range start (ISO date/time or Unix s)")
    fetch.add_argument("--end", required=True, help="range end, exclusive")
    fetch.add_argument("--granularity", choices=("hourly", "daily"), default="hourly")
    fetch.add_argument("--tz", default="Asia/Shanghai", help="IANA time zone (Asia/Shanghai)")
    fetch.add_argument("--model-types", type=_csv_list, default=None, help="e.g. Chat,TTS")
    fetch.add_argument("--client-ids", type=_csv_list, default=None, help="department ids")
    fetch.add_argument(
        "--by", type=_csv_list, default=[], help="split by model_type and/or client_id"
    )
    fetch.add_argument("--max-results", type=int, default=100, help="points per page")
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
    fetch.set_defaults(run=_run_fetch)

    departments = commands.add_parser("departments", help="list the departments")
    _output_options(departments, required=False)
    _client_options(departments)
    departments.set_defaults(run=_run_departments)

    report = commands.add_parser(
        "report",
        help="run the analysis notebooks and export self-contained HTML reports",
        description="Run notebooks with papermill (figures drawn, no widgets) and export each "
        "as one self-contained HTML file, with a table of contents and a provenance footer.",
    )
    report.add_argument(
        "notebooks", nargs="*", help="notebook names or prefixes, e.g. 01 (default: all)"
    )
    report.add_argument("-o", "--output", default="reports", help="folder for the reports")
    report.add_argument("--start", default=None, help="range start (default: the notebook's)")
    report.add_argument("--end", default=None, help="range end, exclusive")
    report.add_argument("--tz", default=None, help="IANA time zone")
    report.add_argument("--granularity", choices=("hourly", "daily"), default=None)
    report.add_argument("--model-types", type=_csv_list, default=None, help="e.g. Chat,TTS")
    report.add_argument("--client-ids", type=_csv_list, default=None, help="department ids")
    report.add_argument("--demo", action="store_true", help="use the built-in demo data")
    report.set_defaults(run=_run_report)

    emulator = commands.add_parser(
        "emulator",
        help="serve the built-in emulator on a loopback port",
        description="Serve the demo organisation on a loopback port, for any client (the "
        "vendor's SDK included: endpoint HOST:PORT, protocol http, the demo key pair).",
    )
    emulator.add_argument("--port", type=int, default=8080, help="port (0: any free one)")
    emulator.add_argument("--host", default="127.0.0.1", help="loopback address to bind")
    emulator.add_argument("--latency-ms", type=float, default=0.0, help="delay of every answer")
    emulator.add_argument("--error-rate", type=float, default=0.0, help="share of 500 answers")
    emulator.add_argument(
        "--throttle-every", type=int, default=0, help="about one request in N gets a 429"
    )
    emulator.add_argument("--truncate-rate", type=float, default=0.0, help="share of cut bodies")
    emulator.add_argument(
        "--duplicate-rate", type=float, default=0.0, help="share of pages repeating a point"
    )
    emulator.add_argument("--seed", type=int, default=0, help="the demo organisation's seed")
    emulator.add_argument("--now", default=None, help="the frozen data clock (default DEMO_NOW)")
    emulator.add_argument("-v", "--verbose", action="count", default=0, help="log requests")
    emulator.set_defaults(run=_run_emulator)

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
    cache.set_defaults(run=_run_cache)
    return parser


def _make_client(args: argparse.Namespace) -> Any:
    from .client import CostTrendClient

    return CostTrendClient(
        endpoint=args.endpoint,
        demo=args.demo,
        cache_dir=getattr(args, "cache_dir", None),
        allow_http=args.allow_http,
        timeout=args.timeout,
        max_concurrency=args.max_concurrency,
    )


def _format_for(path: str | None, chosen: str | None) -> str:
    if chosen:
        return chosen
    suffix = Path(path or "").suffix.lower().lstrip(".")
    if suffix in FORMATS:
        return suffix
    if path in (None, "-"):
        return "csv"
    raise QueryError(
        f"cannot tell the format of {path!r} from its suffix; pass --format csv|json|parquet."
    )


def _with_iso_times(df: pd.DataFrame) -> pd.DataFrame:
    out = df.copy()
    for column in out.columns:
        if isinstance(out[column].dtype, pd.DatetimeTZDtype):
            out[column] = out[column].map(lambda t: t.isoformat())
    return out


def write_frame(df: pd.DataFrame, path: str | None, fmt: str) -> None:
    """Write a frame as csv, json (records) or parquet; ``-`` or None is standard output."""
    to_stdout = path in (None, "-")
    if not to_stdout:
        Path(path).parent.mkdir(parents=True, exist_ok=True)  # type: ignore[arg-type]
    if fmt == "parquet":
        try:
            import pyarrow  # noqa: F401
        except ImportError:
            raise QueryError(
                "parquet output needs pyarrow: pip install 'costtrend_nb[parquet]', or use "
                "--format csv."
            ) from None
        if to_stdout:
            raise QueryError("parquet cannot go to standard output; pass -o FILE.parquet.")
        df.to_parquet(path, index=False)
        return
    table = _with_iso_times(df)
    if fmt == "csv":
        text = table.to_csv(index=False)
    else:
        text = table.to_json(orient="records", force_ascii=False, indent=1) + "\n"
    if to_stdout:
        sys.stdout.write(text)
    else:
        Path(path).write_text(text, encoding="utf-8")  # type: ignore[arg-type]


def _run_fetch(args: argparse.Namespace) -> int:
    fmt = _format_for(args.output, args.format)
    with _make_client(args) as client:
        df = client.fetch(
            args.start,
            args.end,
            granularity=args.granularity,
            model_types=args.model_types,
            client_ids=args.client_ids,
            by=args.by,
            tz=args.tz,
            max_results=args.max_results,
            on_error=args.on_error,
        )
    write_frame(df, args.output, fmt)
    series = df[["model_type", "client_id"]].drop_duplicates().shape[0]
    print(
        f"wrote {len(df)} rows ({series} series, {df.attrs.get('request_count', 0)} requests, "
        f"data as of {df.attrs.get('as_of')}) to {args.output}",
        file=sys.stderr,
    )
    return 0


def _run_departments(args: argparse.Namespace) -> int:
    with _make_client(args) as client:
        df = client.departments()
    if args.output is None and args.format is None:
        print(df.to_string(index=False))
        return 0
    write_frame(df, args.output, _format_for(args.output, args.format))
    return 0


def _run_report(args: argparse.Namespace) -> int:
    import time

    from .query import TrendQuery
    from .report import render_reports

    client_ids = [int(i) for i in args.client_ids] if args.client_ids else None
    if args.start and args.end:  # check the range before starting any kernel
        TrendQuery(
            args.start,
            args.end,
            granularity=args.granularity or "daily",
            tz=args.tz or "Asia/Shanghai",
        )
    began = time.perf_counter()
    paths = render_reports(
        args.notebooks or None,
        args.output,
        start=args.start,
        end=args.end,
        tz=args.tz,
        granularity=args.granularity,
        model_types=args.model_types,
        client_ids=client_ids,
        demo=True if args.demo else None,
    )
    seconds = time.perf_counter() - began
    for path in paths:
        print(path.resolve())
    index = (Path(args.output) / "index.html").resolve()
    print(f"{len(paths)} report(s) in {seconds:.1f}s; index: {index}", file=sys.stderr)
    return 0


def _run_emulator(args: argparse.Namespace) -> int:
    from .emulator import DEMO_ACCESS_KEY_ID, DEMO_NOW, Emulator, EmulatorServer, Faults
    from .query import to_timestamp

    rates = {"--error-rate": args.error_rate, "--truncate-rate": args.truncate_rate}
    rates["--duplicate-rate"] = args.duplicate_rate
    for flag, rate in rates.items():
        if not 0.0 <= rate <= 1.0:
            raise QueryError(f"{flag} must be between 0 and 1, not {rate}.")
    if args.latency_ms < 0 or args.throttle_every < 0:
        raise QueryError("--latency-ms and --throttle-every must not be negative.")
    now = (
        DEMO_NOW
        if args.now is None
        else int(to_timestamp(args.now, "UTC", name="--now").timestamp())
    )
    faults = Faults(
        latency_ms=args.latency_ms,
        error_rate=args.error_rate,
        throttle_every=args.throttle_every,
        truncate_rate=args.truncate_rate,
        duplicate_rate=args.duplicate_rate,
    )
    try:
        server = EmulatorServer(
            Emulator(seed=args.seed, now=now, faults=faults), host=args.host, port=args.port
        )
    except (OSError, ValueError) as err:
        raise QueryError(f"cannot serve on {args.host}:{args.port}: {err}") from None
    print(
        f"costtrend-nb emulator serving on {server.url} (data as of "
        f"{pd.Timestamp(now, unit='s', tz='Asia/Shanghai').isoformat()}); key id "
        f"{DEMO_ACCESS_KEY_ID}, secret costtrend_nb.emulator.DEMO_ACCESS_KEY_SECRET. "
        "Ctrl-C stops it.",
        file=sys.stderr,
        flush=True,
    )
    try:
        server.serve_forever()
    finally:
        server.stop()
    return 0


def _run_cache(args: argparse.Namespace) -> int:
    from .cache import cache_info, clear_cache, default_cache_dir

    root = Path(args.cache_dir).expanduser() if args.cache_dir else default_cache_dir()
    if args.action == "clear":
        print(f"removed {clear_cache(root)} cached series from {root}")
        return 0
    info = cache_info(root)
    print(f"{info['path']}: {info['files']} files, {info['bytes'] / 1e6:.1f} MB")
    for version, figures in info["versions"].items():
        current = " (this version)" if version == info["version"] else ""
        print(f"  v{version}{current}: {figures['files']} files, {figures['bytes'] / 1e6:.1f} MB")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """Run ``costtrend-nb``; returns the exit status (2 for bad input, 1 for other errors)."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if getattr(args, "verbose", 0):
        logging.basicConfig(format="%(asctime)s %(name)s %(levelname)s %(message)s")
        logging.getLogger("costtrend_nb").setLevel(
            logging.DEBUG if args.verbose > 1 else logging.INFO
        )
    run: Callable[[argparse.Namespace], int] = args.run
    try:
        return run(args)
    except QueryError as err:
        print(f"costtrend-nb: error: {err}", file=sys.stderr)
        return 2
    except CostTrendError as err:
        print(f"costtrend-nb: {type(err).__name__}: {err}", file=sys.stderr)
        return 1
    except OSError as err:
        print(
            f"costtrend-nb: cannot write {err.filename or ''}: {err.strerror or err}",
            file=sys.stderr,
        )
        return 1
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
