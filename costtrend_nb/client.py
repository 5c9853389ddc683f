"""The clients: :class:`CostTrendClient` (threads, safe inside Jupyter's running loop) and
:class:`AsyncCostTrendClient` (``asyncio``). Both plan a query into request chains, drive the
shared flow of :mod:`costtrend_nb.protocol` over one connection pool, and hand the pages to
:mod:`costtrend_nb.tidy`.
"""

from __future__ import annotations

import asyncio
import collections
import datetime as dt
import functools
import ipaddress
import logging
import math
import os
import random
import ssl
import threading
import time
import warnings
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, NamedTuple

import httpx
import pandas as pd

from .auth import AcsV3Auth, Credentials
from .cache import Cache, CacheUse
from .errors import CostTrendError, FetchError, QueryError, ResponseError, TimeoutError
from .protocol import (
    CLIENTS_ACTION,
    CLIENTS_PATH,
    MAX_PAGE_BYTES,
    TREND_ACTION,
    TREND_PATH,
    Flow,
    RetryPolicy,
    Send,
    build_request,
    is_fatal,
    paged_flow,
    read_client_page,
    read_page,
    translate_transport_error,
)
from .query import DEFAULT_TZ, TrendQuery, WindowRequest
from .tidy import Chain, Page, ParsedChain, build_frame, parse_chain

__all__ = ["DEFAULT_ENDPOINT", "AsyncCostTrendClient", "CostTrendClient"]

log = logging.getLogger("costtrend_nb")

DEFAULT_ENDPOINT = "https://aicontent.aliyuncs.com"
#: An environment variable naming another endpoint (a proxy, a VPC endpoint, an emulator).
ENDPOINT_ENV = "COSTTREND_NB_ENDPOINT"
#: Requests in flight at once, by default (connections to the endpoint).
DEFAULT_MAX_CONCURRENCY = 8
OnError = Literal["raise", "partial"]
_PROGRESS_ENV = "COSTTREND_NB_PROGRESS"
_PROGRESS_DELAY = 2.0  # seconds before a progress bar appears


DEMO_NOTICE = (
    "No Alibaba Cloud credentials found: using the built-in demo organisation (synthetic data). "
    "Set ALIBABA_CLOUD_ACCESS_KEY_ID and ALIBABA_CLOUD_ACCESS_KEY_SECRET to see your own spend."
)


class DemoModeWarning(UserWarning):
    """The client fell back to the built-in demo because no credentials were found."""


def _demo_wiring(transport: Any) -> tuple[Credentials, Any]:
    from .emulator import DEMO_ACCESS_KEY_ID, DEMO_ACCESS_KEY_SECRET, EmulatorTransport

    credentials = Credentials(DEMO_ACCESS_KEY_ID, DEMO_ACCESS_KEY_SECRET, source="demo")
    return credentials, transport if transport is not None else EmulatorTransport()


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def _ssl_env(trust_env: bool) -> tuple[str | None, str | None]:
    if not trust_env:
        return None, None
    return os.environ.get("SSL_CERT_FILE"), os.environ.get("SSL_CERT_DIR")


@functools.lru_cache(maxsize=4)
def _ssl_context(trust_env: bool, cert_file: str | None, cert_dir: str | None) -> ssl.SSLContext:
    """Certificates checked, as httpx checks them; built once per setting, because loading
    the CA bundle takes longer than a request to the endpoint."""
    del cert_file, cert_dir  # read by httpx from the environment; here they key the cache
    return httpx.create_ssl_context(trust_env=trust_env)


def _parse_endpoint(endpoint: str, allow_http: bool) -> httpx.URL:
    text = str(endpoint).strip()
    if "://" not in text:
        text = "https://" + text
    try:
        url = httpx.URL(text)
    except httpx.InvalidURL as err:
        raise QueryError(f"endpoint {endpoint!r} is not a URL: {err}") from None
    if url.scheme not in ("https", "http") or not url.host:
        raise QueryError(f"endpoint must be an https:// URL with a host, not {endpoint!r}.")
    if url.userinfo:
        raise QueryError("endpoint must not carry credentials; pass Credentials instead.")
    if url.path not in ("", "/") or url.query:
        raise QueryError(f"endpoint must be a scheme and host only, not {endpoint!r}.")
    if url.scheme == "http" and not allow_http and not _is_loopback(url.host):
        raise QueryError(
            f"endpoint {endpoint!r} is plain http to a non-loopback host: requests would travel "
            "unencrypted. Use https://, or pass allow_http=True if you really mean it."
        )
    return url.copy_with(path="/")


