"""The ``costtrend-nb`` command.

Examples::

    costtrend-nb fetch --start 2026-11-01 --end 2026-11-08 --by model_type -o week.csv
    costtrend-nb export --focus --start 2026-10-01 --end 2026-11-20 -o focus/
    costtrend-nb departments
    costtrend-nb emulator --port 8080 --latency-ms 20
    costtrend-nb report --demo -o reports
    costtrend-nb summary --markdown --budget 78000 --fail-on over-budget,anomaly:3
    costtrend-nb cache info

Exit status: 0 done, 1 an error from the service (or a file that could not be written),
2 bad input (nothing was sent), 3 ``summary`` printed the summary and a ``--fail-on``
condition holds (one ``alert:`` line each on standard error), 130 interrupted. Every error is
one line on standard error.
"""

from __future__ import annotations

import argparse
import logging
import sys
import warnings
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pandas as pd

from .arguments import FORMATS, PROG, build_parser
from .errors import CostTrendError, QueryError
from .output import OutputError, check_writable, require_pyarrow, write_frame

__all__ = ["build_parser", "main"]

NO_CREDENTIALS = (
    "no Alibaba Cloud credentials found: set ALIBABA_CLOUD_ACCESS_KEY_ID and "
    "ALIBABA_CLOUD_ACCESS_KEY_SECRET (or run `aliyun configure`), or pass --demo to use the "
    "built-in synthetic demo data."
)


# -- where the data comes from ------------------------------------------------------------------


def _credentials(demo: bool) -> Any:
    """The configured credentials; None for the demo. Never falls back to the demo silently.

    Raises:
        QueryError: nothing is configured and ``--demo`` was not given.
    """
    from . import Credentials

    if demo:
        return None
    found = Credentials.resolve()
    if found is None:
        raise QueryError(NO_CREDENTIALS)
    return found


def _make_client(args: argparse.Namespace) -> Any:
    from .client import CostTrendClient

    credentials = _credentials(args.demo)
    return CostTrendClient(
        credentials,
        endpoint=args.endpoint,
        demo=args.demo,
        cache_dir=getattr(args, "cache_dir", None),
        allow_http=args.allow_http,
        timeout=args.timeout,
        max_concurrency=args.max_concurrency,
    )


# -- the commands -------------------------------------------------------------------------------


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


def _prepare_output(path: str | None, chosen: str | None) -> str:
    """The output's format, after checking that it can be written (before any request)."""
    fmt = _format_for(path, chosen)
    if path not in (None, "-"):
        if fmt == "parquet":
            require_pyarrow()
        check_writable(path)
    elif fmt == "parquet":
        raise QueryError("parquet cannot go to standard output; pass -o FILE.parquet.")
    return fmt


def _write(df: pd.DataFrame, path: str | None, fmt: str, record: dict[str, Any]) -> str:
    """Write the output; returns where its provenance went."""
    if path in (None, "-"):
        write_frame(df, None, fmt, record)
        return "provenance on standard error"
    try:
        sidecar = write_frame(df, path, fmt, record)
    except KeyboardInterrupt:
        raise KeyboardInterrupt(f"stopped writing {path}; it was left as it was") from None
    return f"provenance in {sidecar}" if sidecar else "provenance in its Parquet metadata"


def _run_fetch(args: argparse.Namespace) -> int:
    from .output import trend_provenance

    with _make_client(args) as client:
        fmt = _prepare_output(args.output, args.format)
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
        demo = client.is_demo
    where = _write(df, args.output, fmt, trend_provenance(df, demo=demo))
    if args.output not in (None, "-"):
        series = df[["model_type", "client_id"]].drop_duplicates().shape[0]
        print(
            f"wrote {len(df)} rows of {'DEMO' if demo else 'live'} data ({series} series, "
            f"{df.attrs.get('request_count', 0)} requests, data as of "
            f"{df.attrs.get('as_of')}) to {args.output}; {where}",
            file=sys.stderr,
        )
    return 0


def _run_export(args: argparse.Namespace) -> int:
    from .focusexport import plan_export, run_export

    with _make_client(args) as client:
        plan = plan_export(
            args.output,
            args.start,
            args.end,
            granularity=args.granularity,
            tz=args.tz,
            model_types=args.model_types,
            client_ids=args.client_ids,
            by=args.by,
            fmt=args.format,
            include_incomplete=args.include_running,
            account_id=args.account_id,
            account_name=args.account_name,
            max_results=args.max_results,
            demo=client.is_demo,
        )
        result = run_export(client, plan)
    months = len(result.written) + len(result.unchanged) + len(result.empty)
    idle = f", {len(result.empty)} without any use" if result.empty else ""
    print(
        f"wrote {len(result.written)} of {months} billing months ({len(result.unchanged)} "
        f"unchanged{idle}; {result.rows:,} rows of {'DEMO' if plan.demo else 'live'} data, billed "
        f"¥{result.billed_cost:,.2f}, {result.request_count} requests) to {args.output}; "
        f"provenance in {Path(args.output) / '_manifest.json'}",
        file=sys.stderr,
    )
    return 0


