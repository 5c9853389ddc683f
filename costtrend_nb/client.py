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


def _unexpected(err: BaseException, where: str) -> CostTrendError:
    """Our error for an exception of another kind met while ``where`` (a bug, a closed client,
    a failing credential provider): it names the cause, and chains nothing, so that no frame
    of the failing code (and none of its locals) travels with it."""
    log.debug("%s while %s", type(err).__name__, where, exc_info=err)
    return CostTrendError(f"{type(err).__name__} while {where}: {err}")


class _Steps:
    """The bookkeeping of a breadth-first run over request chains: ready steps, results,
    errors. Not thread-safe: the caller holds its lock around every call but :meth:`parse`.

    ``parse(index, pages)`` turns a finished chain's pages into its result. Every chain ends
    in exactly one of :attr:`results` and :attr:`errors`, or the run has a :attr:`fatal` error.
    """

    def __init__(
        self,
        flows: Sequence[Flow],
        labels: Sequence[str],
        parse: Callable[[int, list[Page]], Any],
    ):
        self.labels, self._parse = list(labels), parse
        self.ready: collections.deque[_Step] = collections.deque()
        self.active = 0
        self.results: dict[int, Any] = {}
        self.errors: dict[int, CostTrendError] = {}
        self.fatal: BaseException | None = None
        self.finished: dict[int, list[Page]] = {}
        for i, flow in enumerate(flows):
            self._advance(i, flow, flow.__next__)

    def __len__(self) -> int:
        return len(self.labels)

    def take(self) -> _Step:
        self.active += 1
        return self.ready.popleft()

    def settle(self, step: _Step, outcome: Any) -> list[Page] | None:
        """Feed a chain what came of its action; its pages when it has just ended."""
        self.active -= 1
        if step.index in self.errors:  # abandoned meanwhile (deadline, interrupt)
            step.flow.close()
            return None
        self._advance(step.index, step.flow, lambda: step.flow.send(outcome))
        return self.finished.pop(step.index, None)

    def parse(self, index: int, pages: list[Page]) -> Any:
        """Decode a finished chain (outside the lock: other chains wait on the network)."""
        try:
            return self._parse(index, pages)
        except Exception as err:
            return _Failed(err)

    def store(self, index: int, parsed: Any) -> None:
        if index in self.errors:
            return
        if isinstance(parsed, _Failed):
            self._fail(index, parsed.error)
        else:
            self.results[index] = parsed

    def crash(self, err: BaseException) -> None:
        """A worker met an error outside any chain (a bug): stop the run and surface it."""
        if self.fatal is None:
            self.fatal = err if isinstance(err, CostTrendError) else _unexpected(err, "fetching")

    def abandon(self, reason: Callable[[str], CostTrendError]) -> None:
        """End every chain still going with the error ``reason(label)`` (deadline, interrupt)."""
        for step in self.ready:
            step.flow.close()
        self.ready.clear()
        for i, label in enumerate(self.labels):
            if i not in self.results and i not in self.errors:
                self.errors[i] = reason(label)

    def outcome(self) -> tuple[dict[int, Any], dict[int, CostTrendError]]:
        """The results and errors by chain (copies: a straggling worker cannot change them).

        Raises:
            CostTrendError: the run had a fatal error (the service refused the account).
        """
        if self.fatal is not None:
            for step in self.ready:
                step.flow.close()
            raise self.fatal
        for i, label in enumerate(self.labels):  # never fewer rows without saying so
            if i not in self.results and i not in self.errors:
                self.errors[i] = CostTrendError(f"{label} ended without an answer (a bug)")
        return dict(self.results), dict(self.errors)

    def _fail(self, index: int, err: BaseException) -> None:
        if not isinstance(err, CostTrendError):
            err = _unexpected(err, f"fetching {self.labels[index]}")
        if is_fatal(err):  # refused by the service: no other chain would fare better
            self.fatal = err
        else:
            self.errors[index] = err

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