def _check_number(name: str, value: Any, *, minimum: float, integer: bool = False) -> None:
    bad = isinstance(value, bool) or not isinstance(value, (int, float))
    bad = bad or (integer and not isinstance(value, int))
    if bad or not math.isfinite(value) or value < minimum:
        kind = "an integer" if integer else "a number"
        raise QueryError(f"{name} must be {kind} >= {minimum}, not {value!r}.")


def _progress(total: int, enabled: bool | None) -> Any:
    if enabled is None:
        enabled = os.environ.get(_PROGRESS_ENV, "1") not in ("0", "false", "False")
    if not enabled or total < 2:
        return _NoProgress()
    from tqdm.auto import tqdm

    return tqdm(total=total, delay=_PROGRESS_DELAY, desc="fetching series", unit="chain")


@dataclass
class _Step:
    """The next action of one chain."""

    index: int
    flow: Flow
    action: Any


class _Steps:
    """The bookkeeping of a breadth-first run: ready steps, parsed chains, errors. Not
    thread-safe: the caller holds its lock around every call but :meth:`parse`."""

    def __init__(
        self,
        client: _BaseClient,
        query: TrendQuery,
        plan: Sequence[WindowRequest],
        deadline_at: float | None,
    ):
        self.query, self.plan = query, plan
        self.ready: collections.deque[_Step] = collections.deque()
        self.active = 0
        self.results: dict[int, ParsedChain] = {}
        self.errors: dict[int, CostTrendError] = {}
        self.fatal: BaseException | None = None
        self.finished: dict[int, list[Page]] = {}
        for i, window in enumerate(plan):
            flow = client._trend_flow(window, deadline_at)
            self._advance(i, flow, flow.__next__)

    def take(self) -> _Step:
        self.active += 1
        return self.ready.popleft()

    def settle(self, step: _Step, outcome: Any) -> list[Page] | None:
        """Feed a chain what came of its action; its pages when it has just ended."""
        self.active -= 1
        self._advance(step.index, step.flow, lambda: step.flow.send(outcome))
        return self.finished.pop(step.index, None)

    def parse(self, index: int, pages: list[Page]) -> ParsedChain | BaseException:
        """Decode a finished chain (outside the lock: other chains wait on the network)."""
        try:
            return parse_chain(self.query, Chain(self.plan[index], pages))
        except Exception as err:
            return err

    def store(self, index: int, parsed: ParsedChain | BaseException) -> None:
        if isinstance(parsed, ParsedChain):
            self.results[index] = parsed
        else:
            self._fail(index, parsed)

    def _fail(self, index: int, err: BaseException) -> None:
        if isinstance(err, CostTrendError) and not is_fatal(err):
            self.errors[index] = err
        else:  # refused by the service, or a bug: stop everything and let it surface
            self.fatal = err

    def _advance(self, index: int, flow: Flow, move: Callable[[], Any]) -> None:
        try:
            action = move()
        except StopIteration as stop:
            self.finished[index] = stop.value
            return
        except Exception as err:
            self._fail(index, err)
            return
        self.ready.append(_Step(index, flow, action))

    def outcome(self) -> tuple[dict[int, ParsedChain], dict[int, CostTrendError]]:
        if self.fatal is not None:
            for step in self.ready:
                step.flow.close()
            raise self.fatal
        return self.results, self.errors


class _NoProgress:
    def update(self, n: int = 1) -> None:
        pass

    def close(self) -> None:
        pass