def _run_departments(args: argparse.Namespace) -> int:
    from .output import departments_provenance

    to_table = args.output is None and args.format is None
    with _make_client(args) as client:
        fmt = "csv" if to_table else _prepare_output(args.output, args.format)
        df = client.departments()
        record = departments_provenance(
            demo=client.is_demo,
            endpoint="demo" if client.is_demo else str(client.endpoint),
            request_count=client.request_count,
        )
    if to_table:
        import json

        print(df.to_string(index=False))
        print(json.dumps(record, ensure_ascii=False), file=sys.stderr)
        return 0
    _write(df, args.output, fmt, record)
    return 0


def _run_report(args: argparse.Namespace) -> int:
    import time

    from .report import render_reports

    paths = _check_report(args)
    began = time.perf_counter()
    with ThreadPoolExecutor(1) as pool:  # the index's summary, while the notebooks run
        summary = pool.submit(_report_summary, args)
        written = render_reports(
            paths,
            args.output,
            start=args.start,
            end=args.end,
            tz=args.tz,
            granularity=args.granularity,
            model_types=args.model_types,
            client_ids=args.client_ids,
            demo=True if args.demo else None,
            summary=summary,
            lang=args.lang,
        )
    seconds = time.perf_counter() - began
    for path in written:
        print(Path(path).resolve())
    index = (Path(args.output) / "index.html").resolve()
    print(f"{len(written)} report(s) in {seconds:.1f}s; index: {index}", file=sys.stderr)
    return 0


def _report_summary(args: argparse.Namespace) -> Any:
    """The summary heading the index; None (the index says so) when it cannot be computed."""
    from .client import CostTrendClient
    from .overview import fetch_summary

    try:
        # no bar of its own: the report's one bar names the notebooks
        with CostTrendClient(_credentials(args.demo), demo=args.demo, progress=False) as client:
            return fetch_summary(
                client,
                end=args.end,
                tz=args.tz or "Asia/Shanghai",
                model_types=args.model_types,
                client_ids=args.client_ids,
                budget=args.budget,
                lang=args.lang or "en",
            )
    except CostTrendError as err:
        logging.getLogger("costtrend_nb").warning("no summary for the index: %s", err)
        return None


def _check_report(args: argparse.Namespace) -> list[Path]:
    """Check every parameter of ``report`` before any kernel starts; returns the notebooks."""
    from .client import CostTrendClient
    from .lang import check_lang
    from .report import find_notebooks

    paths = find_notebooks(args.notebooks or None)
    if args.lang is not None:
        args.lang = check_lang(args.lang)
    credentials = _credentials(args.demo)
    with CostTrendClient(credentials, demo=args.demo) as client:
        for path in paths:
            _check_report_query(args, path, client)
        check_writable(args.output, folder=True)
        if args.client_ids:
            _check_departments_exist(args.client_ids, client)
    return paths


def _check_report_query(args: argparse.Namespace, path: Path, client: Any) -> None:
    """Build the query the notebook will build (its own defaults where a flag is absent)."""
    from .query import TrendQuery, to_timestamp
    from .report import notebook_parameters

    defaults = notebook_parameters(path)
    tz = args.tz or defaults.get("tz") or "Asia/Shanghai"
    filters = {
        "granularity": args.granularity or defaults.get("granularity") or "daily",
        "tz": tz,
        "model_types": args.model_types,
        "client_ids": args.client_ids,
    }
    TrendQuery("2025-01-01", "2025-01-02", **filters)  # every filter, whatever the range
    for flag, value in (("--start", args.start), ("--end", args.end)):
        if value is not None:
            to_timestamp(value, tz, name=flag)
    today = client.now(tz).normalize()
    days = defaults.get("days") if isinstance(defaults.get("days"), int) else 60
    start = args.start or (today - pd.Timedelta(days=days)).date().isoformat()
    end = args.end or (today + pd.Timedelta(days=1)).date().isoformat()
    try:
        TrendQuery(start, end, **filters)
    except QueryError as err:
        if args.start and args.end:
            raise
        absent = "--end" if args.end is None else "--start"
        raise QueryError(
            f"{err} Without {absent}, {path.stem} uses {start if absent == '--start' else end}; "
            f"pass {absent} too."
        ) from None


def _check_departments_exist(ids: Sequence[int], client: Any) -> None:
    """One department-list request: every id asked for must be in the organisation."""
    known = {int(i) for i in client.departments()["id"]}
    unknown = [i for i in ids if i not in known]
    if unknown:
        raise QueryError(
            f"no department {', '.join(map(str, unknown))} in the organisation; "
            f"`{PROG} departments{' --demo' if client.is_demo else ''}` lists the ids."
        )


