"""The clients: :class:`CostTrendClient` (threads, safe inside Jupyter's running loop) and
:class:`AsyncCostTrendClient` (``asyncio``). Both plan a query into request chains, drive the
shared flow of :mod:`costtrend_nb.protocol` over one connection pool, and hand the pages to
:mod:`costtrend_nb.tidy`.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections.abc import Awaitable, Callable, Iterable
from typing import Any

import httpx
import pandas as pd

from .auth import Credentials
from .chains import Chains, Step, progress_bar, unexpected_error
from .clientbase import (
    DEFAULT_ENDPOINT,
    DEFAULT_MAX_CONCURRENCY,
    Answer,
    BaseClient,
    DemoModeWarning,
    OnError,
)
from .errors import CostTrendError, TimeoutError
from .protocol import (
    MAX_PAGE_BYTES,
    Send,
    translate_transport_error,
)
from .query import DEFAULT_TZ, TrendQuery
from .tidy import Page

__all__ = [
    "DEFAULT_ENDPOINT",
    "DEFAULT_MAX_CONCURRENCY",
    "AsyncCostTrendClient",
    "CostTrendClient",
    "DemoModeWarning",
]

log = logging.getLogger("costtrend_nb")


class CostTrendClient(BaseClient):
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

    Example (with your own key pair and no ``transport``, the same lines fetch from the
    service; here they sign requests with the emulator's public key pair and send them to the
    emulator in-process):
        >>> from costtrend_nb.emulator import (DEMO_ACCESS_KEY_ID, DEMO_ACCESS_KEY_SECRET,
        ...                                    Emulator, EmulatorTransport)
        >>> client = CostTrendClient(Credentials(DEMO_ACCESS_KEY_ID, DEMO_ACCESS_KEY_SECRET),
        ...                          transport=EmulatorTransport(Emulator()))
        >>> df = client.fetch("2026-11-01", "2026-11-08", granularity="daily", by="model_type")
        >>> df.shape, client.request_count, df.attrs["as_of"]
        ((511, 7), 13, '2026-11-20T14:30:00+08:00')
        >>> client.close()
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
            >>> client = CostTrendClient.demo()
            >>> df = client.fetch("2026-11-01", "2026-11-08", granularity="daily",
            ...                   by="model_type")
            >>> df["model_type"].nunique(), df["timestamp"].nunique(), sorted(df["unit"].unique())
            (13, 7, ['CNY', 'calls', 'chars', 'images', 'models', 's', 'tokens'])
            >>> chat = df[(df["model_type"] == "Chat") & (df["metric"] == "total_amount")]
            >>> print(f"{chat['value'].sum():,.2f}")
            9,552.29
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
            >>> CostTrendClient.demo().departments().head(3)
                  id                    name  parent_id  level
            0  10001            Headquarters          0      1
            1  10002  Research & Development      10001      2
            2  10003             AI Platform      10002      3
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
        self, steps: Chains, deadline_at: float | None, *, progress: bool
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
        bar = progress_bar(len(steps), self.progress if progress else False)

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
        steps: Chains,
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

    def _step(self, step: Step, cancel: threading.Event) -> Any:
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
            return unexpected_error(err, where)
        return Answer(response.status_code, response.headers, bytes(body))


class AsyncCostTrendClient(BaseClient):
    """The asyncio twin of :class:`CostTrendClient`: the same arguments, with ``await``.

    Example:
        >>> async def main():
        ...     async with AsyncCostTrendClient.demo() as client:
        ...         return await client.fetch("2026-11-01", "2026-11-08", by="model_type")
        >>> df = asyncio.run(main())   # in Jupyter, where a loop runs: df = await main()
        >>> df.shape, df["timestamp"].nunique()   # 7 days of hours
        ((12264, 7), 168)
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
        self, steps: Chains, deadline_at: float | None, *, progress: bool
    ) -> tuple[dict[int, Any], dict[int, CostTrendError]]:
        """Drive every chain a page at a time, breadth first (see the sync client)."""
        bar = progress_bar(len(steps), self.progress if progress else False)
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

    async def _step(self, step: Step) -> Any:
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
            return unexpected_error(err, f"sending {request.method} {request.url.path}")
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
    return unexpected_error(group.exceptions[0], "fetching")