@dataclass
class _Fetch:
    """One fetch's state between its I/O steps (the parts both clients share)."""

    query: TrendQuery
    on_error: OnError
    started: dt.datetime
    requests_before: int
    deadline_at: float | None
    needs_departments: bool
    plan: list[WindowRequest] = field(default_factory=list)
    stored: list[ParsedChain] = field(default_factory=list)  # served from the cache
    use: CacheUse = field(default_factory=CacheUse)


class Answer(NamedTuple):
    """A response, read: what :func:`~costtrend_nb.protocol.read_page` needs of it."""

    status_code: int
    headers: httpx.Headers
    content: bytes
    over_cap: int = 0  #: the size cap the body broke (its reading stopped there), else 0


class _BaseClient:
    """Configuration, planning and assembly shared by both clients; no I/O."""

    def __init__(
        self,
        credentials: Credentials | None = None,
        *,
        endpoint: str | None = None,
        demo: bool = False,
        timeout: float = 10.0,
        deadline: float | None = None,
        max_retries: int = 4,
        max_concurrency: int = DEFAULT_MAX_CONCURRENCY,
        cache_dir: str | os.PathLike[str] | None = None,
        transport: Any = None,
        allow_http: bool = False,
        progress: bool | None = None,
        sleep: Callable[[float], Any] | None = None,
        clock: Callable[[], float] = time.monotonic,
        seed: int | None = None,
    ) -> None:
        _check_number("timeout", timeout, minimum=0.001)
        if deadline is not None:
            _check_number("deadline", deadline, minimum=0.001)
        _check_number("max_retries", max_retries, minimum=0, integer=True)
        _check_number("max_concurrency", max_concurrency, minimum=1, integer=True)
        self.timeout = float(timeout)
        self.deadline = None if deadline is None else float(deadline)
        self.max_concurrency = int(max_concurrency)
        self.policy = RetryPolicy(max_retries=int(max_retries))
        self.progress = progress
        self._clock = clock
        self._rng = random.Random(seed)
        self._lock = threading.Lock()
        self._request_count = 0
        if endpoint is None:
            endpoint = os.environ.get(ENDPOINT_ENV) or DEFAULT_ENDPOINT
        self.endpoint = _parse_endpoint(endpoint, allow_http)
        resolved = None if demo else Credentials.resolve(credentials)
        self.is_demo = resolved is None
        if resolved is None:
            if not demo:
                warnings.warn(DEMO_NOTICE, DemoModeWarning, stacklevel=3)
            resolved, transport = _demo_wiring(transport)
        self.credentials: Credentials = resolved
        #: The on-disk cache of settled buckets (None: off, and always off for the demo).
        self.cache: Cache | None = None
        if cache_dir is not None:
            where = str(self.endpoint).rstrip("/")
            store = Cache(cache_dir, endpoint=where, account=resolved.account_hash)
            self.cache = None if self.is_demo else store
        self._auth = AcsV3Auth(self.credentials)
        self._transport = transport
        self._trust_env = not _is_loopback(self.endpoint.host)
        self._sleep = sleep

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(endpoint={str(self.endpoint)!r}, "
            f"credentials={self.credentials!r}, requests={self.request_count})"
        )

    @property
    def request_count(self) -> int:
        """Requests sent so far by this client, retries included."""
        return self._request_count

    def now(self, tz: str = DEFAULT_TZ) -> pd.Timestamp:
        """The service's current time: the demo's frozen clock in demo mode, else the clock here.

        Example:
            >>> CostTrendClient.demo().now().isoformat()
            '2026-11-20T14:30:00+08:00'
        """
        if self.is_demo:
            from .emulator import DEMO_NOW

            emulator = getattr(self._transport, "emulator", None)
            return pd.Timestamp(getattr(emulator, "now", DEMO_NOW), unit="s", tz="UTC").tz_convert(
                tz
            )
        return pd.Timestamp.now(tz=tz)

    def describe(self) -> str:
        """One line saying where the data comes from, for notebooks and reports.

        Example:
            >>> CostTrendClient.demo().describe()[:54]
            'Demo data: the built-in emulator and its synthetic org'
        """
        if self.is_demo:
            return (
                "Demo data: the built-in emulator and its synthetic organisation (clock frozen at "
                f"{self.now():%Y-%m-%d %H:%M} {DEFAULT_TZ})."
            )
        source = self.credentials.source.split(" of ")[0]  # no local paths in reports
        cached = "; settled buckets cached on disk" if self.cache is not None else ""
        return f"Live data: {self.endpoint.host}, credentials from {source}{cached}."

    def _count_request(self) -> None:
        with self._lock:
            self._request_count += 1

    def _http_options(self) -> dict[str, Any]:
        return {
            "auth": self._auth,
            "transport": self._transport,
            "verify": _ssl_context(self._trust_env, *_ssl_env(self._trust_env)),
            "timeout": httpx.Timeout(self.timeout),
            "limits": self._limits(),
            "follow_redirects": False,
            "trust_env": self._trust_env,
        }

    def _limits(self) -> httpx.Limits:
        return httpx.Limits(
            max_connections=self.max_concurrency,
            max_keepalive_connections=self.max_concurrency,
        )

    # -- planning and flows ----------------------------------------------------------------

    def _deadline_at(self) -> float | None:
        return None if self.deadline is None else self._clock() + self.deadline

    def _flow(
        self,
        path: str,
        action: str,
        params: dict[str, str],
        read: Callable[[Any, int], Page],
        deadline_at: float | None,
        label: str,
    ) -> Flow:
        return paged_flow(
            lambda token: build_request(self.endpoint, path, action, params, token),
            read,
            policy=self.policy,
            timeout=self.timeout,
            deadline_at=deadline_at,
            clock=self._clock,
            rng=self._rng,
            label=label,
        )

    def _trend_flow(self, window: WindowRequest, deadline_at: float | None) -> Flow:
        return self._flow(
            TREND_PATH, TREND_ACTION, window.params, read_page, deadline_at, window.series.label
        )

    def _clients_flow(self, deadline_at: float | None) -> Flow:
        return self._flow(
            CLIENTS_PATH,
            CLIENTS_ACTION,
            {"maxResults": "100"},
            read_client_page,
            deadline_at,
            "the department list",
        )

    @staticmethod
    def _query(start: Any, end: Any, **kwargs: Any) -> TrendQuery:
        return TrendQuery(start, end, **kwargs)

    # -- one fetch, around its I/O: begin, (departments), plan, (requests), finish -----------

    def _begin(self, query: Any, on_error: Any) -> _Fetch:
        on_error = self._check_on_error(on_error)
        if not isinstance(query, TrendQuery):
            raise QueryError("fetch_query needs a TrendQuery; use fetch() for plain arguments.")
        return _Fetch(
            query=query,
            on_error=on_error,
            started=dt.datetime.now(dt.UTC),
            requests_before=self.request_count,
            deadline_at=self._deadline_at(),
            needs_departments="client_id" in query.by and query.client_ids is None,
        )

    def _plan(self, fetch: _Fetch, departments: Sequence[int] | None) -> list[WindowRequest]:
        """The windows to request; those the cache holds are served from it instead."""
        plan = fetch.query.plan(departments, parallelism=self.max_concurrency)
        if self.cache is not None:
            plan, fetch.stored, fetch.use = self.cache.split(fetch.query, plan)
        fetch.plan = plan
        return plan

    def _finish(
        self,
        fetch: _Fetch,
        results: dict[int, ParsedChain],
        errors: dict[int, CostTrendError],
    ) -> pd.DataFrame:
        query, plan, stored, use = fetch.query, fetch.plan, fetch.stored, fetch.use
        on_error, started, requests_before = fetch.on_error, fetch.started, fetch.requests_before
        failures: dict[str, CostTrendError] = {}
        for i, err in errors.items():
            failures.setdefault(plan[i].series.label, err)
        n_series = len({w.series for w in plan} | {c.request.series for c in stored})
        if failures and on_error == "raise":
            raise FetchError(failures, total=n_series)
        failed = {w.series for i, w in enumerate(plan) if w.series.label in failures}
        fetched = [results[i] for i in sorted(results) if plan[i].series not in failed]
        chains = fetched + [c for c in stored if c.request.series not in failed]
        served = [t for c in fetched for t in c.served_at]
        as_of = pd.Timestamp(min(served), unit="s", tz="UTC") if served else pd.Timestamp(started)
        attrs = {
            "query": query.to_dict(),
            "tz": query.tz,
            "as_of": as_of.tz_convert(query.tz).isoformat(),
            "fetched_at": pd.Timestamp(started).tz_convert(query.tz).isoformat(),
            "endpoint": "demo" if self.is_demo else str(self.endpoint),
            "source": "demo" if self.is_demo else "api",
            "request_count": self.request_count - requests_before,
            "request_ids": [r for c in chains for r in c.request_ids],
            "missing_series": sorted(failures),
            "cached_buckets": use.buckets,
        }
        if failures:
            warnings.warn(
                f"{len(failures)} of {n_series} series could not be fetched and are missing "
                f"from the frame: {', '.join(sorted(failures))}. df.attrs['missing_series'] "
                "lists them.",
                UserWarning,
                stacklevel=4,
            )
        frame = build_frame(query, chains, as_of=as_of.tz_convert(query.tz), attrs=attrs)
        if self.cache is not None and served:
            self.cache.update(query, plan, fetched, as_of=as_of.timestamp(), skip=failed, use=use)
        return frame

    @staticmethod
    def _check_on_error(on_error: Any) -> OnError:
        if on_error not in ("raise", "partial"):
            raise QueryError(f"on_error must be 'raise' or 'partial', not {on_error!r}.")
        return on_error

    @staticmethod
    def _departments_frame(pages: list[Page]) -> pd.DataFrame:
        rows: dict[int, tuple[Any, ...]] = {}
        for page in pages:
            for item in page.points:
                try:
                    ident = int(item["id"])
                    name = item.get("name")
                    parent, level = item.get("parentId"), item.get("level")
                    row = (
                        ident,
                        str(name) if name is not None else None,
                        int(parent) if parent is not None else None,
                        int(level) if level is not None else None,
                    )
                except (KeyError, TypeError, ValueError):
                    raise ResponseError(
                        f"page {page.index + 1} of the department list has a malformed entry: "
                        f"{str(item)[:80]!r}",
                        request_id=page.request_id,
                    ) from None
                rows[ident] = row
        ordered = [rows[k] for k in sorted(rows)]
        return pd.DataFrame(
            {
                "id": pd.array([r[0] for r in ordered], dtype="Int64"),
                "name": pd.Series([r[1] for r in ordered], dtype="object").astype("str"),
                "parent_id": pd.array([r[2] for r in ordered], dtype="Int64"),
                "level": pd.array([r[3] for r in ordered], dtype="Int64"),
            }
        )