def _run_summary(args: argparse.Namespace) -> int:
    import json

    from .lang import check_lang
    from .overview import fetch_summary
    from .query import TrendQuery, to_timestamp
    from .summary import parse_conditions

    lang = check_lang(args.lang)
    conditions = parse_conditions(args.fail_on)
    if any(c.name == "over-budget" for c in conditions) and args.budget is None:
        raise QueryError("--fail-on over-budget needs a budget: pass --budget N (CNY).")
    filters = {"tz": args.tz, "model_types": args.model_types, "client_ids": args.client_ids}
    TrendQuery("2025-01-01", "2025-01-02", granularity="daily", **filters)  # every filter
    if args.end is not None:
        to_timestamp(args.end, args.tz, name="--end")
    with _make_client(args) as client:
        if args.client_ids:
            _check_departments_exist(args.client_ids, client)
        summary = fetch_summary(
            client,
            end=args.end,
            budget=args.budget,
            lang=lang,
            days=args.days,
            **filters,
        )
    if args.json:
        print(json.dumps(summary.to_dict(), ensure_ascii=False, indent=2))
    elif args.markdown:
        print(summary.to_markdown())
    else:
        print(summary.to_text())
    alerts = summary.alerts(conditions)
    for alert in alerts:
        print(f"{PROG}: alert: {_one_line(alert)}", file=sys.stderr)
    return 3 if alerts else 0


def _run_emulator(args: argparse.Namespace) -> int:
    from .emulator import DEMO_ACCESS_KEY_ID, DEMO_NOW, Emulator, EmulatorServer, Faults
    from .query import to_timestamp

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
    except (OSError, ValueError, OverflowError) as err:
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


COMMANDS: dict[str, Callable[[argparse.Namespace], int]] = {
    "fetch": _run_fetch,
    "export": _run_export,
    "departments": _run_departments,
    "report": _run_report,
    "summary": _run_summary,
    "emulator": _run_emulator,
    "cache": _run_cache,
}


# -- main ---------------------------------------------------------------------------------------


def _one_line(text: object) -> str:
    return " ".join(str(text).split())


def _parse(argv: Sequence[str] | None) -> argparse.Namespace | int:
    """The parsed arguments, or the exit status of ``--help`` and ``--version``."""
    try:
        return build_parser().parse_args(argv)
    except SystemExit as done:  # --help, --version: argparse printed them and exits
        return done.code if isinstance(done.code, int) else 0


def main(argv: Sequence[str] | None = None) -> int:
    """Run ``costtrend-nb``; returns the exit status (2 bad input, 1 other errors, 3 an alert
    of ``summary --fail-on``, 130 Ctrl-C).

    Warnings are shown as one line each when the command ends; a command refused for bad input
    shows only its error line.

    Example:
        >>> main(["emulator", "--port", "70000"])   # the error line goes to standard error
        2
        >>> main(["departments", "--demo"])          # the provenance line too
           id                   name  parent_id  level
        10001           Headquarters          0      1
        10002 Research & Development      10001      2
        10003            AI Platform      10002      3
        10004                 Search      10002      3
        10005       Customer Service      10001      2
        10006              Marketing      10001      2
        10007        Creative Studio      10006      3
        10008   Finance & Operations      10001      2
        0
    """
    with warnings.catch_warnings(record=True) as caught:
        status = _run(argv)
    if status != 2:
        for warning in caught:
            print(f"{PROG}: warning: {_one_line(warning.message)}", file=sys.stderr)
    return status


def _run(argv: Sequence[str] | None) -> int:
    try:
        args = _parse(argv)
        if isinstance(args, int):
            return args
        _set_up_logging(args)
        return COMMANDS[args.command](args)
    except QueryError as err:
        print(f"{PROG}: error: {_one_line(err)}", file=sys.stderr)
        return 2
    except CostTrendError as err:
        print(f"{PROG}: {type(err).__name__}: {err}", file=sys.stderr)
        return 1
    except OutputError as err:
        print(f"{PROG}: {err}", file=sys.stderr)
        return 1
    except OSError as err:
        where = f"{err.filename}: " if err.filename else ""
        print(f"{PROG}: {where}{err.strerror or err}", file=sys.stderr)
        return 1
    except KeyboardInterrupt as err:
        print(f"{PROG}: interrupted{f'; {err}' if str(err) else ''}", file=sys.stderr)
        return 130


def _set_up_logging(args: argparse.Namespace) -> None:
    if getattr(args, "verbose", 0):
        logging.basicConfig(format="%(asctime)s %(name)s %(levelname)s %(message)s")
        logging.getLogger("costtrend_nb").setLevel(
            logging.DEBUG if args.verbose > 1 else logging.INFO
        )


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