@dataclass
class _Failed:
    """A chain whose pages could not be decoded."""

    error: BaseException


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

    def _trend_steps(
        self, query: TrendQuery, plan: Sequence[WindowRequest], deadline_at: float | None
    ) -> _Steps:
        return _Steps(
            [self._trend_flow(w, deadline_at) for w in plan],
            [w.series.label for w in plan],
            lambda i, pages: parse_chain(query, Chain(plan[i], pages)),
        )

    def _clients_steps(self, deadline_at: float | None) -> _Steps:
        return _Steps(
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
        steps = self._trend_steps(query, plan, fetch.deadline_at)
        results, errors = self._run(steps, fetch.deadline_at, progress=True)
        return self._finish(fetch, results, errors)

    def departments(self) -> pd.DataFrame:
        """The organisation's departments: ``id``, ``name``, ``parent_id``, ``level``.

        Example:
            >>> client.departments().head()                                   # doctest: +SKIP
        """
        return self._departments_frame(self._department_pages(self._deadline_at()))

    def _department_ids(self, deadline_at: float | None) -> list[int]:
        pages = self._department_pages(deadline_at)
        return [int(i) for i in self._departments_frame(pages)["id"]]

    def _department_pages(self, deadline_at: float | None) -> list[Page]:
        steps = self._clients_steps(deadline_at)
        return self._only_result(*self._run(steps, deadline_at, progress=False))

    # -- I/O ---------------------------------------------------------------------------------

    def _run(
        self, steps: _Steps, deadline_at: float | None, *, progress: bool
    ) -> tuple[dict[int, Any], dict[int, CostTrendError]]:
        """Drive every chain, a page at a time, breadth first, on ``max_concurrency`` threads.

        Every chain's first page goes first (which tells the long chains from the empty ones),
        then continuations queue round-robin, so the long chains progress side by side and
        finish together instead of one of them running alone at the end.

        Whatever a worker meets ends its chain with an error, never the thread alone. This
        thread waits at most until the deadline (plus a little grace); on an interrupt
        (``KeyboardInterrupt``, Jupyter's "interrupt kernel") no further request starts, and
        answers still in flight are closed unread as they arrive.
        """
        lock = threading.Condition()
        cancel = threading.Event()
        alive = [min(self.max_concurrency, len(steps))]
        bar = _progress(len(steps), self.progress if progress else False)

        def worker() -> None:
            try:
                while True:
                    with lock:
                        while (
                            not steps.ready
                            and steps.active
                            and steps.fatal is None
                            and not cancel.is_set()
                        ):
                            lock.wait()
                        if cancel.is_set() or steps.fatal is not None or not steps.ready:
                            return
                        step = steps.take()
                    outcome = self._step(step, cancel)
                    with lock:
                        pages = steps.settle(step, outcome)
                        lock.notify_all()
                    if pages is not None:
                        parsed = steps.parse(step.index, pages)
                        with lock:
                            steps.store(step.index, parsed)
                            bar.update(1)
            except BaseException as err:  # a bug in the bookkeeping: surface it, never hang
                with lock:
                    steps.crash(err)
            finally:
                with lock:
                    alive[0] -= 1
                    lock.notify_all()

        threads = [
            threading.Thread(target=worker, name=f"costtrend-{k}", daemon=True)
            for k in range(alive[0])
        ]
        try:
            for thread in threads:
                thread.start()
            self._wait(lock, alive, steps, cancel, deadline_at)
        except BaseException:
            cancel.set()
            with lock:
                steps.abandon(lambda label: CostTrendError(f"{label}: the fetch was interrupted"))
                lock.notify_all()
            raise
        finally:
            bar.close()
        with lock:
            return steps.outcome()

    def _wait(
        self,
        lock: threading.Condition,
        alive: list[int],
        steps: _Steps,
        cancel: threading.Event,
        deadline_at: float | None,
    ) -> None:
        """Wait for the workers; past the deadline, give up on what they still do."""
        with lock:
            while alive[0]:
                if deadline_at is None:
                    lock.wait()
                    continue
                left = deadline_at + _DEADLINE_GRACE - self._clock()
                if left <= 0:
                    cancel.set()
                    steps.abandon(self._past_deadline)
                    lock.notify_all()
                    return
                lock.wait(min(left, 0.25))

    def _step(self, step: _Step, cancel: threading.Event) -> Any:
        """Do one action of a chain: send its request, or wait before a retry."""
        if isinstance(step.action, Send):
            return self._send(step.action, cancel)
        if self._sleep is None:
            cancel.wait(step.action.seconds)  # an interrupted fetch's workers end at once
        else:
            self._sleep_sync(step.action.seconds)
        return None

    def _send(self, action: Send, cancel: threading.Event | None = None) -> Any:
        """Send one request and read its body: the answer, or the error met (never raised)."""
        request = action.request
        where = f"sending {request.method} {request.url.path}"
        if cancel is not None and cancel.is_set():
            return CostTrendError(f"the fetch was interrupted before {where}")
        request.extensions["timeout"] = httpx.Timeout(action.timeout).as_dict()
        self._count_request()
        started = self._clock()
        try:
            response = self._http.send(request, stream=True)
            try:
                body = bytearray()
                for chunk in response.iter_bytes():
                    if cancel is not None and cancel.is_set():
                        return CostTrendError(f"the fetch was interrupted while {where}")
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
        except CostTrendError as err:  # from signing: a credential provider that failed
            return err
        except Exception as err:  # a closed client, a bug: the chain's error, not the thread's
            return _unexpected(err, where)
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
        steps = self._trend_steps(query, plan, fetch.deadline_at)
        results, errors = await self._run(steps, fetch.deadline_at, progress=True)
        return self._finish(fetch, results, errors)

    async def departments(self) -> pd.DataFrame:
        """The organisation's departments: ``id``, ``name``, ``parent_id``, ``level``."""
        return self._departments_frame(await self._department_pages(self._deadline_at()))

    async def _department_ids(self, deadline_at: float | None) -> list[int]:
        pages = await self._department_pages(deadline_at)
        return [int(i) for i in self._departments_frame(pages)["id"]]

    async def _department_pages(self, deadline_at: float | None) -> list[Page]:
        steps = self._clients_steps(deadline_at)
        return self._only_result(*await self._run(steps, deadline_at, progress=False))

    async def _run(
        self, steps: _Steps, deadline_at: float | None, *, progress: bool
    ) -> tuple[dict[int, Any], dict[int, CostTrendError]]:
        """Drive every chain a page at a time, breadth first (see the sync client)."""
        bar = _progress(len(steps), self.progress if progress else False)
        lock = asyncio.Condition()

        async def worker() -> None:
            try:
                while True:
                    async with lock:
                        await lock.wait_for(
                            lambda: bool(steps.ready) or not steps.active or steps.fatal is not None
                        )
                        if steps.fatal is not None or not steps.ready:
                            lock.notify_all()
                            return
                        step = steps.take()
                    outcome = await self._step(step)
                    async with lock:
                        pages = steps.settle(step, outcome)
                        if pages is not None:
                            steps.store(step.index, steps.parse(step.index, pages))
                            bar.update(1)
                        lock.notify_all()
            except Exception as err:  # a bug in the bookkeeping: surface it, never hang
                steps.crash(err)
                async with lock:
                    lock.notify_all()

        left = None if deadline_at is None else deadline_at + _DEADLINE_GRACE - self._clock()
        try:
            async with asyncio.timeout(left), asyncio.TaskGroup() as group:
                for _ in range(min(self.max_concurrency, len(steps))):
                    group.create_task(worker())
        except TimeoutError_:
            steps.abandon(self._past_deadline)
        except BaseExceptionGroup as group_error:  # no exception group escapes the public API
            raise _library_error(group_error) from None
        finally:
            bar.close()
        return steps.outcome()

    async def _step(self, step: _Step) -> Any:
        if isinstance(step.action, Send):
            return await self._send(step.action)
        await self._sleep_async(step.action.seconds)
        return None

    async def _send(self, action: Send) -> Any:
        """Send one request and read its body: the answer, or the error met (never raised)."""
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
        except CostTrendError as err:  # from signing: a credential provider that failed
            return err
        except Exception as err:  # a closed client, a bug: the chain's error, not the task's
            return _unexpected(err, f"sending {request.method} {request.url.path}")
        return Answer(response.status_code, response.headers, bytes(body))


TimeoutError_ = asyncio.TimeoutError  # the builtin, which our TimeoutError shadows here
#: How long past its deadline a fetch waits for work that does not answer (a hung credential
#: provider, a file that blocks) before it gives up on it.
_DEADLINE_GRACE = 0.5


def _library_error(group: BaseExceptionGroup) -> BaseException:
    """The first of our errors in an exception group, else one of ours naming the cause."""
    for exc in group.exceptions:
        if isinstance(exc, BaseExceptionGroup):
            return _library_error(exc)
        if isinstance(exc, CostTrendError):
            return exc
        if not isinstance(exc, Exception):  # KeyboardInterrupt, SystemExit: let them be
            return exc
    return _unexpected(group.exceptions[0], "fetching")