class CostTrendClient(_BaseClient):
    """Fetch the Model Router cost trend as tidy DataFrames (thread pool; safe in Jupyter).

    Args:
        credentials: an access key pair; None resolves the environment and the aliyun CLI,
            and falls back to the built-in demo (with a :class:`DemoModeWarning`).
        demo: use the built-in demo organisation, whatever credentials are configured.
        endpoint: the service's URL; ``http://`` only to loopback unless ``allow_http``
            (None: ``$COSTTREND_NB_ENDPOINT``, else the vendor's endpoint).
        timeout: seconds for one request (connect, each read, write, and the whole body).
        deadline: seconds for one whole fetch, retries included (None: no limit).
        max_retries: further tries of a page after 429, 5xx, timeouts and cut bodies.
        max_concurrency: request chains in flight at once (one connection each).
        cache_dir: keep settled buckets here (see :mod:`costtrend_nb.cache`), so a re-run
            fetches only buckets that may still change; None (the default) keeps nothing.
            The demo never uses the cache.
        transport: an httpx transport to use instead of the network (tests, the emulator).
        progress: show a progress bar on long fetches (None: unless
            ``COSTTREND_NB_PROGRESS=0``).
        sleep, clock, seed: injectable waiting, monotonic clock and retry jitter, for tests.

    Example:
        >>> client = CostTrendClient(Credentials("AKIDexample1234", "secret"))  # doctest: +SKIP
        >>> df = client.fetch("2026-11-01", "2026-11-08", by="model_type")     # doctest: +SKIP
    """

    def __init__(self, credentials: Credentials | None = None, **kwargs: Any) -> None:
        super().__init__(credentials, **kwargs)
        self._sleep_sync: Callable[[float], Any] = (
            time.sleep if self._sleep is None else self._sleep
        )
        self._http = httpx.Client(**self._http_options())

    @classmethod
    def demo(cls, **kwargs: Any) -> CostTrendClient:
        """A client of the built-in demo organisation (no credentials, no network).

        Example:
            >>> client = CostTrendClient.demo()
            >>> client.fetch("2026-11-16", "2026-11-18", granularity="daily",
            ...              model_types=["TTS"]).shape
            (8, 7)
        """
        return cls(demo=True, **kwargs)

    def __enter__(self) -> CostTrendClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Close the connection pool."""
        self._http.close()

    def fetch(
        self,
        start: Any,
        end: Any,
        *,
        granularity: str = "hourly",
        model_types: str | Iterable[str] | None = None,
        client_ids: int | Iterable[int] | None = None,
        api_key_id: int | None = None,
        member_user_ids: Iterable[int | str] | None = None,
        by: str | Iterable[str] = (),
        tz: str = DEFAULT_TZ,
        max_results: int = 100,
        settle: str | pd.Timedelta = "2h",
        on_error: OnError = "raise",
    ) -> pd.DataFrame:
        """Fetch ``[start, end)`` as one tidy frame (see :class:`~costtrend_nb.TrendQuery`).

        ``on_error="partial"`` returns the series that arrived and names the missing ones in
        a warning and in ``df.attrs["missing_series"]``.

        Raises:
            QueryError: bad input, before any request is sent.
            APIError: the service refused the account or the parameters.
            FetchError: retries ran out for some series (with ``on_error="raise"``).

        Example:
            >>> df = client.fetch("2026-11-01", "2026-11-08", granularity="daily",
            ...                   by="model_type")                            # doctest: +SKIP
        """
        on_error = self._check_on_error(on_error)
        query = self._query(
            start,
            end,
            granularity=granularity,
            model_types=model_types,
            client_ids=client_ids,
            api_key_id=api_key_id,
            member_user_ids=member_user_ids,
            by=by,
            tz=tz,
            max_results=max_results,
            settle=settle,
        )
        return self.fetch_query(query, on_error=on_error)

    def fetch_query(self, query: TrendQuery, *, on_error: OnError = "raise") -> pd.DataFrame:
        """Fetch a prepared :class:`~costtrend_nb.TrendQuery` as one tidy frame."""
        fetch = self._begin(query, on_error)
        ids = self._department_ids(fetch.deadline_at) if fetch.needs_departments else None
        plan = self._plan(fetch, ids)
        results, errors = self._run_all(query, plan, fetch.deadline_at)
        return self._finish(fetch, results, errors)

    def departments(self) -> pd.DataFrame:
        """The organisation's departments: ``id``, ``name``, ``parent_id``, ``level``.

        Example:
            >>> client.departments().head()                                   # doctest: +SKIP
        """
        pages = self._drive(self._clients_flow(self._deadline_at()))
        return self._departments_frame(pages)

    def _department_ids(self, deadline_at: float | None) -> list[int]:
        pages = self._drive(self._clients_flow(deadline_at))
        return [int(i) for i in self._departments_frame(pages)["id"]]

    # -- I/O ---------------------------------------------------------------------------------

    def _run_all(
        self, query: TrendQuery, plan: Sequence[WindowRequest], deadline_at: float | None
    ) -> tuple[dict[int, ParsedChain], dict[int, CostTrendError]]:
        """Drive every chain, a page at a time, breadth first, on ``max_concurrency`` threads.

        Every chain's first page goes first (which tells the long chains from the empty ones),
        then continuations queue round-robin, so the long chains progress side by side and
        finish together instead of one of them running alone at the end.
        """
        steps = _Steps(self, query, plan, deadline_at)
        bar = _progress(len(plan), self.progress)
        lock = threading.Condition()

        def worker() -> None:
            while True:
                with lock:
                    while not steps.ready and steps.active and steps.fatal is None:
                        lock.wait()
                    if steps.fatal is not None or not steps.ready:
                        lock.notify_all()
                        return
                    step = steps.take()
                outcome = self._step(step)
                with lock:
                    pages = steps.settle(step, outcome)
                    lock.notify_all()
                if pages is not None:
                    parsed = steps.parse(step.index, pages)
                    with lock:
                        steps.store(step.index, parsed)
                        bar.update(1)
                        lock.notify_all()

        threads = [
            threading.Thread(target=worker, name=f"costtrend-{k}", daemon=True)
            for k in range(min(self.max_concurrency, len(plan)))
        ]
        try:
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join()
        finally:
            bar.close()
        return steps.outcome()

    def _step(self, step: _Step) -> Any:
        """Do one action of a chain: send its request, or wait before a retry."""
        if isinstance(step.action, Send):
            return self._send(step.action)
        self._sleep_sync(step.action.seconds)
        return None

    def _drive(self, flow: Flow) -> list[Page]:
        """Drive one chain to its end in this thread (the department list)."""
        try:
            action = next(flow)
            while True:
                if isinstance(action, Send):
                    action = flow.send(self._send(action))
                else:
                    self._sleep_sync(action.seconds)
                    action = flow.send(None)
        except StopIteration as stop:
            return stop.value

    def _send(self, action: Send) -> Any:
        request = action.request
        request.extensions["timeout"] = httpx.Timeout(action.timeout).as_dict()
        self._count_request()
        started = self._clock()
        try:
            response = self._http.send(request, stream=True)
            try:
                body = bytearray()
                for chunk in response.iter_bytes():
                    body += chunk
                    if len(body) > MAX_PAGE_BYTES:
                        return Answer(response.status_code, response.headers, b"", MAX_PAGE_BYTES)
                    if self._clock() - started > action.timeout:
                        return TimeoutError(
                            f"the answer to {request.url.path} took over {action.timeout:g}s"
                        )
            finally:
                response.close()
        except httpx.HTTPError as err:
            return translate_transport_error(err, request)
        return Answer(response.status_code, response.headers, bytes(body))


class AsyncCostTrendClient(_BaseClient):
    """The asyncio twin of :class:`CostTrendClient`: the same arguments, with ``await``.

    Example:
        >>> async with AsyncCostTrendClient(creds) as client:                # doctest: +SKIP
        ...     df = await client.fetch("2026-11-01", "2026-11-08", by="model_type")
    """

    def __init__(self, credentials: Credentials | None = None, **kwargs: Any) -> None:
        super().__init__(credentials, **kwargs)
        self._sleep_async: Callable[[float], Awaitable[Any]] = (
            asyncio.sleep if self._sleep is None else self._sleep
        )
        self._http = httpx.AsyncClient(**self._http_options())

    @classmethod
    def demo(cls, **kwargs: Any) -> AsyncCostTrendClient:
        """An async client of the built-in demo organisation (no credentials, no network)."""
        return cls(demo=True, **kwargs)

    async def __aenter__(self) -> AsyncCostTrendClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        """Close the connection pool."""
        await self._http.aclose()

    async def fetch(
        self,
        start: Any,
        end: Any,
        *,
        granularity: str = "hourly",
        model_types: str | Iterable[str] | None = None,
        client_ids: int | Iterable[int] | None = None,
        api_key_id: int | None = None,
        member_user_ids: Iterable[int | str] | None = None,
        by: str | Iterable[str] = (),
        tz: str = DEFAULT_TZ,
        max_results: int = 100,
        settle: str | pd.Timedelta = "2h",
        on_error: OnError = "raise",
    ) -> pd.DataFrame:
        """Fetch ``[start, end)`` as one tidy frame; see :meth:`CostTrendClient.fetch`."""
        on_error = self._check_on_error(on_error)
        query = self._query(
            start,
            end,
            granularity=granularity,
            model_types=model_types,
            client_ids=client_ids,
            api_key_id=api_key_id,
            member_user_ids=member_user_ids,
            by=by,
            tz=tz,
            max_results=max_results,
            settle=settle,
        )
        return await self.fetch_query(query, on_error=on_error)

    async def fetch_query(self, query: TrendQuery, *, on_error: OnError = "raise") -> pd.DataFrame:
        """Fetch a prepared :class:`~costtrend_nb.TrendQuery` as one tidy frame."""
        fetch = self._begin(query, on_error)
        ids = await self._department_ids(fetch.deadline_at) if fetch.needs_departments else None
        plan = self._plan(fetch, ids)
        results, errors = await self._run_all(query, plan, fetch.deadline_at)
        return self._finish(fetch, results, errors)

    async def departments(self) -> pd.DataFrame:
        """The organisation's departments: ``id``, ``name``, ``parent_id``, ``level``."""
        pages = await self._drive(self._clients_flow(self._deadline_at()))
        return self._departments_frame(pages)

    async def _department_ids(self, deadline_at: float | None) -> list[int]:
        pages = await self._drive(self._clients_flow(deadline_at))
        return [int(i) for i in self._departments_frame(pages)["id"]]

    async def _run_all(
        self, query: TrendQuery, plan: Sequence[WindowRequest], deadline_at: float | None
    ) -> tuple[dict[int, ParsedChain], dict[int, CostTrendError]]:
        """Drive every chain a page at a time, breadth first (see the sync client)."""
        steps = _Steps(self, query, plan, deadline_at)
        bar = _progress(len(plan), self.progress)
        lock = asyncio.Condition()

        async def worker() -> None:
            while True:
                async with lock:
                    await lock.wait_for(
                        lambda: bool(steps.ready) or not steps.active or steps.fatal is not None
                    )
                    if steps.fatal is not None or not steps.ready:
                        lock.notify_all()
                        return
                    step = steps.take()
                if isinstance(step.action, Send):
                    outcome = await self._send(step.action)
                else:
                    await self._sleep_async(step.action.seconds)
                    outcome = None
                async with lock:
                    pages = steps.settle(step, outcome)
                    if pages is not None:
                        steps.store(step.index, steps.parse(step.index, pages))
                        bar.update(1)
                    lock.notify_all()

        try:
            async with asyncio.TaskGroup() as group:
                for _ in range(min(self.max_concurrency, len(plan))):
                    group.create_task(worker())
        except BaseExceptionGroup as group_error:  # no exception group escapes the public API
            raise _first_leaf(group_error) from None
        finally:
            bar.close()
        return steps.outcome()

    async def _drive(self, flow: Flow) -> list[Page]:
        try:
            action = next(flow)
            while True:
                if isinstance(action, Send):
                    action = flow.send(await self._send(action))
                else:
                    await self._sleep_async(action.seconds)
                    action = flow.send(None)
        except StopIteration as stop:
            return stop.value

    async def _send(self, action: Send) -> Any:
        request = action.request
        request.extensions["timeout"] = httpx.Timeout(action.timeout).as_dict()
        self._count_request()
        try:
            async with asyncio.timeout(action.timeout):
                response = await self._http.send(request, stream=True)
                try:
                    body = bytearray()
                    async for chunk in response.aiter_bytes():
                        body += chunk
                        if len(body) > MAX_PAGE_BYTES:
                            return Answer(
                                response.status_code, response.headers, b"", MAX_PAGE_BYTES
                            )
                finally:
                    await response.aclose()
        except TimeoutError_:
            return TimeoutError(f"the answer to {request.url.path} took over {action.timeout:g}s")
        except httpx.HTTPError as err:
            return translate_transport_error(err, request)
        return Answer(response.status_code, response.headers, bytes(body))


TimeoutError_ = asyncio.TimeoutError  # the builtin, which our TimeoutError shadows here


def _first_leaf(group: BaseExceptionGroup) -> BaseException:
    for exc in group.exceptions:
        if isinstance(exc, BaseExceptionGroup):
            return _first_leaf(exc)
        if isinstance(exc, CostTrendError):
            return exc
    return group
