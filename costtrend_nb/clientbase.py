"""What both clients share, without I/O: configuration (endpoint, credentials or the demo,
limits), planning a fetch (department check, cache split), and assembling its frame.

:mod:`costtrend_nb.client` adds the I/O: threads for :class:`~costtrend_nb.CostTrendClient`,
``asyncio`` for :class:`~costtrend_nb.AsyncCostTrendClient`.
"""

from __future__ import annotations

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
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, NamedTuple

import httpx
import pandas as pd

from ._warn import warn
from .auth import AcsV3Auth, Credentials
from .cache import Cache, CacheUse
from .chains import Chains
from .errors import CostTrendError, FetchError, QueryError, ResponseError, TimeoutError
from .protocol import (
    CLIENTS_ACTION,
    CLIENTS_PATH,
    TREND_ACTION,
    TREND_PATH,
    Flow,
    RetryPolicy,
    build_request,
    paged_flow,
    read_client_page,
    read_page,
)
from .query import DEFAULT_TZ, TrendQuery, WindowRequest
from .tidy import Chain, Page, ParsedChain, build_frame, parse_chain

__all__ = [
    "DEFAULT_ENDPOINT",
    "DEFAULT_MAX_CONCURRENCY",
    "DEMO_NOTICE",
    "ENDPOINT_ENV",
    "Answer",
    "BaseClient",
    "DemoModeWarning",
    "OnError",
]

log = logging.getLogger("costtrend_nb")

DEFAULT_ENDPOINT = "https://aicontent.aliyuncs.com"
#: An environment variable naming another endpoint (a proxy, a VPC endpoint, an emulator).
ENDPOINT_ENV = "COSTTREND_NB_ENDPOINT"
#: Requests in flight at once, by default (connections to the endpoint).
DEFAULT_MAX_CONCURRENCY = 8
OnError = Literal["raise", "partial"]


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


def _check_departments(asked: Iterable[int], known: Iterable[int]) -> None:
    known = set(known)
    unknown = [i for i in asked if i not in known]
    if unknown:
        listed = ", ".join(map(str, sorted(known)[:20])) + (", ..." if len(known) > 20 else "")
        raise QueryError(
            f"client_ids {', '.join(map(str, unknown))} "
            f"{'is not a department' if len(unknown) == 1 else 'are not departments'} of this "
            f"organisation; client.departments() lists them (ids: {listed or 'none'})."
        )


def _check_number(name: str, value: Any, *, minimum: float, integer: bool = False) -> None:
    bad = isinstance(value, bool) or not isinstance(value, (int, float))
    bad = bad or (integer and not isinstance(value, int))
    if bad or not math.isfinite(value) or value < minimum:
        kind = "an integer" if integer else "a number"
        raise QueryError(f"{name} must be {kind} >= {minimum}, not {value!r}.")


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


class BaseClient:
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
                warn(DEMO_NOTICE, DemoModeWarning)
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
        # never raises, even for a client whose __init__ stopped half-way
        endpoint = getattr(self, "endpoint", None)
        return (
            f"{type(self).__name__}(endpoint={str(endpoint) if endpoint else None!r}, "
            f"credentials={getattr(self, 'credentials', None)!r}, "
            f"requests={getattr(self, '_request_count', 0)})"
        )

    @property
    def request_count(self) -> int:
        """Requests sent so far by this client, retries included."""
        return self._request_count

    def now(self, tz: str = DEFAULT_TZ) -> pd.Timestamp:
        """The service's current time: the demo's frozen clock in demo mode, else the clock here.

        Example:
            >>> from costtrend_nb import CostTrendClient
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
            >>> from costtrend_nb import CostTrendClient
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

    def _trend_steps(
        self, query: TrendQuery, plan: Sequence[WindowRequest], deadline_at: float | None
    ) -> Chains:
        return Chains(
            [self._trend_flow(w, deadline_at) for w in plan],
            [w.series.label for w in plan],
            lambda i, pages: parse_chain(query, Chain(plan[i], pages)),
        )

    def _clients_steps(self, deadline_at: float | None) -> Chains:
        return Chains(
            [self._clients_flow(deadline_at)], ["the department list"], lambda i, pages: pages
        )

    @staticmethod
    def _only_result(results: dict[int, Any], errors: dict[int, CostTrendError]) -> Any:
        """The result of a run of one chain (raising its error)."""
        if errors:
            raise errors[0]
        return results[0]

    def _past_deadline(self, label: str) -> CostTrendError:
        return TimeoutError(
            f"the fetch ran past its deadline ({self.deadline:g}s) waiting for {label} (a "
            "request, a credential refresh or a retry that did not end in time)"
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
            # the list splits by department, or checks the ids asked for before any trend request
            needs_departments="client_id" in query.by or query.client_ids is not None,
        )

    def _plan(self, fetch: _Fetch, departments: Sequence[int] | None) -> list[WindowRequest]:
        """The windows to request; those the cache holds are served from it instead.

        Raises:
            QueryError: a department asked for is not in the organisation's list.
        """
        query = fetch.query
        if query.client_ids is not None and departments is not None:
            _check_departments(query.client_ids, departments)
            departments = None
        plan = query.plan(departments, parallelism=self.max_concurrency)
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
        # the service's clock, never ahead of ours: a Date from the future must not make
        # buckets that have not happened yet (or still change) look settled
        now = time.time()
        as_of = pd.Timestamp(
            min([*served, now]) if served else started.timestamp(), unit="s", tz="UTC"
        )
        attrs = {
            "query": query.to_dict(),
            "widened": query.widened,  # requested_start/_end in the query say from what
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
            warn(
                f"{len(failures)} of {n_series} series could not be fetched and are missing "
                f"from the frame: {', '.join(sorted(failures))}. df.attrs['missing_series'] "
                "lists them.",
                UserWarning,
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
